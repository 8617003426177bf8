/**
 * Indicator use cases: publish (single, bulk, import), get, revoke, relabel, re-share, lookup,
 * query, purge. User input is parsed here, once; every decision about who may receive what is
 * the TLP policy's (src/tlp/policy.ts); Ingest still checks every entry it writes.
 */
import type { Logger } from 'pino'
import { effectiveConfidence, sightedView, stanceCounts, type SightedView } from './sighting-view.js'
import { PhalanxError, ValidationError, withFieldPrefix } from '../errors.js'
import { fingerprint, type Identity } from '../identity/index.js'
import {
  LOCAL_CIRCLE, isInLog, isRedLog, lastChangeOf, redLogOf, detectType, normalizeValue, parseIndicatorInput, parseTime, isIndicatorType,
  optionalText, LIMITS, isIndicatorId, WELL_FORMED_MESSAGE, sameAddressForms, isObject, parseRecipients,
  type IndicatorType, type Item, type StoredIndicator
} from '../records/index.js'
import { entryLabelFor, passOnViolation, publishViolation, reachOf, relabelViolation, reshareViolation, refuse, parseTlp, type HeldRecord, type LogKind, type Tlp } from '../tlp/index.js'
import type { CircleManager } from '../circles/index.js'
import {
  lookupValue, queryIndicators, type Ingest, type LevelStore, type LookupResult, type QueryFilter,
  type QueryPage, type EntryReceipt, type PublishBatch
} from '../store/index.js'
import { bodyWith, orgNameOf, recipientKeysOf, resolveCircle } from './input.js'
import type { ReportMention, Reports } from './reports.js'

/** indicators per POST /v1/indicators (issue #2: up to 10,000) */
export const MAX_BULK_INDICATORS = 10_000

export interface PublishOutcome {
  /** ids of the published inputs, in input order (the skipped ones left out) */
  ids: string[]
  entries: EntryReceipt[]
  /** inputs left out because publishing them would break TLP (only with skipTlpViolations) */
  skipped?: Array<{ index: number, code: string, message: string, field: string }>
}

/** what a publish request is answered with (a bulk call also gets `count`) */
export interface PublishAnswer {
  id?: string | null
  count?: number
  ids: string[]
  entries: EntryReceipt[]
  skipped?: Array<{ index: number, code: string, message: string, field: string }>
}

const BULK_KEYS = new Set(['indicators', 'tlp', 'circle', 'to'])

/** a lookup as the API answers it: the store's result, each match's effective confidence, the sightings by organization */
export interface LookupAnswer extends LookupResult {
  matches: Array<LookupResult['matches'][number] & { effectiveConfidence: number }>
  sighted: SightedView | null
  /** the reports that link one of the value's exact matches (issue 16), newest first */
  reports: ReportMention[]
}

export interface IndicatorComponents {
  store: LevelStore
  ingest: Ingest
  circles: Pick<CircleManager, 'mine' | 'peerKeys' | 'formerError'>
  identity: Pick<Identity, 'publicKey' | 'org'>
  publish: { defaultTlp: Tlp, defaultConfidence: number }
  /** records queued for writing above which a publish is refused (429) */
  maxQueuedItems: number
  log: Logger
  /** names the reports linking a lookup's exact matches */
  reports?: Pick<Reports, 'mentioning'>
  /** told after this node re-shared another origin's indicator (Withdrawals.sweep: a revoke may have come in meanwhile) */
  reshared?: () => void
}

export class Indicators {
  readonly #c: IndicatorComponents
  #purging: Promise<void> | undefined

  constructor (components: IndicatorComponents) {
    this.#c = components
  }

