/**
 * Gossip of this node's own entries, as the ingest writer stores them.
 *
 * Guarantees: an entry travels sealed with the circle key unless its TLP travels in the
 * clear (isSealedInTransit); one that needs a key this node does not hold is not gossiped
 * (logged; sync carries it to members later); a key rotation (a removal with its new key) is
 * sealed with the key it replaces, which the remaining members hold. Entries stored together
 * go in as few messages as envelope.ts packs them, in log order, except membership entries:
 * one per message, each judged against the state before it. Own gossip keeps within the
 * quota every member grants (quota.ts, the same defaults): what is past it is not gossiped
 * and reaches members by sync, so an honest bulk publish never looks like a flood. Membership
 * entries are always gossiped.
 */
import type { Logger } from 'pino'
import { canonicalJson } from '../../records/index.js'
import { isMembershipLog, type CircleManager } from '../../circles/index.js'
import type { StoredEntry } from '../../store/index.js'
import { isSealedInTransit } from '../../tlp/policy.js'
import { encodeEntries, markDirect } from '../envelope.js'
import type { GossipTopics } from './topic.js'
import { DEFAULT_QUOTA_OPTIONS, TokenBucket, type QuotaOptions } from './quota.js'
import { RateLimitedLog } from './junk.js'

export interface GossipPublisherComponents {
  circles: Pick<CircleManager, 'circleKey'>
  topics: Pick<GossipTopics, 'has' | 'publish'>
  /** whether a circle's flood publish reaches every member: its data messages are then marked DIRECT (direct.ts) */
  reachesAll?: (circle: string) => boolean
  log: Logger
  /** aborted when the network stops */
  signal: AbortSignal
  /** the quota to keep own gossip within (the defaults members grant each other) */
  quota?: Partial<QuotaOptions>
}

/** one line per this long (ms) about own gossip left to sync */
const LEFT_TO_SYNC_LOG_MS = 10_000
/** own gossip keeps to this part of the quota members grant */
const OWN_QUOTA_MARGIN = 0.9

/**
 * ms between own write groups (ingest's pace, store/ingest/pace.ts) that keep sustained
 * single publishes within the entry quota members grant: past it they would wait for sync.
 * `atLeastMs` (config `store.paceMs`) raises it: fewer, fuller entries for every member
 */
export function ownEntryPaceMs (quota?: Partial<QuotaOptions>, atLeastMs = 0): number {
  return Math.max(atLeastMs, Math.ceil(1000 / ((quota?.entriesPerSecond ?? DEFAULT_QUOTA_OPTIONS.entriesPerSecond) * OWN_QUOTA_MARGIN)))
}

export class GossipPublisher {
  readonly #c: GossipPublisherComponents
  readonly #entries: TokenBucket
  readonly #bytes: TokenBucket
  readonly #logs = new RateLimitedLog()
  /** own entries (or messages of them) not gossiped since start, past the quota: members fetch them by sync */
  leftToSync = 0

  constructor (c: GossipPublisherComponents) {
    this.#c = c
    // a margin under what members grant: their buckets see the messages a little later
    const q = { ...DEFAULT_QUOTA_OPTIONS, ...c.quota }
    this.#entries = new TokenBucket(q.entriesPerSecond * OWN_QUOTA_MARGIN, q.burstEntries * OWN_QUOTA_MARGIN)
    this.#bytes = new TokenBucket(q.bytesPerSecond * OWN_QUOTA_MARGIN, q.burstBytes * OWN_QUOTA_MARGIN)
  }

  #leftToSync (circle: string, n: number): void {
    this.leftToSync += n
    this.#logs.note(this.#c.log, 'left-to-sync', LEFT_TO_SYNC_LOG_MS, 'info', { circle, leftToSync: this.leftToSync }, 'own gossip past the quota members grant (p2p.quota): these entries reach them by sync')
  }

  /** gossip own entries of one circle, stored together, in log order */
  async publish (circle: string, list: StoredEntry[]): Promise<void> {
    if (this.#c.signal.aborted || !this.#c.topics.has(circle)) return
    // CLEAR travels in the clear, everything else sealed; a key rotation (a removal with its
    // new key) is sealed with the key it replaces: members need it to read the new key
    const groups = new Map<string, { key: { epoch: number, key: Uint8Array } | null, entries: Array<{ json: string, hash: string }> }>()
    for (const { entry, hash } of list) {
      const rotation = entry.items.find(i => i.kind === 'key' && entry.items.some(r => r.kind === 'member' && r.op === 'remove'))
      const epoch = rotation?.kind === 'key' ? rotation.epoch - 1 : undefined
      const sealed = isSealedInTransit(entry.tlp)
      const key = sealed ? this.#c.circles.circleKey(circle, epoch) : null
      if (sealed && key === null) { this.#c.log.error({ circle }, 'no circle key to seal an entry with; not gossiped'); continue }
      // membership records go one per message: each is judged against the state before it
      const k = isMembershipLog(entry.circle) ? `m${hash}` : key === null ? 'clear' : String(key.epoch)
      let g = groups.get(k)
      if (g === undefined) groups.set(k, g = { key, entries: [] })
      g.entries.push({ json: canonicalJson(entry), hash })
    }
    // data messages the flood reaches every member with go unrelayed (direct.ts); membership
    // entries keep the relays
    const direct = this.#c.reachesAll?.(circle) === true
    for (const [k, g] of groups) {
      // within the quota members grant (membership entries always go: they change who may write)
      const paced = !k.startsWith('m')
      if (paced && !this.#entries.take(g.entries.length)) {
        this.#leftToSync(circle, g.entries.length)
        continue
      }
      for (const data of encodeEntries(g.entries, g.key)) {
        if (paced && !this.#bytes.take(data.length)) {
          this.#leftToSync(circle, 1)
          continue
        }
        try {
          await this.#c.topics.publish(circle, paced && direct ? markDirect(data) : data)
        } catch (err) {
          this.#c.log.warn({ err, circle }, 'gossip publish failed')
        }
      }
    }
  }
}
