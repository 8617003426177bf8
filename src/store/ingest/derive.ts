/**
 * Deriving an entry's records into a transaction: the entry itself, its hash and head, and
 * what each item implies (indicator versions, revocations, sightings, relabels) with every
 * index key. Control items are left to src/circles, which folds them from the control index.
 */
import { PhalanxError, withFieldPrefix } from '../../errors.js'
import {
  type Entry, type StoredIndicator, type IndicatorItem, type SightingItem, type SightingAction, type AdvisoryItem, type AckItem, type ReportItem, advisoryId, reportId, indicatorId, isControlItem, isRedLog, LOCAL_CIRCLE, SIGHTING_ACTIONS, sightingAction
} from '../../records/index.js'
import { reachWith, relabelApplies, type Tlp } from '../../tlp/index.js'
import { SEP, ackKey, cursorFromMicros, entryKey, headKey, originKey, postingPrefix, seqKey, valueKey } from '../keys.js'
import { pair, postingTags } from '../postings.js'
import { namesHost } from '../hosts.js'
import type { AckRecord, LogHead, OriginSightings, PendingRelabel, PendingRevoke, SightingSummary, StoreEvent, StoredAdvisory, ValueRecord } from '../level-store.js'
import type { StoredReport } from '../interface.js'
import { fileHostValue } from './host-index.js'
import { RawJson, type Tx } from './tx.js'

/** what derivation keeps across groups */
export interface DeriveContext {
  /** ids with a revoke or relabel that arrived before the indicator (rare; loaded at start; a hint) */
  pendingRevokes: Set<string>
  /** this node's origin: sightings of its own indicators are stream events */
  own?: string
}

export function nextCursor (tx: Tx): string {
  const micros = Math.max(Date.now() * 1000, tx.state.cursor + 1)
  tx.state.cursor = micros
  return cursorFromMicros(micros)
}

/**
 * Store an entry and derive its records; `ids` collects each record's indicator id. `ahead`:
 * the entry is stored beyond its log's contiguous head (an earlier seq is missing): the head
 * stays (chain.ts moves it when the gap fills), the records are derived now.
 */
export function applyEntry (tx: Tx, ctx: DeriveContext, entry: Entry, hash: string, source: string, ids?: Array<string | null>, json?: string, head?: LogHead, unknown?: string, ahead = false): void {
  const ek = entryKey(entry.circle, entry.origin, entry.seq)
  if (unknown !== undefined) {
    // kept for sync and its log position; its records are not read (DESIGN §3 Versions) until
    // a version that reads them starts (ingest/reread.ts)
    if (entry.circle !== LOCAL_CIRCLE) tx.stored.push({ entry, hash, source, unknown })
    tx.put('unread', ek, unknown)
    tx.append('entries', ek, json !== undefined ? new RawJson(json) : entry)
    tx.put('entryByHash', hash, ek)
    if (!ahead) tx.put('heads', headKey(entry.circle, entry.origin), { seq: entry.seq, hash, records: head === undefined ? 0 : head.records } satisfies LogHead)
    tx.state.counts.entries++
    return
  }
  if (entry.circle !== LOCAL_CIRCLE) {
    tx.stored.push({ entry, hash, source })
    // an own RED entry waits in the outbox, in the same batch, until its recipient acknowledges it
    if (source === 'local' && isRedLog(entry.circle)) tx.append('outbox', `${entry.circle}${SEP}${seqKey(entry.seq)}`, hash)
    if (entry.items.length > 0 && isControlItem(entry.items[0])) tx.append('control', `${entry.circle}${SEP}${nextCursor(tx)}`, ek)
  }
  tx.append('entries', ek, json !== undefined ? new RawJson(json) : entry)
  tx.put('entryByHash', hash, ek)
  if (!ahead) {
    tx.put('heads', headKey(entry.circle, entry.origin), {
      seq: entry.seq,
      hash,
      // a head written before heads counted records stays uncounted
      records: head === undefined ? entry.items.length : head.records === undefined ? undefined : head.records + entry.items.length
    } satisfies LogHead)
  }
  tx.state.counts.entries++
  applyItems(tx, ctx, entry, hash, new Date().toISOString(), ids, ahead)
}

