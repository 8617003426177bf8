/**
 * Gossip of circle entries: one topic per circle (topic.ts), every message judged before it
 * is accepted or relayed (validator.ts) in paced turns (pacer.ts), within each member's quota
 * (quota.ts), junk costing its sender (junk.ts); own entries sealed, batched and kept within
 * the quota (publisher.ts), and not relayed where the origin's flood reaches every member
 * (direct.ts); gaps filled and early entries of in-order logs held, bounded (pending.ts).
 * Entries reach the store only through ingest.
 */
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { CircleManager } from '../../circles/index.js'
import type { Entry } from '../../records/index.js'
import type { Ingest, LevelStore, StoredEntry } from '../../store/index.js'
import { peerIdOfKey, type GossipSubRuntime } from '../host.js'
import { DirectReach } from './direct.js'
import { PendingEntries, type PendingLimits } from './pending.js'
import { GossipPublisher } from './publisher.js'
import { GossipTopics } from './topic.js'
import { GossipValidator, type GossipVerdict } from './validator.js'
import { MemberQuotas, type OverQuota, type QuotaOptions } from './quota.js'
import { PeerPenalties, type JunkOptions, type PeerJunk } from './junk.js'

export { topicOf, GossipTopics, CIRCLE_TOPIC_SCORE } from './topic.js'
export { GossipValidator } from './validator.js'
export { DirectReach, DIRECT_PROTOCOL } from './direct.js'
export type { GossipVerdict, GossipReason, GossipValidatorComponents } from './validator.js'
export { GossipPublisher, ownEntryPaceMs } from './publisher.js'
export { MemberQuotas, TokenBucket, DEFAULT_QUOTA_OPTIONS, MAX_TRACKED_ORIGINS, type QuotaOptions, type OverQuota } from './quota.js'
export { PeerPenalties, RateLimitedLog, DEFAULT_JUNK_OPTIONS, MAX_EPOCHS_AHEAD, type JunkOptions, type JunkReason, type PeerJunk } from './junk.js'
export { PendingEntries, MAX_PENDING_PER_LOG, GAP_FILL_DELAY_MS, DEFAULT_PENDING_LIMITS, type PendingLimits } from './pending.js'

export interface GossipComponents {
  pubsub: GossipSubRuntime
  circles: Pick<CircleManager, 'circleKey' | 'admit' | 'get'>
  /** this node's org key */
  self: string
  /** whether a peer announced that it knows the DIRECT flag (direct.ts) */
  knowsDirect: (peerId: string) => boolean
  ingest: Pick<Ingest, 'ingest' | 'queuedItems'>
  store: Pick<LevelStore, 'head'>
  /** a partial sync of a data log: `origin`'s entries up to `to` from `peer` */
  syncGap: (circle: string, peer: PeerId, origin: string, to: number) => void
  /** entries `from`..`to` of a log from `peer` (the entries protocol) */
  fetchEntries: (peer: PeerId, circle: string, origin: string, from: number, to: number) => Promise<unknown[]>
  log: Logger
  signal: AbortSignal
  /** bounds of the out-of-order buffer (config p2p.pending) */
  pending?: Partial<PendingLimits>
  /** per-member quotas and the gossip queue bound (config p2p.quota) */
  quota?: Partial<QuotaOptions>
  /** what junk costs a peer (tests shorten the grace and half-life) */
  junk?: Partial<JunkOptions>
  /** close a peer's connection and refuse it for `ms` (it kept sending junk) */
  hangUp?: (peerId: string, ms: number) => void
}

export class Gossip {
  readonly topics: GossipTopics
  readonly validator: GossipValidator
  readonly quotas: MemberQuotas
  readonly penalties: PeerPenalties
  /** which circles this node's flood reaches every member of (direct.ts) */
  readonly direct: DirectReach
  readonly #publisher: GossipPublisher
  readonly #pending: PendingEntries

  constructor (c: GossipComponents) {
    this.#pending = new PendingEntries({
      store: c.store,
      judge: async (raw, source) => await this.validator.judge(raw, source),
      syncGap: c.syncGap,
      fetchEntries: c.fetchEntries,
      log: c.log.child({ component: 'phalanx:p2p:gossip:pending' }),
      signal: c.signal,
      ...(c.pending !== undefined ? { limits: c.pending } : {})
    })
    const log = c.log.child({ component: 'phalanx:p2p:gossip:validator' })
    this.quotas = new MemberQuotas(c.quota)
    this.penalties = new PeerPenalties({ log: c.log.child({ component: 'phalanx:p2p:gossip:junk' }), ...(c.hangUp !== undefined ? { hangUp: c.hangUp } : {}) }, c.junk)
    this.validator = new GossipValidator({
      circles: c.circles,
      ingest: c.ingest,
      quotas: this.quotas,
      penalties: this.penalties,
      signal: c.signal,
      log,
      onEarly: (raw, gap, from) => { this.#pending.early(raw, gap, from) },
      onGap: (circle, origin, gap, from) => { this.#pending.gap(circle, origin, gap, from) }
    })
    this.topics = new GossipTopics(c.pubsub, async (circle, data, from) => await this.validator.validateMessage(circle, data, from))
    this.direct = new DirectReach({ circle: (id) => c.circles.get(id), self: c.self, floodPeers: (circle) => this.topics.floodPeers(circle), peerIdOf: peerIdOfKey, knowsDirect: c.knowsDirect })
    this.#publisher = new GossipPublisher({ circles: c.circles, topics: this.topics, reachesAll: (circle) => this.direct.reachesAll(circle), log: c.log.child({ component: 'phalanx:p2p:gossip:publisher' }), signal: c.signal, ...(c.quota !== undefined ? { quota: c.quota } : {}) })
  }

  /** gossip messages judged since start, by verdict */
  get counts (): { accepted: number, ignored: number, rejected: number, direct: number } { return this.validator.counts }

  /** origins past their quota now (dropped a message within the hold time) */
  overQuota (origin: string): OverQuota | null { return this.quotas.overQuota(origin) }

  /** what junk cost a peer */
  junkOf (peerId: string): PeerJunk { return this.penalties.of(peerId) }

  /** gossipsub's application-specific score (P5) of a peer */
  appSpecificScore (peerId: string): number { return this.penalties.appSpecificScore(peerId) }

  /** gossip own entries of one circle stored together */
  async publish (circle: string, list: StoredEntry[]): Promise<void> { await this.#publisher.publish(circle, list) }

  /** an entry was stored: ingest the held entries that now follow it */
  drain (entry: Entry): void { this.#pending.drain(entry) }

  /** ingest one entry from a peer outside gossip (a membership pull) */
  async judge (raw: unknown, source: string): Promise<GossipVerdict> { return await this.validator.judge(raw, source) }
}
