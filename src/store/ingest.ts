/**
 * Ingest: the one path by which entries enter the store, local publishes and (later) the
 * network alike. It validates, verifies, checks the log position, derives the indicators
 * and index keys, and writes each entry with everything it implies in one atomic batch.
 *
 * Guarantees:
 * - atomic: an entry, its indicators and all their index keys are written by one LevelDB
 *   batch; after a crash the store is before or after the entry, never in between;
 * - durable on acknowledgement: a job's promise resolves only after its batch is written
 *   (with `sync: true` by default, also through power loss);
 * - serialized: one writer. Jobs queued while a batch is written are grouped into the next
 *   batch (group commit), so the fsync cost is shared by everyone waiting.
 */
import type { Logger } from 'pino'
import { PhalanxError, withFieldPrefix } from '../errors.js'
import type { OrgKey } from '../identity/keys.js'
import { createSigner, type EntryToSeal, type SealedOut, type Signer } from '../signer/index.js'
import {
  type Entry, type Item, type StoredIndicator, type IndicatorItem, type SightingItem,
  ENTRY_VERSION, MAX_ENTRY_BYTES, indicatorId, isCircleId, checkEntry, describeEntry, packItems, assertCanonicalItems, isControlItem, isRedLog, LOCAL_CIRCLE
} from '../records/index.js'
import { reachWith, relabelApplies, type Tlp } from '../tlp/index.js'
import {
  BUCKET, META_KEY, SEP, type BucketName, cursorFromMicros, entryKey, headKey, originKey, postingPrefix, seqKey, valueKey
} from './keys.js'
import { blocksOf, pair, postingTags, type PostingBucket, type PostingList } from './postings.js'
import {
  LevelStore, writeBatch, type ForkEvidence, type InviteRecord, type LogHead, type PendingRevoke, type SightingSummary, type StoreCounts, type ValueRecord
} from './level-store.js'

export interface IngestOptions {
  /** fsync each batch: survives power loss, not only a killed process */
  sync: boolean
  /** records per group-commit batch (a group always takes at least one job) */
  maxGroupItems: number
  /** jobs per group: smaller groups let the next one be prepared while one is written */
  maxGroupJobs: number
}

export const defaultIngestOptions: IngestOptions = { sync: true, maxGroupItems: 10_000, maxGroupJobs: Number(process.env.PX_GROUP_JOBS ?? 64) }

/** decides whether a verified entry from outside may be stored (membership, TLP route) */
export interface EntryPolicy {
  /** throw a PhalanxError to refuse the entry */
  check: (entry: Entry, source: string) => void
}

export interface IngestComponents {
  store: LevelStore
  key: OrgKey
  /** the key's seed: with it, entries are signed on a worker thread (see src/signer) */
  seed?: Uint8Array
  policy: EntryPolicy
  log: Logger
  /**
   * Called after each durable write with the entries of shared circles it stored (never the
   * private scope), in log order: the network gossips own entries, circles fold control
   * entries. Must not throw.
   */
  onStored?: (stored: StoredEntry[]) => void
}

export interface StoredEntry {
  entry: Entry
  hash: string
  /** 'local' for this node's publishes, else the ingest source (e.g. 'gossip') */
  source: string
}

export interface EntryReceipt {
  hash: string
  circle: string
  origin: string
  seq: number
  items: number
}

export interface IngestResult extends EntryReceipt {
  status: 'stored' | 'duplicate'
}

/** what the writer returns for an entry that proves a fork (ingest() turns it into PX_ERR_FORK) */
interface ForkResult extends EntryReceipt {
  status: 'fork'
  fork: ForkEvidence
  recorded: boolean
}

/** records of one circle and one TLP (an entry has exactly one of each) */
export interface PublishBatch {
  circle: string
  tlp: Tlp
  items: Item[]
}

export interface PublishResult {
  entries: EntryReceipt[]
  /** the indicator id of each published indicator record, in input order (null for other kinds) */
  ids: Array<string | null>
}

interface State {
  counts: StoreCounts
  cidr: { v4: number[], v6: number[] }
  cursor: number
  /** pending revocations this group resolved (dropped from memory once written) */
  pendingRemoved: string[]
}

interface PlannedEntry {
  batch: PublishBatch
  entry: EntryToSeal
}

/** a group of jobs whose own entries were handed to the signer */
interface Prepared {
  jobs: Job[]
  /** records in the group */
  items: number
  plans: Map<Job, PlannedEntry[]>
  /** the seals of every planned entry, in job order */
  sealing: Promise<SealedOut[]>
}

interface Group {
  tx: Tx
  done: Promise<boolean>
  failed: boolean
}

/** indicators deleted per write group by a purge */
const PURGE_CHUNK = 2000

type Job =
  | { kind: 'publish', batches: PublishBatch[], resolve: (r: PublishResult) => void, reject: (e: unknown) => void, items: number }
  | { kind: 'entry', entry: Entry, hash: string, json: string, source: string, durable: boolean, resolve: (r: IngestResult) => void, reject: (e: unknown) => void, items: number }
  | { kind: 'purge', ids: string[], before: string, at: string, resolve: (r: { purged: number }) => void, reject: (e: unknown) => void, items: number }
  /** a write of the node's own state (invites, the RED outbox) in the writer's order; `run` throws to refuse */
  | { kind: 'state', run: (tx: Tx) => unknown, durable: boolean, resolve: (r: any) => void, reject: (e: unknown) => void, items: number }

