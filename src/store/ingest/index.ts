/**
 * Ingest: the one path by which entries enter the store, local publishes and the network
 * alike, and the store's one writer (the node's own state too: invites, the RED outbox). It
 * validates, verifies, checks the log position (chain.ts), derives the indicators and index
 * keys (derive.ts), and writes each entry with everything it implies in one atomic batch
 * (tx.ts). This file is the writer: its queue, the signing pipeline and group commit (about
 * 640 lines: one class, kept whole so that the order of queue, sign, write, record and tell
 * reads in one place; what it remembers of its own logs is in own-tail.ts, how publish calls
 * share entries in coalesce.ts, when queued small publishes are taken (linger, pace) in
 * pace.ts, the re-read of what an earlier version kept unread in reread.ts).
 *
 * Guarantees:
 * - atomic: an entry, its indicators and all their index keys are written by one LevelDB
 *   batch; after a crash the store is before or after the entry, never in between;
 * - durable on acknowledgement: a job's promise resolves only after its batch is written
 *   (with `sync: true` by default, also through power loss);
 * - serialized: one writer. Jobs queued while a batch is written are grouped into the next
 *   batch (group commit), so the fsync cost is shared by everyone waiting;
 * - sliced: deriving a group and building its batch let I/O in every few milliseconds
 *   (APPLY_SLICE_MS, tx.ts WRITE_SLICE_MS), so a large group never holds lookups for long.
 */
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import type { OrgKey } from '../../identity/keys.js'
import { createSigner, type EntryToSeal, type SealedOut, type Signer } from '../../signer/index.js'
import { type Entry, ENTRY_VERSION, READ_SIGNATURE, isCircleId, checkEntry, describeEntry, entryHash, packItems, assertCanonicalItems } from '../../records/index.js'
import { META_KEY, SEP, headKey, seqKey } from '../keys.js'
import type { InviteRecord, LevelStore, LogHead } from '../level-store.js'
import { applyItems } from './derive.js'
import { rereadPlan } from './reread.js'
import { coalesce, mergeable } from './coalesce.js'
import type { AttackTechnique } from '../interface.js'
import { ChainMovedError, applyPublish, runEntry, type ChainContext, type PlannedEntry } from './chain.js'
import { PURGE_CHUNK, runPurge } from './purge.js'
import { Tx, type State } from './tx.js'
import type { AcceptedLoss } from '../own-seq.js'
import { OwnTail, type BehindOwnTail } from './own-tail.js'
import { GroupPace } from './pace.js'

export type { BehindOwnTail } from './own-tail.js'
import type { EntryPolicy, ForkResult, IngestResult, PublishBatch, PublishResult, StoredEntry } from './types.js'

export type { EntryPolicy, EntryReceipt, IngestResult, PublishBatch, PublishResult, StoredEntry } from './types.js'

export interface IngestOptions {
  /** fsync each batch: survives power loss, not only a killed process */
  sync: boolean
  /** records per group-commit batch (a group always takes at least one job) */
  maxGroupItems: number
  /** jobs per group: smaller groups let the next one be prepared while one is written */
  maxGroupJobs: number
  /**
   * ms an idle writer waits after a small publish for others to share its entry (group commit
   * at the origin, coalesce.ts); 0: start at once. Publishes that queue while the writer is
   * busy share entries whatever it is.
   */
  lingerMs: number
  /**
   * ms between write groups with small publishes to shared logs (pace.ts): records share
   * entries instead of each being one gossip message; 0: off
   */
  paceMs: number
}

export const defaultIngestOptions: IngestOptions = { sync: true, maxGroupItems: 10_000, maxGroupJobs: 64, lingerMs: 0, paceMs: 0 }

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
  /**
   * The own-seq file (own-seq.ts, `<data>/own-seq.json`): the highest own seq stored per log,
   * written after each durable group with own entries, before they are gossiped or
   * acknowledged. Without it a lost tail of an own log goes unnoticed (tests, benchmarks).
   */
  ownSeqPath?: string
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

type Job =
  | { kind: 'publish', batches: PublishBatch[], resolve: (r: PublishResult) => void, reject: (e: unknown) => void, items: number }
  | { kind: 'entry', entry: Entry, hash: string, json: string, source: string, durable: boolean, unknown?: string, resolve: (r: IngestResult) => void, reject: (e: unknown) => void, items: number }
  | { kind: 'purge', ids: string[], before: string, at: string, resolve: (r: { purged: number }) => void, reject: (e: unknown) => void, items: number }
  /** a write of the node's own state (invites, the RED outbox) in the writer's order; `run` throws to refuse */
  | { kind: 'state', run: (tx: Tx) => unknown, durable: boolean, resolve: (r: any) => void, reject: (e: unknown) => void, items: number }

