/**
 * What a peer's ignorable junk costs it. The validator IGNOREs some messages that an honest
 * peer sends too (a duplicate, a fork, an unknown key epoch in a rotation's first minutes, an
 * entry of a later version): those cost nothing. Others no peer can be entitled to send
 * (over its origin's quota, an unknown key epoch past the grace or implausibly far ahead):
 * each adds to the peer's penalty, which decays exponentially (`halfLifeMs`) and is capped.
 *
 * The penalty is gossipsub's application-specific score (P5: `appSpecificScore`, weight 1):
 * past `disconnectAt` its connection is closed and it is refused for `disconnectCooldownMs`
 * (its entries still arrive through other members and sync); past -10 the peer gets no
 * gossip from us, past -80 (gossipsub's graylist) its messages are dropped before validation. Log lines about junk (and rejected messages) are rate-limited:
 * one line per peer and reason per `logIntervalMs`, with the count since the last one.
 */
import type { Logger } from 'pino'

export interface JunkOptions {
  /** the penalty halves this often (ms) */
  halfLifeMs: number
  /** at most this penalty (score -cap) */
  cap: number
  /** close the peer's connection above this penalty */
  disconnectAt: number
  /** closed at most once per this (ms), and refused (gater) for as long */
  disconnectCooldownMs: number
  /** one log line per peer and reason per this (ms) */
  logIntervalMs: number
  /** an unknown key epoch of a circle is not junk until this long after this node first saw it (ms) */
  epochGraceMs: number
}

/**
 * Defaults: a peer's score is its penalty's negative plus at most +10 from its topics
 * (gossipsub's topicScoreCap); past -10 it gets no gossip from us, past -80 (gossipsub's
 * graylist) its messages are dropped unread, and then no more junk is counted: the
 * disconnect comes first, at 50 (~50 over-quota messages within a minute, an honest node
 * sends none: its own gossip keeps within the quota, publisher.ts), for a minute. The
 * penalty halves every minute. A rotation's key reaches members with the membership entry
 * that carries it, within seconds: five minutes of grace leave room for a slow one.
 */
export const DEFAULT_JUNK_OPTIONS: JunkOptions = Object.freeze({
  halfLifeMs: 60_000,
  cap: 1000,
  disconnectAt: 50,
  disconnectCooldownMs: 60_000,
  logIntervalMs: 10_000,
  epochGraceMs: 5 * 60_000
})

/** key epochs a message may be ahead of this node's and still be a rotation it has not seen yet */
export const MAX_EPOCHS_AHEAD = 2
/** peers (and peer × reason log keys, and circle × epoch sightings) remembered at most */
export const MAX_TRACKED_PEERS = 4096

export type JunkReason = 'over-quota' | 'unknown-key-epoch'

export interface JunkComponents {
  log: Logger
  /** close the connection of a peer whose penalty passed `disconnectAt` and refuse it for `ms` */
  hangUp?: (peerId: string, ms: number) => void
}

export interface PeerJunk {
  /** the penalty now (the score it costs is its negative) */
  penalty: number
  /** junk messages since start, by reason */
  counts: Partial<Record<JunkReason, number>>
  /** connections closed for junk */
  disconnects: number
}

interface PeerState { penalty: number, at: number, counts: Partial<Record<JunkReason, number>>, disconnects: number, lastDisconnect: number }

export class PeerPenalties {
  readonly options: JunkOptions
  readonly #c: JunkComponents
  readonly #peers = new Map<string, PeerState>()
  readonly #logs = new RateLimitedLog()
  /** circle \0 epoch → when this node first saw a message sealed with it */
  readonly #epochs = new Map<string, number>()

  constructor (c: JunkComponents, options: Partial<JunkOptions> = {}) {
    this.#c = c
    this.options = Object.freeze({ ...DEFAULT_JUNK_OPTIONS, ...options })
  }

  /** gossipsub's P5: minus the peer's penalty now */
  appSpecificScore (peerId: string, now: number = Date.now()): number {
    const p = this.#peers.get(peerId)
    return p === undefined ? 0 : -this.#decayed(p, now)
  }