  /** a RED recipient must be an org this node shares a circle with (its key is verified there) */
  #checkRecipient (key: string, field: string): void {
    if (key === this.#c.identity.publicKey) throw new ValidationError(field, 'a RED recipient is another organization, not this one')
    if (!this.#c.circles.peerKeys().has(key)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `recipient ${key.slice(0, 16)}… is not a member of any circle this node is in: exchange keys first`, { field })
  }

  #checkBackpressure (): void {
    if (this.#c.ingest.queuedItems > this.#c.maxQueuedItems) {
      throw new PhalanxError('PX_ERR_RATE_LIMITED', 'the node is busy writing earlier publishes; retry shortly', { meta: { retryAfter: 1 } })
    }
  }

  /**
   * Why publishing (type, value) at `tlp` to `target` would pass on what another organization
   * shared with us, against its TLP; null when it would not. Such a value goes to no other
   * circle or recipient unless it is CLEAR (GREEN: by an explicit re-share), and is never
   * published at a looser TLP than it came with (not even in its own circle or the private
   * scope, whose records exports and read tokens see). Updating this node's own record of the
   * value in `target` is always allowed. An IP is also checked in its other written forms (a
   * /32 or /128 network, an IPv4-mapped IPv6 address); reads bypass the lookup cache.
   */
  reshareViolation (type: string, value: string, tlp: Tlp, target: string, explicit = false): string | null {
    // a store that never took another origin's entry has nothing to pass on
    if (!this.#c.store.mayHoldForeign()) return null
    const held: HeldRecord[] = []
    /** this node's own record of the value in the target: publishing is updating it */
    let ownInTarget = false
    for (const [t, v] of sameAddressForms(type, value)) {
      for (const ind of this.#c.store.indicatorsOfValueUncached(t, v)) {
        if (ind.origin !== this.#c.identity.publicKey) {
          // held from every log the record reached this node in (a re-share by its origin adds one)
          const alsoIn = (ind.reach ?? []).filter(l => l !== ind.circle)
          held.push({ id: ind.id, tlp: ind.tlp, log: ind.circle, ...(alsoIn.length > 0 ? { alsoIn } : {}), from: `org ${fingerprint(ind.origin)} ${isRedLog(ind.circle) ? 'directly (RED)' : `in circle ${ind.circle}`}` })
        } else if (isInLog(ind, target) && t === type && v === value) ownInTarget = true
      }
    }
    return passOnViolation(held, { tlp, target, local: target === LOCAL_CIRCLE, explicit, ownInTarget })
  }

  /**
   * Publish indicators given by a user (API, CLI, import). Every input is validated first;
   * one bad input refuses the whole call (nothing stored) with the field named, e.g.
   * `indicators[3].value`. The call is written in one atomic batch.
   */
  async publishIndicators (inputs: unknown[], opts: { fieldPrefix?: string, defaults?: { tlp?: Tlp, circle?: string, to?: string[] }, explicitReshare?: boolean, skipTlpViolations?: boolean, after?: string, reshareOf?: string } = {}): Promise<PublishOutcome> {
    if (inputs.length > MAX_BULK_INDICATORS) {
      throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_BULK_INDICATORS} indicators per call; got ${inputs.length}`, { field: 'indicators' })
    }
    this.#checkBackpressure()
    const defaults = { tlp: opts.defaults?.tlp ?? this.#c.publish.defaultTlp, confidence: this.#c.publish.defaultConfidence }
    const groups = new Map<string, PublishBatch>()
    /** inputs left out as TLP violations (only with skipTlpViolations) */
    const skipped: Array<{ index: number, code: string, message: string, field: string }> = []
    // where each input lands: its batch and position, to give ids back in input order
    const places: Array<[PublishBatch, number]> = []
    // the defaults are the envelope's: a bad one is named as the envelope's field, once
    if (opts.defaults?.circle !== undefined) resolveCircle(this.#c.circles, opts.defaults.circle, 'circle')
    const defaultTo = opts.defaults?.to
    defaultTo?.forEach((r, j) => { this.#checkRecipient(r, defaultTo.length === 1 ? 'to' : `to[${j}]`) })
    inputs.forEach((raw, i) => {
      try {
        // a recipient may be named by its fingerprint too
        const p = parseIndicatorInput(isObject(raw) && raw.to !== undefined ? { ...raw, to: recipientKeysOf(this.#c.circles, raw.to, 'to') } : raw, defaults)
        const to = p.to ?? opts.defaults?.to
        let targets: string[]
        if (to !== undefined) {
          // RED to named recipients: one direct log per recipient (never a circle)
          refuse(publishViolation(p.tlp, { to: 'recipients', circleNamed: (p.circle ?? opts.defaults?.circle) !== undefined }))
          targets = to.map((r, j) => { this.#checkRecipient(r, to.length === 1 ? 'to' : `to[${j}]`); return redLogOf(r) })
        } else {
          const circle = resolveCircle(this.#c.circles, p.circle ?? opts.defaults?.circle, 'circle')
          const denied = publishViolation(p.tlp, { to: circle === LOCAL_CIRCLE ? 'local' : 'circle' })
          // an import (skipTlpViolations) leaves a RED row out with its reason, not the whole batch
          if (denied !== null && opts.skipTlpViolations === true) {
            skipped.push({ index: i, code: 'PX_ERR_TLP_VIOLATION', message: denied.message, field: denied.field })
            return
          }
          refuse(denied)
          targets = [circle]
        }
        for (const circle of targets) {
          const why = this.reshareViolation(p.item.type, p.item.value, p.tlp, circle, opts.explicitReshare === true)
          if (why !== null) {
            const e = new PhalanxError('PX_ERR_TLP_VIOLATION', why, { field: 'value' })
            if (opts.skipTlpViolations !== true) throw e
            skipped.push({ index: i, code: e.code, message: why, field: 'value' })
            return
          }
        }
        targets.forEach((circle, j) => {
          const k = `${circle}\x00${p.tlp}`
          let g = groups.get(k)
          if (g === undefined) { g = { circle, tlp: p.tlp, items: [] }; groups.set(k, g) }
          if (j === 0) places.push([g, g.items.length])
          g.items.push(p.item)
          // a re-share copies this org's version in another log: the new one must be later
          // (PublishBatch.after; read only for a re-share, not for every published item)
          if (opts.after !== undefined && (g.after === undefined || opts.after > g.after)) g.after = opts.after
          if (opts.reshareOf !== undefined) g.reshareOf = opts.reshareOf
        })
      } catch (err) {
        throw opts.fieldPrefix === undefined ? err : withFieldPrefix(err, `${opts.fieldPrefix}[${i}]`, { anyCode: true })
      }
    })
    const batches = [...groups.values()]
    const res = await this.#c.ingest.publish(batches)
    // ingest reports ids batch after batch, in item order
    const offset = new Map<PublishBatch, number>()
    let o = 0
    for (const b of batches) { offset.set(b, o); o += b.items.length }
    const ids = places.map(([b, pos]) => res.ids[offset.get(b)! + pos] as string)
    return { ids, entries: res.entries, ...(opts.skipTlpViolations === true ? { skipped } : {}) }
  }

  /**
   * A publish request's body: one indicator object, or `{indicators: […], tlp?, circle?, to?}`
   * (the call's defaults). Answers with the ids in input order, and for a bulk call the count.
   */
  async publishBody (body: unknown, opts: { skipTlpViolations?: boolean } = {}): Promise<PublishAnswer> {
    const skip = opts.skipTlpViolations === true
    let inputs: unknown[]
    let prefix: string | undefined
    const defaults: { tlp?: Tlp, circle?: string, to?: string[] } = {}
    if (isObject(body) && 'indicators' in body) {
      for (const k of Object.keys(body)) if (!BULK_KEYS.has(k)) throw new ValidationError(k, `unknown field "${k}" in a bulk publish; use {"indicators":[…], "tlp"?, "circle"?, "to"?}`)
      if (!Array.isArray(body.indicators)) throw new ValidationError('indicators', 'indicators must be an array')
      if (body.indicators.length === 0) throw new ValidationError('indicators', 'indicators is empty')
      if (body.indicators.length > MAX_BULK_INDICATORS) {
        throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_BULK_INDICATORS} indicators per request; got ${body.indicators.length}`, { field: 'indicators' })
      }
      if (body.tlp !== undefined) defaults.tlp = parseTlp(body.tlp)
      if (body.circle !== undefined) {
        if (typeof body.circle !== 'string') throw new ValidationError('circle', 'circle must be a string')
        defaults.circle = body.circle
      }
      if (body.to !== undefined) defaults.to = parseRecipients(recipientKeysOf(this.#c.circles, body.to, 'to'), 'to')
      inputs = body.indicators
      prefix = 'indicators'
    } else if (isObject(body)) {
      inputs = [body]
    } else {
      throw new ValidationError('body', 'the body must be an indicator object or {"indicators":[…]}')
    }
    const out = await this.publishIndicators(inputs, { ...(prefix !== undefined ? { fieldPrefix: prefix } : {}), defaults, skipTlpViolations: skip })
    const skipped = skip ? { skipped: (out.skipped ?? []).map(x => ({ ...x, field: prefix !== undefined ? `${prefix}[${x.index}].${x.field}` : x.field })) } : {}
    return prefix === undefined
      ? { id: out.ids[0] ?? null, ids: out.ids, entries: out.entries, ...skipped }
      : { count: out.ids.length, ids: out.ids, entries: out.entries, ...skipped }
  }