/** groups the signer may be sealing ahead of the one being applied */
const SIGN_AHEAD = 3
/**
 * main-thread time (ms) the writer derives records for before it lets I/O in: a lookup waits
 * at most about one slice plus one job behind a long group (lookup p99 target 50 ms, issue 13)
 */
const APPLY_SLICE_MS = 5

export class Ingest {
  readonly #c: IngestComponents
  readonly #o: IngestOptions
  readonly #log: Logger
  #queue: Job[] = []
  /** records in #queue (kept as jobs enter and leave it: read on every gossip message) */
  #queuedItems = 0
  #draining: Promise<void> | undefined
  #state: State
  #closed = false
  /** what derivation keeps across groups: the pending-revoke hints, this origin */
  readonly #ctx: ChainContext
  readonly #signer: Signer
  /** this origin's last assigned seq per circle (assigned before signing, ahead of the store) */
  #ownSeq = new Map<string, number>()
  /** `created` of this origin's entries never goes backwards, even if the clock does */
  #lastCreated = 0
  /** what this node signed in its own logs, against what the store holds (own-tail.ts) */
  readonly #tail: OwnTail
  /** when queued small publishes are taken: the linger, the pace (pace.ts) */
  readonly #pace: GroupPace

  constructor (components: IngestComponents, options: Partial<IngestOptions> = {}) {
    this.#c = components
    this.#o = { ...defaultIngestOptions, ...options }
    this.#pace = new GroupPace(this.#o)
    this.#log = components.log
    const { store } = components
    this.#state = { counts: store.counts(), cidr: store.cidrLengths(), cursor: store.lastCursor(), pendingRemoved: [] }
    this.#signer = createSigner(components.key, components.seed)
    this.#tail = new OwnTail({ path: components.ownSeqPath, origin: components.key.publicKeyHex, head: (log) => store.head(log, components.key.publicKeyHex)?.seq ?? 0, log: components.log }, this.#o.sync)
    this.#ctx = { pendingRevokes: new Set(), own: components.key.publicKeyHex, jumps: this.#tail.accepted, ahead: new Set(), inOrder: components.policy.inOrder ?? (() => false) }
  }