  /** what a peer's junk cost it */
  of (peerId: string, now: number = Date.now()): PeerJunk {
    const p = this.#peers.get(peerId)
    return p === undefined ? { penalty: 0, counts: {}, disconnects: 0 } : { penalty: this.#decayed(p, now), counts: { ...p.counts }, disconnects: p.disconnects }
  }

  /** a peer sent junk: it costs `weight`; one log line per peer and reason per interval */
  junk (peerId: string, reason: JunkReason, weight: number, fields: Record<string, unknown> = {}, now: number = Date.now()): void {
    let p = this.#peers.get(peerId)
    if (p === undefined) {
      if (this.#peers.size >= MAX_TRACKED_PEERS) this.#forget(now)
      p = { penalty: 0, at: now, counts: {}, disconnects: 0, lastDisconnect: -Infinity }
      this.#peers.set(peerId, p)
    }
    p.penalty = Math.min(this.options.cap, this.#decayed(p, now) + weight)
    p.at = Math.max(p.at, now)
    p.counts[reason] = (p.counts[reason] ?? 0) + 1
    this.note(peerId, reason, 'gossip junk from a peer: ignored and penalized', { ...fields, penalty: Math.round(p.penalty) }, 'warn', now)
    if (p.penalty > this.options.disconnectAt && now - p.lastDisconnect >= this.options.disconnectCooldownMs && this.#c.hangUp !== undefined) {
      p.lastDisconnect = now
      p.disconnects++
      this.#c.log.warn({ peer: peerId, penalty: Math.round(p.penalty), counts: p.counts, refusedForMs: this.options.disconnectCooldownMs }, 'closing the connection of a peer that keeps sending junk; refused for a while')
      this.#c.hangUp(peerId, this.options.disconnectCooldownMs)
    }
  }

  /** a rate-limited log line: the first at once, then one per interval per peer and reason with the count since */
  note (peerId: string, reason: string, msg: string, fields: Record<string, unknown> = {}, level: 'info' | 'warn' = 'info', now: number = Date.now()): void {
    this.#logs.note(this.#c.log, `${peerId}\x00${reason}`, this.options.logIntervalMs, level, { peer: peerId, reason, ...fields }, msg, now)
  }

  /**
   * Whether a message sealed with a key epoch this node does not hold is honest: the epoch is
   * at most MAX_EPOCHS_AHEAD past the circle's `current` one and this node first saw it less
   * than `epochGraceMs` ago (a rotation whose key is on its way).
   */
  epochInGrace (circle: string, epoch: number, current: number, now: number = Date.now()): boolean {
    if (epoch > current + MAX_EPOCHS_AHEAD) return false
    const k = `${circle}\x00${epoch}`
    let first = this.#epochs.get(k)
    if (first === undefined) {
      if (this.#epochs.size >= MAX_TRACKED_PEERS) this.#epochs.delete(this.#epochs.keys().next().value!)
      this.#epochs.set(k, first = now)
    }
    return now - first < this.options.epochGraceMs
  }

  #decayed (p: PeerState, now: number): number {
    const dt = Math.max(0, now - p.at)
    return p.penalty * Math.pow(0.5, dt / this.options.halfLifeMs)
  }

  /** forget peers whose penalty decayed below 1, else the oldest */
  #forget (now: number): void {
    for (const [id, p] of this.#peers) if (this.#decayed(p, now) < 1) this.#peers.delete(id)
    if (this.#peers.size >= MAX_TRACKED_PEERS) this.#peers.delete(this.#peers.keys().next().value!)
  }
}

/** log lines keyed by (peer, reason): the first at once, then at most one per interval, with the count since the last */
export class RateLimitedLog {
  readonly #last = new Map<string, { at: number, suppressed: number }>()

  note (log: Logger, key: string, intervalMs: number, level: 'info' | 'warn', fields: Record<string, unknown>, msg: string, now: number = Date.now()): void {
    const l = this.#last.get(key)
    if (l !== undefined && now - l.at < intervalMs) { l.suppressed++; return }
    if (l === undefined && this.#last.size >= MAX_TRACKED_PEERS) {
      for (const [k, v] of this.#last) if (now - v.at >= intervalMs) this.#last.delete(k)
      if (this.#last.size >= MAX_TRACKED_PEERS) this.#last.delete(this.#last.keys().next().value!)
    }
    const suppressed = l?.suppressed ?? 0
    this.#last.set(key, { at: now, suppressed: 0 })
    log[level]({ ...fields, ...(suppressed > 0 ? { alsoSince: suppressed, intervalMs } : {}) }, msg)
  }
}