/**
 * Derive an entry's records (the entry itself is stored): indicator versions, revocations,
 * sightings, relabels, advisories, acks, reports; control records are the circles' to fold.
 * `ids` collects each record's indicator id (null for others).
 */
export function applyItems (tx: Tx, ctx: DeriveContext, entry: Entry, hash: string, received: string, ids?: Array<string | null>, ahead = false): void {
  entry.items.forEach((item, index) => {
    try {
      switch (item.kind) {
        // not `ids?.push(applyIndicator(…))`: optional chaining would skip the call when ids is undefined
        case 'indicator': { const id = applyIndicator(tx, ctx, entry, hash, item, received); ids?.push(id); return }
        case 'revoke': applyRevoke(tx, ctx, entry, hash, item.id, item.reason, received); break
        case 'sighting': applySighting(tx, ctx, entry, item); break
        case 'advisory': applyAdvisory(tx, entry, hash, item, received); break
        case 'ack': applyAck(tx, entry, hash, item); break
        case 'report': applyReport(tx, entry, hash, item, received); break
        case 'relabel': applyRelabel(tx, ctx, entry, hash, item.id, item.tlp, received, ahead); break
        // circle, member, key, address: the membership log, folded by src/circles
        default: break
      }
      ids?.push(null)
    } catch (err) {
      throw withFieldPrefix(err, `items[${index}]`)
    }
  })
}

/** where a version of an indicator stands: its entry's `created`, log and seq */
interface VersionAt { created: string, circle: string, seq: number }

const versionOf = (i: StoredIndicator): VersionAt => ({ created: i.created, circle: i.circle, seq: i.entry.seq })

/**
 * Is a record (made at `at` in entry `recordHash`: a revoke, a relabel) later than a version?
 * A later `created` wins; on a tie, the later position in the same log wins (a re-publish in
 * the same millisecond as the revoke makes the indicator live again); across logs, the record.
 * What derivation keeps does not depend on the order entries arrive in (chain.ts stores an
 * entry ahead of a gap): each record is compared with the version, never with arrival.
 */
function laterThan (tx: Tx, at: string, recordHash: string, v: VersionAt): boolean {
  if (at !== v.created) return at > v.created
  const ek = tx.get<string>('entryByHash', recordHash)
  if (ek === undefined) return true
  const [circle, , seq] = ek.split(SEP)
  return !(circle === v.circle && parseInt(seq, 16) < v.seq)
}

/** is record A (at, hash) later than record B? later `created`; ties: later in the same log, else the larger hash */
function recordAfter (tx: Tx, atA: string, hashA: string, atB: string, hashB: string): boolean {
  if (atA !== atB) return atA > atB
  const a = tx.get<string>('entryByHash', hashA)?.split(SEP)
  const b = tx.get<string>('entryByHash', hashB)?.split(SEP)
  if (a !== undefined && b !== undefined && a[0] === b[0]) return parseInt(a[2], 16) > parseInt(b[2], 16)
  return hashA > hashB
}

/** does a revocation (made at `at` by entry `revokeHash`) still hold against a version in `entry`? */
function revokeStands (tx: Tx, at: string, revokeHash: string, entry: Entry): boolean {
  return laterThan(tx, at, revokeHash, { created: entry.created, circle: entry.circle, seq: entry.seq })
}

function isNewer (entry: Entry, hash: string, prev: StoredIndicator): boolean {
  if (entry.created !== prev.created) return entry.created > prev.created
  if (entry.circle === prev.circle) return entry.seq >= prev.entry.seq
  return hash > prev.entry.hash
}

/**
 * Index a new version. The previous version's posting pairs stay where they are: its
 * cursor is no longer the indicator's, so every reader skips them (postings.ts).
 */
function reindex (tx: Tx, next: StoredIndicator): void {
  // one pair string shared by every list this version goes to
  const p = pair(next.cursor, next.id)
  for (const t of postingTags(next.tags)) tx.post('byTag', postingPrefix(t), p)
  tx.post('byOrigin', postingPrefix(originKey(next.origin)), p)
  tx.post('byType', postingPrefix(next.type), p)
  tx.post('changes', '', p)
  tx.put('indicators', next.id, next)
}

