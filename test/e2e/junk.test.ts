/**
 * Repeated ignorable junk is penalized (issue 13, part 3), against a real node. Two members
 * of its circle are raw libp2p peers (test/utils/raw-peer.ts) connected to it:
 * - J keeps sending messages sealed with a key epoch far past the circle's (no rotation skips
 *   that many): junk no member can be entitled to send. Each lowers its gossipsub score; past
 *   the threshold the node closes its connection and refuses it for a while.
 * - H sends what an honest member does in a rotation's first minutes: messages sealed with the
 *   next epoch, whose key the node does not hold yet, as many as J; and duplicates of an entry
 *   the node holds. None of it costs H anything: it stays connected, its entries are stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { canonicalJson, entryHash, type Item } from '../../src/records/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { RawPeer } from '../utils/raw-peer.js'
import { RemoteLog, sleep } from '../utils/store.js'
import { startTestNode, type TestNode } from '../utils/node.js'
import { until } from '../utils/wait.js'

/** junk messages sent, more than the disconnect threshold (config p2p.junk.disconnectAt, 50) */
const JUNK = 80

const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

describe('repeated junk costs its sender; honest traffic does not', () => {
  let a: TestNode
  let j: RawPeer
  let h: RawPeer
  let X: string

  beforeAll(async () => {
    a = await startTestNode({ flags: { org: 'Victim', logLevel: process.env.PX_TEST_LOG ?? 'silent', p2p: { dialIntervalMs: 300, syncIntervalMs: 300 } } })
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    j = await RawPeer.start()
    h = await RawPeer.start()
    for (const [p, org] of [[j, 'Junk'], [h, 'Honest']] as const) {
      const code = (await a.api(`/v1/circles/${X}/invites`, { json: { expires: '10m' } })).body.code
      await p.join(code, org)
      await p.dial(a)
      p.subscribe(X)
    }
    const aKey = a.node.identity.publicKey
    await until('both members to see the node on X', () => j.seesOnTopic(X, aKey) && h.seesOnTopic(X, aKey), 15_000)
    await until('the node to see both on X', () => a.node.network!.topicPeers(X) >= 2, 15_000)
    await sleep(500)
  }, 60_000)

  afterAll(async () => {
    await j?.stop()
    await h?.stop()
    await a?.stop()
  })

  it('a peer that keeps sealing with an impossible key epoch is penalized and disconnected; a rotation\'s early messages and duplicates are not', async () => {
    const aKey = a.node.identity.publicKey
    const network = a.node.network!
    const epoch = a.node.circles.get(X)!.epoch
    const ignoredBefore = network.gossipCounts.ignored

    // H, honest: an entry, then duplicates of it (other envelopes, same entry), and messages
    // sealed with the next epoch (a rotation it saw first), as many as J's junk
    const hLog = new RemoteLog(h.key, X)
    const first = hLog.next([domain('honest-1.example')], { tlp: 'CLEAR' })
    await h.publish(X, encodeEnvelope(canonicalJson(first), entryHash(first), null))
    await until('the node to store H\'s entry', () => a.node.ops.indicators.lookup('honest-1.example').found)
    for (let i = 0; i < 5; i++) await h.publish(X, encodeEnvelope(canonicalJson(first), entryHash(first), h.circleKey(X, epoch)))
    for (let i = 0; i < JUNK; i++) await h.publish(X, encodeEnvelope('{}', randomBytes(32).toString('hex'), { epoch: epoch + 1, key: randomBytes(32) }))
    // J: the same count, sealed with an epoch no rotation reaches (many rotations ahead)
    for (let i = 0; i < JUNK; i++) await j.publish(X, encodeEnvelope('{}', randomBytes(32).toString('hex'), { epoch: epoch + 10, key: randomBytes(32) }))

    await until('the node to judge every message', () => network.gossipCounts.ignored - ignoredBefore >= 5 + JUNK + 51, 20_000, 100)
    await until('the node to close J\'s connection', () => !j.isConnectedTo(aKey), 10_000, 100)
    const jJunk = network.junkOf(j.publicKey)
    expect(jJunk.counts['unknown-key-epoch']).toBeGreaterThan(50)
    expect(jJunk.disconnects).toBe(1)
    // its penalty is what gossipsub reads as its application-specific score (kept while it is away)
    expect(jJunk.penalty).toBeGreaterThan(50)
    // J stays refused: it cannot come back at once
    await j.dial(a).catch(() => {})
    await sleep(500)
    expect(j.isConnectedTo(aKey)).toBe(false)

    // H paid nothing and is still there: its next entry is stored
    expect(network.junkOf(h.publicKey)).toEqual({ penalty: 0, counts: {}, disconnects: 0 })
    expect(network.peerScore(h.publicKey)).toBeGreaterThanOrEqual(0)
    expect(h.isConnectedTo(aKey)).toBe(true)
    const second = hLog.next([domain('honest-2.example')], { tlp: 'CLEAR' })
    await h.publish(X, encodeEnvelope(canonicalJson(second), entryHash(second), null))
    await until('the node to store H\'s next entry', () => a.node.ops.indicators.lookup('honest-2.example').found, 10_000)
  })
})
