/**
 * Copies of one gossip message (issue 17, part 3): two members M1 and M2 (raw peers) send the
 * same message to node A. A judges it once and counts both copies as received: the network's
 * `gossipReceived` and `phalanx_gossip_received` on /metrics include the duplicate gossipsub
 * drops unjudged, and leave out what A publishes itself.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson, entryHash, type Item } from '../../src/records/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { RemoteLog } from '../utils/store.js'
import type { RawPeer } from '../utils/raw-peer.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()
const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

async function receivedMetric (n: TestNode): Promise<number> {
  const text = (await n.api('/metrics')).text
  return Number(/^phalanx_gossip_received (\S+)$/m.exec(text)?.[1])
}

describe('gossip copies received', () => {
  let a: TestNode
  let X: string
  let m1: RawPeer, m2: RawPeer

  beforeAll(async () => {
    a = await start('Copies A')
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    const code = async (): Promise<string> => (await a.api(`/v1/circles/${X}/invites`, { json: {} })).body.code
    ;[m1, m2] = await Promise.all([raw(), raw()])
    for (const m of [m1, m2]) {
      await m.join(await code(), 'Raw')
      await m.dial(a)
    }
    // M2 stays off the topic: A does not relay M1's copy to it, so M2 still sends its own
    m1.subscribe(X)
    await until('A meshed with M1 on X; M2 sees A on it', () => a.node.network!.topicPeers(X) >= 1 && m1.topicPeers(X) >= 1 && m2.topicPeers(X) >= 1, 15_000)
  }, 60_000)

  it('two copies of one message: both received, one judged; own publishes are not counted', async () => {
    const net = a.node.network!
    const judged = (): number => net.gossipCounts.accepted + net.gossipCounts.ignored + net.gossipCounts.rejected
    const received0 = net.gossipReceived
    const judged0 = judged()
    const e = new RemoteLog(m1.key, X).next([domain('copies.example')])
    const data = encodeEnvelope(canonicalJson(e), entryHash(e), m1.circleKey(X, 1)!)
    await m1.publish(X, data)
    await until('A to store M1\'s entry', () => a.node.ops.indicators.lookup('copies.example').found, 15_000)
    await m2.publish(X, data)
    await until('A to count the second copy', () => net.gossipReceived - received0 >= 2, 15_000)
    expect(net.gossipReceived - received0).toBe(2)
    expect(judged() - judged0).toBe(1)
    expect(await receivedMetric(a)).toBe(net.gossipReceived)

    // A's own publish reaches M1 and is not a copy A received
    const before = net.gossipReceived
    const own = await a.api('/v1/indicators', { json: { type: 'domain', value: 'own-copies.example', tlp: 'GREEN', circle: X } })
    expect(own.status, own.text).toBe(201)
    await until('M1 to receive A\'s publish', () => m1.messages(X).length >= 1, 15_000)
    expect(net.gossipReceived).toBe(before)
  })
})