/** returns the indicator's id */
function applyIndicator (tx: Tx, ctx: DeriveContext, entry: Entry, hash: string, item: IndicatorItem, received: string): string {
  const id = indicatorId(entry.origin, item.type, item.value)
  // the value record lists every indicator with this value: when it does not list this
  // id, the indicator is new and there is nothing more to read (the bulk-import case)
  const vk = valueKey(item.type, item.value)
  const rec = tx.get<ValueRecord>('byValue', vk)
  const known = rec !== undefined && rec.ids.includes(id)
  const prev = known ? tx.get<StoredIndicator>('indicators', id) : undefined
  if (prev !== undefined && !isNewer(entry, hash, prev)) {
    // an older version, from another log: it still tells where the record went
    const reach = reachWith(prev, entry.circle)
    if (reach !== undefined) tx.put('indicators', id, { ...prev, reach })
    return id
  }
  const next: StoredIndicator = {
    id,
    origin: entry.origin,
    circle: entry.circle,
    type: item.type,
    value: item.value,
    tlp: entry.tlp,
    confidence: item.confidence,
    tags: item.tags,
    created: entry.created,
    received,
    cursor: nextCursor(tx),
    entry: { hash, seq: entry.seq },
    version: (prev?.version ?? 0) + 1
  }
  if (item.description !== undefined) next.description = item.description
  if (item.validFrom !== undefined) next.validFrom = item.validFrom
  if (item.validUntil !== undefined) next.validUntil = item.validUntil
  if (item.firstSeen !== undefined) next.firstSeen = item.firstSeen
  if (item.lastSeen !== undefined) next.lastSeen = item.lastSeen
  if (prev !== undefined) {
    // every log this origin's record went to, for its revoke and relabel (tlp/policy reachOf)
    const reach = reachWith(prev, entry.circle) ?? prev.reach
    if (reach !== undefined) next.reach = reach
    // a relabel later than this version (it arrived first) still loosens it
    if (prev.relabeled !== undefined) relabelVersion(tx, next, prev.relabeled.at, prev.relabeled.entry, prev.relabeled.tlp)
  }
  // a revoke that is later than this version still applies (it arrived first)
  if (prev === undefined) {
    tx.state.counts.indicators++
    if (rec === undefined) tx.put('byValue', vk, { ids: [id] } satisfies ValueRecord)
    else if (!known) tx.put('byValue', vk, { ...rec, ids: [...rec.ids, id] })
    // the value's first indicator (a sighting alone makes a record without ids): file it by host
    if ((rec === undefined || rec.ids.length === 0) && namesHost(item.type)) fileHostValue(tx, item.type, item.value)
    if (item.type === 'cidr') noteCidrLength(tx, item.value)
    if (ctx.pendingRevokes.has(id)) {
      const relabel = tx.get<PendingRelabel>('pendingRelabels', id)
      if (relabel !== undefined && relabel.origin === entry.origin) {
        relabelVersion(tx, next, relabel.created, relabel.entry, relabel.tlp as Tlp)
        tx.del('pendingRelabels', id)
      }
      const pending = tx.get<PendingRevoke>('pendingRevokes', id)
      if (pending !== undefined && pending.origin === entry.origin) {
        if (revokeStands(tx, pending.created, pending.entry, entry)) {
          next.revoked = { at: pending.created, entry: pending.entry, ...(pending.reason !== undefined ? { reason: pending.reason } : {}) }
          tx.state.counts.revoked++
        }
        tx.del('pendingRevokes', id)
        tx.state.pendingRemoved.push(id)
      }
    }
  } else if (prev.revoked !== undefined) {
    if (revokeStands(tx, prev.revoked.at, prev.revoked.entry, entry)) next.revoked = prev.revoked
    else tx.state.counts.revoked-- // re-published after its revocation: live again
  }
  reindex(tx, next)
  return id
}

