/**
 * Anti-entropy sync of a circle's data log (`/phalanx/sync/1.0.0`, docs/PROTOCOL.md).
 *
 * The client sends its version vector {origin: [highest contiguous seq, head hash]}; the
 * server streams every entry the client lacks, origin by origin in seq order, in bounded
 * batches (≤ 512 entries, ≤ 1 MiB), at most two batches ahead of the client's
 * acknowledgements (backpressure: a slow client holds the server, not its memory); then its
 * own vector. Any member serves any origin's entries (they are signed); the client ingests
 * them through the one ingest path, as gossip would. A head hash that differs at the same seq
 * is a fork: the server sends its entry there, and the client's ingest keeps both as evidence.
 * A server that learns the client holds more than it does syncs back the other way.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { PhalanxError } from '../errors.js'
import { entryHash } from '../records/index.js'
import type { Ingest, LevelStore, LogHead } from '../store/index.js'

export const SYNC_PROTOCOL = '/phalanx/sync/1.0.0'
/** a batch: at most this many entries … */
export const SYNC_BATCH_ENTRIES = 512
/** … and about this many bytes (one entry is ≤ 64 KiB) */
export const SYNC_BATCH_BYTES = 1024 * 1024
/** batches the server sends ahead of the client's acknowledgements */
export const SYNC_WINDOW = 2
/** a batch stops at the entry that reaches SYNC_BATCH_BYTES (UTF-8): one entry ≤ 64 KiB past it */
const MAX_FRAME = 2 * SYNC_BATCH_BYTES
/** a request names at most this many origins (a vector of ~80 bytes each) */
const MAX_VECTOR_ORIGINS = 20_000
const SYNC_TIMEOUT_MS = 120_000
const HEX64 = /^[0-9a-f]{64}$/

/** origin → [highest contiguous seq, hash of that entry] */
export type Vector = Record<string, [number, string]>

export interface SyncStats {
  /** syncs this node ran as a client, and what they brought */
  runs: number
  entriesReceived: number
  bytesReceived: number
  stored: number
  duplicates: number
  forks: number
  rejected: number
  /** what this node served to others */
  served: number
  entriesSent: number
  bytesSent: number
}

export interface PeerSync {
  /** when this node last compared vectors with the member */
  at: string
  /** whether both held the same vector when they last compared */
  inSync: boolean
}

export interface SyncOutcome {
  circle: string
  peer: string
  entries: number
  bytes: number
  stored: number
  duplicates: number
  forks: number
  rejected: number
  inSync: boolean
  ms: number
}

export interface SyncComponents {
  store: LevelStore
  ingest: Ingest
  log: Logger
  /** open a stream of `protocol` to a connected (or dialable) peer */
  open: (peer: PeerId, protocol: string, signal: AbortSignal) => Promise<Stream>
  /** the circle id when both this node and `key` are current members; throws otherwise */
  authorize: (circle: unknown, key: string) => string
  /** the key of a peer (null when it is not an Ed25519 org key) */
  keyOf: (peer: PeerId) => string | null
  /** one entry of `peer`'s log (fork evidence when its head differs from ours) */
  fetchEntry: (peer: PeerId, circle: string, origin: string, seq: number) => Promise<unknown>
}

export function vectorOf (heads: Record<string, LogHead>): Vector {
  const v: Vector = {}
  for (const [origin, h] of Object.entries(heads)) v[origin] = [h.seq, h.hash]
  return v
}

function checkVector (raw: unknown, what: string): Vector {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PhalanxError('PX_ERR_VALIDATION', `${what}: a vector is an object of origin → [seq, hash]`)
  const entries = Object.entries(raw)
  if (entries.length > MAX_VECTOR_ORIGINS) throw new PhalanxError('PX_ERR_VALIDATION', `${what}: more than ${MAX_VECTOR_ORIGINS} origins`)
  for (const [origin, h] of entries) {
    if (!HEX64.test(origin) || !Array.isArray(h) || h.length !== 2 || !Number.isSafeInteger(h[0]) || h[0] < 1 || typeof h[1] !== 'string' || !HEX64.test(h[1])) {
      throw new PhalanxError('PX_ERR_VALIDATION', `${what}: ${origin.slice(0, 16)} is not origin → [seq ≥ 1, hash]`)
    }
  }
  return raw as Vector
}

/** a partial sync: origin → the highest seq wanted (a gap seen in gossip) */
export type Only = Record<string, number>

