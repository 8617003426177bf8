/**
 * Offline consistency check of a store: every entry well-formed, signed and chained; every
 * indicator proven by a stored entry and fully indexed (its value filed by host, too); every
 * index key pointing at a record that agrees with it; counters equal to what is stored. Used
 * by tests (crash safety) and, through `verifyStoreAt`, by `phalanx verify`. It reads past the
 * lookup cache (a whole-store scan would only churn it).
 */
import { existsSync } from 'node:fs'
import { PhalanxError } from '../errors.js'
import { entryHash, indicatorId, validateEntry, verifyEntrySignature, type Entry, type StoredIndicator } from '../records/index.js'
import { HOST_LIST_MAX, farthestBelow, hostKeysOf, isFullAndTruncated, namesHost, type HostMore, type HostRecord } from './hosts.js'
import { SEP, headKey, originKey, postingPrefix, valueKey } from './keys.js'
import { POSTING_BUCKETS, findPosting, pairsOf, postingTags, type PostingBucket } from './postings.js'
import type { OwnSeqRecord } from './own-seq.js'
import { LevelStore, readBucket, type LogHead, type StoreCounts, type ValueRecord } from './level-store.js'

/** host records the check keeps parsed while it walks the value index */
const HOST_CHECK_CACHE = 1024

export interface StoreProblem {
  /** tail: an own log ends below the seq the own-seq file says was signed and stored (a lost tail) */
  kind: 'entry' | 'chain' | 'indicator' | 'index' | 'counts' | 'tail'
  key: string
  message: string
}

export interface CheckReport {
  ok: boolean
  entries: number
  indicators: number
  indexKeys: number
  problems: StoreProblem[]
}

export interface CheckOptions {
  /** verify every entry's signature (the slow part: ~9,400/s) */
  signatures?: boolean
  /** stop collecting after this many problems */
  maxProblems?: number
  /** the node's own-seq file: its own logs must reach the seqs it records (a lost tail otherwise) */
  ownSeq?: OwnSeqRecord
}

/**
 * Check the store at `path` offline: it is opened only if it exists, nothing is written on
 * open, and it is closed again. A store in use (by a running node) cannot be opened:
 * PX_ERR_STORE says so.
 */
export async function verifyStoreAt (path: string, opts: CheckOptions = {}): Promise<CheckReport> {
  return await withStoreAt(path, async (store) => await checkStore(store, opts))
}

/**
 * The heads of `origin`'s logs in the store at `path`, read offline (opened and closed as
 * verifyStoreAt does): what `phalanx recover` compares with the own-seq file.
 */
export async function readHeadsAt (path: string, origin: string, logs: string[]): Promise<Map<string, number>> {
  return await withStoreAt(path, async (store) => new Map(logs.map(log => [log, store.head(log, origin)?.seq ?? 0])))
}

