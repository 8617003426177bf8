/**
 * Gossip of this node's own entries, as the ingest writer stores them.
 *
 * Guarantees: an entry travels sealed with the circle key unless its TLP travels in the
 * clear (isSealedInTransit); one that needs a key this node does not hold is not gossiped
 * (logged; sync carries it to members later); a key rotation (a removal with its new key) is
 * sealed with the key it replaces, which the remaining members hold. Entries stored together
 * go in as few messages as envelope.ts packs them, in log order, except membership entries:
 * one per message, each judged against the state before it.
 */
import type { Logger } from 'pino'
import { canonicalJson } from '../../records/index.js'
import { isMembershipLog, type CircleManager } from '../../circles/index.js'
import type { StoredEntry } from '../../store/index.js'
import { isSealedInTransit } from '../../tlp/policy.js'
import { encodeEntries } from '../envelope.js'
import type { GossipTopics } from './topic.js'

export interface GossipPublisherComponents {
  circles: Pick<CircleManager, 'circleKey'>
  topics: Pick<GossipTopics, 'has' | 'publish'>
  log: Logger
  /** aborted when the network stops */
  signal: AbortSignal
}

export class GossipPublisher {
  readonly #c: GossipPublisherComponents

  constructor (c: GossipPublisherComponents) {
    this.#c = c
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
    for (const g of groups.values()) {
      for (const data of encodeEntries(g.entries, g.key)) {
        try {
          await this.#c.topics.publish(circle, data)
        } catch (err) {
          this.#c.log.warn({ err, circle }, 'gossip publish failed')
        }
      }
    }
  }
}
