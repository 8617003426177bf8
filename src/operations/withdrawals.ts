/**
 * Withdrawals: when another organization revokes an indicator that this node re-shared into
 * another circle (a CLEAR or GREEN record passed on as this organization's own copy), this node
 * withdraws its copy with a revoke signed by this organization. The revoke goes to every log
 * the copy went to (`Indicators.revoke`, tlp/policy `reachOf`), so the circles that only saw
 * the copy drop it too: lookups hide it, exports and blocklists leave it out (issue 14, part 1).
 *
 * Guarantees:
 * - a copy is withdrawn only when each log it went to was reached by a re-share and every
 *   source re-shared there is revoked: a copy this organization also published on its own (the
 *   same value in a log no re-share went to), or that re-shares another source that is still
 *   live, stays, and a warning says which;
 * - nothing is missed across a crash or a race: the re-share links are written with the copy,
 *   in one batch (store `copies`); a revoke stored while no check ran (the node was down, or
 *   the revoke came in while the re-share was being written) is found by `sweep()`, which runs
 *   at start and after each re-share;
 * - one check at a time, in the order the revokes were stored; a failed check is logged and
 *   never thrown into the writer's callback.
 */
import type { Logger } from 'pino'
import { LIMITS, type StoredIndicator } from '../records/index.js'
import { reachOf } from '../tlp/index.js'
import type { Copy, StoredEntry } from '../store/index.js'
import { clip } from './import.js'

export interface WithdrawalComponents {
  /** the re-share links and the indicators they name (narrow: reads only) */
  store: {
    copies: (source?: string) => Promise<Copy[]>
    getIndicator: (id: string) => StoredIndicator | undefined
  }
  /** this organization's public key: only its own copies are withdrawn, only others' revokes followed */
  own: string
  /** revoke an own indicator with a reason (Indicators.revoke) */
  revoke: (id: string, reason: string) => Promise<unknown>
  log: Logger
}

export class Withdrawals {
  readonly #c: WithdrawalComponents
  #chain: Promise<void> = Promise.resolve()
  #closed = false

  constructor (components: WithdrawalComponents) {
    this.#c = components
  }

  /** the writer's callback: revokes by other origins were stored; follow them to our copies */
  noteStored (stored: StoredEntry[]): void {
    if (this.#closed) return
    let revoked: string[] | undefined
    for (const s of stored) {
      if (s.entry.origin === this.#c.own || s.unknown !== undefined) continue
      for (const item of s.entry.items) {
        if (item.kind === 'revoke') (revoked ??= []).push(item.id)
      }
    }
    if (revoked !== undefined) this.#enqueue(async () => { for (const id of revoked) await this.#follow(id) })
  }

  /** look at every re-share link (at start, after a re-share): copies whose sources were revoked */
  sweep (): Promise<void> {
    this.#enqueue(async () => {
      const links = await this.#c.store.copies()
      const copies = new Set(links.filter(l => this.#c.store.getIndicator(l.source)?.revoked !== undefined).map(l => l.copy))
      for (const copy of copies) await this.#consider(copy, links.filter(l => l.copy === copy))
    })
    return this.#chain
  }

  /** waits for the checks already asked for; later notes are ignored */
  async close (): Promise<void> {
    this.#closed = true
    await this.#chain
  }

  #enqueue (work: () => Promise<void>): void {
    if (this.#closed) return
    this.#chain = this.#chain.then(work).catch((err) => { this.#c.log.error({ err }, 'withdrawing a re-shared copy failed') })
  }

  async #follow (source: string): Promise<void> {
    const links = await this.#c.store.copies(source)
    if (links.length === 0 || this.#c.store.getIndicator(source)?.revoked === undefined) return
    const all = await this.#c.store.copies()
    for (const copy of new Set(links.map(l => l.copy))) await this.#consider(copy, all.filter(l => l.copy === copy))
  }

  /** withdraw `copy` if every log it went to holds it only as a re-share of revoked sources */
  async #consider (copy: string, links: Copy[]): Promise<void> {
    const ind = this.#c.store.getIndicator(copy)
    if (ind === undefined || ind.origin !== this.#c.own || ind.revoked !== undefined || links.length === 0) return
    const live = links.filter(l => this.#c.store.getIndicator(l.source)?.revoked === undefined)
    if (live.length > 0) {
      this.#c.log.info({ id: copy, live: live.map(l => l.source) }, 'a re-shared indicator stays: another source it re-shares is still live')
      return
    }
    const own = reachOf(ind).filter(log => !links.some(l => l.circle === log))
    if (own.length > 0) {
      this.#c.log.warn({ id: copy, circles: own }, 'the source of a re-shared indicator was revoked, but this organization also published it itself: kept (revoke it by hand if it no longer holds)')
      return
    }
    const source = this.#c.store.getIndicator(links[0].source)
    const why = source?.revoked?.reason
    const reason = clip(`withdrawn: re-shared from indicator ${links[0].source}, which its origin revoked${why !== undefined ? `: ${why}` : ''}`, LIMITS.REASON_MAX)
    await this.#c.revoke(copy, reason)
    this.#c.log.info({ id: copy, source: links.map(l => l.source) }, 'withdrew a re-shared indicator: its source was revoked')
  }
}
