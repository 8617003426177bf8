/**
 * `/phalanx/red/1.0.0`: direct delivery of TLP:RED entries. A RED entry is in no circle's
 * log: it is in the (origin, recipient) log `red:<recipient>`, sealed (NaCl box) to its one
 * recipient and sent to it alone, which acknowledges it with the entry hash.
 *
 * Guarantees (sender): an own RED entry stays in the persistent outbox until its recipient
 * acknowledges exactly that entry; per recipient, entries go in seq order, and after a
 * failure the recipient is retried with exponential backoff (dialIntervalMs doubling to
 * RED_MAX_BACKOFF_MS, ±20 % jitter), at once when it connects. One delivery pass at a time.
 * (Recipient): the box must open as sealed by the connected peer to this node, the entry must
 * come from that peer (never relayed) and be in this node's recipient log (checkRedRoute);
 * it is stored through ingest (durably) before it is acknowledged.
 */
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import { fingerprint, type BoxKey, type Identity } from '../../identity/index.js'
import { canonicalJson, recipientOfRedLog, redLogOf } from '../../records/index.js'
import type { Ingest, LevelStore } from '../../store/index.js'
import { directDeliveryViolation, refuse } from '../../tlp/index.js'
import type { RequestHandler } from './framing.js'
import type { Requester } from './request.js'

/** a TLP:RED entry sealed (NaCl box) to its one recipient, acknowledged by it */
export const RED_PROTOCOL = '/phalanx/red/1.0.0'
/** concurrent inbound streams of this protocol per connection */
export const RED_MAX_INBOUND_STREAMS = 16
/** the longest wait between two RED delivery attempts to one recipient */
export const RED_MAX_BACKOFF_MS = 5 * 60_000
/** the longest sealed box accepted (base64 of an entry ≤ 64 KiB; the request frame is smaller still) */
const MAX_SEALED_CHARS = 200_000

export interface OutboxItem {
  recipient: string
  seq: number
  hash: string
  /** failed delivery attempts to this recipient since the last success (this process) */
  attempts: number
  /** when the next attempt is due (null: at the next tick) */
  nextAttempt: string | null
}

/**
 * The TLP route of a RED delivery: the entry comes from the peer that delivers it (RED is
 * never relayed) and is in this node's recipient log. Throws PX_ERR_TLP_VIOLATION otherwise.
 */
export function checkRedRoute (raw: any, sender: string, self: string): void {
  // RED is never relayed: the peer that delivers it is its origin, and it is for us (tlp/policy)
  refuse(directDeliveryViolation({ fromOrigin: raw?.origin === sender, toMe: raw?.circle === redLogOf(self) }))
}

export interface RedServerComponents {
  identity: Pick<Identity, 'publicKey'>
  box: Pick<BoxKey, 'open'>
  ingest: Pick<Ingest, 'ingest'>
}

export function redHandler (c: RedServerComponents): RequestHandler {
  return async (req, key) => {
    if (typeof req?.sealed !== 'string' || req.sealed.length > MAX_SEALED_CHARS) throw new PhalanxError('PX_ERR_VALIDATION', 'a RED delivery is {sealed}')
    const opened = c.box.open(key, req.sealed)
    if (opened === null) throw new PhalanxError('PX_ERR_BAD_ENTRY', 'the box does not open: not sealed by this peer to this node')
    let raw: any
    try { raw = JSON.parse(Buffer.from(opened).toString('utf8')) } catch { throw new PhalanxError('PX_ERR_BAD_ENTRY', 'the sealed body is not JSON') }
    checkRedRoute(raw, key, c.identity.publicKey)
    const r = await c.ingest.ingest(raw, 'red')
    return { ack: r.hash }
  }
}

export interface RedDeliveryComponents {
  identity: Pick<Identity, 'publicKey'>
  box: Pick<BoxKey, 'seal'>
  store: Pick<LevelStore, 'getEntry' | 'outbox'>
  /** acknowledged entries leave the outbox through ingest, the one write path */
  ingest: Pick<Ingest, 'removeFromOutbox'>
  requester: Pick<Requester, 'toMember'>
  log: Logger
  signal: AbortSignal
  /** the first wait after a failed attempt (p2p.dialIntervalMs) */
  baseDelayMs: number
}

