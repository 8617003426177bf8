/**
 * The validator's main-thread pacing. gossipsub hands every message of an RPC to the
 * validator back to back, and judging one (decrypt, parse, verify the signature) is
 * synchronous work: a burst of large messages would hold the event loop for as long as the
 * burst takes, and lookups and the API would wait behind it. Each message takes a turn: turns
 * run back to back for at most `sliceMs`, then I/O gets in (one setImmediate) before the next
 * slice. Turns keep arrival order (an origin's entries stay in log order).
 *
 * Guarantees: at most `maxWaiting` messages and `maxWaitingBytes` bytes wait for a turn
 * (beyond that `turn` says no, and the validator ignores the message: this node is behind);
 * no timer runs while none waits.
 */

/** main-thread time (ms) the validator judges messages for before it lets I/O in */
export const PACER_SLICE_MS = 5
/** messages waiting for a turn at most (a burst of small messages from one RPC fits) */
export const PACER_MAX_WAITING = 1024
/** bytes of messages waiting for a turn at most (about 256 full messages of 64 KiB) */
export const PACER_MAX_WAITING_BYTES = 16 * 1024 * 1024

export class Pacer {
  readonly sliceMs: number
  readonly maxWaiting: number
  readonly maxWaitingBytes: number
  readonly #waiting: Array<{ wake: () => void, bytes: number }> = []
  #waitingBytes = 0
  #sliceStart = 0
  #scheduled = false

  constructor (opts: { sliceMs?: number, maxWaiting?: number, maxWaitingBytes?: number } = {}) {
    this.sliceMs = opts.sliceMs ?? PACER_SLICE_MS
    this.maxWaiting = opts.maxWaiting ?? PACER_MAX_WAITING
    this.maxWaitingBytes = opts.maxWaitingBytes ?? PACER_MAX_WAITING_BYTES
  }

  /** messages waiting for a turn */
  get waiting (): number { return this.#waiting.length }

  /**
   * Take a turn for a message of `bytes`: `true` when the caller may run now (within the
   * current slice), a promise that resolves when its turn comes, or `false` when too many
   * (or too many bytes) wait already.
   */
  turn (bytes = 0): true | false | Promise<void> {
    if (this.#waiting.length === 0 && !this.#scheduled && performance.now() - this.#sliceStart < this.sliceMs) return true
    if (this.#waiting.length >= this.maxWaiting || this.#waitingBytes + bytes > this.maxWaitingBytes) return false
    this.#waitingBytes += bytes
    const p = new Promise<void>(resolve => { this.#waiting.push({ wake: resolve, bytes }) })
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
    // at least one per slice, whatever the slice length
    while (this.#waiting.length > 0) {
      const w = this.#waiting.shift()!
      this.#waitingBytes -= w.bytes
      w.wake()
      // the woken caller's continuation is queued first: it runs to its next await before this resumes
      await null
      if (performance.now() - this.#sliceStart >= this.sliceMs) break
    }
    this.#scheduled = false
    if (this.#waiting.length > 0) this.#schedule()
  }
}