/** a value already serialized as JSON text (written as is) */
class RawJson {
  constructor (readonly text: string) {}
}

/** copy what a transaction may change in place (cidr lists are replaced, never mutated) */
function cloneState (s: State): State {
  return { counts: { ...s.counts }, cidr: s.cidr, cursor: s.cursor, pendingRemoved: [...s.pendingRemoved] }
}

/**
 * A write transaction over the store with read-your-writes. Writes collect in an overlay
 * (root key → value, `undefined` = delete) that becomes one chained LevelDB batch; a key
 * written twice in a group is written once. Children (one per job) commit into the group
 * so that a job refused half-way leaves nothing behind.
 */
class Tx {
  overlay = new Map<string, unknown>()
  /** write-only keys (entry bodies, hash index): flat [key, value, key, value…], in order */
  log: unknown[] = []
  /** posting pairs added by this transaction, by bucket and prefix (postings.ts) */
  postings = new Map<string, PostingList>()
  #pairs = 0
  /** entries of shared circles this transaction stores (for onStored) */
  stored: StoredEntry[] = []
  state: State

  /** reads fall through to the parent: a job's group, or the group still being written */
  parent: Tx | undefined

  constructor (readonly store: LevelStore, state: State, parent?: Tx) {
    this.state = cloneState(state)
    this.parent = parent
  }

  get<T> (bucket: BucketName, key: string): T | undefined {
    const k = LevelStore.fullKey(bucket, key)
    for (let tx: Tx | undefined = this; tx !== undefined; tx = tx.parent) {
      if (tx.overlay.has(k)) return tx.overlay.get(k) as T | undefined
    }
    return this.store.readUncached<T>(bucket, key)
  }

  put (bucket: BucketName, key: string, value: unknown): void {
    this.overlay.set(LevelStore.fullKey(bucket, key), value)
  }

  del (bucket: BucketName, key: string): void {
    this.overlay.set(LevelStore.fullKey(bucket, key), undefined)
  }

  /** a write that this transaction never reads back (cheaper than put) */
  append (bucket: BucketName, key: string, value: unknown): void {
    this.log.push(LevelStore.fullKey(bucket, key), value)
  }

  remove (bucket: BucketName, key: string): void {
    this.log.push(LevelStore.fullKey(bucket, key), undefined)
  }

  /** index `id` at `cursor` under `prefix` (cursors only grow within a store) */
  /** index a version (its `pair(cursor, id)`) under `prefix` (cursors only grow within a store) */
  post (bucket: PostingBucket, prefix: string, p: string): void {
    const k = BUCKET[bucket] + prefix
    let list = this.postings.get(k)
    if (list === undefined) this.postings.set(k, list = { bucket, prefix, pairs: [] })
    list.pairs.push(p)
    this.#pairs++
  }

  get size (): number { return this.overlay.size + this.log.length + this.#pairs }

  /** an entry of a shared circle stored by this transaction or one it reads through */
  storedEntry (circle: string, origin: string, seq: number): Entry | undefined {
    for (let tx: Tx | undefined = this; tx !== undefined; tx = tx.parent) {
      for (const s of tx.stored) if (s.entry.seq === seq && s.entry.origin === origin && s.entry.circle === circle) return s.entry
    }
    return undefined
  }

  child (): Tx { return new Tx(this.store, this.state, this) }

  commitInto (parent: Tx): void {
    if (parent.overlay.size === 0) parent.overlay = this.overlay
    else for (const [k, v] of this.overlay) parent.overlay.set(k, v)
    if (parent.log.length === 0) parent.log = this.log
    else for (const x of this.log) parent.log.push(x)
    if (parent.postings.size === 0) parent.postings = this.postings
    else {
      for (const [k, list] of this.postings) {
        const into = parent.postings.get(k)
        if (into === undefined) parent.postings.set(k, list)
        else for (const p of list.pairs) into.pairs.push(p)
      }
    }
    parent.#pairs += this.#pairs
    if (this.stored.length > 0) parent.stored.push(...this.stored)
    parent.state = this.state
  }

  async write (sync: boolean): Promise<void> {
    const batch = writeBatch(this.store)
    const log = this.log
    for (let i = 0; i < log.length; i += 2) {
      const v = log[i + 1]
      if (v === undefined) batch.del(log[i] as string)
      else batch.put(log[i] as string, v instanceof RawJson ? v.text : JSON.stringify(v))
    }
    for (const list of this.postings.values()) {
      for (const [key, block] of blocksOf(list)) batch.put(LevelStore.fullKey(list.bucket, key), JSON.stringify(block))
    }
    const valuePrefix = LevelStore.VALUE_PREFIX
    const valueKeys: string[] = []
    for (const [k, v] of this.overlay) {
      if (v === undefined) batch.del(k)
      else {
        batch.put(k, JSON.stringify(v))
        if (k.startsWith(valuePrefix)) valueKeys.push(k)
      }
    }
    this.store.stageValueKeys(valueKeys)
    try {
      await batch.write({ sync })
    } finally {
      this.store.valueKeysWritten(valueKeys)
      // written or not, what the cache held for these keys may be stale now
      this.store.evict(this.overlay.keys())
    }
  }
}

/** groups the signer may be sealing ahead of the one being applied */
const SIGN_AHEAD = 3

/** this origin's log moved under the writer (an own entry came in from outside): re-plan */
class ChainMovedError extends Error {}

export class Ingest {
  readonly #c: IngestComponents
  readonly #o: IngestOptions
  readonly #log: Logger
  #queue: Job[] = []
  #draining: Promise<void> | undefined
  #state: State
  #closed = false
  /** ids with a revoke that arrived before the indicator (rare; loaded at start) */
  #pendingRevokes = new Set<string>()
  readonly #signer: Signer
  /** this origin's last assigned seq per circle (assigned before signing, ahead of the store) */
  #ownSeq = new Map<string, number>()
  /** `created` of this origin's entries never goes backwards, even if the clock does */
  #lastCreated = 0

