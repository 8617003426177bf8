/**
 * The gossip validator: every message on a circle's topic is judged here before gossipsub
 * accepts or relays it, and each entry it carries goes through the one ingest path.
 *
 * Checks, in order (the first that fails decides): the envelope decodes (size, version,
 * flags); a sealed body is sealed with a circle key this node holds (else IGNORE) and opens
 * with it; the body is JSON; a batch holds 2 to MAX_BATCH_ENTRIES entries; each is an object
 * of this topic's circle, only a CLEAR entry travels unsealed, its origin may write to its log
 * (a member; a removed one only up to its removal) and its label fits the log (pure checks over
 * the circle's state and the TLP policy, before any signature is verified); then ingest
 * (schema, signature, the full entry policy, log position) judges each entry, and the header hash
 * must name the entries. Each message first waits for a turn of main-thread time (pacer.ts).
 * Before ingest, two bounds: the ingest queue holds fewer than `maxQueuedItems` records (else
 * IGNORE, `queue-full`: this node is behind, nobody's fault), one origin's gossip entries at
 * most half of that, and each origin is within its quota (quota.ts; else IGNORE, `over-quota`,
 * the sender penalized, junk.ts).
 *
 * Verdicts: REJECT costs the sender gossipsub score (what no honest member sends). IGNORE
 * relays nothing and penalizes only junk no peer is entitled to send (over quota, a key epoch
 * past its grace or implausibly far ahead); the rest is not the sender's fault: a duplicate, a
 * fork, a key not yet held, a full queue, a store failure, an entry of a later version kept
 * unread. ACCEPT relays: stored; stored ahead of a gap in its log, which is then fetched from
 * the relaying peer; or, in a log read in order (a membership log), early: held, bounded,
 * until its gap fills (pending.ts). An ACCEPT of a DIRECT message that came from the origin of
 * its entries is answered IGNORE once stored: every member has it from the origin (direct.ts).
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { PhalanxError, type ErrorCode } from '../../errors.js'
import type { CircleManager } from '../../circles/index.js'
import { circleOfLog } from '../../circles/index.js'
import type { Ingest } from '../../store/index.js'
import { isSealedInTransit } from '../../tlp/policy.js'
import { BATCH_ENVELOPE_VERSION, MAX_BATCH_ENTRIES, batchHash, decodeEnvelope, openBody } from '../envelope.js'
import { publicKeyOfPeer } from '../host.js'
import { MemberQuotas } from './quota.js'
import { PeerPenalties } from './junk.js'
import { Pacer } from './pacer.js'

/** what an over-quota message costs the peer that sent it: the origin itself pays in full */
export const OVER_QUOTA_PENALTY = { origin: 1, relay: 0.2 } as const
/** what a message sealed with a key epoch past its grace costs its sender */
export const UNKNOWN_EPOCH_PENALTY = 1
/** the part of the gossip queue bound one origin's entries may hold */
export const ORIGIN_QUEUE_SHARE = 0.5
/** past its share of the queue an origin pays this part of the over-quota penalty (an honest bulk publish may outrun a slower node) */
export const SHARE_PENALTY_FACTOR = 0.25

/** the records an entry claims to carry (checked later; 1 for what is not a list) */
function itemsOf (raw: any): number { return Array.isArray(raw?.items) ? raw.items.length : 1 }

/** why a message or entry was judged as it was */
export type GossipReason =
  // REJECT: what no honest member sends
  | 'bad-envelope' | 'seal-does-not-open' | 'not-json' | 'bad-batch' | 'not-an-entry' | 'other-circle'
  | 'sent-in-the-clear' | 'not-member' | 'label-not-allowed' | 'header-hash' | 'refused'
  // IGNORE: nothing new, or not the sender's fault
  | 'unknown-key-epoch' | 'duplicate' | 'fork' | 'closed' | 'store-failed' | 'later-version'
  // IGNORE, bounds: the ingest queue is full (not the sender's fault); the origin is over its quota (penalized)
  | 'queue-full' | 'over-quota'
  // ACCEPT
  | 'stored' | 'stored-ahead' | 'early'

