/**
 * The LevelDB store: opening (with a format-version check), the buckets, and reads.
 * Writes go only through Ingest (ingest/), one atomic batch per group of entries: the
 * LevelDB handle and its buckets are private; the store's own modules reach them through
 * `writeBatch` (the writer) and `readBucket` (check, postings), which the store's index does
 * not export. Hot reads (lookup) use getSync: ~1 µs instead of ~40 µs for an async get here.
 */
import { Level } from 'level'
import { LRUCache } from 'lru-cache'
import type { AbstractChainedBatch, AbstractSublevel } from 'abstract-level'
import { mkdirSync } from 'node:fs'
import { PhalanxError } from '../errors.js'
import { READ_SIGNATURE, type Entry, type StoredIndicator } from '../records/index.js'
import { KeyFilter } from './key-filter.js'
import { HOST_LIST_MAX, type HostMore, type HostRecord } from './hosts.js'
import { upgradeToHosts, upgradeToReach } from './upgrade.js'
import { damagedStore, inspectStoreDir } from './store-dir.js'
import type { Ack, AckRecord, AheadMark, Copy, CopyLink, ControlRecord, ForkEvidence, InviteRecord, LogHead, OutboxRecord, SightingSummary, StoreCounts, StoreEvent, StoreOptions, StoredAdvisory, ValueRecord } from './interface.js'

export type { InviteRecord, OutboxRecord, ControlRecord, LogHead, ForkEvidence, StoreCounts, SightingSummary, OriginSightings, ValueRecord, PendingRevoke, PendingRelabel, AheadMark, StoreOptions, Copy, CopyLink, StoredAdvisory, AckRecord, Ack, StoreEvent } from './interface.js'
import { BUCKET, HIGH, META_KEY, ROOT_PREFIX, SEP, STORE_FORMAT_VERSION, entryKey, headKey, valueKey, type BucketName } from './keys.js'

/**
 * Buckets whose parsed values (and absences) are kept in a small LRU: what lookups read.
 * Both are written only through the writer's overlay, which evicts what it writes. Cached
 * values are shared: callers treat them as read-only (the writer copies before changing).
 */
const CACHED_BUCKETS = new Set<BucketName>(['indicators', 'byValue'])
/**
 * Entries in the read cache (parsed records; ~10-20 MB). A Map used as an LRU costs ~12 µs
 * per eviction at this size (deleted slots at its front are skipped by every keys().next()),
 * lru-cache ~0.3 µs.
 */
const READ_CACHE_ENTRIES = 20_000
/** the cached mark of a key read and found absent */
const ABSENT = Object.freeze({})
/** buckets whose keys the value filter holds: the value index and the host index */
const FILTERED = new Set<BucketName>(['byValue', 'byHost'])
const FILTERED_PREFIXES = [ROOT_PREFIX.byValue, ROOT_PREFIX.byHost] as const
/** the value filter is sized for at least this many keys (~5 MB): a rebuild is rare */
const VALUE_FILTER_MIN_KEYS = 4 << 20

/** the store's directory inside a node's data dir */
export const STORE_DIR = 'store'

/** abstract-level's sublevel prefix for each bucket: `!name!` */

export type Sub = AbstractSublevel<Level<string, unknown>, string | Buffer | Uint8Array, string, any>

/** what the store's own modules may do with a bucket: read it (writes go through the writer) */
export type BucketReader = Pick<Sub, 'iterator' | 'keys' | 'values' | 'getSync'>

/** a batch over the root (keys are `LevelStore.fullKey`s, values JSON text) */
export type RootBatch = AbstractChainedBatch<Level<string, unknown>, string, unknown>

/** set in LevelStore's static block: the batch of a store's root (see `writeBatch`) */
let batchOf: (store: LevelStore) => RootBatch
/** set in LevelStore's static block: a bucket of a store, read-only (see `readBucket`) */
let bucketOf: (store: LevelStore, name: BucketName) => BucketReader

/**
 * A new batch over the store's root, for the writer (ingest/tx.ts) only: writes go through
 * Ingest. Not exported from the store's index.
 */
export function writeBatch (store: LevelStore): RootBatch {
  return batchOf(store)
}

/**
 * One bucket to scan, for the store's own modules (check, postings, ingest): others use the
 * store's read methods. Not exported from the store's index.
 */
export function readBucket (store: LevelStore, name: BucketName): BucketReader {
  return bucketOf(store, name)
}

