/**
 * When the writer takes the small publishes waiting in its queue: at once, after the linger,
 * or after the pace.
 *
 * - linger (`lingerMs`): a small publish reaching an idle writer waits a few ms for others
 *   to share its entry (group commit at the origin, coalesce.ts).
 * - pace (`paceMs`): write groups with publishes to a shared log (a circle, its membership
 *   log; not the private scope, not RED) start at most once per `paceMs`. Under sustained
 *   single publishes the writer is quick enough to sign about one entry per publish, and
 *   every entry is a gossip message that each member decrypts, verifies and relays, and that
 *   counts against the per-origin entry quota members grant (p2p.quota, 100 entries/s by
 *   default): past it, what is gossiped waits for sync. Paced, records share entries instead
 *   (e.g. 200 publishes/s at a pace of 12 ms: about 2.4 records per entry, 83 entries/s), and
 *   a publish waits at most one pace longer.
 *
 * Guarantees: only queues of small publishes wait (a bulk call, a remote entry, a state
 * write or a full group is taken at once); a wait is bounded by max(lingerMs, paceMs); a
 * stopping writer does not wait.
 */
import { isCircleLog } from '../../records/index.js'

/** a publish of fewer records than this waits (a bulk call does not) */
export const SMALL_PUBLISH_ITEMS = 100

/** the part of a queued job the pacing reads */
export interface PacedJob {
  kind: string
  items: number
  batches?: ReadonlyArray<{ circle: string }>
}

/** a publish with an entry for a gossiped log */
function sharedPublish (j: PacedJob): boolean {
  return j.kind === 'publish' && j.batches !== undefined && j.batches.some(b => isCircleLog(b.circle))
}

export class GroupPace {
  /** when the writer last took a group with a publish to a shared log (performance.now()) */
  #last = -Infinity

  /** ms between groups with publishes to shared logs (0: off) */
  paceMs: number

  constructor (readonly o: { lingerMs: number, paceMs: number, maxGroupJobs: number }) { this.paceMs = o.paceMs }

  /**
   * ms the queued jobs wait before the writer takes them; 0: now. `arrival`: a job just
   * reached an idle writer (the linger applies).
   */
  holdMs (queue: readonly PacedJob[], arrival: boolean, closed: boolean): number {
    if (closed || queue.length === 0 || queue.length >= this.o.maxGroupJobs) return 0
    if (!queue.every(j => j.kind === 'publish' && j.items < SMALL_PUBLISH_ITEMS)) return 0
    let ms = arrival ? this.o.lingerMs : 0
    if (this.paceMs > 0 && queue.some(sharedPublish)) ms = Math.max(ms, this.#last + this.paceMs - performance.now())
    return ms > 0 ? ms : 0
  }

  /** the writer took these jobs as one group */
  taken (jobs: readonly PacedJob[]): void {
    if (jobs.some(sharedPublish)) this.#last = performance.now()
  }
}