function checkOnly (raw: unknown): Only {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PhalanxError('PX_ERR_VALIDATION', 'sync request: only is an object of origin → seq')
  const entries = Object.entries(raw)
  if (entries.length > MAX_VECTOR_ORIGINS) throw new PhalanxError('PX_ERR_VALIDATION', `sync request: only names more than ${MAX_VECTOR_ORIGINS} origins`)
  for (const [origin, seq] of entries) {
    if (!HEX64.test(origin) || !Number.isSafeInteger(seq) || (seq as number) < 1) throw new PhalanxError('PX_ERR_VALIDATION', `sync request: only.${origin.slice(0, 16)} is not origin → seq ≥ 1`)
  }
  return raw as Only
}

function sameVector (a: Vector, b: Vector): boolean {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every(k => b[k] !== undefined && b[k][0] === a[k][0] && b[k][1] === a[k][1])
}

export class Sync {
  readonly #c: SyncComponents
  readonly #log: Logger
  /** one sync per circle at a time */
  readonly #running = new Set<string>()
  /** per circle, the peers to sync with next (each once, whatever the number of triggers) */
  readonly #waiting = new Map<string, Map<string, { peer: PeerId, reason: string, only: Only | undefined, waiters: Array<(o: SyncOutcome | null) => void> }>>()
  readonly #peers = new Map<string, Map<string, PeerSync>>()
  readonly #lastSync = new Map<string, string>()
  readonly stats: SyncStats = { runs: 0, entriesReceived: 0, bytesReceived: 0, stored: 0, duplicates: 0, forks: 0, rejected: 0, served: 0, entriesSent: 0, bytesSent: 0 }
  #stopped = false
  /** set by the network: sync back to a client that holds more than this node */
  onBehind: (circle: string, peer: PeerId) => void = () => {}

  constructor (c: SyncComponents) {
    this.#c = c
    this.#log = c.log
  }

  stop (): void {
    this.#stopped = true
    for (const q of this.#waiting.values()) for (const w of q.values()) for (const resolve of w.waiters) resolve(null)
    this.#waiting.clear()
  }

  /** per circle: when it last synced, and with which members it agreed */
  state (circle: string): { lastSync: string | null, peers: Map<string, PeerSync> } {
    return { lastSync: this.#lastSync.get(circle) ?? null, peers: this.#peers.get(circle) ?? new Map() }
  }

  /** a sync with `key` failed or could not start: it is not in sync (the circle's lastSync stays) */
  #noteFailed (circle: string, key: string | null): void {
    if (key === null) return
    const m = this.#peers.get(circle)
    if (m?.has(key) === true) m.set(key, { at: new Date().toISOString(), inSync: false })
  }

  #note (circle: string, key: string | null, inSync: boolean): void {
    const at = new Date().toISOString()
    this.#lastSync.set(circle, at)
    if (key === null) return
    let m = this.#peers.get(circle)
    if (m === undefined) this.#peers.set(circle, m = new Map())
    m.set(key, { at, inSync })
  }

  /**
   * Sync `circle` from `peer`: what that sync brought (null: not reachable). Syncs of one
   * circle run one after another, each with the vector the one before left; triggers for a
   * peer already waiting join its turn.
   */
  async sync (circle: string, peer: PeerId, reason: string, only?: Only): Promise<SyncOutcome | null> {
    return await new Promise((resolve) => {
      let q = this.#waiting.get(circle)
      if (q === undefined) this.#waiting.set(circle, q = new Map())
      const id = peer.toString()
      const w = q.get(id)
      if (w === undefined) q.set(id, { peer, reason, only, waiters: [resolve] })
      else {
        w.waiters.push(resolve)
        // a full sync covers a partial one; two partial ones cover both ranges
        if (w.only !== undefined) {
          if (only === undefined) { w.only = undefined; w.reason = reason } else {
            for (const [o, s] of Object.entries(only)) w.only[o] = Math.max(w.only[o] ?? 0, s)
          }
        }
      }
      void this.#next(circle)
    })
  }

  async #next (circle: string): Promise<void> {
    if (this.#running.has(circle)) return
    const q = this.#waiting.get(circle)
    const first = q?.entries().next().value
    if (q === undefined || first === undefined) return
    const [id, w] = first
    q.delete(id)
    if (q.size === 0) this.#waiting.delete(circle)
    this.#running.add(circle)
    let outcome: SyncOutcome | null = null
    try {
      outcome = await this.#run(circle, w.peer, w.reason, w.only)
    } catch (err) {
      this.#log.error({ circle, err }, 'sync failed unexpectedly')
    } finally {
      this.#running.delete(circle)
      for (const resolve of w.waiters) resolve(outcome)
      void this.#next(circle)
    }
  }