export interface GossipVerdict {
  result: TopicValidatorResult
  reason: GossipReason
  /** the error code behind a REJECT or IGNORE (ingest's own for `refused`) */
  code?: ErrorCode
  /** the entry hash, when the entry was stored or already known */
  hash?: string
  /** a DIRECT message from the origin of its entries (direct.ts): an ACCEPT is stored, not relayed */
  direct?: boolean
}

export interface GossipValidatorComponents {
  /** the circle keys, and the membership and label pre-check (pure over the circle's state) */
  circles: Pick<CircleManager, 'circleKey' | 'admit'> & Partial<Pick<CircleManager, 'get'>>
  /** `queuedItems`: the records waiting in the ingest queue (0 when left out) */
  ingest: Pick<Ingest, 'ingest'> & Partial<Pick<Ingest, 'queuedItems'>>
  log: Logger
  /** per-origin quotas and the gossip queue bound (a default set when left out) */
  quotas?: MemberQuotas
  /** what junk costs a peer; rate-limited log lines (a default set when left out) */
  penalties?: PeerPenalties
  /** aborted when the network stops: a message still waiting for its turn is then ignored */
  signal?: AbortSignal
  /**
   * A member's entry of a log read in order (a membership log) that came before the entries
   * preceding it (`have` is the head this node holds, `got` the entry's seq): keep it
   * (bounded) and fill the gap from `from`.
   */
  onEarly: (raw: any, gap: { have?: number, got?: number }, from?: PeerId) => void
  /** an entry was stored ahead of a gap in its log (`have`: the contiguous head): fill it from `from` */
  onGap?: (circle: string, origin: string, gap: { have: number, got: number }, from?: PeerId) => void
}

/**
 * A field of a received entry for a log line, at most `max` characters. A hostile entry's
 * field may be any JSON: `String()` throws on an object like `{"toString": 1}` (a throwing
 * validator is an IGNORE to gossipsub: no penalty, no count).
 */
function brief (v: unknown, max: number): string {
  if (typeof v === 'string') return v.slice(0, max)
  try { return String(JSON.stringify(v)).slice(0, max) } catch { return typeof v }
}

const accept = (reason: GossipReason, hash?: string): GossipVerdict => ({ result: TopicValidatorResult.Accept, reason, ...(hash !== undefined ? { hash } : {}) })
const ignore = (reason: GossipReason, code?: ErrorCode, hash?: string): GossipVerdict => ({ result: TopicValidatorResult.Ignore, reason, ...(code !== undefined ? { code } : {}), ...(hash !== undefined ? { hash } : {}) })
const reject = (reason: GossipReason, code: ErrorCode): GossipVerdict => ({ result: TopicValidatorResult.Reject, reason, code })

export class GossipValidator {
  readonly #c: GossipValidatorComponents
  readonly #log: Logger
  readonly quotas: MemberQuotas
  readonly penalties: PeerPenalties
  /** gossip messages judged since start, by verdict (rejected ones cost their sender score); `direct`: accepted ones not relayed (direct.ts) */
  readonly counts = { accepted: 0, ignored: 0, rejected: 0, direct: 0 }
  /** gossip messages ignored since start because of a bound: the queue was full, the origin over quota */
  readonly drops = { queueFull: 0, overQuota: 0 }
  readonly #pacer = new Pacer()
  /** origin → records of its gossip entries handed to ingest and not yet judged (written or refused) */
  readonly #queued = new Map<string, number>()

  constructor (c: GossipValidatorComponents) {
    this.#c = c
    this.#log = c.log
    this.quotas = c.quotas ?? new MemberQuotas()
    this.penalties = c.penalties ?? new PeerPenalties({ log: c.log })
  }

