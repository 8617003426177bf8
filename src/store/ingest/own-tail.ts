/**
 * What this node signed in its own logs, against what its store holds: the writer's memory of
 * the own-seq file (own-seq.ts, `<data>/own-seq.json`).
 *
 * Guarantees:
 * - a log whose store head is below the seq this node last signed and stored in it (a truncated
 *   write-ahead log, an older backup) signs nothing until its head gets back there (sync) or an
 *   operator accepted the loss: `assertSigning` refuses with PX_ERR_OWN_LOG_BEHIND;
 * - the file learns an own seq after the batch that stored it is durable and before anyone
 *   else is told (`noteStored` runs between the write and the answers);
 * - an own entry a peer holds past this node's head (`learn`) holds the log the same way.
 */
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import { LOCAL_CIRCLE, isCircleLog } from '../../records/index.js'
import { readOwnSeq, writeOwnSeq, type AcceptedLoss, type OwnSeqRecord } from '../own-seq.js'

/** an own log that ends below the seq this node last signed in it */
export interface BehindOwnTail {
  log: string
  /** the own head the store holds */
  head: number
  /** the highest seq this node signed and stored in it (own-seq.json, or seen from peers) */
  signed: number
}

export interface OwnTailComponents {
  /** the own-seq file; without it a lost tail goes unnoticed (tests, benchmarks) */
  path: string | undefined
  /** this node's origin (public key hex) */
  origin: string
  /** the store's own head of a log (0 for none) */
  head: (log: string) => number
  log: Logger
}

export class OwnTail {
  readonly #c: OwnTailComponents
  readonly #sync: boolean
  /** own log → the highest own seq the own-seq file records (or will at the next write) */
  readonly #recorded = new Map<string, number>()
  /** own logs behind their own tail: log → the seq to get back to before signing again */
  readonly #behind = new Map<string, number>()
  /** losses an operator accepted (own-seq.json `accepted`): the chain reads it for the one skip allowed */
  readonly accepted = new Map<string, AcceptedLoss>()
  /** #recorded holds more than the file (written with the next group) */
  #dirty = false

  constructor (components: OwnTailComponents, sync: boolean) {
    this.#c = components
    this.#sync = sync
  }

  /**
   * Read the own-seq file and compare it with the store's own heads (log → seq): a log whose
   * head is below what the file says was signed and stored lost its tail.
   */
  async load (heads: Map<string, number>): Promise<void> {
    const path = this.#c.path
    if (path === undefined) return
    let rec = readOwnSeq(path)
    if (rec !== undefined && rec.origin !== this.#c.origin) {
      this.#c.log.warn({ path, origin: rec.origin }, 'the own-seq file belongs to another identity: it is replaced')
      rec = undefined
    }
    for (const [log, a] of Object.entries(rec?.accepted ?? {})) this.accepted.set(log, a)
    for (const [log, signed] of Object.entries(rec?.logs ?? {})) {
      this.#recorded.set(log, signed)
      const head = heads.get(log) ?? 0
      const a = this.accepted.get(log)
      if (head < signed && !(a !== undefined && a.signed >= signed)) this.#behind.set(log, signed)
    }
    // a store written before the file existed (or after a crash between the batch and the
    // file): the file learns the heads
    for (const [log, seq] of heads) this.#record(log, seq)
    if (rec === undefined) this.#dirty = true
    for (const b of this.behind()) {
      this.#c.log.error({ log: b.log, head: b.head, signed: b.signed, path }, `BEHIND OWN TAIL: ${behindMessage(b)}`)
    }
    await this.#write()
  }

  /** own logs that end below the seq this node last signed in them */
  behind (): BehindOwnTail[] {
    return [...this.#behind].map(([log, signed]) => ({ log, head: this.#c.head(log), signed }))
  }

  /** losses of own entries an operator accepted */
  acceptedLosses (): Array<{ log: string } & AcceptedLoss> {
    return [...this.accepted].map(([log, a]) => ({ log, ...a }))
  }

  /** refuse to sign in a log behind its own tail */
  assertSigning (log: string): void {
    const signed = this.#behind.get(log)
    if (signed === undefined) return
    const b = { log, head: this.#c.head(log), signed }
    throw new PhalanxError('PX_ERR_OWN_LOG_BEHIND', behindMessage(b), { meta: { ...b } })
  }

  /**
   * A durable write group stored own entries (log → highest seq in it): the file learns them
   * before anyone else does; a log behind its own tail that got back there signs again.
   */
  async noteStored (mine: Map<string, number>): Promise<void> {
    for (const [log, seq] of mine) {
      this.#record(log, seq)
      const behind = this.#behind.get(log)
      if (behind !== undefined && this.#c.head(log) >= behind) {
        this.#behind.delete(log)
        this.#c.log.info({ log, seq: behind }, 'own log recovered up to the seq it last signed: signing in it again')
      }
    }
    await this.#write()
  }

  /** an own entry of `log` at `seq` exists elsewhere (a peer sent it ahead of our head) */
  learn (log: string, seq: number): void {
    const head = this.#c.head(log)
    if (seq <= head) return
    this.#record(log, seq)
    if (seq > (this.#behind.get(log) ?? 0)) {
      this.#behind.set(log, seq)
      this.#c.log.error({ log, head, signed: seq }, 'BEHIND OWN TAIL: a peer holds an own entry past this node\'s head (an older backup?): signing in this log stops until sync brought the entries back')
    }
  }

  #record (log: string, seq: number): void {
    if (seq > (this.#recorded.get(log) ?? 0)) { this.#recorded.set(log, seq); this.#dirty = true }
  }

  async #write (): Promise<void> {
    const path = this.#c.path
    if (path === undefined || !this.#dirty) return
    this.#dirty = false
    const rec: OwnSeqRecord = { v: 1, origin: this.#c.origin, logs: Object.fromEntries(this.#recorded) }
    if (this.accepted.size > 0) rec.accepted = Object.fromEntries(this.accepted)
    await writeOwnSeq(path, rec, this.#sync)
  }
}

/** what an operator reads when an own log is behind its own tail (logs, status, the refusal) */
export function behindMessage (b: BehindOwnTail): string {
  const alone = !isCircleLog(b.log)
  return `this node's own log ${b.log} ends at seq ${b.head} but it had signed and stored up to seq ${b.signed} (own-seq.json): ` +
    `${b.signed - b.head} own entr${b.signed - b.head === 1 ? 'y was' : 'ies were'} lost (a truncated write-ahead log, or an older backup). ` +
    'Signing those seqs again would fork this node\'s log in every peer\'s eyes, so it signs nothing in this log until ' +
    (alone
      ? `an operator accepts the loss (${b.log === LOCAL_CIRCLE ? 'the private scope never leaves this node' : 'RED logs are not synced'}, no peer can bring it back): stop the node and run \`phalanx recover --accept-lost-tail\``
      : 'sync brings them back from a peer (signing resumes by itself); if no peer holds them, stop the node and run `phalanx recover --accept-lost-tail`')
}