  async #run (circle: string, peer: PeerId, reason: string, only?: Only): Promise<SyncOutcome | null> {
    if (this.#stopped) return null
    const started = performance.now()
    const out: SyncOutcome = { circle, peer: peer.toString(), entries: 0, bytes: 0, stored: 0, duplicates: 0, forks: 0, rejected: 0, inSync: false, ms: 0 }
    const signal = AbortSignal.timeout(SYNC_TIMEOUT_MS)
    let stream: Stream
    try {
      stream = await this.#c.open(peer, SYNC_PROTOCOL, signal)
    } catch (err) {
      this.#log.debug({ circle, peer: out.peer, err: (err as Error).message }, 'sync: peer not reachable')
      this.#noteFailed(circle, this.#c.keyOf(peer))
      return null
    }
    this.stats.runs++
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
      await lp.write(Buffer.from(JSON.stringify({ circle, heads: vectorOf(await this.#c.store.logHeadsOf(circle)), ...(only !== undefined ? { only } : {}) })), { signal })
      /** ingesting batches: one may ingest while the next is read (bounded: two at most) */
      const ingesting: Array<Promise<void>> = []
      let theirs: Vector | undefined
      for (;;) {
        const frame = (await lp.read({ signal })).subarray()
        const msg = JSON.parse(Buffer.from(frame).toString('utf8'))
        if (msg?.error !== undefined) throw new PhalanxError('PX_ERR_PEER', `the peer refused: ${String(msg.error.message)}`)
        if (msg?.done === true) { theirs = checkVector(msg.heads, 'sync reply'); break }
        if (!Array.isArray(msg?.entries)) throw new PhalanxError('PX_ERR_PEER', 'a sync frame holds entries or done')
        out.entries += msg.entries.length
        out.bytes += frame.length
        ingesting.push(this.#ingestBatch(circle, msg.entries, out))
        if (ingesting.length >= 2) await ingesting.shift()
        await lp.write(Buffer.from('{"ack":1}'), { signal })
      }
      await Promise.all(ingesting)
      await stream.close().catch(() => {})
      if (only === undefined) {
        await this.#checkTheirHeads(circle, peer, theirs, out)
        const ours = vectorOf(await this.#c.store.logHeadsOf(circle))
        out.inSync = sameVector(ours, theirs)
        this.#note(circle, this.#c.keyOf(peer), out.inSync)
      }
    } catch (err) {
      stream.abort(err as Error)
      this.#noteFailed(circle, this.#c.keyOf(peer))
      // a node stopping (either side) ends its streams: not worth a warning
      this.#log[this.#stopped ? 'debug' : 'warn']({ circle, peer: out.peer, reason, err: (err as Error).message }, 'sync failed')
      return null
    } finally {
      this.stats.entriesReceived += out.entries
      this.stats.bytesReceived += out.bytes
      this.stats.stored += out.stored
      this.stats.duplicates += out.duplicates
      this.stats.forks += out.forks
      this.stats.rejected += out.rejected
    }
    out.ms = Math.round(performance.now() - started)
    const level = out.stored > 0 || out.forks > 0 || out.rejected > 0 ? 'info' : 'debug'
    this.#log[level]({ ...out, reason }, 'sync done')
    return out
  }

  /** queue a batch's entries in order (one write group), then wait for all of them */
  async #ingestBatch (circle: string, raws: unknown[], out: SyncOutcome): Promise<void> {
    const jobs = raws.map(async (raw) => {
      if ((raw as { circle?: unknown })?.circle !== circle) { out.rejected++; return }
      try {
        const r = await this.#c.ingest.ingest(raw, 'sync', { durable: false })
        if (r.status === 'stored') out.stored++
        else out.duplicates++
      } catch (err) {
        const code = err instanceof PhalanxError ? err.code : 'PX_ERR_INTERNAL'
        if (code === 'PX_ERR_FORK') { out.forks++; return }
        out.rejected++
        // an entry after a refused one is a gap: say only the first
        if (code !== 'PX_ERR_SEQ_GAP') this.#log.warn({ circle, code, message: (err as Error).message }, 'sync: entry refused')
      }
    })
    await Promise.all(jobs)
  }

  /**
   * Where the peer's head is behind ours, our entry at its seq must be its head: if it is
   * not, the origin forked; fetch the peer's entry there so ingest keeps it as evidence.
   */
  async #checkTheirHeads (circle: string, peer: PeerId, theirs: Vector, out: SyncOutcome): Promise<void> {
    const ours = await this.#c.store.logHeadsOf(circle)
    for (const [origin, [seq, hash]] of Object.entries(theirs)) {
      const head = ours[origin]
      if (head === undefined || head.seq < seq) continue
      const mine = head.seq === seq ? head.hash : this.#hashAt(circle, origin, seq)
      if (mine === undefined || mine === hash || await this.#c.store.hasFork(circle, origin)) continue
      try {
        const raw = await this.#c.fetchEntry(peer, circle, origin, seq)
        await this.#c.ingest.ingest(raw, 'sync', { durable: false })
      } catch (err) {
        if (err instanceof PhalanxError && err.code === 'PX_ERR_FORK') out.forks++
        else this.#log.warn({ circle, origin: origin.slice(0, 16), seq, err: (err as Error).message }, 'sync: could not fetch the other side of a fork')
      }
    }
  }

  #hashAt (circle: string, origin: string, seq: number): string | undefined {
    const e = this.#c.store.getEntry(circle, origin, seq)
    return e === undefined ? undefined : entryHash(e)
  }

  /** serve a sync request from a member */
  async serve (stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.timeout(SYNC_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    let circle = ''
    try {
      const key = this.#c.keyOf(conn.remotePeer)
      if (key === null) throw new PhalanxError('PX_ERR_PEER', 'peer key is not Ed25519')
      const req = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
      let theirs: Vector
      let only: Only | undefined
      try {
        circle = this.#c.authorize(req?.circle, key)
        theirs = checkVector(req.heads, 'sync request')
        if (req.only !== undefined) only = checkOnly(req.only)
      } catch (err) {
        const e = err instanceof PhalanxError ? err : new PhalanxError('PX_ERR_INTERNAL', 'internal error')
        this.#log.warn({ peer: conn.remotePeer.toString(), code: e.code, message: e.message }, 'sync request refused')
        await lp.write(Buffer.from(JSON.stringify({ error: { code: e.code, message: e.message } })), { signal })
        await stream.close()
        return
      }
      this.stats.served++
      const ours = await this.#c.store.logHeadsOf(circle)
      const plan: Array<{ origin: string, from: number, to: number }> = []
      let behind = false
      for (const [origin, full] of Object.entries(ours)) {
        // a partial sync (a gap) covers the origins it names, up to the seq it names
        if (only !== undefined && only[origin] === undefined) continue
        const head = only === undefined || only[origin] >= full.seq ? full : { seq: only[origin], hash: this.#hashAt(circle, origin, only[origin]) ?? '' }
        const t = theirs[origin]
        if (t === undefined) { plan.push({ origin, from: 1, to: head.seq }); continue }
        const [seq, hash] = t
        if (seq > head.seq) { behind = true; continue }
        const mine = seq === head.seq ? head.hash : this.#hashAt(circle, origin, seq)
        if (mine !== hash) {
          // a fork: send our entry at their head (evidence for them), and sync back for theirs
          // unless this node already holds evidence (then both sides differ for good)
          plan.push({ origin, from: seq, to: seq })
          if (!await this.#c.store.hasFork(circle, origin)) behind = true
          continue
        }
        if (seq < head.seq) plan.push({ origin, from: seq + 1, to: head.seq })
      }
      if (Object.keys(theirs).some(o => ours[o] === undefined)) behind = true
      await this.#stream(lp, circle, plan, signal)
      await lp.write(Buffer.from(JSON.stringify({ done: true, heads: vectorOf(ours) })), { signal })
      await stream.close()
      if (only === undefined) {
        this.#note(circle, key, !behind && plan.length === 0)
        if (behind) this.onBehind(circle, conn.remotePeer)
      }
    } catch (err) {
      this.#log[this.#stopped ? 'debug' : 'warn']({ circle, err: (err as Error).message }, 'sync stream failed')
      stream.abort(err as Error)
    }
  }

  async #stream (lp: ReturnType<typeof lpStream>, circle: string, plan: Array<{ origin: string, from: number, to: number }>, signal: AbortSignal): Promise<void> {
    let batch: string[] = []
    let bytes = 0
    let unacked = 0
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const frame = Buffer.from(`{"entries":[${batch.join(',')}]}`)
      this.stats.entriesSent += batch.length
      this.stats.bytesSent += frame.length
      batch = []
      bytes = 0
      await lp.write(frame, { signal })
      // backpressure: wait for the client before running further ahead of it
      if (++unacked >= SYNC_WINDOW) {
        await lp.read({ signal })
        unacked--
      }
    }
    for (const { origin, from, to } of plan) {
      let next = from
      while (next <= to) {
        if (this.#stopped) throw new PhalanxError('PX_ERR_CLOSED', 'the node is shutting down')
        const texts = await this.#c.store.entryTexts(circle, origin, next, to, SYNC_BATCH_ENTRIES - batch.length, SYNC_BATCH_BYTES - bytes)
        if (texts.length === 0) break
        for (const t of texts) { batch.push(t); bytes += Buffer.byteLength(t) }
        next += texts.length
        if (batch.length >= SYNC_BATCH_ENTRIES || bytes >= SYNC_BATCH_BYTES) await flush()
      }
    }
    await flush()
  }
}
