/**
 * Members behind one IP address (a NAT, a shared host, this test's loopback): gossipsub's
 * default scoring penalizes more than 10 peers from one address (-5 × surplus²), so with 16
 * members on 127.0.0.1 a node graylisted every one of them: their gossip was dropped unread,
 * its own was sent to none, and everything waited for sync (the 25-node bench: p99 ~29 s,
 * zero gossip copies received). Peers are circle members the gater admitted by key; an
 * address says nothing about them. Here 16 raw members connect to node A from 127.0.0.1:
 * their scores at A stay ≥ 0, A stores a member's gossiped entry, and A's publish reaches them.
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
const MEMBERS = 16
const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

describe('members behind one IP address', () => {
  let a: TestNode
  let X: string
  let members: RawPeer[]

  beforeAll(async () => {
    a = await start('Colocated A')
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    members = await Promise.all(Array.from({ length: MEMBERS }, async () => await raw()))
    for (const m of members) {
      const code = (await a.api(`/v1/circles/${X}/invites`, { json: {} })).body.code
      await m.join(code, 'Raw')
    }
    for (const m of members) {
      await m.dial(a)
      m.subscribe(X)
    }
  }, 120_000)

  it('A sees every member on the topic; scores stay ≥ 0; a member\'s gossip is stored; the node\'s own publish reaches every member', async () => {
    // a graylisted peer's RPCs are dropped whole, its subscription included
    await until(`A to see its ${MEMBERS} members on X`, () => a.node.network!.topicPeers(X) >= MEMBERS, 20_000)
    for (const m of members) expect(a.node.network!.peerScore(m.publicKey)).toBeGreaterThanOrEqual(0)
    const last = members[MEMBERS - 1]
    const e = new RemoteLog(last.key, X).next([domain('colocated.example')])
    await last.publish(X, encodeEnvelope(canonicalJson(e), entryHash(e), last.circleKey(X, 1)!))
    await until('A to store the member\'s entry by gossip', () => a.node.ops.indicators.lookup('colocated.example').found, 10_000)
    expect(a.node.network!.gossipCounts.accepted).toBeGreaterThanOrEqual(1)

    const own = await a.api('/v1/indicators', { json: { type: 'domain', value: 'from-a.example', tlp: 'GREEN', circle: X } })
    expect(own.status, own.text).toBe(201)
    const got = (m: RawPeer): boolean => m.messages(X).some(d => m.read(X, d).text?.includes('from-a.example') === true)
    await until('every member to receive A\'s publish', () => members.every(got), 10_000)
  })
})