/** a relabel (at, entry, tlp) later than version `next` is kept with it, and loosens it */
function relabelVersion (tx: Tx, next: StoredIndicator, at: string, entry: string, tlp: Tlp): void {
  if (!laterThan(tx, at, entry, versionOf(next))) return
  next.relabeled = { at, tlp, entry }
  if (relabelApplies(next.tlp, tlp)) next.tlp = tlp
}

function noteCidrLength (tx: Tx, cidr: string): void {
  const slash = cidr.lastIndexOf('/')
  const len = Number(cidr.slice(slash + 1))
  const fam = cidr.includes(':') ? 'v6' : 'v4'
  if (!tx.state.cidr[fam].includes(len)) {
    tx.state.cidr = { ...tx.state.cidr, [fam]: [...tx.state.cidr[fam], len].sort((a, b) => a - b) }
  }
}

function applyRevoke (tx: Tx, ctx: DeriveContext, entry: Entry, hash: string, id: string, reason: string | undefined, received: string): void {
  const prev = tx.get<StoredIndicator>('indicators', id)
  // purged after it expired: nothing left to revoke (the entry is still stored)
  if (prev === undefined && tx.get<string>('purged', id) !== undefined) return
  if (prev === undefined) {
    // the indicator may arrive later (out of order): keep the latest revocation until then
    const known = ctx.pendingRevokes.has(id) ? tx.get<PendingRevoke>('pendingRevokes', id) : undefined
    if (known !== undefined && known.origin === entry.origin && !recordAfter(tx, entry.created, hash, known.created, known.entry)) return
    const pending: PendingRevoke = { origin: entry.origin, created: entry.created, entry: hash, ...(reason !== undefined ? { reason } : {}) }
    tx.put('pendingRevokes', id, pending)
    // a hint that a read is worth it; a stale hint only costs a read
    ctx.pendingRevokes.add(id)
    return
  }
  if (prev.origin !== entry.origin) {
    throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} belongs to another origin; only its origin may revoke it`, { field: 'id' })
  }
  // revokes an older version only; of two revocations the later one is kept
  if (!laterThan(tx, entry.created, hash, versionOf(prev))) return
  if (prev.revoked !== undefined && !recordAfter(tx, entry.created, hash, prev.revoked.at, prev.revoked.entry)) return
  if (prev.revoked === undefined) tx.state.counts.revoked++
  const next: StoredIndicator = {
    ...prev,
    received,
    cursor: nextCursor(tx),
    revoked: { at: entry.created, entry: hash, ...(reason !== undefined ? { reason } : {}) }
  }
  reindex(tx, next)
}

function applySighting (tx: Tx, ctx: DeriveContext, entry: Entry, item: SightingItem): void {
  const vk = valueKey(item.type, item.value)
  const rec = tx.get<ValueRecord>('byValue', vk) ?? { ids: [] }
  const prev = rec.sightings
  if (prev === undefined) tx.state.counts.sightings++
  const s: SightingSummary = prev === undefined
    ? { type: item.type, value: item.value, count: 0, firstSeen: item.firstSeen, lastSeen: item.lastSeen, origins: {} }
    : { ...prev, origins: { ...prev.origins } }
  s.count += item.count
  if (item.firstSeen < s.firstSeen) s.firstSeen = item.firstSeen
  if (item.lastSeen > s.lastSeen) s.lastSeen = item.lastSeen
  const o = s.origins[entry.origin]
  const action = sightingAction(item)
  const next: OriginSightings = o === undefined
    ? { count: item.count, firstSeen: item.firstSeen, lastSeen: item.lastSeen }
    : { ...o, count: o.count + item.count, firstSeen: item.firstSeen < o.firstSeen ? item.firstSeen : o.firstSeen, lastSeen: item.lastSeen > o.lastSeen ? item.lastSeen : o.lastSeen }
  // the origin's stance is its latest sighting's action (and note), whatever order they arrive in
  const prevAction = o === undefined ? undefined : latestOf(o)
  if (prevAction === undefined || laterSighting(item.lastSeen, action, item.note, prevAction.lastSeen, prevAction.action, prevAction.note)) {
    next.action = action
    if (item.note !== undefined) next.note = item.note
    else delete next.note
  }
  const per = o?.actions ?? (o === undefined ? {} : { seen: { count: o.count, lastSeen: o.lastSeen } })
  const a = per[action]
  next.actions = { ...per, [action]: a === undefined ? { count: item.count, lastSeen: item.lastSeen } : { count: a.count + item.count, lastSeen: item.lastSeen > a.lastSeen ? item.lastSeen : a.lastSeen } }
  s.origins[entry.origin] = next
  tx.put('byValue', vk, { ...rec, sightings: s } satisfies ValueRecord)
  // another organization sighted a value this node has its own indicator of: news for the stream
  if (ctx.own !== undefined && entry.origin !== ctx.own && rec.ids.includes(indicatorId(ctx.own, item.type, item.value))) {
    tx.append('events', nextCursor(tx), {
      kind: 'sighting', type: item.type, value: item.value, circle: entry.circle, origin: entry.origin, action, count: item.count, lastSeen: item.lastSeen, ...(item.note !== undefined ? { note: item.note } : {})
    } satisfies StoreEvent)
  }
}

/**
 * An advisory, by its id (origin and nonce): the first stored is kept (an origin's second
 * record with the same nonce, in another entry, is the same advisory), the earliest `created`
 * winning whatever order they arrive in. Its acks are kept apart (applyAck): they may come first.
 */
function applyAdvisory (tx: Tx, entry: Entry, hash: string, item: AdvisoryItem, received: string): void {
  const id = advisoryId(entry.origin, item.nonce)
  const prev = tx.get<StoredAdvisory>('advisories', id)
  if (prev !== undefined && !recordAfter(tx, prev.created, prev.entry.hash, entry.created, hash)) return
  const next: StoredAdvisory = {
    id,
    origin: entry.origin,
    circle: entry.circle,
    tlp: entry.tlp,
    title: item.title,
    text: item.text,
    ...(item.severity !== undefined ? { severity: item.severity } : {}),
    ...(item.cves !== undefined ? { cves: item.cves } : {}),
    ...(item.indicators !== undefined ? { indicators: item.indicators } : {}),
    created: entry.created,
    received,
    entry: { hash, seq: entry.seq }
  }
  tx.put('advisories', id, next)
  if (prev === undefined) tx.append('events', nextCursor(tx), { kind: 'advisory', id } satisfies StoreEvent)
}

/** an ack, kept by advisory id (known or not yet), circle and acker: the earliest one counts */
function applyAck (tx: Tx, entry: Entry, hash: string, item: AckItem): void {
  const k = ackKey(item.advisory, entry.circle, entry.origin)
  const prev = tx.get<AckRecord>('acks', k)
  if (prev !== undefined && !recordAfter(tx, prev.at, prev.entry, entry.created, hash)) return
  tx.put('acks', k, { at: entry.created, entry: hash } satisfies AckRecord)
  if (prev === undefined) tx.append('events', nextCursor(tx), { kind: 'ack', advisory: item.advisory, circle: entry.circle, origin: entry.origin, at: entry.created } satisfies StoreEvent)
}

/**
 * A report version, by its id (origin and nonce): the latest version is the report (a later
 * `created`; a tie: the later place in the same log, else the larger hash), whatever order
 * versions arrive in. The index of which reports link an indicator follows the kept version.
 */
function applyReport (tx: Tx, entry: Entry, hash: string, item: ReportItem, received: string): void {
  const id = reportId(entry.origin, item.nonce)
  const prev = tx.get<StoredReport>('reports', id)
  if (prev !== undefined && !recordAfter(tx, entry.created, hash, prev.created, prev.entry.hash)) return
  const head = { id, nonce: item.nonce, origin: entry.origin, circle: entry.circle, tlp: entry.tlp, created: entry.created, received, entry: { hash, seq: entry.seq } }
  let next: StoredReport
  if (item.revoked === true) {
    next = { ...head, revoked: { at: entry.created, ...(item.reason !== undefined ? { reason: item.reason } : {}) } }
  } else {
    const { kind: _k, nonce: _n, revoked: _r, ...content } = item
    next = { ...head, ...content }
  }
  const before = prev === undefined || prev.revoked !== undefined ? [] : prev.indicators ?? []
  const after = next.revoked !== undefined ? [] : next.indicators ?? []
  for (const ind of before) {
    if (after.includes(ind)) continue
    const left = (tx.get<string[]>('reportLinks', ind) ?? []).filter(r => r !== id)
    if (left.length === 0) tx.del('reportLinks', ind)
    else tx.put('reportLinks', ind, left)
  }
  for (const ind of after) {
    if (before.includes(ind)) continue
    const links = tx.get<string[]>('reportLinks', ind) ?? []
    if (!links.includes(id)) tx.put('reportLinks', ind, [...links, id].sort())
  }
  tx.put('reports', id, next)
  tx.append('events', nextCursor(tx), { kind: 'report', id, ...(next.revoked !== undefined ? { revoked: true } : {}), ...(prev !== undefined ? { update: true } : {}) } satisfies StoreEvent)
}

/** the sighting an origin's stance comes from: its action, the last time of that action, its note */
function latestOf (o: OriginSightings): { lastSeen: string, action: SightingAction, note?: string } {
  // the stance's sighting has the greatest lastSeen of all (a summary from before actions: seen)
  return { lastSeen: o.lastSeen, action: o.action ?? 'seen', ...(o.note !== undefined ? { note: o.note } : {}) }
}

/** is sighting A later than B: lastSeen, then the action's place in SIGHTING_ACTIONS, then the note */
function laterSighting (atA: string, actionA: SightingAction, noteA: string | undefined, atB: string, actionB: SightingAction, noteB: string | undefined): boolean {
  if (atA !== atB) return atA > atB
  const ra = SIGHTING_ACTIONS.indexOf(actionA)
  const rb = SIGHTING_ACTIONS.indexOf(actionB)
  if (ra !== rb) return ra > rb
  return (noteA ?? '') > (noteB ?? '')
}

function applyRelabel (tx: Tx, ctx: DeriveContext, entry: Entry, hash: string, id: string, tlp: Tlp, received: string, ahead: boolean): void {
  const prev = tx.get<StoredIndicator>('indicators', id)
  // purged here after it expired (its origin may keep it longer): the entry is stored, the relabel has nothing to change
  if (prev === undefined && tx.get<string>('purged', id) !== undefined) return
  if (prev === undefined && ahead) {
    // stored ahead of a gap that may hold the indicator: keep the latest relabel until it arrives
    const known = ctx.pendingRevokes.has(id) ? tx.get<PendingRelabel>('pendingRelabels', id) : undefined
    if (known !== undefined && known.origin === entry.origin && !recordAfter(tx, entry.created, hash, known.created, known.entry)) return
    tx.put('pendingRelabels', id, { origin: entry.origin, tlp, created: entry.created, entry: hash } satisfies PendingRelabel)
    ctx.pendingRevokes.add(id)
    return
  }
  if (prev === undefined || prev.origin !== entry.origin) {
    throw new PhalanxError('PX_ERR_FORBIDDEN', `relabel of ${id}: only the origin may relabel its own stored indicator`, { field: 'id' })
  }
  // a relabel older than the current version changed a version that was replaced since
  if (!laterThan(tx, entry.created, hash, versionOf(prev))) return
  const relabeled = prev.relabeled === undefined || recordAfter(tx, entry.created, hash, prev.relabeled.at, prev.relabeled.entry)
    ? { at: entry.created, tlp, entry: hash }
    : prev.relabeled
  // the origin's node refuses a relabel that does not loosen (tlp/policy relabelViolation); here,
  // one that arrives after a later one (through another log the record went to) changes nothing
  if (!relabelApplies(prev.tlp, tlp)) {
    if (relabeled !== prev.relabeled) tx.put('indicators', id, { ...prev, relabeled })
    return
  }
  reindex(tx, { ...prev, tlp, relabeled, received, cursor: nextCursor(tx) })
}