  /** a revoke request's body: `{reason?}` (or none) */
  async revokeBody (id: string, body: unknown): Promise<{ id: string, revoked: StoredIndicator['revoked'], entry: EntryReceipt }> {
    const b = body ?? {}
    if (!isObject(b)) throw new ValidationError('body', 'the body must be a JSON object (or empty)')
    for (const k of Object.keys(b)) if (k !== 'reason') throw new ValidationError(k, `unknown field "${k}"; only "reason"`)
    const r = await this.revoke(id, b.reason)
    return { id: r.indicator.id, revoked: r.indicator.revoked, entry: r.entry }
  }

  /** a relabel request's body: `{tlp}` */
  async relabelBody (id: string, body: unknown): Promise<{ id: string, tlp: Tlp, entry: EntryReceipt }> {
    const b = body ?? {}
    if (!isObject(b)) throw new ValidationError('body', 'the body must be a JSON object')
    for (const k of Object.keys(b)) if (k !== 'tlp') throw new ValidationError(k, `unknown field "${k}"; only "tlp"`)
    const r = await this.relabel(id, b.tlp)
    return { id: r.indicator.id, tlp: r.indicator.tlp, entry: r.entry }
  }

  getIndicator (id: string): StoredIndicator {
    if (!isIndicatorId(id)) throw new ValidationError('id', 'id must be 32 lower-case hex characters')
    const ind = this.#c.store.getIndicator(id)
    if (ind === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no indicator ${id}`, { field: 'id' })
    return ind
  }

  async revoke (id: string, reason?: unknown): Promise<{ indicator: StoredIndicator, entry: EntryReceipt }> {
    const r = optionalText(reason, 'reason', LIMITS.REASON_MAX)
    const ind = this.getIndicator(id)
    if (ind.origin !== this.#c.identity.publicKey) {
      throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} was published by another organization; only its origin can revoke it`, { field: 'id' })
    }
    if (ind.revoked !== undefined) throw new PhalanxError('PX_ERR_CONFLICT', `indicator ${id} is already revoked (${ind.revoked.at})`, { field: 'id' })
    const item: Item = r === undefined ? { kind: 'revoke', id } : { kind: 'revoke', id, reason: r }
    // to every log the record went to (a re-share to another circle, RED to several recipients)
    const res = await this.#c.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), ind.tlp), items: [item], after: lastChangeOf(ind) })))
    return { indicator: this.getIndicator(id), entry: res.entries[0] }
  }

  /**
   * The origin loosens its own indicator's TLP with a signed relabel record, in the log the
   * indicator lives in (TLP 2.0 lets the source re-label; nobody else may).
   */
  async relabel (id: string, rawTlp: unknown): Promise<{ indicator: StoredIndicator, entry: EntryReceipt }> {
    const ind = this.getIndicator(id)
    if (ind.origin !== this.#c.identity.publicKey) throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} was published by another organization; only its origin can relabel it`, { field: 'id' })
    const tlp = parseTlp(rawTlp, 'tlp')
    refuse(relabelViolation(ind.tlp, tlp))
    // to every log the record went to; a recipient log carries RED entries only, a circle log the new label
    const res = await this.#c.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), tlp), items: [{ kind: 'relabel', id, tlp }], after: lastChangeOf(ind) })))
    return { indicator: this.getIndicator(id), entry: res.entries[0] }
  }

  /**
   * Share an indicator this node holds into another of its circles, as this org's own record
   * (same value, TLP and context). TLP decides (DESIGN §2): CLEAR may go anywhere, GREEN only
   * by this explicit call, AMBER, AMBER+STRICT and RED never leave their circle. A copy of
   * another origin's record is withdrawn when that origin revokes it (withdrawals.ts).
   */
  async reshare (id: string, raw: unknown): Promise<PublishOutcome & { from: string, to: string }> {
    bodyWith(raw, new Set(['circle']))
    const ind = this.getIndicator(id)
    if (typeof raw.circle !== 'string') throw new ValidationError('circle', 'circle (the target) is required')
    const target = resolveCircle(this.#c.circles, raw.circle, 'circle')
    if (target === ind.circle) throw new PhalanxError('PX_ERR_CONFLICT', `indicator ${id} is already in ${target}`, { field: 'circle' })
    refuse(reshareViolation(ind.tlp))
    if (ind.revoked !== undefined) throw new PhalanxError('PX_ERR_CONFLICT', `indicator ${id} was revoked (${ind.revoked.at}${ind.revoked.reason !== undefined ? `: ${ind.revoked.reason}` : ''}); a revoked indicator is not re-shared`, { field: 'id' })
    if (target === LOCAL_CIRCLE) throw new PhalanxError('PX_ERR_VALIDATION', 're-share targets a circle', { field: 'circle' })
    const input: Record<string, unknown> = { type: ind.type, value: ind.value, tlp: ind.tlp, confidence: ind.confidence, tags: ind.tags, circle: target }
    for (const k of ['description', 'validFrom', 'validUntil', 'firstSeen', 'lastSeen'] as const) if (ind[k] !== undefined) input[k] = ind[k]
    // the copy is a later version than the one it copies, even in the same millisecond; of
    // another origin's record, the store remembers the copy (withdrawn when the source is revoked)
    const theirs = ind.origin !== this.#c.identity.publicKey
    const out = await this.publishIndicators([input], { explicitReshare: true, after: lastChangeOf(ind), ...(theirs ? { reshareOf: id } : {}) })
    if (theirs) this.#c.reshared?.()
    return { ...out, from: ind.circle, to: target }
  }

  /** resolve a user-given value (and optional type) to its normalized form */
  normalizeLookup (rawValue: unknown, rawType?: unknown): { type: IndicatorType, value: string } {
    if (typeof rawValue !== 'string' || rawValue.trim() === '') throw new ValidationError('value', 'value is required')
    if (rawValue.length > LIMITS.VALUE_MAX) throw new ValidationError('value', `value has at most ${LIMITS.VALUE_MAX} characters`)
    if (!rawValue.isWellFormed()) throw new ValidationError('value', WELL_FORMED_MESSAGE)
    let type: IndicatorType
    if (rawType === undefined || rawType === '') {
      const t = detectType(rawValue)
      if (t === undefined) throw new ValidationError('value', `cannot tell what kind of indicator "${rawValue.slice(0, 100)}" is; name its type (type= in the API, --type in the CLI)`)
      type = t
    } else {
      // quote only a (short) string: JSON.stringify of a deeply nested value overflows the stack
      if (typeof rawType !== 'string') throw new ValidationError('type', 'type must be a string naming an indicator type')
      if (!isIndicatorType(rawType)) throw new ValidationError('type', `unknown indicator type ${JSON.stringify(rawType.slice(0, 100))}`)
      type = rawType
    }
    return { type, value: normalizeValue(type, rawValue) }
  }

  /**
   * Is the value known? Its matches (an exact match's `effectiveConfidence` counts the false
   * positives reported: sighting-view.ts), and who sighted it and what they did (`sighted`).
   */
  lookup (rawValue: unknown, rawType?: unknown, opts: { includeRevoked?: boolean, includeExpired?: boolean } = {}): LookupAnswer {
    const { type, value } = this.normalizeLookup(rawValue, rawType)
    const r = lookupValue(this.#c.store, type, value, opts)
    const s = r.sightings ?? undefined
    const reports = this.#c.reports?.mentioning(r.matches.filter(m => m.match === 'exact').map(m => m.id)) ?? []
    if (s === undefined) return { ...r, matches: r.matches.map(m => ({ ...m, effectiveConfidence: m.confidence })), sighted: null, reports }
    return {
      ...r,
      reports,
      matches: r.matches.map(m => ({ ...m, effectiveConfidence: m.match === 'exact' ? effectiveConfidence(m.confidence, s) : m.confidence })),
      sighted: sightedView(s, k => orgNameOf(this.#c.circles, this.#c.identity, k))
    }
  }


  /**
   * A page of indicators. An indicator whose value was sighted also carries `sighted` (how many
   * organizations, and how many per stance) and `effectiveConfidence` (sighting-view.ts).
   */
  async query (filter: QueryFilter): Promise<QueryPage> {
    const page = await queryIndicators(this.#c.store, filter)
    if (this.#c.store.counts().sightings === 0) return page
    return {
      ...page,
      indicators: page.indicators.map(ind => {
        const s = this.#c.store.sightings(ind.type, ind.value)
        if (s === undefined) return ind
        return { ...ind, effectiveConfidence: effectiveConfidence(ind.confidence, s), sighted: { orgs: Object.keys(s.origins).length, byAction: stanceCounts(s), count: s.count, lastSeen: s.lastSeen } }
      })
    }
  }

  /**
   * Purge indicators whose validUntil is before `expiredBefore` (default: now): their records
   * and value index ids go, their signed entries stay. One purge at a time.
   */
  async purgeExpired (raw: unknown = {}): Promise<{ scanned: number, purged: number, expiredBefore: string }> {
    bodyWith(raw ?? {}, new Set(['expiredBefore']))
    const body = (raw ?? {}) as { expiredBefore?: unknown }
    const now = new Date().toISOString()
    const expiredBefore = body.expiredBefore === undefined ? now : parseTime(body.expiredBefore, 'expiredBefore')
    // a purge removes expired indicators only: a date ahead of now would remove live ones
    if (expiredBefore > now) throw new ValidationError('expiredBefore', `expiredBefore ${expiredBefore} is in the future: a purge removes expired indicators only (validUntil before now), never live ones`)
    const log = this.#c.log
    // one purge at a time: a request waits for the one running, then runs its own
    const run = async (): Promise<{ scanned: number, purged: number, expiredBefore: string }> => {
      const t0 = Date.now()
      const r = await this.#c.ingest.purgeExpired(expiredBefore)
      if (r.purged > 0) log.info({ ...r, expiredBefore, ms: Date.now() - t0 }, 'purged expired indicators (their entries stay)')
      return { ...r, expiredBefore }
    }
    const p = (this.#purging ?? Promise.resolve()).then(run, run)
    this.#purging = p.then(() => {}, () => {})
    return await p
  }
}

/** the kind of log an indicator's record can live in (never a membership log) */
function logKindOf (log: string): LogKind {
  return isRedLog(log) ? 'red' : log === LOCAL_CIRCLE ? 'local' : 'circle'
}