export class RedDelivery {
  readonly #c: RedDeliveryComponents
  #delivering: Promise<void> | undefined
  #deliverAgain = false
  /**
   * Per recipient: failed attempts and when to try again. The delay doubles from
   * p2p.dialIntervalMs up to RED_MAX_BACKOFF_MS; a new connection to the recipient makes the
   * next attempt due at once (the failure count, and so the next wait, stays until a success).
   * Kept in memory: after a restart every waiting entry is tried at once.
   */
  readonly #backoff = new Map<string, { attempts: number, next: number }>()

  constructor (c: RedDeliveryComponents) {
    this.#c = c
  }

  /** deliver what waits in the outbox, per recipient in seq order; runs one pass at a time */
  async deliver (): Promise<void> {
    if (this.#delivering !== undefined) { this.#deliverAgain = true; return await this.#delivering }
    this.#delivering = (async () => {
      do {
        this.#deliverAgain = false
        await this.#pass()
      } while (this.#deliverAgain && !this.#c.signal.aborted)
    })().finally(() => { this.#delivering = undefined })
    return await this.#delivering
  }

  /**
   * The org `key` connected: what waits for it is due now, not after its backoff; the count
   * of failures stays (a recipient that takes our connection and refuses the delivery is
   * retried at each reconnection, and still backs off).
   */
  onConnect (key: string): void {
    const b = this.#backoff.get(key)
    if (b !== undefined) { b.next = 0; void this.deliver() }
  }

  /** RED entries still waiting for their recipient's acknowledgement, with the retry state */
  async outbox (): Promise<OutboxItem[]> {
    const out: OutboxItem[] = []
    for (const { log, seq, hash } of await this.#c.store.outbox()) {
      const recipient = recipientOfRedLog(log)
      const b = this.#backoff.get(recipient)
      out.push({ recipient, seq, hash, attempts: b?.attempts ?? 0, nextAttempt: b === undefined ? null : new Date(b.next).toISOString() })
    }
    return out
  }

  #failed (recipient: string): void {
    const attempts = (this.#backoff.get(recipient)?.attempts ?? 0) + 1
    const delay = Math.min(RED_MAX_BACKOFF_MS, this.#c.baseDelayMs * 2 ** Math.min(attempts - 1, 20))
    // ±20% jitter: recipients that failed together do not retry together
    this.#backoff.set(recipient, { attempts, next: Date.now() + Math.round(delay * (0.8 + 0.4 * Math.random())) })
  }

  async #pass (): Promise<void> {
    if (this.#c.signal.aborted) return
    const failed = new Set<string>()
    const now = Date.now()
    for (const item of await this.outbox()) {
      if (this.#c.signal.aborted || failed.has(item.recipient)) continue
      if ((this.#backoff.get(item.recipient)?.next ?? 0) > now) continue
      const log = redLogOf(item.recipient)
      const entry = this.#c.store.getEntry(log, this.#c.identity.publicKey, item.seq)
      if (entry === undefined) { this.#c.log.error({ seq: item.seq }, 'outbox names a RED entry that is not stored'); continue }
      try {
        const reply = await this.#c.requester.toMember(item.recipient, RED_PROTOCOL, { sealed: this.#c.box.seal(item.recipient, Buffer.from(canonicalJson(entry))) })
        if (reply.ack !== item.hash) throw new PhalanxError('PX_ERR_PEER', 'the recipient acknowledged another entry')
        await this.#c.ingest.removeFromOutbox(log, item.seq)
        this.#backoff.delete(item.recipient)
        this.#c.log.info({ recipient: fingerprint(item.recipient), seq: item.seq }, 'RED entry delivered and acknowledged')
      } catch (err) {
        failed.add(item.recipient)
        this.#failed(item.recipient)
        this.#c.log.debug({ recipient: fingerprint(item.recipient), err: (err as Error).message }, 'RED delivery failed; it stays in the outbox')
      }
    }
  }
}