export class LevelStore {
  #db!: Level<string, unknown>
  #b!: Record<BucketName, Sub>
  #open = false
  /** parsed values by full key; ABSENT marks a key read and found absent */
  readonly #cache: LRUCache<string, object> | undefined
  #cidrLengths: { v4: number[], v6: number[] } | undefined
  /** which value-index keys may exist (key-filter.ts): a new value skips the LevelDB miss */
  #valueFilter = new KeyFilter(0)

  static {
    batchOf = store => store.#db.batch()
    bucketOf = (store, name) => store.#b[name]
  }

  constructor (readonly options: StoreOptions) {
    const cacheMax = options.readCacheEntries ?? READ_CACHE_ENTRIES
    this.#cache = cacheMax > 0 ? new LRUCache<string, object>({ max: cacheMax }) : undefined
  }

  /**
   * The LevelDB handle, made only when open() has looked at the directory: a Level opens
   * itself on the next microtask unless open() is called first, and that open (with
   * createIfMissing) would start a new database over a damaged one (store-dir.ts).
   */
  #create (createIfMissing: boolean): void {
    const options = this.options
    // the root reads and writes JSON text itself (hot paths); sublevels decode JSON for iterators
    this.#db = new Level<string, unknown>(options.path, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      // fewer, larger memtable flushes and files: less compaction work during bulk imports
      writeBufferSize: options.writeBufferSize ?? 16 * 1024 * 1024,
      cacheSize: options.cacheSize ?? 16 * 1024 * 1024,
      maxFileSize: 8 * 1024 * 1024,
      createIfMissing
    })
    const b: Partial<Record<BucketName, Sub>> = {}
    for (const [name, prefix] of Object.entries(BUCKET) as Array<[BucketName, string]>) {
      b[name] = this.#db.sublevel<string, any>(prefix, { valueEncoding: 'json' }) as unknown as Sub
    }
    this.#b = b as Record<BucketName, Sub>
  }

  get isOpen (): boolean { return this.#open }

  async open (): Promise<void> {
    // look before LevelDB does: it makes the directory even when it may not create a database,
    // and over a directory without CURRENT it would start a new one and delete the old tables
    const dir = inspectStoreDir(this.options.path)
    if (dir.state === 'damaged') throw damagedStore(this.options.path, dir.reason)
    if (this.options.existing === true && dir.state !== 'whole') throw new PhalanxError('PX_ERR_STORE', `no store at ${this.options.path}`)
    if (dir.state === 'absent') mkdirSync(this.options.path, { recursive: true, mode: 0o700 })
    // a database is created only in a directory that holds none: never over table files
    this.#create(dir.state !== 'whole')
    try {
      await this.#db.open()
      // sublevels open after their parent; getSync needs them open
      await Promise.all(Object.values(this.#b).map(async s => { await s.open() }))
    } catch (err) {
      throw new PhalanxError('PX_ERR_STORE', `cannot open the store at ${this.options.path}: ${(err as Error).message}` +
        ((err as { code?: string }).code === 'LEVEL_DATABASE_NOT_OPEN' ? ' (is another node running on this data dir?)' : ''), { cause: err })
    }
    const format = this.read<number>('meta', META_KEY.format)
    if (format === undefined) {
      const empty = (await this.#db.keys({ limit: 1 }).all()).length === 0
      if (!empty || this.options.existing === true) {
        await this.#db.close()
        throw new PhalanxError('PX_ERR_STORE', empty
          ? `the store at ${this.options.path} is empty: no node has written it`
          : `the store at ${this.options.path} has no format version: it was not written by Phalanx`)
      }
      await this.#db.put(LevelStore.fullKey('meta', META_KEY.format), JSON.stringify(STORE_FORMAT_VERSION))
      await this.#db.put(LevelStore.fullKey('meta', META_KEY.foreign), 'false')
      // a new store has nothing unread: what this code reads is what it has read
      await this.#db.put(LevelStore.fullKey('meta', META_KEY.read), JSON.stringify(READ_SIGNATURE))
    } else if (format === 2 || format === 3) {
      // an older store (v0.1: 2, v0.2: 3): add what this version keeps (src/store/upgrade.ts)
      if (format === 2) await upgradeToReach(this.#db)
      await upgradeToHosts(this.#db)
    } else if (format !== STORE_FORMAT_VERSION) {
      await this.#db.close()
      throw new PhalanxError('PX_ERR_STORE', `the store at ${this.options.path} has format version ${String(format)}; this Phalanx reads version ${STORE_FORMAT_VERSION}`)
    }
    // a store from before the flag may hold anything: only an explicit false says it does not
    this.#foreign = this.readUncached<boolean>('meta', META_KEY.foreign) !== false
    this.#open = true
    this.#fillValueFilter(Math.max(this.options.valueFilterCapacity ?? VALUE_FILTER_MIN_KEYS, 2 * (this.counts().indicators + this.counts().sightings)))
  }

  #foreign = true

  /**
   * Whether the store may hold entries of other origins (received from circles or as RED).
   * False only for a store that never took one: checks about others' records can be skipped.
   */
  mayHoldForeign (): boolean {
    return this.#foreign
  }

  /** the writer is storing an entry of another origin (set before the write: checks start at once) */
  noteForeign (): void {
    this.#foreign = true
  }

  /** value-index keys of batches staged and not yet written (a rebuild's scan cannot see them) */
  readonly #stagedValueKeys = new Set<string[]>()

  /**
   * A new value filter of `capacity` keys, filled from the value and host indexes in the
   * background (a domain lookup reads a host key that usually does not exist, as a new value's
   * read does: the filter answers both)
   */
  #fillValueFilter (capacity: number): void {
    const filter = new KeyFilter(capacity, () => { if (this.#valueFilter === filter) this.#fillValueFilter(capacity * 4) })
    this.#valueFilter = filter
    for (const keys of this.#stagedValueKeys) for (const k of keys) filter.add(k)
    void (async () => {
      for (const prefix of FILTERED_PREFIXES) {
        // keys in batches (one await per thousand keys, not per key): a million in about a second
        const it = this.#db.keys({ gte: prefix, lt: prefix + HIGH })
        try {
          for (;;) {
            const keys = await it.nextv(1000)
            if (keys.length === 0) break
            if (!this.#open || this.#valueFilter !== filter) return
            for (const k of keys) filter.add(k)
          }
        } finally {
          await it.close()
        }
      }
      if (this.#open && this.#valueFilter === filter) filter.ready = true
    })().catch(() => { /* the store closed during the scan: the filter stays "maybe" */ })
  }

  /** whether the value filter is filled (until then every value read goes to LevelDB) */
  get valueFilterReady (): boolean { return this.#valueFilter.ready }

  /**
   * The writer stages a batch's value-index keys: the filter learns them before the batch is
   * written, and a filter rebuilt before the write completes learns them too. Call
   * `valueKeysWritten` with the same array once the write is done (or failed).
   */
  stageValueKeys (fullKeys: string[]): void {
    this.#stagedValueKeys.add(fullKeys)
    for (const k of fullKeys) this.#valueFilter.add(k)
  }

  valueKeysWritten (fullKeys: string[]): void {
    this.#stagedValueKeys.delete(fullKeys)
  }

  /** the root-key prefixes of the value and host indexes (the writer stages their keys: stageValueKeys) */
  static readonly FILTERED_PREFIXES = FILTERED_PREFIXES

  async close (): Promise<void> {
    this.#open = false
    // an open refused before LevelDB was touched made no handle
    await (this.#db as Level<string, unknown> | undefined)?.close()
  }

  /** the root key of `key` in `bucket`: the same bytes the bucket's sublevel uses */
  static fullKey (bucket: BucketName, key: string): string {
    return ROOT_PREFIX[bucket] + key
  }

  /**
   * Synchronous read of a JSON value (~1 µs; an async get costs ~40 µs here). `cacheAbsent`
   * false: a key found absent is not remembered (a lookup's probes of related values mostly
   * find nothing, and would push records that exist out of the cache).
   */
  read<T> (bucket: BucketName, key: string, cacheAbsent = true): T | undefined {
    const k = ROOT_PREFIX[bucket] + key
    const cache = CACHED_BUCKETS.has(bucket) ? this.#cache : undefined
    const hit = cache?.get(k)
    if (hit !== undefined) return (hit === ABSENT ? undefined : hit) as T | undefined
    const s = FILTERED.has(bucket) && !this.#valueFilter.mightHave(k) ? undefined : this.#db.getSync(k) as string | undefined
    const v = s === undefined ? undefined : JSON.parse(s) as T
    if (v !== undefined || cacheAbsent) cache?.set(k, v ?? ABSENT)
    return v
  }

  /** read straight from LevelDB, leaving the cache alone (the writer's reads) */
  readUncached<T> (bucket: BucketName, key: string): T | undefined {
    const k = ROOT_PREFIX[bucket] + key
    if (FILTERED.has(bucket) && !this.#valueFilter.mightHave(k)) return undefined
    const s = this.#db.getSync(k) as string | undefined
    return s === undefined ? undefined : JSON.parse(s) as T
  }

  /**
   * Forget cached values of keys that were just written. The writer calls it after each
   * batch, so a value read before the batch (and cached) never outlives it.
   */
  evict (fullKeys: Iterable<string>): void {
    const cache = this.#cache
    if (cache === undefined || cache.size === 0) return
    for (const k of fullKeys) cache.delete(k)
  }

  assertOpen (): void {
    if (!this.#open) throw new PhalanxError('PX_ERR_CLOSED', 'the store is closed')
  }

  // --- reads -------------------------------------------------------------------------

  getIndicator (id: string): StoredIndicator | undefined {
    this.assertOpen()
    return this.read<StoredIndicator>('indicators', id)
  }

  /** the records of one value, read past the lookup cache (checks that would only churn it) */
  indicatorsOfValueUncached (type: string, value: string): StoredIndicator[] {
    this.assertOpen()
    const ids = this.readUncached<ValueRecord>('byValue', valueKey(type, value))?.ids ?? []
    return ids.map(id => this.readUncached<StoredIndicator>('indicators', id)).filter((x): x is StoredIndicator => x !== undefined)
  }

  /** a read for scans: leaves the lookup cache alone (a long scan would only churn it) */
  scanIndicator (id: string): StoredIndicator | undefined {
    this.assertOpen()
    return this.readUncached<StoredIndicator>('indicators', id)
  }

  getIndicators (ids: string[]): Array<StoredIndicator | undefined> {
    this.assertOpen()
    return ids.map(id => this.read<StoredIndicator>('indicators', id))
  }

  idsByValue (type: string, value: string): string[] {
    this.assertOpen()
    return this.read<ValueRecord>('byValue', valueKey(type, value))?.ids ?? []
  }

  /** idsByValue for a value a lookup probes as related (a parent domain, a URL's host): an absence is not cached */
  relatedIds (type: string, value: string): string[] {
    this.assertOpen()
    return this.read<ValueRecord>('byValue', valueKey(type, value), false)?.ids ?? []
  }

  valueRecord (type: string, value: string): ValueRecord | undefined {
    this.assertOpen()
    return this.read<ValueRecord>('byValue', valueKey(type, value))
  }

  /**
   * the urls, emails and domains filed under a host or parent domain (hosts.ts), `n` counting
   * them all (a full record's `hostMore` count added); not cached
   */
  hostRecord (host: string): HostRecord | undefined {
    this.assertOpen()
    const rec = this.read<HostRecord>('byHost', host)
    if (rec === undefined || rec.v.length < HOST_LIST_MAX) return rec
    const more = this.read<HostMore>('hostMore', host)
    return more === undefined ? rec : { n: rec.n + more.more, v: rec.v }
  }

  sightings (type: string, value: string): SightingSummary | undefined {
    this.assertOpen()
    return this.read<ValueRecord>('byValue', valueKey(type, value))?.sightings
  }

  head (circle: string, origin: string): LogHead | undefined {
    this.assertOpen()
    return this.read<LogHead>('heads', headKey(circle, origin))
  }

  getEntry (circle: string, origin: string, seq: number): Entry | undefined {
    this.assertOpen()
    return this.read<Entry>('entries', entryKey(circle, origin, seq))
  }

  getEntryByHash (hash: string): Entry | undefined {
    this.assertOpen()
    const k = this.read<string>('entryByHash', hash)
    return k === undefined ? undefined : this.read<Entry>('entries', k)
  }

  hasEntryHash (hash: string): boolean {
    return this.#db.getSync(LevelStore.fullKey('entryByHash', hash)) !== undefined
  }

  counts (): StoreCounts {
    this.assertOpen()
    return this.read<StoreCounts>('meta', META_KEY.counts) ?? { entries: 0, indicators: 0, revoked: 0, sightings: 0 }
  }

  /** prefix lengths of stored CIDRs per family (cached: read on every IP lookup) */
  cidrLengths (): { v4: number[], v6: number[] } {
    if (this.#cidrLengths === undefined) this.#cidrLengths = this.read<{ v4: number[], v6: number[] }>('meta', META_KEY.cidrLengths) ?? { v4: [], v6: [] }
    return this.#cidrLengths
  }

  /** the writer tells the cache what it wrote */
  noteCidrLengths (lengths: { v4: number[], v6: number[] }): void {
    this.#cidrLengths = lengths
  }

  lastCursor (): number {
    return this.read<number>('meta', META_KEY.cursor) ?? 0
  }

  /** the heads of one circle's logs: origin → highest contiguous seq (a version vector) */
  async headsOf (circle: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const [origin, head] of Object.entries(await this.logHeadsOf(circle))) out[origin] = head.seq
    return out
  }

  /** origin → log head ({seq, hash}) of every log of one circle id */
  async logHeadsOf (circle: string): Promise<Record<string, LogHead>> {
    const out: Record<string, LogHead> = {}
    for await (const [k, v] of this.#b.heads.iterator({ gt: circle + '\x00', lt: circle + '\x00\xff' })) {
      out[k.slice(circle.length + 1)] = v as LogHead
    }
    return out
  }

  /**
   * The stored text of entries `from`..`to` of one log, in seq order, up to `maxEntries` and
   * until `maxBytes` (UTF-8) are reached (so at most one entry past it). Sync streams these without parsing them.
   */
  async entryTexts (circle: string, origin: string, from: number, to: number, maxEntries: number, maxBytes: number): Promise<string[]> {
    this.assertOpen()
    const out: string[] = []
    let bytes = 0
    const it = this.#db.iterator({
      gte: LevelStore.fullKey('entries', entryKey(circle, origin, from)),
      lte: LevelStore.fullKey('entries', entryKey(circle, origin, to)),
      limit: maxEntries,
      keys: false
    } as any)
    try {
      for await (const [, v] of it as any) {
        out.push(v as string)
        bytes += Buffer.byteLength(v as string)
        if (bytes >= maxBytes) break
      }
    } finally {
      await it.close()
    }
    return out
  }

  /** whether this node holds evidence that `origin` forked its log `circle` */
  async hasFork (circle: string, origin: string): Promise<boolean> {
    this.assertOpen()
    const prefix = `${circle}\x00${origin}\x00`
    return (await this.#b.forks.keys({ gte: prefix, lt: prefix + '\xff', limit: 1 }).all()).length > 0
  }

  /** the log positions this node holds fork evidence for (keys only: cheap for status) */
  async forkPositions (): Promise<Array<{ circle: string, origin: string, seq: number }>> {
    this.assertOpen()
    const out: Array<{ circle: string, origin: string, seq: number }> = []
    for await (const k of this.#b.forks.keys()) {
      const [circle, origin, seq] = (k as string).split('\x00')
      out.push({ circle, origin, seq: parseInt(seq, 16) })
    }
    return out
  }

  /** every fork this node has evidence of, oldest log position first */
  async forks (): Promise<ForkEvidence[]> {
    this.assertOpen()
    const out: ForkEvidence[] = []
    for await (const v of this.#b.forks.values()) out.push(v as ForkEvidence)
    return out
  }

  /** every log head, for status and (later) sync */
  async heads (): Promise<Array<{ circle: string, origin: string } & LogHead>> {
    const out: Array<{ circle: string, origin: string } & LogHead> = []
    for await (const [k, v] of this.#b.heads.iterator()) {
      const [circle, origin] = k.split('\x00')
      out.push({ circle, origin, ...(v as LogHead) })
    }
    return out
  }

  /** every current indicator record, in id order, read past the lookup cache (purge, bench) */
  async * scanIndicators (): AsyncGenerator<[id: string, indicator: StoredIndicator]> {
    this.assertOpen()
    for await (const [id, v] of this.#b.indicators.iterator()) yield [id, v as StoredIndicator]
  }

  /**
   * this node's re-shares of other origins' indicators (operations/withdrawals.ts): of one
   * source indicator, or all of them (few: each is an operator's explicit re-share)
   */
  async copies (source?: string): Promise<Copy[]> {
    this.assertOpen()
    const out: Copy[] = []
    const range = source === undefined ? {} : { gt: source + SEP, lt: source + SEP + HIGH }
    for await (const [k, v] of this.#b.copies.iterator(range)) {
      const [src, copy, circle] = (k as string).split(SEP)
      out.push({ source: src, copy, circle, at: (v as CopyLink).at })
    }
    return out
  }

  /** an advisory by id */
  advisory (id: string): StoredAdvisory | undefined {
    this.assertOpen()
    return this.readUncached<StoredAdvisory>('advisories', id)
  }

  /** every advisory this node holds, of one circle or all, newest first (few: a scan) */
  async advisories (circle?: string): Promise<StoredAdvisory[]> {
    this.assertOpen()
    const out: StoredAdvisory[] = []
    for await (const v of this.#b.advisories.values()) {
      const a = v as StoredAdvisory
      if (circle === undefined || a.circle === circle) out.push(a)
    }
    return out.sort((a, b) => (a.created === b.created ? (a.id < b.id ? 1 : -1) : a.created < b.created ? 1 : -1))
  }

  /** the acks of an advisory made in `circle` (its own circle), earliest first */
  async acksOf (advisory: string, circle: string): Promise<Ack[]> {
    this.assertOpen()
    const p = advisory + SEP + circle + SEP
    const out: Ack[] = []
    for await (const [k, v] of this.#b.acks.iterator({ gt: p, lt: p + HIGH })) out.push({ origin: (k as string).slice(p.length), ...(v as AckRecord) })
    return out.sort((a, b) => (a.at === b.at ? (a.origin < b.origin ? -1 : 1) : a.at < b.at ? -1 : 1))
  }

  /** stream events after cursor `after` up to `upto` (inclusive), in cursor order, at most `limit` */
  async events (after: string, upto: string, limit: number): Promise<Array<{ cursor: string, event: StoreEvent }>> {
    this.assertOpen()
    const out: Array<{ cursor: string, event: StoreEvent }> = []
    for await (const [k, v] of this.#b.events.iterator({ gt: after, lte: upto, limit })) out.push({ cursor: k as string, event: v as StoreEvent })
    return out
  }

  /** ids with a revocation that arrived before its indicator */
  async pendingRevokeIds (): Promise<string[]> {
    this.assertOpen()
    return await this.#b.pendingRevokes.keys().all()
  }

  /** ids with a relabel that arrived before its indicator */
  async pendingRelabelIds (): Promise<string[]> {
    this.assertOpen()
    return await this.#b.pendingRelabels.keys().all()
  }

  /**
   * The logs that hold entries beyond their contiguous head (circle \0 origin → the highest
   * seq held): entries stored before an earlier seq of their log arrived.
   */
  async aheadMarks (): Promise<Map<string, number>> {
    this.assertOpen()
    const out = new Map<string, number>()
    for await (const [k, v] of this.#b.ahead.iterator()) out.set(k as string, (v as AheadMark).max)
    return out
  }

  /** the highest seq held beyond the contiguous head of (circle, origin), if any */
  aheadOf (circle: string, origin: string): number | undefined {
    this.assertOpen()
    return this.readUncached<AheadMark>('ahead', headKey(circle, origin))?.max
  }

  /**
   * The control entries (membership logs) in the order this node stored them: of one
   * membership log, or of every log when `log` is not given.
   */
  async * controlEntries (log?: string): AsyncGenerator<ControlRecord> {
    this.assertOpen()
    const range = log === undefined ? {} : { gt: log + SEP, lt: log + SEP + HIGH }
    for await (const k of this.#b.control.values(range)) {
      const key = k as string
      yield { key, entry: this.#b.entries.getSync(key) as Entry | undefined }
    }
  }

  /** the invite kept under the hash of its secret */
  invite (secretHash: string): InviteRecord | undefined {
    this.assertOpen()
    return this.readUncached<InviteRecord>('invites', secretHash)
  }

  /** every invite this node made (used and expired ones too) */
  async * invites (): AsyncGenerator<InviteRecord> {
    this.assertOpen()
    for await (const v of this.#b.invites.values()) yield v as InviteRecord
  }

  /** this node's RED entries still waiting for their recipient's acknowledgement, by log and seq */
  async outbox (): Promise<OutboxRecord[]> {
    this.assertOpen()
    const out: OutboxRecord[] = []
    for await (const [k, hash] of this.#b.outbox.iterator()) {
      const [log, seq] = (k as string).split(SEP)
      out.push({ log, seq: parseInt(seq, 16), hash: hash as string })
    }
    return out
  }
}
