/**
 * What a refused message costs a member on a circle's topic (src/p2p/gossip/topic.ts,
 * CIRCLE_TOPIC_SCORE), scored by gossipsub's own PeerScore with the node's parameters, the
 * clock moved by vitest. The rule: nothing a quiet member earns by staying in the mesh
 * outweighs a refusal, and three in a row graylist it, however long it has been in the mesh.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defaultLogger } from '@libp2p/logger'
import { PeerScore, createPeerScoreParams, createTopicScoreParams, defaultPeerScoreThresholds } from '@libp2p/gossipsub/score'
import { CIRCLE_TOPIC_SCORE, topicOf } from '../../../../src/p2p/gossip/index.js'

const TOPIC = topicOf('c1')
const PEER = 'member'

/** a member of the circle's mesh for `meshMs`, with `deliveries` first deliveries just now */
function member (meshMs: number, deliveries = 0): PeerScore {
  const score = new PeerScore(createPeerScoreParams({
    topics: { [TOPIC]: createTopicScoreParams(CIRCLE_TOPIC_SCORE) },
    appSpecificScore: () => 0,
    IPColocationFactorWeight: 0
  }), null, defaultLogger(), { scoreCacheValidityMs: 0 })
  score.addPeer(PEER)
  score.graft(PEER, TOPIC)
  // gossipsub's heartbeat decays the counters and updates the time in the mesh once a second
  for (let t = 0; t < meshMs; t += 1000) {
    vi.advanceTimersByTime(Math.min(1000, meshMs - t))
    score.refreshScores()
  }
  for (let i = 0; i < deliveries; i++) score.deliverMessage(PEER, `good-${i}`, TOPIC)
  return score
}

function refuse (score: PeerScore, n: number): void {
  for (let i = 0; i < n; i++) score.rejectInvalidMessage(PEER, TOPIC)
}

describe('the score of a circle\'s topic', () => {
  beforeEach(() => { vi.useFakeTimers({ now: 1_700_000_000_000 }) })
  afterEach(() => { vi.useRealTimers() })

  it('a quiet member scores nothing for delivering little, and little for staying: at most +3', () => {
    expect(member(0).score(PEER)).toBe(0)
    expect(member(60_000).score(PEER)).toBeCloseTo(0.6)
    expect(member(3_600_000).score(PEER)).toBeCloseTo(3)
  })

  it('one refused message puts a member an hour in the mesh below zero, unless it delivered well just before', () => {
    const quiet = member(3_600_000)
    refuse(quiet, 1)
    expect(quiet.score(PEER)).toBeLessThan(0)
    const busy = member(3_600_000, 20)
    refuse(busy, 1)
    expect(busy.score(PEER)).toBeGreaterThan(0)
  })

  it('two refused messages keep a member below zero for ten seconds after', () => {
    const m = member(3_600_000)
    refuse(m, 2)
    expect(m.score(PEER)).toBeLessThan(-30)
    for (let s = 0; s < 10; s++) { vi.advanceTimersByTime(1000); m.refreshScores() }
    expect(m.score(PEER)).toBeLessThan(0)
  })

  it('three refused messages in a row graylist a member, however long it has been in the mesh', () => {
    for (const meshMs of [0, 5_000, 3_600_000]) {
      const m = member(meshMs)
      refuse(m, 3)
      expect(m.score(PEER), `after ${meshMs} ms in the mesh`).toBeLessThan(defaultPeerScoreThresholds.graylistThreshold)
    }
  })
})