  /** gossipsub's topic validator: wait for a turn (pacer.ts), judge a message and count the verdict */
  async validateMessage (circle: string, data: Uint8Array, from: PeerId): Promise<TopicValidatorResult> {
    // judging is main-thread work: take a turn (pacer.ts), or drop the message when too many wait
    const turn = this.#pacer.turn(data.length)
    if (turn === false) {
      this.drops.queueFull++
      this.counts.ignored++
      this.penalties.note('*', 'queue-full', 'gossip ignored: too many messages wait to be judged (this node is behind; sync brings what is dropped)', { waiting: this.#pacer.waiting, dropped: this.drops.queueFull })
      return TopicValidatorResult.Ignore
    }
    if (turn !== true) await turn
    if (this.#c.signal?.aborted === true) { this.counts.ignored++; return TopicValidatorResult.Ignore }
    const { result, direct } = await this.validate(circle, data, from)
    this.counts[result === TopicValidatorResult.Accept ? 'accepted' : result === TopicValidatorResult.Reject ? 'rejected' : 'ignored']++
    // stored, and every member has it from the origin already: IGNORE tells gossipsub not to
    // relay it (and costs the origin nothing)
    if (result === TopicValidatorResult.Accept && direct === true) { this.counts.direct++; return TopicValidatorResult.Ignore }
    return result
  }

  /** judge a message received on `circle`'s topic from `from` (a relay or the origin) */
  async validate (circle: string, data: Uint8Array, from: PeerId): Promise<GossipVerdict> {
    const peer = from.toString()
    const refuse = (reason: GossipReason, code: ErrorCode, why: string, extra: Record<string, unknown> = {}): GossipVerdict => {
      // one line per peer and reason per interval: a peer's junk cannot flood the log
      this.penalties.note(peer, reason, 'gossip message rejected', { circle, why, ...extra }, 'warn')
      return reject(reason, code)
    }
    let env
    try { env = decodeEnvelope(data) } catch (err) { return refuse('bad-envelope', 'PX_ERR_BAD_ENTRY', (err as Error).message) }
    let json: string
    if (env.sealed) {
      const key = this.#c.circles.circleKey(circle, env.epoch)
      if (key === null) {
        // a rotation's key is on its way for a while (honest); an epoch far ahead, or one
        // still unknown past the grace, is junk its sender pays for
        const current = this.#c.circles.get?.(circle)?.epoch ?? 0
        if (this.penalties.epochInGrace(circle, env.epoch, current)) {
          this.penalties.note(peer, 'unknown-key-epoch', 'gossip message sealed with a circle key this node does not hold (yet); ignored', { circle, epoch: env.epoch, current })
        } else {
          this.penalties.junk(peer, 'unknown-key-epoch', UNKNOWN_EPOCH_PENALTY, { circle, epoch: env.epoch, current })
        }
        return ignore('unknown-key-epoch')
      }
      const opened = openBody(env, key.key)
      if (opened === null) return refuse('seal-does-not-open', 'PX_ERR_BAD_ENTRY', 'sealed body does not open with the circle key')
      json = opened
    } else {
      json = Buffer.from(env.body).toString('utf8')
    }
    let body: any
    try { body = JSON.parse(json) } catch { return refuse('not-json', 'PX_ERR_BAD_ENTRY', 'body is not JSON') }
    const batch = env.version === BATCH_ENVELOPE_VERSION
    if (batch && (!Array.isArray(body) || body.length < 2 || body.length > MAX_BATCH_ENTRIES)) return refuse('bad-batch', 'PX_ERR_BAD_ENTRY', `a batch holds 2 to ${MAX_BATCH_ENTRIES} entries`)
    const raws: any[] = batch ? body : [body]
    for (const raw of raws) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return refuse('not-an-entry', 'PX_ERR_BAD_ENTRY', 'body is not an entry')
      // the origin keys quotas and counts below: a string, or the message is refused here
      if (typeof raw.origin !== 'string') return refuse('not-an-entry', 'PX_ERR_BAD_ENTRY', 'an entry\'s origin is a public key string', { origin: brief(raw.origin, 16) })
      if (typeof raw.circle !== 'string' || circleOfLog(raw.circle) !== circle) return refuse('other-circle', 'PX_ERR_BAD_ENTRY', 'entry of another circle on this topic', { entryCircle: brief(raw.circle, 140) })
      if (!env.sealed && isSealedInTransit(raw.tlp)) return refuse('sent-in-the-clear', 'PX_ERR_TLP_VIOLATION', `a ${brief(raw.tlp, 16)} entry sent in the clear`)
      // before any signature is verified: the origin may write to this log, the label fits it
      const denied = this.#c.circles.admit(raw)
      if (denied !== null) return refuse(denied.code === 'PX_ERR_TLP_VIOLATION' ? 'label-not-allowed' : 'not-member', denied.code, denied.message, { origin: brief(raw.origin, 16), seq: raw.seq })
    }
    const bound = this.#bound(raws, data.length, from)
    if (bound !== null) return bound
    const share = data.length / raws.length
    // flooded to every member by the origin, and this copy comes from the origin itself
    const fromKey = env.direct ? publicKeyOfPeer(from) : null
    const direct = fromKey !== null && raws.every(raw => raw.origin === fromKey)
    /** judge one entry, counted in its origin's share of the queue while it waits there */
    const run = async (raw: any, claimedHash?: string): Promise<GossipVerdict> => {
      const origin = String(raw.origin)
      const items = itemsOf(raw)
      this.#queued.set(origin, (this.#queued.get(origin) ?? 0) + items)
      let r: GossipVerdict
      try {
        r = await this.judge(raw, 'gossip', claimedHash, from)
      } finally {
        const left = (this.#queued.get(origin) ?? items) - items
        if (left <= 0) this.#queued.delete(origin)
        else this.#queued.set(origin, left)
      }
      // give an origin back what an entry that brought nothing new, or not surely its own,
      // cost it (a rejected entry may be a forgery: its sender pays in score)
      if (r.reason === 'duplicate' || r.result === TopicValidatorResult.Reject) this.quotas.refund(origin, 1, share)
      return r
    }
    if (!batch) return { ...await run(raws[0], env.hash), direct }
    // a batch: queue every entry (in order, one write group), then judge the message by them
    const results = await Promise.all(raws.map(async raw => await run(raw)))
    const rejected = results.find(r => r.result === TopicValidatorResult.Reject)
    if (rejected !== undefined) return rejected
    if (results.every(r => r.hash !== undefined) && batchHash(results.map(r => r.hash!)) !== env.hash) return refuse('header-hash', 'PX_ERR_BAD_ENTRY', 'batch header names other entries')
    return { ...results.find(r => r.result === TopicValidatorResult.Accept) ?? results[0], direct }
  }

  /**
   * The bounds a message must pass before its entries are verified and queued: room in the
   * ingest queue, then each origin's quota (charged per entry, the message's bytes shared out).
   * null when it passes (the quotas charged), else the IGNORE verdict.
   */
  #bound (raws: any[], bytes: number, from: PeerId): GossipVerdict | null {
    const peer = from.toString()
    const bound = this.quotas.options.maxQueuedItems
    const byOrigin = new Map<string, number>()
    let items = 0
    for (const raw of raws) {
      byOrigin.set(String(raw.origin), (byOrigin.get(String(raw.origin)) ?? 0) + 1)
      items += itemsOf(raw)
    }
    const queued = this.#c.ingest.queuedItems ?? 0
    if (queued + items > bound) {
      // this node is behind (every origin's entries, local publishes): nobody's fault
      this.drops.queueFull++
      this.penalties.note('*', 'queue-full', 'gossip ignored: the ingest queue is full (this node is behind; sync brings what is dropped)', { queued, bound, dropped: this.drops.queueFull })
      return ignore('queue-full', 'PX_ERR_RATE_LIMITED')
    }
    const share = bytes / raws.length
    const overQuota = (origin: string, n: number, weight: number, why: string): GossipVerdict => {
      this.drops.overQuota++
      this.penalties.junk(peer, 'over-quota', weight * (publicKeyOfPeer(from) === origin ? OVER_QUOTA_PENALTY.origin : OVER_QUOTA_PENALTY.relay), { origin: origin.slice(0, 16), entries: n, why })
      return ignore('over-quota', 'PX_ERR_OVER_QUOTA')
    }
    // one origin holds at most a share of the queue: it sends faster than this node takes its
    // entries (over quota in effect, at a lesser penalty), and other members' still find room
    for (const [origin, n] of byOrigin) {
      const mine = this.#queued.get(origin) ?? 0
      if (mine + items <= bound * ORIGIN_QUEUE_SHARE) continue
      this.quotas.drop(origin, n, n * share)
      return overQuota(origin, n, SHARE_PENALTY_FACTOR, 'its share of the ingest queue is full')
    }
    const taken: Array<[string, number]> = []
    for (const [origin, n] of byOrigin) {
      if (this.quotas.take(origin, n, n * share)) { taken.push([origin, n]); continue }
      for (const [o, k] of taken) this.quotas.refund(o, k, k * share)
      return overQuota(origin, n, 1, 'past its quota')
    }
    return null
  }

  /**
   * Ingest one entry from a peer (gossip, a gap fill, a membership pull): the verdict, and
   * the entry hash when it was stored or already known. `claimedHash` is the hash a gossip
   * header names for it.
   */
  async judge (raw: any, source: string, claimedHash?: string, from?: PeerId): Promise<GossipVerdict> {
    try {
      const r = await this.#c.ingest.ingest(raw, source, { durable: false })
      if (claimedHash !== undefined && r.hash !== claimedHash) {
        this.#log.warn({ circle: r.circle, seq: r.seq }, 'gossip header names another entry hash')
        return reject('header-hash', 'PX_ERR_BAD_ENTRY')
      }
      if (r.status !== 'stored') return ignore('duplicate', undefined, r.hash)
      // stored ahead of a gap: ask the peer that relayed it for what is missing (rate-limited)
      if (r.ahead !== undefined) this.#c.onGap?.(r.circle, r.origin, { have: r.ahead, got: r.seq }, from)
      // of a later version (kept for sync, not read): not relayed, and not the sender's fault
      if (r.unknown !== undefined) return ignore('later-version', undefined, r.hash)
      return accept(r.ahead !== undefined ? 'stored-ahead' : 'stored', r.hash)
    } catch (err) {
      const code = err instanceof PhalanxError ? err.code : 'PX_ERR_INTERNAL'
      if (code === 'PX_ERR_SEQ_GAP') {
        // signed by a member, just early in a log read in order: keep it (bounded) for when
        // the gap fills, ask the peer that relayed it for the missing entries, and relay it
        this.#c.onEarly(raw, ((err as PhalanxError).meta ?? {}) as { have?: number, got?: number }, from)
        return { ...accept('early'), code }
      }
      // a fork is the origin's fault, not the relaying peer's (it may hold the other branch):
      // the evidence is kept (ingest), the entry is not relayed, the peer keeps its score
      if (code === 'PX_ERR_CLOSED') return ignore('closed', code)
      if (code === 'PX_ERR_FORK') return ignore('fork', code)
      if (code === 'PX_ERR_INTERNAL' || code === 'PX_ERR_STORE') {
        this.#log.error({ err, source }, 'remote entry could not be stored')
        return ignore('store-failed', code)
      }
      this.#log.warn({ code, message: (err as Error).message, source, circle: brief(raw?.circle, 140), origin: brief(raw?.origin, 16), seq: raw?.seq }, 'remote entry rejected')
      return reject('refused', code)
    }
  }
}
