/**
 * Gaps, and the entries that must wait for them. Gossip is not ordered: an entry may arrive
 * before the ones preceding it in its origin's log (reordering between relays, or a lost
 * message). A data log's entry is stored on arrival all the same (store/ingest/chain.ts);
 * only a log that must be read in order — a membership log, folded record by record — refuses
 * it (PX_ERR_SEQ_GAP), and it is held here until its predecessor is stored.
 *
 * Guarantees:
 * - what is held is bounded (PendingLimits, config `p2p.pending`): per log and in total in
 *   count and bytes, and in age. Past a bound the entry is dropped (sync or the next
 *   membership pull brings it again), with at most one log line per DROP_LOG_INTERVAL_MS;
 * - a stored entry releases the whole held run that follows it, in order;
 * - a gap still open GAP_FILL_DELAY_MS after it was seen is fetched from the peer that
 *   relayed the entry after it: a data log by a partial sync of that origin, a membership log
 *   (small) over the entries protocol. At most one fill per log is scheduled at a time, fills
 *   of one log are GAP_FILL_INTERVAL_MS apart, and at most MAX_GAPS_TRACKED logs are tracked:
 *   a flood of entries ahead of a gap that is never filled costs one fill per log every 2 s,
 *   not one per entry. A fill that fails is left to the periodic sync.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import type { Entry } from '../../records/index.js'
import { isMembershipLog } from '../../circles/index.js'
import type { LevelStore } from '../../store/index.js'
import { publicKeyOfPeer } from '../host.js'
import { MAX_ENTRIES_PER_REQUEST } from '../protocols/entries.js'
import type { GossipVerdict } from './validator.js'

/** what the out-of-order buffer may hold (config `p2p.pending`) */
export interface PendingLimits {
  /** entries held per (log, origin) */
  perLogEntries: number
  /** bytes (entry JSON) held per (log, origin) */
  perLogBytes: number
  /** entries held in all */
  entries: number
  /** bytes held in all */
  bytes: number
  /** an entry held longer than this is dropped (ms) */
  maxAgeMs: number
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { perLogEntries: 64, perLogBytes: 1024 * 1024, entries: 1024, bytes: 16 * 1024 * 1024, maxAgeMs: 60_000 }
/** the old name of the per-log bound */
export const MAX_PENDING_PER_LOG = DEFAULT_PENDING_LIMITS.perLogEntries
/** wait this long before fetching a gap: reordering between relays closes most by then */
export const GAP_FILL_DELAY_MS = 250
/** after a fill of a log, the next one waits at least this long (a gap a peer never fills) */
export const GAP_FILL_INTERVAL_MS = 2_000
/** logs with a gap fill scheduled at once (one timer each) */
export const MAX_GAPS_TRACKED = 1024
/** at most one "dropped" log line per this interval */
export const DROP_LOG_INTERVAL_MS = 10_000

export interface PendingComponents {
  store: Pick<LevelStore, 'head'>
  /** ingest one remote entry (the validator's judge) */
  judge: (raw: unknown, source: string) => Promise<GossipVerdict>
  /** a partial sync of a data log: `origin`'s entries up to `to` from `peer` */
  syncGap: (circle: string, peer: PeerId, origin: string, to: number) => void
  /** entries `from`..`to` of a log from `peer` (the entries protocol) */
  fetchEntries: (peer: PeerId, circle: string, origin: string, from: number, to: number) => Promise<unknown[]>
  log: Logger
  /** aborted when the network stops */
  signal: AbortSignal
  limits?: Partial<PendingLimits>
}

interface Held { raw: unknown, bytes: number, at: number }

export class PendingEntries {
  readonly #c: PendingComponents
  readonly #limits: PendingLimits
  /** per log, seq → held entry; a Map keeps insertion order (the oldest first) */
  readonly #pending = new Map<string, { bytes: number, bySeq: Map<number, Held> }>()
  #entries = 0
  #bytes = 0
  readonly #filling = new Set<string>()
  /** logs with a gap fill scheduled: the highest seq wanted and the peer to ask */
  readonly #gaps = new Map<string, { got: number, from: PeerId }>()
  /** when each log's gap was last fetched (bounded: oldest dropped past MAX_GAPS_TRACKED) */
  readonly #lastFill = new Map<string, number>()
  #dropped = 0
  #lastDropLog = 0

  constructor (c: PendingComponents) {
    this.#c = c
    this.#limits = { ...DEFAULT_PENDING_LIMITS, ...c.limits }
  }

  /** early entries held for the log of (circle, origin) */
  held (circle: string, origin: string): number {
    return this.#pending.get(`${circle}\0${origin}`)?.bySeq.size ?? 0
  }

