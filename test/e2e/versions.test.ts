/**
 * Versions between nodes over the network (DESIGN §3): a member M (a raw peer standing in for
 * a newer Phalanx) gossips an entry of a later version and one with a record kind this
 * version does not know. The nodes keep both (they serve them by sync: a node that missed
 * them gets them from another member), read neither, ignore them on gossip without
 * penalizing M, and go on reading M's log after them.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson, entryHash, type Entry, type Item } from '../../src/records/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { RemoteLog } from '../utils/store.js'
import type { RawPeer } from '../utils/raw-peer.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()
const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

describe('entries of a later version between nodes', () => {
  let a: TestNode, b: TestNode
  let X: string
  let m: RawPeer
  let mX: RemoteLog

  beforeAll(async () => {
    ;[a, b] = await Promise.all([start('Ver A'), start('Ver B')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    const code = async (): Promise<string> => (await a.api(`/v1/circles/${X}/invites`, { json: {} })).body.code
    expect((await b.api('/v1/circles/join', { json: { code: await code() } })).status).toBe(200)
    m = await raw()
    mX = new RemoteLog(m.key, X)
    await m.join(await code(), 'Newer M')
    await until('B to know M', () => b.node.circles.get(X)?.members.has(m.publicKey) === true, 15_000)
    await m.dial(a)
    m.subscribe(X)
    await until('A and M meshed on X', () => a.node.network!.topicPeers(X) >= 2 && m.topicPeers(X) >= 1, 15_000)
  }, 60_000)

  it('kept, not read, ignored without penalty; the log goes on; sync carries them to B', async () => {
    const key = m.circleKey(X, 1)!
    const send = async (e: Entry): Promise<void> => { await m.publish(X, encodeEnvelope(canonicalJson(e), entryHash(e), key)) }
    const before = { ...a.node.network!.gossipCounts }
    const later = mX.next([{ kind: 'indicator', type: 'domain', value: 'later-version.example', confidence: 50, tags: [], score: 3 } as unknown as Item], { v: 2 })
    await send(later)
    const playbook = mX.next([{ kind: 'playbook', title: 'patch now' } as unknown as Item])
    await send(playbook)
    const marker = mX.next([domain('after-later.example')])
    await send(marker)
    await until('A to store M\'s marker', () => a.node.ops.indicators.lookup('after-later.example').found, 15_000)
    // both kept as signed, neither read
    expect(entryHash(a.node.store.getEntry(X, m.publicKey, 1)!)).toBe(entryHash(later))
    expect(entryHash(a.node.store.getEntry(X, m.publicKey, 2)!)).toBe(entryHash(playbook))
    expect(a.node.ops.indicators.lookup('later-version.example').found).toBe(false)
    // ignored (not relayed), never rejected; M's score did not fall
    const after = a.node.network!.gossipCounts
    expect(after.ignored - before.ignored).toBeGreaterThanOrEqual(2)
    expect(after.rejected).toBe(before.rejected)
    expect(a.node.network!.peerScore(m.publicKey)).toBeGreaterThanOrEqual(0)
    // B, not on M's mesh path for these (A does not relay them), gets them by sync from A
    await b.api(`/v1/circles/${X}/sync`, { json: { member: a.node.identity.publicKey } })
    await until('B to hold M\'s log up to the marker', () => b.node.ops.indicators.lookup('after-later.example').found && b.node.store.getEntry(X, m.publicKey, 1) !== undefined, 15_000)
    expect(entryHash(b.node.store.getEntry(X, m.publicKey, 2)!)).toBe(entryHash(playbook))
    expect(b.node.ops.indicators.lookup('later-version.example').found).toBe(false)
  })
})
