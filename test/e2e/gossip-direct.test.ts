/**
 * Direct delivery (gossip/direct.ts, issue 17): where the origin's flood publish reaches every
 * member, and every member announced that it knows the DIRECT flag, the origin marks its
 * messages DIRECT and the members store them without relaying: each receives one copy of each
 * message instead of one plus the relays. A member that does not announce the flag (a raw peer,
 * as an older node) keeps the flag off, and the relays on.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeEnvelope } from '../../src/p2p/index.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'
import { formCircle } from '../utils/circle.js'

const { start, raw } = cluster()

describe('gossip: direct delivery', () => {
  let a: TestNode, b: TestNode, c: TestNode
  let X: string

  beforeAll(async () => {
    // gossip, not the periodic sync, brings the publishes (a sync first makes the gossip copy a duplicate)
    const slowSync = { syncIntervalMs: 60_000 }
    ;[a, b, c] = await Promise.all([start('Direct A', slowSync), start('Direct B', slowSync), start('Direct C', slowSync)])
    X = await formCircle([a, b, c], 'X')
    await until('each member on the topic with the two others', () => [a, b, c].every(n => n.node.network!.topicPeers(X) === 2), 20_000)
  }, 60_000)

  it('a circle whose members all know the flag: one copy of each message per member, stored and not relayed', async () => {
    await until('A\'s flood to reach every member', () => a.node.network!.reachesAll(X), 20_000)
    // B and C relay what they do not get DIRECT: their meshes hold each other
    const before = [b, c].map(n => ({ received: n.node.network!.gossipReceived, ...n.node.network!.gossipCounts }))
    const values = Array.from({ length: 5 }, (_, i) => `direct-${i}.example`)
    for (const value of values) {
      const r = await a.api('/v1/indicators', { json: { type: 'domain', value, tlp: 'GREEN', circle: X } })
      expect(r.status, r.text).toBe(201)
    }
    await until('B and C to hold every publish', () => [b, c].every(n => values.every(v => n.node.ops.indicators.lookup(v).found)), 15_000)
    // a relay would have come within moments of the last copy: give it that time to show
    await new Promise(resolve => setTimeout(resolve, 500))
    for (const [i, n] of [b, c].entries()) {
      const net = n.node.network!
      const accepted = net.gossipCounts.accepted - before[i].accepted
      const judged = accepted + net.gossipCounts.ignored - before[i].ignored + net.gossipCounts.rejected - before[i].rejected
      expect(accepted).toBeGreaterThan(0)
      // every message stored from gossip came DIRECT from A, and was not relayed
      expect(net.gossipCounts.direct - before[i].direct).toBe(accepted)
      // every copy received was judged: no second copy came by a relay
      expect(net.gossipReceived - before[i].received).toBe(judged)
    }
  })

  it('a member that does not announce the flag keeps it off: its copies come unmarked, and the others relay', async () => {
    const m = await raw()
    const code = (await a.api(`/v1/circles/${X}/invites`, { json: {} })).body.code
    await m.join(code, 'Raw M')
    m.subscribe(X)
    await m.dial(a)
    await until('A to see the raw member on the topic', () => a.node.network!.topicPeers(X) === 3 && m.seesOnTopic(X, a.node.identity.publicKey), 20_000)
    expect(a.node.network!.reachesAll(X)).toBe(false)
    const r = await a.api('/v1/indicators', { json: { type: 'domain', value: 'unmarked.example', tlp: 'GREEN', circle: X } })
    expect(r.status, r.text).toBe(201)
    await until('M to receive A\'s message', () => m.messages(X).length > 0, 15_000)
    for (const data of m.messages(X)) expect(decodeEnvelope(data).direct).toBe(false)
    await until('B to store it', () => b.node.ops.indicators.lookup('unmarked.example').found, 15_000)
  })
})
