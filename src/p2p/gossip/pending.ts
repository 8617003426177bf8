/**
 * Entries that came early, and the gaps before them. Gossip is not ordered: an entry may
 * arrive before the ones preceding it in its origin's log (reordering between relays, or a
 * lost message). Ingest refuses it (PX_ERR_SEQ_GAP); it is kept here and ingested as soon as
 * its predecessor is stored, and what is still missing a moment later is fetched.
 *
 * Guarantees: at most MAX_PENDING_PER_LOG early entries per (circle, origin) log (later ones
 * are dropped: sync brings them); a stored entry releases the whole run that follows it, in
 * order; a gap still open GAP_FILL_DELAY_MS after it was seen is fetched from the peer that
 * relayed the early entry: a data log by a partial sync of that origin, a membership log
 * (small) over the entries protocol, one fill per log at a time. A fill that fails is left to
 * the periodic sync.
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

/** out-of-order entries kept per (circle, origin) until their gap fills */
export const MAX_PENDING_PER_LOG = 2048
/** wait this long before fetching a gap: reordering between relays closes most by then */
export const GAP_FILL_DELAY_MS = 250

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
}

export class PendingEntries {
  readonly #c: PendingComponents
  readonly #pending = new Map<string, Map<number, unknown>>()
  readonly #filling = new Set<string>()

  constructor (c: PendingComponents) {
    this.#c = c
  }

  /** early entries held for the log of (circle, origin) */
  held (circle: string, origin: string): number {
    return this.#pending.get(`${circle}\0${origin}`)?.size ?? 0
  }

  /** an early entry: hold it, and fetch the gap from `from` if it is still open in a moment */
  early (raw: any, gap: { have?: number, got?: number }, from?: PeerId): void {
    this.hold(raw)
    // most gaps are reordering between relays and close within milliseconds: ask only
    // for what is still missing a moment later
    if (from !== undefined && typeof gap.have === 'number' && typeof gap.got === 'number') {
      const circle = raw.circle as string
      const origin = raw.origin as string
      const got = gap.got
      setTimeout(() => {
        const have = this.#c.store.head(circle, origin)?.seq ?? 0
        if (have >= got - 1) return
        // a data log syncs (every origin the peer holds more of); a membership log is small
        if (isMembershipLog(circle)) void this.fill(circle, origin, have + 1, got - 1, from)
        else this.#c.syncGap(circle, from, origin, got - 1)
      }, GAP_FILL_DELAY_MS).unref()
    }
  }

  /** keep an entry until the one before it is stored (dropped past MAX_PENDING_PER_LOG) */
  hold (raw: any): void {
    const k = `${raw.circle as string}\0${raw.origin as string}`
    let m = this.#pending.get(k)
    if (m === undefined) this.#pending.set(k, m = new Map())
    if (m.size < MAX_PENDING_PER_LOG) m.set(raw.seq as number, raw)
  }

  /** `entry` was stored: ingest the run of held entries that now follows it */
  drain (entry: Entry): void {
    const k = `${entry.circle}\0${entry.origin}`
    const m = this.#pending.get(k)
    if (m === undefined) return
    // queue the whole run that now follows, in order (one write group, not one per entry)
    const run: unknown[] = []
    for (let seq = entry.seq + 1; m.has(seq); seq++) run.push(m.get(seq))
    for (const seq of m.keys()) if (seq <= entry.seq + run.length) m.delete(seq)
    if (m.size === 0) this.#pending.delete(k)
    for (const raw of run) void this.#c.judge(raw, 'gossip')
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
