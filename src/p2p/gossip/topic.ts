/**
 * Gossip topics: one per circle, `/phalanx/circle/<id>/1`, and this node's subscriptions.
 *
 * Guarantees: a topic is subscribed only with its validator in place (no message of it is
 * accepted or relayed unjudged), and its validator is removed when the topic is left; a
 * rejected message costs its sender gossipsub score (graylisted after a few), while a mesh
 * peer is never penalized for delivering little (circles are quiet).
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { PeerId } from '@libp2p/interface'
import type { GossipSubRuntime } from '../host.js'

export function topicOf (circle: string): string { return `/phalanx/circle/${circle}/1` }

/**
 * How gossipsub scores a peer on a circle's topic. A refused message counts -10 × the square
 * of the peer's refused messages (the count decays ×0.9 a second): two in a row are -40, three
 * are -90, past gossipsub's graylist (-80). Nothing a quiet peer earns outweighs that: time in
 * the mesh gives 0.01 a second up to +3 (five minutes), and first deliveries +1 each (halving
 * every second, gossipsub's default), so a peer's recent good deliveries still outweigh one
 * refusal (a DIRECT message from its origin is answered IGNORE and earns nothing: direct.ts).
 * Circles are quiet: delivering little costs a mesh peer nothing.
 * (gossipsub's default quantum for time in the mesh is 1 ms: with it a peer earned +36 after
 * 3.6 s in the mesh, and three refused messages in a row no longer graylisted it)
 */
export const CIRCLE_TOPIC_SCORE = Object.freeze({
  topicWeight: 1,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.9,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesCap: 100
})

/** judges one message of a circle's topic */
export type TopicValidator = (circle: string, data: Uint8Array, from: PeerId) => Promise<TopicValidatorResult>

export class GossipTopics {
  readonly #pubsub: GossipSubRuntime
  readonly #validate: TopicValidator
  readonly #subscribed = new Set<string>()
  /** messages this node published since start */
  published = 0

  constructor (pubsub: GossipSubRuntime, validate: TopicValidator) {
    this.#pubsub = pubsub
    this.#validate = validate
  }

  has (circle: string): boolean { return this.#subscribed.has(circle) }

  /** subscribe to a circle's topic; false when already subscribed */
  subscribe (circle: string): boolean {
    if (this.#subscribed.has(circle)) return false
    const topic = topicOf(circle)
    this.#subscribed.add(circle)
    // a rejected message costs its sender score (graylisted after three in a row)
    this.#pubsub.score.params.topics[topic] = createTopicScoreParams(CIRCLE_TOPIC_SCORE)
    this.#pubsub.topicValidators.set(topic, async (from, msg) => await this.#validate(circle, msg.data, from))
    this.#pubsub.subscribe(topic)
    return true
  }

  unsubscribe (circle: string): void {
    if (!this.#subscribed.delete(circle)) return
    const topic = topicOf(circle)
    this.#pubsub.unsubscribe(topic)
    this.#pubsub.topicValidators.delete(topic)
  }

  async publish (circle: string, data: Uint8Array): Promise<void> {
    this.published++
    await this.#pubsub.publish(topicOf(circle), data, { ignoreDuplicatePublishError: true })
  }

  /** peers subscribed to a circle's topic, as gossipsub sees them */
  peers (circle: string): number {
    return this.#pubsub.getSubscribers(topicOf(circle)).length
  }

  /** the peers this node's flood publish sends `circle`'s messages to: subscribed, at or above the publish threshold */
  floodPeers (circle: string): Set<string> {
    const min = this.#pubsub.opts.scoreThresholds.publishThreshold
    const out = new Set<string>()
    for (const p of this.#pubsub.getSubscribers(topicOf(circle))) {
      const id = p.toString()
      if (this.#pubsub.getScore(id) >= min) out.add(id)
    }
    return out
  }

  /** gossipsub's score of a peer (negative after invalid messages) */
  score (peerId: string): number {
    return this.#pubsub.getScore(peerId)
  }
}