  constructor (components: IngestComponents, options: Partial<IngestOptions> = {}) {
    this.#c = components
    this.#o = { ...defaultIngestOptions, ...options }
    this.#log = components.log
    const { store } = components
    this.#state = { counts: store.counts(), cidr: store.cidrLengths(), cursor: store.lastCursor(), pendingRemoved: [] }
    this.#signer = createSigner(components.key, components.seed)
  }

  async start (): Promise<void> {
    for (const k of await this.#c.store.pendingRevokeIds()) this.#pendingRevokes.add(k)
    await this.#resync()
    // `created` never goes backwards for this origin, even across restarts with a clock that did
    for (const [circle, seq] of this.#ownSeq) {
      const e = this.#c.store.getEntry(circle, this.#c.key.publicKeyHex, seq)
      if (e !== undefined) this.#lastCreated = Math.max(this.#lastCreated, Date.parse(e.created))
    }
  }

  /** align the seq counters and the signer's chain heads with what the store holds */
  async #resync (): Promise<void> {
    const own = this.#c.key.publicKeyHex
    const heads = (await this.#c.store.heads()).filter(h => h.origin === own)
    this.#ownSeq = new Map(heads.map(h => [h.circle, h.seq]))
    this.#signer.reset(heads.map(h => [h.circle, h.hash]))
  }

  /** finish queued work, then refuse new work */
  async stop (): Promise<void> {
    this.#closed = true
    while (this.#draining !== undefined) await this.#draining
    await this.#signer.close()
  }

  /** whether entries are signed on a worker thread */
  get threadedSigner (): boolean { return this.#signer.threaded }

  get queueLength (): number { return this.#queue.length }

  /** records waiting in the queue (the API answers 429 above a limit) */
  get queuedItems (): number { return this.#queue.reduce((n, j) => n + j.items, 0) }

  /**
   * Sign and store records published by this node. Records are packed into entries of at
   * most 1,000 records / 64 KiB; all entries of one call are written in one atomic batch,
   * so a call is stored entirely or not at all.
   */
  async publish (batches: PublishBatch[]): Promise<PublishResult> {
    const items = batches.reduce((n, b) => n + b.items.length, 0)
    if (items === 0) return { entries: [], ids: [] }
    // what this node signs must be exactly what every peer accepts: same checks as received items
    for (const b of batches) {
      if (!isCircleId(b.circle)) throw new PhalanxError('PX_ERR_VALIDATION', `bad circle id "${b.circle}"`, { field: 'circle' })
      assertCanonicalItems(b.items)
    }
    if (this.#closed) throw new PhalanxError('PX_ERR_CLOSED', 'the node is shutting down')
    return await new Promise<PublishResult>((resolve, reject) => {
      this.#enqueue({ kind: 'publish', batches, resolve, reject, items })
    })
  }

  /**
   * Store an entry signed elsewhere (the network, sync, a file): schema, size, signature
   * and policy are checked before it is queued; its log position when it is written.
   * `durable: false` (gossip, gap fills: acknowledged to no one) skips the fsync of its
   * group unless another job in the group needs one.
   */
  async ingest (raw: unknown, source = 'remote', opts: { durable?: boolean } = {}): Promise<IngestResult> {
    const { entry, text } = checkEntry(raw)
    const d = describeEntry(entry, text)
    const { hash } = d
    // a stored entry is a duplicate whatever the policy would say now (a genesis, a rotation),
    // and its signature was checked when it was stored
    if (this.#c.store.readUncached<string>('entryByHash', hash) !== undefined) {
      return { hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length, status: 'duplicate' }
    }
    if (!d.verify()) {
      throw new PhalanxError('PX_ERR_BAD_SIGNATURE', `entry ${entry.circle}/${entry.seq} does not verify against origin ${entry.origin.slice(0, 16)}…`, { meta: { origin: entry.origin, seq: entry.seq } })
    }
    this.#c.policy.check(entry, source)
    const r = await new Promise<IngestResult | ForkResult>((resolve, reject) => {
      this.#enqueue({ kind: 'entry', entry, hash, json: d.json, source, durable: opts.durable ?? true, resolve, reject, items: entry.items.length })
    })
    if (r.status === 'fork') {
      const { fork } = r
      if (r.recorded) this.#log.warn({ circle: fork.circle, origin: fork.origin, seq: fork.seq, kind: fork.kind, source }, 'FORK: an origin signed two different entries for one log position; both are kept as evidence (GET /v1/forks)')
      throw new PhalanxError('PX_ERR_FORK', fork.kind === 'seq'
        ? `origin ${entry.origin.slice(0, 16)}… signed two different entries for ${entry.circle} seq ${entry.seq}`
        : `entry ${entry.circle} seq ${entry.seq} does not follow the stored seq ${entry.seq - 1} of its origin (prev hash differs)`,
      { meta: { circle: entry.circle, origin: entry.origin, seq: fork.seq, hash } })
    }
    return r
  }

  /**
   * Purge the derived records of indicators whose validUntil is before `before`: the record,
   * its id in the value index, the counters; the signed entries stay (sync and verify need
   * them) and so do the index pairs, which readers skip and `purged` (bucket u) accounts for.
   * Candidates are found by a scan outside the writer; each chunk is re-checked and deleted
   * in the writer, so a version that arrived meanwhile is kept.
   */
  async purgeExpired (before: string, opts: { max?: number } = {}): Promise<{ scanned: number, purged: number }> {
    const max = opts.max ?? 1_000_000
    const ids: string[] = []
    let scanned = 0
    for await (const [id, v] of this.#c.store.scanIndicators()) {
      scanned++
      const until = v.validUntil
      if (until !== undefined && until < before) {
        ids.push(id)
        if (ids.length >= max) break
      }
    }
    let purged = 0
    const at = new Date().toISOString()
    for (let i = 0; i < ids.length; i += PURGE_CHUNK) {
      const chunk = ids.slice(i, i + PURGE_CHUNK)
      const r = await new Promise<{ purged: number }>((resolve, reject) => {
        this.#enqueue({ kind: 'purge', ids: chunk, before, at, resolve, reject, items: chunk.length })
      })
      purged += r.purged
    }
    return { scanned, purged }
  }

  #runPurge (tx: Tx, job: Extract<Job, { kind: 'purge' }>): { purged: number } {
    let purged = 0
    for (const id of job.ids) {
      const ind = tx.get<StoredIndicator>('indicators', id)
      if (ind?.validUntil === undefined || ind.validUntil >= job.before) continue
      tx.del('indicators', id)
      const vk = valueKey(ind.type, ind.value)
      const rec = tx.get<ValueRecord>('byValue', vk)
      if (rec !== undefined) {
        const rest = rec.ids.filter(x => x !== id)
        if (rest.length === 0 && rec.sightings === undefined) tx.del('byValue', vk)
        else tx.put('byValue', vk, { ...rec, ids: rest })
      }
      tx.put('purged', id, job.at)
      tx.state.counts.indicators--
      if (ind.revoked !== undefined) tx.state.counts.revoked--
      purged++
    }
    return { purged }
  }

  // ---- the node's own state: invites, the RED outbox ----------------------------------------

  /** keep a new invite under the hash of its secret */
  async createInvite (secretHash: string, invite: InviteRecord): Promise<void> {
    await this.#writeState(tx => { tx.put('invites', secretHash, invite) }, true)
  }

  /**
   * Use an invite once: `use` gets the invite as stored (undefined if there is none) and
   * returns it marked used, or throws to refuse it. The read and the mark run in the writer,
   * between two groups, and are written durably before this resolves: two uses of one invite
   * cannot both see it unused, and a crash leaves it either unused or marked.
   */
  async useInvite (secretHash: string, use: (stored: InviteRecord | undefined) => InviteRecord): Promise<InviteRecord> {
    return await this.#writeState(tx => {
      const next = use(tx.get<InviteRecord>('invites', secretHash))
      tx.put('invites', secretHash, next)
      return next
    }, true)
  }

  /**
   * A RED entry's recipient acknowledged it: it leaves the outbox. Not fsynced: if the
   * delete is lost, the entry is delivered again and acknowledged as a duplicate.
   */
  async removeFromOutbox (log: string, seq: number): Promise<void> {
    await this.#writeState(tx => { tx.del('outbox', `${log}${SEP}${seqKey(seq)}`) }, false)
  }

  async #writeState<T> (run: (tx: Tx) => T, durable: boolean): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      this.#enqueue({ kind: 'state', run, durable, resolve, reject, items: 0 })
    })
  }