/** open the stopped node's store at `path` read-only in spirit (nothing is written on open), run `fn`, close it */
async function withStoreAt<T> (path: string, fn: (store: LevelStore) => Promise<T>): Promise<T> {
  if (!existsSync(path)) throw new PhalanxError('PX_ERR_STORE', `no store at ${path}`)
  const store = new LevelStore({ path, existing: true, readCacheEntries: 0, valueFilterCapacity: 1 })
  try {
    await store.open()
  } catch (err) {
    if (err instanceof PhalanxError && err.code === 'PX_ERR_STORE_DAMAGED') throw err
    // LevelStore's own error already names the path: say it once, with LevelDB's reason
    const why = err instanceof PhalanxError && err.cause instanceof Error ? err.cause.message : (err as Error).message
    throw new PhalanxError('PX_ERR_STORE', `cannot open the store at ${path}: is the node running? stop it first (${why})`, { cause: err })
  }
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export async function checkStore (store: LevelStore, opts: CheckOptions = {}): Promise<CheckReport> {
  const problems: StoreProblem[] = []
  const max = opts.maxProblems ?? 1000
  const add = (p: StoreProblem): void => { if (problems.length < max) problems.push(p) }
  let entries = 0
  let indexKeys = 0

  // 1. entries and their logs: each log's entries from seq 1 chain to its head; entries held
  // beyond the head (stored ahead of a gap, chain.ts) need the log's ahead mark, and held
  // neighbours chain too
  let last: { circle: string, origin: string, seq: number, hash: string } | undefined
  /** per log: the end of the run from seq 1 (the head it must have), and the highest seq held */
  const logs = new Map<string, { head?: { seq: number, hash: string }, max: number }>()
  const marks = await store.aheadMarks()
  for await (const [k, raw] of readBucket(store, 'entries').iterator()) {
    entries++
    let e: Entry
    try {
      // a stored entry is checked as it was stored (v0.1 text too: records/items.ts ItemCheckOptions)
      e = validateEntry(raw, { stored: true })
    } catch (err) {
      add({ kind: 'entry', key: k, message: `malformed: ${(err as Error).message}` }); continue
    }
    if (opts.signatures !== false && !verifyEntrySignature(e)) add({ kind: 'entry', key: k, message: 'signature does not verify' })
    const hash = entryHash(e)
    if (readBucket(store, 'entryByHash').getSync(hash) !== k) add({ kind: 'entry', key: k, message: 'entry hash index missing or wrong' })
    const hk = headKey(e.circle, e.origin)
    const same = last !== undefined && last.circle === e.circle && last.origin === e.origin
    let log = logs.get(hk)
    if (log === undefined) logs.set(hk, log = { max: 0 })
    // an own log goes on past a lost tail an operator accepted: that one skip is expected
    const jump = e.origin === opts.ownSeq?.origin ? opts.ownSeq.accepted?.[e.circle] : undefined
    const jumps = same && jump !== undefined && e.seq === jump.next && last!.seq >= jump.head && last!.seq + 1 < e.seq
    if (same && (e.seq === last!.seq + 1 || jumps)) {
      if (e.prev !== last!.hash) add({ kind: 'chain', key: k, message: `prev of seq ${e.seq} is not the hash of seq ${last!.seq}` })
      else if (log.head?.seq === last!.seq) log.head = { seq: e.seq, hash }
    } else if (!same && e.seq === 1) {
      if (e.prev !== null) add({ kind: 'chain', key: k, message: 'prev of seq 1 is not null' })
      else log.head = { seq: 1, hash }
    } else if ((marks.get(hk) ?? 0) < e.seq) {
      // a gap is only allowed before entries the log's ahead mark covers
      add({ kind: 'chain', key: k, message: `seq ${e.seq} follows ${same ? last!.seq : 0}` })
    }
    log.max = e.seq
    last = { circle: e.circle, origin: e.origin, seq: e.seq, hash }
  }
  for (const [k, h] of await readBucket(store, 'heads').iterator().all()) {
    const l = logs.get(k)?.head
    const head = h as LogHead
    if (l === undefined || l.seq !== head.seq || l.hash !== head.hash) add({ kind: 'chain', key: k, message: 'log head does not match the end of the entries chained from seq 1' })
  }
  for (const [k, log] of logs) {
    if (log.head !== undefined && readBucket(store, 'heads').getSync(k) === undefined) add({ kind: 'chain', key: k, message: 'log without a head' })
  }
  for (const [k, max] of marks) {
    const log = logs.get(k)
    if (log === undefined || max <= (log.head?.seq ?? 0)) add({ kind: 'chain', key: k, message: `ahead mark ${max} but nothing held beyond the head` })
  }

  // the node's own logs reach what it signed and stored (own-seq.json), or the loss was accepted
  const own = opts.ownSeq
  if (own !== undefined) {
    for (const [log, signed] of Object.entries(own.logs)) {
      const head = store.head(log, own.origin)?.seq ?? 0
      const accepted = own.accepted?.[log]
      if (head < signed && !(accepted !== undefined && accepted.signed >= signed)) {
        add({ kind: 'tail', key: log, message: `this node's own log ends at seq ${head} but it signed and stored up to seq ${signed} (own-seq.json): a lost tail (a truncated write-ahead log, or an older backup). Start the node to get the entries back from peers by sync, or accept the loss with \`phalanx recover --accept-lost-tail\`` })
      }
    }
  }

  // 2. indicators: proven and indexed
  let indicators = 0
  let revoked = 0
  // a bulk entry proves up to 1,000 indicators: parse each proving entry once, not once per
  // indicator (that was O(indicators x entry size): ~30 s for 70k indicators)
  const expected: Record<PostingBucket, number> = { changes: 0, byType: 0, byOrigin: 0, byTag: 0 }
  const proving = new Map<string, { origin: string, values: Set<string> } | null>()
  for await (const [id, v] of readBucket(store, 'indicators').iterator()) {
    indicators++
    const ind = v as StoredIndicator
    if (ind.revoked !== undefined) revoked++
    if (indicatorId(ind.origin, ind.type, ind.value) !== id) add({ kind: 'indicator', key: id, message: 'id does not match (origin, type, value)' })
    let entry = proving.get(ind.entry.hash)
    if (entry === undefined) {
      const e = store.getEntryByHash(ind.entry.hash)
      entry = e === undefined ? null : { origin: e.origin, values: new Set(e.items.flatMap(it => it.kind === 'indicator' ? [valueKey(it.type, it.value)] : [])) }
      proving.set(ind.entry.hash, entry)
    }
    if (entry === null) {
      add({ kind: 'indicator', key: id, message: `proving entry ${ind.entry.hash} is missing` })
    } else if (!entry.values.has(valueKey(ind.type, ind.value)) || entry.origin !== ind.origin) {
      add({ kind: 'indicator', key: id, message: 'proving entry does not contain this indicator' })
    }
    expected.changes++; expected.byType++; expected.byOrigin++
    expected.byTag += postingTags(ind.tags).length
    const ids = store.readUncached<ValueRecord>('byValue', valueKey(ind.type, ind.value))?.ids
    if (ids === undefined || !ids.includes(id)) add({ kind: 'index', key: `byValue:${ind.type}`, message: `value index misses ${id}` })
  }

  // 3. posting pairs: ordered, pointing at indicators, and every current version indexed
  // (pairs of older versions stay behind and readers skip them: postings.ts)
  for (const b of POSTING_BUCKETS) {
    let current = 0
    let prevPrefix: string | undefined
    let prevCursor = ''
    for await (const [k, block] of readBucket(store, b).iterator()) {
      const prefix = k.slice(0, -14)
      let pairs: Array<[string, string]>
      try {
        pairs = pairsOf(k, block)
      } catch (err) {
        add({ kind: 'index', key: `${b}:${k}`, message: (err as Error).message }); continue
      }
      if (pairs[0][0] !== k.slice(-14)) add({ kind: 'index', key: `${b}:${k}`, message: 'block key does not name its first cursor' })
      if (prefix !== prevPrefix) { prevPrefix = prefix; prevCursor = '' }
      for (const [cursor, id] of pairs) {
        indexKeys++
        if (cursor <= prevCursor) add({ kind: 'index', key: `${b}:${k}`, message: `cursor ${cursor} is out of order` })
        prevCursor = cursor
        const ind = store.scanIndicator(id)
        if (ind === undefined) {
          // a purged indicator's pairs stay behind (readers skip them); any other is dangling
          if (readBucket(store, 'purged').getSync(id) === undefined) add({ kind: 'index', key: `${b}:${k}`, message: `points at missing indicator ${id}` })
        }
        else if (ind.cursor < cursor) add({ kind: 'index', key: `${b}:${k}`, message: `pair at ${cursor} is newer than indicator ${id} (at ${ind.cursor})` })
        else if (ind.cursor === cursor) {
          if (postingPrefixesOf(b, ind).includes(prefix)) current++
          else add({ kind: 'index', key: `${b}:${k}`, message: `indicator ${id} does not belong under ${JSON.stringify(prefix)}` })
        }
      }
    }
    if (current < expected[b]) {
      // name the indicators whose pair is missing (a second pass, only when something is)
      for await (const [id, v] of readBucket(store, 'indicators').iterator()) {
        const ind = v as StoredIndicator
        for (const prefix of postingPrefixesOf(b, ind)) {
          if (await findPosting(store, b, prefix, ind.cursor) !== id) add({ kind: 'index', key: `${b}:${prefix}${ind.cursor}`, message: `index pair for ${id} missing` })
        }
      }
    }
  }
  // the value index, and the host index filing each value that lists an indicator (hosts.ts)
  const hostRecords = new Map<string, HostRecord | undefined>()
  const hostRecord = (host: string): HostRecord | undefined => {
    if (hostRecords.has(host)) return hostRecords.get(host)
    // values of one host sort together: a few recent records serve nearly every read
    if (hostRecords.size >= HOST_CHECK_CACHE) hostRecords.clear()
    const rec = store.readUncached<HostRecord>('byHost', host)
    const more = rec === undefined ? undefined : store.readUncached<HostMore>('hostMore', host)
    // `n` counts every value filed, the ones counted past a full record too
    const counted = rec === undefined || more === undefined ? rec : { n: rec.n + more.more, v: rec.v }
    hostRecords.set(host, counted)
    return counted
  }
  for await (const [k, rec] of readBucket(store, 'byValue').iterator()) {
    indexKeys++
    const ids = (rec as ValueRecord).ids
    for (const id of ids) if (store.scanIndicator(id) === undefined) add({ kind: 'index', key: `byValue:${k}`, message: `points at missing indicator ${id}` })
    const [type, value] = k.split(SEP)
    if (ids.length === 0 || !namesHost(type)) continue
    for (const [host] of hostKeysOf(type, value)) {
      const h = hostRecord(host)
      // a full record counts what it cannot list
      if (h === undefined || (h.n === h.v.length && !h.v.some(x => x[1] === value && x[0] === type))) add({ kind: 'index', key: `byHost:${host}`, message: `host index misses ${type} ${value}` })
    }
  }
  for await (const [host, raw] of readBucket(store, 'hostMore').iterator()) {
    indexKeys++
    const more = raw as HostMore
    const rec = store.readUncached<HostRecord>('byHost', host)
    if (rec === undefined || !isFullAndTruncated(rec)) add({ kind: 'index', key: `hostMore:${host}`, message: 'counts values past a host record that is not full and truncated' })
    else if (!Number.isSafeInteger(more.more) || more.more < 1 || more.far !== farthestBelow(rec.v)) add({ kind: 'index', key: `hostMore:${host}`, message: `counts ${String(more.more)} past a record whose farthest listed value is ${farthestBelow(rec.v)} labels down, not ${String(more.far)}` })
  }
  for await (const [host, raw] of readBucket(store, 'byHost').iterator()) {
    indexKeys++
    const rec = raw as HostRecord
    if (rec.v.length > rec.n || rec.v.length > HOST_LIST_MAX) add({ kind: 'index', key: `byHost:${host}`, message: `lists ${rec.v.length} values and counts ${rec.n}` })
    for (const [type, value, below] of rec.v) {
      if ((store.readUncached<ValueRecord>('byValue', valueKey(type, value))?.ids.length ?? 0) === 0) add({ kind: 'index', key: `byHost:${host}`, message: `lists ${type} ${value}, which no indicator carries` })
      else if (!hostKeysOf(type, value).some(([key, b]) => key === host && b === below)) add({ kind: 'index', key: `byHost:${host}`, message: `lists ${type} ${value}, which does not belong under it ${below} labels down` })
    }
  }

  // 4. counters
  const c: StoreCounts = store.counts()
  if (c.entries !== entries || c.indicators !== indicators || c.revoked !== revoked) {
    add({ kind: 'counts', key: 'counts', message: `stored counts ${JSON.stringify(c)} differ from entries ${entries}, indicators ${indicators}, revoked ${revoked}` })
  }
  return { ok: problems.length === 0, entries, indicators, indexKeys, problems }
}

/** the prefixes under which a posting bucket lists an indicator's current version */
function postingPrefixesOf (b: PostingBucket, ind: StoredIndicator): string[] {
  switch (b) {
    case 'changes': return ['']
    case 'byType': return [postingPrefix(ind.type)]
    case 'byOrigin': return [postingPrefix(originKey(ind.origin))]
    case 'byTag': return postingTags(ind.tags).map(postingPrefix)
  }
}