  async start (): Promise<void> {
    for (const k of await this.#c.store.pendingRevokeIds()) this.#ctx.pendingRevokes.add(k)
    await this.#tail.load(new Map((await this.#c.store.heads()).filter(h => h.origin === this.#c.key.publicKeyHex).map(h => [h.circle, h.seq])))
    for (const k of await this.#c.store.pendingRelabelIds()) this.#ctx.pendingRevokes.add(k)
    for (const k of (await this.#c.store.aheadMarks()).keys()) this.#ctx.ahead.add(k)
    await this.#resync()
    await this.#reread()
    // `created` never goes backwards for this origin, even across restarts with a clock that did
    for (const [circle, seq] of this.#ownSeq) {
      const e = this.#c.store.getEntry(circle, this.#c.key.publicKeyHex, seq)
      if (e !== undefined) this.#lastCreated = Math.max(this.#lastCreated, Date.parse(e.created))
    }
  }

  /**
   * Derive the records of entries an earlier version kept unread and this one reads
   * (reread.ts), one entry per write (in the writer's order, like any entry); then record
   * that this code has read the store.
   */
  async #reread (): Promise<void> {
    const plan = await rereadPlan(this.#c.store)
    if (plan === undefined) return
    for (const { key, entry } of plan.read) {
      const hash = entryHash(entry)
      await this.#writeState(tx => {
        applyItems(tx, this.#ctx, entry, hash, new Date().toISOString())
        tx.del('unread', key)
        // the log's record count (status) counts them now
        const hk = headKey(entry.circle, entry.origin)
        const head = tx.get<LogHead>('heads', hk)
        if (head?.records !== undefined && entry.seq <= head.seq) tx.put('heads', hk, { ...head, records: head.records + entry.items.length })
      }, false)
    }
    await this.#writeState(tx => {
      for (const { key, why } of plan.unread) tx.put('unread', key, why)
      tx.put('meta', META_KEY.read, READ_SIGNATURE)
    }, true)
    if (plan.read.length > 0 || plan.scanned) this.#log.info({ read: plan.read.length, unread: plan.unread.length, scanned: plan.scanned }, 'read the entries an earlier version kept unread')
  }

  /** align the seq counters and the signer's chain heads with what the store holds */
  async #resync (): Promise<void> {
    const own = this.#c.key.publicKeyHex
    const heads = (await this.#c.store.heads()).filter(h => h.origin === own)
    this.#ownSeq = new Map(heads.map(h => [h.circle, h.seq]))
    // past an accepted loss the log goes on at `next`, chained on the head the store holds
    for (const [log, a] of this.#tail.accepted) {
      if ((this.#ownSeq.get(log) ?? 0) < a.next - 1) this.#ownSeq.set(log, a.next - 1)
    }
    this.#signer.reset(heads.map(h => [h.circle, h.hash]))
  }

  /** own logs that end below the seq this node last signed in them (status, publish) */
  behindOwnTail (): BehindOwnTail[] {
    return this.#tail.behind()
  }

  /** losses of own entries an operator accepted (verify, status) */
  acceptedLosses (): Array<{ log: string } & AcceptedLoss> {
    return this.#tail.acceptedLosses()
  }

  /** finish queued work, then refuse new work */
  async stop (): Promise<void> {
    this.#closed = true
    // publishes waiting out the linger are written before the writer stops
    if (this.#lingering !== undefined) this.#kick()
    while (this.#draining !== undefined) await this.#draining
    await this.#signer.close()
  }

  /**
   * Start write groups with small publishes to shared logs at most once per `ms` (pace.ts;
   * 0: off). The network sets it from the entry quota members grant (the gossip publisher's).
   */
  paceGroups (ms: number): void { this.#pace.paceMs = ms }

  /** whether entries are signed on a worker thread */
  get threadedSigner (): boolean { return this.#signer.threaded }

  get queueLength (): number { return this.#queue.length }

  /** records waiting in the queue (the API answers 429 above a limit) */
  get queuedItems (): number { return this.#queuedItems }

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
      this.#c.policy.checkPublish?.(b)
    }
    for (const b of batches) {
      this.#tail.assertSigning(b.circle)
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
    const { entry, text, unknown } = checkEntry(raw)
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
    this.#c.policy.check(entry, source, unknown !== undefined)
    if (unknown !== undefined) this.#noteUnknown(entry.origin, unknown)
    let r: IngestResult | ForkResult
    try {
      r = await new Promise<IngestResult | ForkResult>((resolve, reject) => {
        this.#enqueue({ kind: 'entry', entry, hash, json: d.json, source, durable: opts.durable ?? true, ...(unknown !== undefined ? { unknown } : {}), resolve, reject, items: entry.items.length })
      })
    } catch (err) {
      // an own entry ahead of our head: a peer holds what this node lost
      if (entry.origin === this.#c.key.publicKeyHex && err instanceof PhalanxError && err.code === 'PX_ERR_SEQ_GAP') this.#tail.learn(entry.circle, entry.seq)
      throw err
    }
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

  /** what was said about entries this code cannot read, by origin and reason (bounded) */
  readonly #unknownNoted = new Set<string>()

  /** say once per origin and reason that entries of a later version arrive (a node to upgrade) */
  #noteUnknown (origin: string, reason: string): void {
    const k = `${origin}\x00${reason}`
    if (this.#unknownNoted.has(k) || this.#unknownNoted.size >= 1024) return
    this.#unknownNoted.add(k)
    this.#log.info({ origin, reason }, 'an entry this version cannot read is kept for sync and otherwise ignored (a newer Phalanx made it; upgrade to read it)')
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

  /** keep ATT&CK technique names (the operator's ATT&CK bundle: local reference data, never shared) */
  async putAttackTechniques (techniques: ReadonlyArray<{ id: string } & AttackTechnique>): Promise<void> {
    await this.#writeState(tx => {
      for (const { id, ...t } of techniques) tx.put('attack', id, t)
    }, true)
  }

  async #writeState<T> (run: (tx: Tx) => T, durable: boolean): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      this.#enqueue({ kind: 'state', run, durable, resolve, reject, items: 0 })
    })
  }

  #enqueue (job: Job): void {
    if (this.#closed) { job.reject(new PhalanxError('PX_ERR_CLOSED', 'the node is shutting down')); return }
    this.#queue.push(job)
    this.#queuedItems += job.items
    this.#kick(true)
  }

  /** the timer while small publishes wait out the linger or the pace (pace.ts) */
  #lingering: NodeJS.Timeout | undefined

  /**
   * Start the writer unless it runs. `arrival`: a new job reached an idle writer (the linger
   * applies). Small publishes wait out the linger or the pace; anything else goes at once.
   */
  #kick (arrival = false): void {
    if (this.#draining !== undefined) return
    const wait = this.#pace.holdMs(this.#queue, arrival, this.#closed)
    if (wait > 0) {
      this.#lingering ??= setTimeout(() => { this.#lingering = undefined; this.#kick() }, wait)
      return
    }
    if (this.#lingering !== undefined) { clearTimeout(this.#lingering); this.#lingering = undefined }
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined
      // a job enqueued after the loop last saw an empty queue but before this ran: drain it
      // too, at once (it waited already)
      if (this.#queue.length > 0) this.#kick()
    })
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
        // small publishes within the pace wait (the loop ends; #kick's timer restarts it)
        if (this.#pace.holdMs(this.#queue, false, this.#closed) > 0) return
        const jobs = this.#take()
        this.#pace.taken(jobs)
        ahead.push(this.#prepare(jobs))
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
      const { group, replan } = await this.#apply(cur, sealed, prev)
      prev = group
      if (replan.length > 0) {
        // own entries signed on a chain the store no longer ends with: sign them again,
        // after the store and the signer agree on where this origin's logs end
        const back = [...replan, ...ahead.flatMap(p => p.jobs)]
        this.#queue.unshift(...back)
        this.#queuedItems += back.reduce((n, j) => n + j.items, 0)
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
    this.#queuedItems -= items
    return coalesceCalls(this.#queue.splice(0, n))
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
          this.#lastCreated = Math.max(Date.now(), this.#lastCreated, batch.after !== undefined ? Date.parse(batch.after) + 1 : 0)
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
  async #apply (cur: Prepared, sealed: SealedOut[], prev: Group | undefined): Promise<{ group: Group, replan: Job[] }> {
    const tx = new Tx(this.#c.store, prev?.tx.state ?? this.#state, prev?.tx)
    tx.state.pendingRemoved = []
    const done: Array<{ job: Job, result: unknown }> = []
    const replan: Job[] = []
    let broken = false
    let offset = 0
    let slice = performance.now()
    for (const job of cur.jobs) {
      // derivation is the writer's main-thread work: between jobs, let I/O (lookups, the
      // API) in once a slice is used up, so a long group never holds the event loop
      if (performance.now() - slice > APPLY_SLICE_MS) {
        await new Promise(resolve => setImmediate(resolve))
        slice = performance.now()
      }
      const plan = job.kind === 'publish' ? cur.plans.get(job) ?? [] : []
      const outs = sealed.slice(offset, offset + plan.length)
      offset += plan.length
      if (broken && job.kind === 'publish') { replan.push(job); continue }
      const child = tx.child()
      try {
        const result = job.kind === 'publish'
          ? applyPublish(child, this.#ctx, plan, outs)
          : job.kind === 'entry' ? runEntry(child, this.#ctx, job) : job.kind === 'purge' ? runPurge(child, job) : job.run(child)
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
    // own entries this group stores, log → highest seq: the own-seq file learns them first
    const own = this.#c.key.publicKeyHex
    const mine = new Map<string, number>()
    for (const d of done) {
      const r = d.result as PublishResult | IngestResult | undefined
      if (d.job.kind === 'publish') for (const e of (r as PublishResult).entries) mine.set(e.circle, Math.max(mine.get(e.circle) ?? 0, e.seq))
      else if (d.job.kind === 'entry' && d.job.entry.origin === own && (r as IngestResult).status === 'stored') {
        mine.set(d.job.entry.circle, Math.max(mine.get(d.job.entry.circle) ?? 0, d.job.entry.seq))
      }
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
        // durable first, then recorded, then told to anyone (gossip, the publisher, a peer)
        await this.#tail.noteStored(mine)
      } catch (err) {
        group.failed = true
        this.#log.error({ err, jobs: done.length }, 'store batch write failed')
        const e = new PhalanxError('PX_ERR_STORE', `store write failed: ${(err as Error).message}`, { cause: err })
        for (const d of done) d.job.reject(e)
        return false
      }
      this.#state = tx.state
      this.#c.store.noteCidrLengths(tx.state.cidr)
      for (const id of tx.state.pendingRemoved) this.#ctx.pendingRevokes.delete(id)
      // listeners see the new state before any publisher's await resumes
      if (tx.stored.length > 0 && this.#c.onStored !== undefined) {
        try { this.#c.onStored(tx.stored) } catch (err) { this.#log.error({ err }, 'onStored listener failed') }
      }
      for (const d of done) d.job.resolve(d.result as any)
      return true
    })()
    return group
  }
}

/**
 * A group's jobs with its publish calls that may share entries made one publish (coalesce.ts),
 * in the place of the first of them: each call is answered with its own share of the result,
 * and all fail together (a write, a chain moved: what concerns the whole group anyway).
 */
function coalesceCalls (jobs: Job[]): Job[] {
  const calls = jobs.filter((j): j is Extract<Job, { kind: 'publish' }> => j.kind === 'publish' && mergeable(j))
  if (calls.length < 2) return jobs
  const { batches, split } = coalesce(calls)
  const items = calls.reduce((n, c) => n + c.items, 0)
  const composite: Job = {
    kind: 'publish',
    batches,
    items,
    resolve: (r) => { split(r).forEach((x, i) => calls[i].resolve(x)) },
    reject: (e) => { for (const c of calls) c.reject(e) }
  }
  const out: Job[] = []
  for (const j of jobs) {
    if (j === calls[0]) out.push(composite)
    else if (!calls.includes(j as Extract<Job, { kind: 'publish' }>)) out.push(j)
  }
  return out
}