  #enqueue (job: Job): void {
    if (this.#closed) { job.reject(new PhalanxError('PX_ERR_CLOSED', 'the node is shutting down')); return }
    this.#queue.push(job)
    this.#kick()
  }

  #kick (): void {
    if (this.#draining === undefined) {
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined
        // a job enqueued after the loop last saw an empty queue but before this ran: drain it too
        if (this.#queue.length > 0) this.#kick()
      })
    }
  }

  /**
   * The writer loop, a three-stage pipeline: the signer thread seals group N+1 while this
   * thread derives group N's records, while LevelDB writes group N-1. Each group reads the
   * writes of the groups before it through their overlays. Batches are written strictly in
   * order; if one fails, every group prepared on top of it fails too, and the seq counters
   * and the signer's chain fall back to what the store holds.
   */
  async #drain (): Promise<void> {
    let prev: Group | undefined
    /** groups handed to the signer, oldest first */
    let ahead: Prepared[] = []
    // many small groups may wait at the signer, but only about one group's worth of records
    // (memory: a bulk group holds 10,000 records and their copies in the signer)
    const fill = (): void => {
      while (this.#queue.length > 0 && ahead.length < SIGN_AHEAD && (ahead.length === 0 || ahead.reduce((n, p) => n + p.items, 0) < this.#o.maxGroupItems)) {
        ahead.push(this.#prepare(this.#take()))
      }
    }
    const dropAhead = (err: unknown): void => {
      for (const p of ahead) this.#rejectAll(p, err)
      ahead = []
    }
    while (true) {
      if (prev?.failed === true) {
        dropAhead(new PhalanxError('PX_ERR_STORE', 'store write failed (an earlier batch)'))
        prev = undefined
        await this.#resync()
      }
      fill()
      const cur = ahead.shift()
      if (cur === undefined) {
        if (prev === undefined) return
        await prev.done
        if (!prev.failed) prev = undefined
        continue // jobs may have arrived meanwhile
      }
      let sealed: SealedOut[]
      try {
        sealed = await cur.sealing
      } catch (err) {
        // the signer's chain is unknown after a failure: nothing sealed after it can stand
        this.#rejectAll(cur, err)
        dropAhead(err)
        if (prev !== undefined) await prev.done
        prev = undefined
        await this.#resync()
        continue
      }
      // keep the signer busy while this group is applied
      fill()
      const { group, replan } = this.#apply(cur, sealed, prev)
      prev = group
      if (replan.length > 0) {
        // own entries signed on a chain the store no longer ends with: sign them again,
        // after the store and the signer agree on where this origin's logs end
        this.#queue.unshift(...replan, ...ahead.flatMap(p => p.jobs))
        ahead = []
        await prev.done
        if (!prev.failed) prev = undefined
        await this.#resync()
      }
    }
  }


  #take (): Job[] {
    // jobs up to the group size (always at least one)
    let n = 0
    let items = 0
    while (n < this.#queue.length && (n === 0 || (n < this.#o.maxGroupJobs && items + this.#queue[n].items <= this.#o.maxGroupItems))) {
      items += this.#queue[n].items
      n++
    }
    return this.#queue.splice(0, n)
  }

  /** assign seq and created to the group's own entries and hand them to the signer */
  #prepare (jobs: Job[]): Prepared {
    const plans = new Map<Job, PlannedEntry[]>()
    const toSeal: EntryToSeal[] = []
    const origin = this.#c.key.publicKeyHex
    for (const job of jobs) {
      if (job.kind !== 'publish') continue
      const plan: PlannedEntry[] = []
      for (const batch of job.batches) {
        for (const items of packItems(batch.items)) {
          const seq = (this.#ownSeq.get(batch.circle) ?? 0) + 1
          this.#ownSeq.set(batch.circle, seq)
          this.#lastCreated = Math.max(Date.now(), this.#lastCreated)
          const entry: EntryToSeal = { v: ENTRY_VERSION, circle: batch.circle, origin, seq, tlp: batch.tlp, created: new Date(this.#lastCreated).toISOString(), items }
          plan.push({ batch, entry })
          toSeal.push(entry)
        }
      }
      plans.set(job, plan)
    }
    return { jobs, items: jobs.reduce((n, j) => n + j.items, 0), plans, sealing: toSeal.length > 0 ? this.#signer.seal(toSeal) : Promise.resolve([]) }
  }

  #rejectAll (p: Prepared, err: unknown): void {
    for (const job of p.jobs) job.reject(err)
  }

  /**
   * Derive a sealed group's records into a transaction and hand it to the writer. Returns
   * the publish jobs to plan again: once one own entry cannot be stored, every later own
   * entry of the group was chained on it.
   */
  #apply (cur: Prepared, sealed: SealedOut[], prev: Group | undefined): { group: Group, replan: Job[] } {
    const tx = new Tx(this.#c.store, prev?.tx.state ?? this.#state, prev?.tx)
    tx.state.pendingRemoved = []
    const done: Array<{ job: Job, result: unknown }> = []
    const replan: Job[] = []
    let broken = false
    let offset = 0
    for (const job of cur.jobs) {
      const plan = job.kind === 'publish' ? cur.plans.get(job) ?? [] : []
      const outs = sealed.slice(offset, offset + plan.length)
      offset += plan.length
      if (broken && job.kind === 'publish') { replan.push(job); continue }
      const child = tx.child()
      try {
        const result = job.kind === 'publish'
          ? this.#applyPublish(child, plan, outs)
          : job.kind === 'entry' ? this.#runEntry(child, job) : job.kind === 'purge' ? this.#runPurge(child, job) : job.run(child)
        child.commitInto(tx)
        done.push({ job, result })
      } catch (err) {
        if (job.kind === 'publish') {
          broken = true
          if (err instanceof ChainMovedError) { replan.push(job); continue }
        }
        job.reject(err)
      }
    }
    return { group: this.#finish(tx, done, prev), replan }
  }

  /** write a group after the groups before it; answer its jobs when it is durable */
  #finish (tx: Tx, done: Array<{ job: Job, result: unknown }>, prev: Group | undefined): Group {
    // a group with nothing to write (duplicates only) still answers after earlier writes
    const write = tx.size > 0
    if (write) {
      tx.put('meta', META_KEY.counts, tx.state.counts)
      tx.put('meta', META_KEY.cursor, tx.state.cursor)
      if (tx.state.cidr !== this.#state.cidr) tx.put('meta', META_KEY.cidrLengths, tx.state.cidr)
    }
    const before = prev?.done
    const group: Group = { tx, failed: false, done: Promise.resolve(true) }
    group.done = (async () => {
      try {
        if (before !== undefined && !(await before)) throw new Error('an earlier write in the same pipeline failed')
        tx.parent = undefined
        // fsync only when someone is told "stored": a local publish, or an entry acknowledged
        // to a peer (RED); gossip is acknowledged to nobody, and sync fetches it again
        if (write) await tx.write(this.#o.sync && done.some(d => (d.job.kind !== 'entry' && d.job.kind !== 'state') || d.job.durable))
      } catch (err) {
        group.failed = true
        this.#log.error({ err, jobs: done.length }, 'store batch write failed')
        const e = new PhalanxError('PX_ERR_STORE', `store write failed: ${(err as Error).message}`, { cause: err })
        for (const d of done) d.job.reject(e)
        return false
      }
      this.#state = tx.state
      this.#c.store.noteCidrLengths(tx.state.cidr)
      for (const id of tx.state.pendingRemoved) this.#pendingRevokes.delete(id)
      // listeners see the new state before any publisher's await resumes
      if (tx.stored.length > 0 && this.#c.onStored !== undefined) {
        try { this.#c.onStored(tx.stored) } catch (err) { this.#log.error({ err }, 'onStored listener failed') }
      }
      for (const d of done) d.job.resolve(d.result as any)
      return true
    })()
    return group
  }

  /** store a publish job's sealed entries; each must extend its log exactly where the store ends */
  #applyPublish (tx: Tx, plan: PlannedEntry[], outs: SealedOut[]): PublishResult {
    const result: PublishResult = { entries: [], ids: [] }
    plan.forEach(({ entry: e }, i) => {
      const out = outs[i]
      const head = tx.get<LogHead>('heads', headKey(e.circle, e.origin))
      if (out === undefined || (head?.seq ?? 0) !== e.seq - 1 || (head?.hash ?? null) !== out.prev) {
        throw new ChainMovedError(`own log ${e.circle} moved under the writer (expected seq ${e.seq - 1}, store has ${head?.seq ?? 0})`)
      }
      // packItems keeps every entry under the limit; a bigger one would break the chain
      if (out.size > MAX_ENTRY_BYTES) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `entry would be ${out.size} bytes; the limit is ${MAX_ENTRY_BYTES}`)
      const entry: Entry = { ...e, prev: out.prev, sig: out.sig }
      this.#applyEntry(tx, entry, out.hash, 'local', result.ids, out.json, head)
      result.entries.push({ hash: out.hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length })
    })
    return result
  }

  #runEntry (tx: Tx, job: Extract<Job, { kind: 'entry' }>): IngestResult | ForkResult {
    const { entry, hash } = job
    const receipt = { hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length }
    if (tx.get<string>('entryByHash', hash) !== undefined) return { ...receipt, status: 'duplicate' }
    const head = tx.get<LogHead>('heads', headKey(entry.circle, entry.origin))
    const headSeq = head?.seq ?? 0
    if (entry.seq <= headSeq) return { ...receipt, ...this.#fork(tx, job, entry.seq, 'seq') }
    if (entry.seq > headSeq + 1) {
      throw new PhalanxError('PX_ERR_SEQ_GAP', `entry ${entry.circle} seq ${entry.seq} arrived before seq ${headSeq + 1} of its origin`, { meta: { circle: entry.circle, origin: entry.origin, have: headSeq, got: entry.seq } })
    }
    if (entry.prev !== (head?.hash ?? null)) return { ...receipt, ...this.#fork(tx, job, entry.seq, 'prev') }
    this.#applyEntry(tx, entry, hash, job.source, undefined, job.json, head)
    if (entry.origin !== this.#c.key.publicKeyHex && !this.#c.store.mayHoldForeign()) {
      // the first entry of another origin: from now on publishes are checked against others' records
      this.#c.store.noteForeign()
      tx.put('meta', META_KEY.foreign, true)
    }
    return { ...receipt, status: 'stored' }
  }

  /**
   * A signed entry (its signature was checked before it was queued) that conflicts with the
   * log: keep it, with the entry it conflicts with, as evidence, in this group's batch. The
   * first evidence per log position is kept; later ones only report the fork.
   */
  #fork (tx: Tx, job: Extract<Job, { kind: 'entry' }>, seq: number, kind: 'seq' | 'prev'): { status: 'fork', fork: ForkEvidence, recorded: boolean } {
    const { entry } = job
    // for a broken prev, the stored side of the proof is the entry the prev should have named
    const at = kind === 'seq' ? seq : seq - 1
    // an entry stored by this group or one still being written is not readable from LevelDB yet
    const ours = tx.get<Entry>('entries', entryKey(entry.circle, entry.origin, at)) ?? tx.storedEntry(entry.circle, entry.origin, at)
    const fk = `${entry.circle}${SEP}${entry.origin}${SEP}${seqKey(seq)}`
    const known = tx.get<ForkEvidence>('forks', fk)
    if (known !== undefined || ours === undefined) return { status: 'fork', fork: known ?? { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [entry, entry] }, recorded: false }
    const fork: ForkEvidence = { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [ours, entry] }
    tx.put('forks', fk, fork)
    return { status: 'fork', fork, recorded: true }
  }

  #nextCursor (tx: Tx): string {
    const micros = Math.max(Date.now() * 1000, tx.state.cursor + 1)
    tx.state.cursor = micros
    return cursorFromMicros(micros)
  }

  /** store an entry and derive its records; `ids` collects each record's indicator id */
  #applyEntry (tx: Tx, entry: Entry, hash: string, source: string, ids?: Array<string | null>, json?: string, head?: LogHead): void {
    const ek = entryKey(entry.circle, entry.origin, entry.seq)
    if (entry.circle !== LOCAL_CIRCLE) {
      tx.stored.push({ entry, hash, source })
      // an own RED entry waits in the outbox, in the same batch, until its recipient acknowledges it
      if (source === 'local' && isRedLog(entry.circle)) tx.append('outbox', `${entry.circle}${SEP}${seqKey(entry.seq)}`, hash)
      if (entry.items.length > 0 && isControlItem(entry.items[0])) tx.append('control', `${entry.circle}${SEP}${this.#nextCursor(tx)}`, ek)
    }
    tx.append('entries', ek, json !== undefined ? new RawJson(json) : entry)
    tx.put('entryByHash', hash, ek)
    tx.put('heads', headKey(entry.circle, entry.origin), {
      seq: entry.seq,
      hash,
      // a head written before heads counted records stays uncounted
      records: head === undefined ? entry.items.length : head.records === undefined ? undefined : head.records + entry.items.length
    } satisfies LogHead)
    tx.state.counts.entries++
    const received = new Date().toISOString()
    entry.items.forEach((item, index) => {
      try {
        switch (item.kind) {
          // not `ids?.push(this.#applyIndicator(…))`: optional chaining would skip the call when ids is undefined
          case 'indicator': { const id = this.#applyIndicator(tx, entry, hash, item, received); ids?.push(id); return }
          case 'revoke': this.#applyRevoke(tx, entry, hash, item.id, item.reason, received); break
          case 'sighting': this.#applySighting(tx, entry, item); break
          case 'relabel': this.#applyRelabel(tx, entry, item.id, item.tlp, received); break
          // circle, member, key, address: the membership log, folded by src/circles
          default: break
        }
        ids?.push(null)
      } catch (err) {
        throw withFieldPrefix(err, `items[${index}]`)
      }
    })
  }

  /** is (entry) a later version than the stored one? later `created`; ties: later in the log */
  /**
   * does a revocation (made at `at` by entry `revokeHash`) still hold against a version in
   * `entry`? A later `created` wins; on a tie, the later position in the same log wins (a
   * re-publish in the same millisecond as the revoke makes the indicator live again).
   */
  #revokeStands (tx: Tx, at: string, revokeHash: string, entry: Entry): boolean {
    if (at !== entry.created) return at > entry.created
    const ek = tx.get<string>('entryByHash', revokeHash)
    if (ek === undefined) return true
    const [circle, , seq] = ek.split(SEP)
    return !(circle === entry.circle && parseInt(seq, 16) < entry.seq)
  }

  #isNewer (entry: Entry, hash: string, prev: StoredIndicator): boolean {
    if (entry.created !== prev.created) return entry.created > prev.created
    if (entry.circle === prev.circle) return entry.seq >= prev.entry.seq
    return hash > prev.entry.hash
  }

  /**
   * Index a new version. The previous version's posting pairs stay where they are: its
   * cursor is no longer the indicator's, so every reader skips them (postings.ts).
   */
  #reindex (tx: Tx, next: StoredIndicator): void {
    // one pair string shared by every list this version goes to
    const p = pair(next.cursor, next.id)
    for (const t of postingTags(next.tags)) tx.post('byTag', postingPrefix(t), p)
    tx.post('byOrigin', postingPrefix(originKey(next.origin)), p)
    tx.post('byType', postingPrefix(next.type), p)
    tx.post('changes', '', p)
    tx.put('indicators', next.id, next)
  }

  /** returns the indicator's id */
  #applyIndicator (tx: Tx, entry: Entry, hash: string, item: IndicatorItem, received: string): string {
    const id = indicatorId(entry.origin, item.type, item.value)
    // the value record lists every indicator with this value: when it does not list this
    // id, the indicator is new and there is nothing more to read (the bulk-import case)
    const vk = valueKey(item.type, item.value)
    const rec = tx.get<ValueRecord>('byValue', vk)
    const known = rec !== undefined && rec.ids.includes(id)
    const prev = known ? tx.get<StoredIndicator>('indicators', id) : undefined
    if (prev !== undefined && !this.#isNewer(entry, hash, prev)) {
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
      cursor: this.#nextCursor(tx),
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
    }
    // a revoke that is later than this version still applies (it arrived first)
    if (prev === undefined) {
      tx.state.counts.indicators++
      if (rec === undefined) tx.put('byValue', vk, { ids: [id] } satisfies ValueRecord)
      else if (!known) tx.put('byValue', vk, { ...rec, ids: [...rec.ids, id] })
      if (item.type === 'cidr') this.#noteCidrLength(tx, item.value)
      if (this.#pendingRevokes.has(id)) {
        const pending = tx.get<PendingRevoke>('pendingRevokes', id)
        if (pending !== undefined && pending.origin === entry.origin) {
          if (this.#revokeStands(tx, pending.created, pending.entry, entry)) {
            next.revoked = { at: pending.created, entry: pending.entry, ...(pending.reason !== undefined ? { reason: pending.reason } : {}) }
            tx.state.counts.revoked++
          }
          tx.del('pendingRevokes', id)
          tx.state.pendingRemoved.push(id)
        }
      }
    } else if (prev.revoked !== undefined) {
      if (this.#revokeStands(tx, prev.revoked.at, prev.revoked.entry, entry)) next.revoked = prev.revoked
      else tx.state.counts.revoked-- // re-published after its revocation: live again
    }
    this.#reindex(tx, next)
    return id
  }

  #noteCidrLength (tx: Tx, cidr: string): void {
    const slash = cidr.lastIndexOf('/')
    const len = Number(cidr.slice(slash + 1))
    const fam = cidr.includes(':') ? 'v6' : 'v4'
    if (!tx.state.cidr[fam].includes(len)) {
      tx.state.cidr = { ...tx.state.cidr, [fam]: [...tx.state.cidr[fam], len].sort((a, b) => a - b) }
    }
  }

  #applyRevoke (tx: Tx, entry: Entry, hash: string, id: string, reason: string | undefined, received: string): void {
    const prev = tx.get<StoredIndicator>('indicators', id)
    // purged after it expired: nothing left to revoke (the entry is still stored)
    if (prev === undefined && tx.get<string>('purged', id) !== undefined) return
    if (prev === undefined) {
      // the indicator may arrive later (out of order): keep the revocation until then
      const pending: PendingRevoke = { origin: entry.origin, created: entry.created, entry: hash, ...(reason !== undefined ? { reason } : {}) }
      tx.put('pendingRevokes', id, pending)
      // a hint that a read is worth it; a stale hint only costs a read
      this.#pendingRevokes.add(id)
      return
    }
    if (prev.origin !== entry.origin) {
      throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} belongs to another origin; only its origin may revoke it`, { field: 'id' })
    }
    if (prev.created > entry.created) return // revokes an older version only
    if (prev.revoked === undefined) tx.state.counts.revoked++
    const next: StoredIndicator = {
      ...prev,
      received,
      cursor: this.#nextCursor(tx),
      revoked: { at: entry.created, entry: hash, ...(reason !== undefined ? { reason } : {}) }
    }
    this.#reindex(tx, next)
  }

  #applySighting (tx: Tx, entry: Entry, item: SightingItem): void {
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
    s.origins[entry.origin] = o === undefined
      ? { count: item.count, firstSeen: item.firstSeen, lastSeen: item.lastSeen }
      : { count: o.count + item.count, firstSeen: item.firstSeen < o.firstSeen ? item.firstSeen : o.firstSeen, lastSeen: item.lastSeen > o.lastSeen ? item.lastSeen : o.lastSeen }
    tx.put('byValue', vk, { ...rec, sightings: s } satisfies ValueRecord)
  }

  #applyRelabel (tx: Tx, entry: Entry, id: string, tlp: Tlp, received: string): void {
    const prev = tx.get<StoredIndicator>('indicators', id)
    // purged here after it expired (its origin may keep it longer): the entry is stored, the relabel has nothing to change
    if (prev === undefined && tx.get<string>('purged', id) !== undefined) return
    if (prev === undefined || prev.origin !== entry.origin) {
      throw new PhalanxError('PX_ERR_FORBIDDEN', `relabel of ${id}: only the origin may relabel its own stored indicator`, { field: 'id' })
    }
    // the origin's node refuses a relabel that does not loosen (tlp/policy relabelViolation); here,
    // one that arrives after a later one (through another log the record went to) changes nothing
    if (!relabelApplies(prev.tlp, tlp)) return
    this.#reindex(tx, { ...prev, tlp, received, cursor: this.#nextCursor(tx) })
  }
}
