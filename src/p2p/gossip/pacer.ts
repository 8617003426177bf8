/**
 * The validator's main-thread pacing. gossipsub hands every message of an RPC to the
 * validator back to back, and judging one (decrypt, parse, verify the signature) is
 * synchronous work: a burst of large messages would hold the event loop for as long as the
 * burst takes, and lookups and the API would wait behind it. Each message takes a turn: turns
 * run back to back for at most `sliceMs`, then I/O gets in (one setImmediate) before the next
 * slice. Turns keep arrival order (an origin's entries stay in log order).
 *
 * Guarantees: at most `maxWaiting` messages wait for a turn (beyond that `turn` says no, and
 * the validator ignores the message: this node is behind); no timer runs while none waits.
 */

/** main-thread time (ms) the validator judges messages for before it lets I/O in */
export const PACER_SLICE_MS = 5
/** messages waiting for a turn at most (≤ 64 KiB each: ≤ 4 MiB held) */
export const PACER_MAX_WAITING = 64

export class Pacer {
  readonly sliceMs: number
  readonly maxWaiting: number
  readonly #waiting: Array<() => void> = []
  #sliceStart = 0
  #scheduled = false

  constructor (opts: { sliceMs?: number, maxWaiting?: number } = {}) {
    this.sliceMs = opts.sliceMs ?? PACER_SLICE_MS
    this.maxWaiting = opts.maxWaiting ?? PACER_MAX_WAITING
  }

  /** messages waiting for a turn */
  get waiting (): number { return this.#waiting.length }

  /**
   * Take a turn: `true` when the caller may run now (within the current slice), a promise
   * that resolves when its turn comes, or `false` when too many wait already.
   */
  turn (): true | false | Promise<void> {
    if (this.#waiting.length === 0 && !this.#scheduled && performance.now() - this.#sliceStart < this.sliceMs) return true
    if (this.#waiting.length >= this.maxWaiting) return false
    const p = new Promise<void>(resolve => { this.#waiting.push(resolve) })
    this.#schedule()
    return p
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => { void this.#run() })
  }

  /** one slice: wake waiters one at a time (each runs its synchronous part) until the slice is used */
  async #run (): Promise<void> {
    this.#sliceStart = performance.now()
    while (this.#waiting.length > 0 && performance.now() - this.#sliceStart < this.sliceMs) {
      this.#waiting.shift()!()
      // the woken caller's continuation is queued first: it runs to its next await before this resumes
      await null
    }
    this.#scheduled = false
    if (this.#waiting.length > 0) this.#schedule()
  }
}