  /** what the buffer holds in all */
  get size (): { entries: number, bytes: number, dropped: number } { return { entries: this.#entries, bytes: this.#bytes, dropped: this.#dropped } }

  /** an early entry of an in-order log: hold it, and fetch the gap if it is still open in a moment */
  early (raw: any, gap: { have?: number, got?: number }, from?: PeerId): void {
    this.hold(raw)
    this.gap(raw?.circle, raw?.origin, gap, from)
  }

  /**
   * A gap seen before seq `got` of (circle, origin) (`have`: the head then): if it is still
   * open GAP_FILL_DELAY_MS later, fetch it from `from`. One fill per log scheduled at a time.
   */
  gap (circle: unknown, origin: unknown, gap: { have?: number, got?: number }, from?: PeerId): void {
    // most gaps are reordering between relays and close within milliseconds: ask only
    // for what is still missing a moment later
    if (from === undefined || typeof circle !== 'string' || typeof origin !== 'string' || typeof gap.got !== 'number') return
    const k = `${circle}\0${origin}`
    const known = this.#gaps.get(k)
    if (known !== undefined) { if (gap.got > known.got) known.got = gap.got; return }
    if (this.#gaps.size >= MAX_GAPS_TRACKED) return
    this.#gaps.set(k, { got: gap.got, from })
    const since = Date.now() - (this.#lastFill.get(k) ?? 0)
    setTimeout(() => {
      const g = this.#gaps.get(k)
      this.#gaps.delete(k)
      if (g === undefined || this.#c.signal.aborted) return
      const have = this.#c.store.head(circle, origin)?.seq ?? 0
      if (have >= g.got - 1) return
      this.#lastFill.delete(k)
      this.#lastFill.set(k, Date.now())
      if (this.#lastFill.size > MAX_GAPS_TRACKED) this.#lastFill.delete(this.#lastFill.keys().next().value!)
      // a data log syncs (every origin the peer holds more of); a membership log is small
      if (isMembershipLog(circle)) void this.fill(circle, origin, have + 1, g.got - 1, g.from)
      else this.#c.syncGap(circle, g.from, origin, g.got - 1)
    }, Math.max(GAP_FILL_DELAY_MS, GAP_FILL_INTERVAL_MS - since)).unref()
  }

  /** keep an entry until the one before it is stored (dropped past the limits) */
  hold (raw: any): void {
    const k = `${raw.circle as string}\0${raw.origin as string}`
    const seq = raw.seq as number
    const now = Date.now()
    this.#expire(now)
    let log = this.#pending.get(k)
    if (log?.bySeq.has(seq) === true) return
    const bytes = approxBytes(raw)
    const l = this.#limits
    if ((log?.bySeq.size ?? 0) >= l.perLogEntries || (log?.bytes ?? 0) + bytes > l.perLogBytes || this.#entries >= l.entries || this.#bytes + bytes > l.bytes) {
      this.#drop(1, { circle: raw.circle, origin: String(raw.origin).slice(0, 16), seq, held: this.#entries, heldBytes: this.#bytes })
      return
    }
    if (log === undefined) this.#pending.set(k, log = { bytes: 0, bySeq: new Map() })
    log.bySeq.set(seq, { raw, bytes, at: now })
    log.bytes += bytes
    this.#entries++
    this.#bytes += bytes
  }

  /** `entry` was stored: ingest the run of held entries that now follows it */
  drain (entry: Entry): void {
    const k = `${entry.circle}\0${entry.origin}`
    const log = this.#pending.get(k)
    if (log === undefined) return
    // queue the whole run that now follows, in order (one write group, not one per entry)
    const run: unknown[] = []
    for (let seq = entry.seq + 1; log.bySeq.has(seq); seq++) run.push(log.bySeq.get(seq)!.raw)
    for (const [seq, h] of log.bySeq) if (seq <= entry.seq + run.length) this.#remove(k, log, seq, h)
    for (const raw of run) void this.#c.judge(raw, 'gossip')
  }

  #remove (k: string, log: { bytes: number, bySeq: Map<number, Held> }, seq: number, h: Held): void {
    log.bySeq.delete(seq)
    log.bytes -= h.bytes
    this.#entries--
    this.#bytes -= h.bytes
    if (log.bySeq.size === 0) this.#pending.delete(k)
  }

  /** drop what was held longer than maxAgeMs (entries are added in time order per log) */
  #expire (now: number): void {
    if (this.#entries === 0) return
    let n = 0
    for (const [k, log] of this.#pending) {
      for (const [seq, h] of log.bySeq) {
        if (now - h.at <= this.#limits.maxAgeMs) break
        this.#remove(k, log, seq, h)
        n++
      }
    }
    if (n > 0) this.#drop(n, { reason: 'expired' })
  }

  #drop (n: number, detail: Record<string, unknown>): void {
    this.#dropped += n
    const now = Date.now()
    if (now - this.#lastDropLog < DROP_LOG_INTERVAL_MS) return
    this.#lastDropLog = now
    this.#c.log.warn({ ...detail, droppedSinceStart: this.#dropped, limits: this.#limits }, 'out-of-order entries dropped past the pending limits (sync brings them again); more drops are not logged for 10 s')
  }

  /** fetch seq `from`..`to` of a log from `peer` and ingest them in order */
  async fill (circle: string, origin: string, from: number, to: number, peer: PeerId): Promise<void> {
    const k = `${circle}\0${origin}`
    if (this.#filling.has(k) || this.#c.signal.aborted) return
    this.#filling.add(k)
    try {
      let next = from
      while (next <= to && !this.#c.signal.aborted) {
        const key = publicKeyOfPeer(peer)
        if (key === null) return
        const entries = await this.#c.fetchEntries(peer, circle, origin, next, Math.min(to, next + MAX_ENTRIES_PER_REQUEST - 1))
        if (entries.length === 0) break
        for (const e of entries as any[]) {
          if (e?.circle !== circle || e?.origin !== origin || e?.seq !== next) throw new PhalanxError('PX_ERR_PEER', 'the peer answered with entries out of range')
          const r = await this.#c.judge(e, 'gap')
          if (r.result === TopicValidatorResult.Reject) return
          next++
        }
      }
      this.#c.log.debug({ circle, origin: origin.slice(0, 16), from, to: next - 1 }, 'gap filled')
    } catch (err) {
      this.#c.log.warn({ circle, origin: origin.slice(0, 16), err: (err as Error).message }, 'could not fill a gap; sync will')
    } finally {
      this.#filling.delete(k)
    }
  }
}

/** the size of an entry as JSON, without serializing it again when its items are small */
function approxBytes (raw: unknown): number {
  try { return Buffer.byteLength(JSON.stringify(raw) ?? '') } catch { return 64 * 1024 }
}
