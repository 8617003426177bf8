/**
 * The pace of own entries, wired by the node (issue 17; store/ingest/pace.ts, node.ts): once
 * the network runs, single publishes that follow each other closely share entries, at most one
 * write group per pace (from the configured quota), so a member receives fewer gossip messages
 * than there were publishes, and every record still reaches it. Node A and a raw member M1 on
 * 127.0.0.1.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { RawPeer } from '../utils/raw-peer.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('the pace of own entries on a node', () => {
  let a: TestNode
  let X: string
  let m1: RawPeer

  beforeAll(async () => {
    // a quota of 20 entries/s per member: a pace of ceil(1000 / (0.9 × 20)) = 56 ms
    a = await start('Pace A', { quota: { entriesPerSecond: 20 } })
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    m1 = await raw()
    await m1.join((await a.api(`/v1/circles/${X}/invites`, { json: {} })).body.code, 'Raw')
    await m1.dial(a)
    m1.subscribe(X)
    await until('A meshed with M1 on X', () => a.node.network!.topicPeers(X) >= 1 && m1.topicPeers(X) >= 1, 15_000)
  }, 60_000)

  it('40 single publishes, one every 6 ms (each alone at an idle writer without the pace): fewer gossip messages than publishes, every record in them', async () => {
    const values = Array.from({ length: 40 }, (_, i) => `pace${i}.example`)
    const calls: Array<Promise<{ status: number }>> = []
    const t0 = performance.now()
    for (const value of values) {
      calls.push(a.api('/v1/indicators', { json: { type: 'domain', value, tlp: 'GREEN', circle: X } }))
      await sleep(6)
    }
    const res = await Promise.all(calls)
    const ms = performance.now() - t0
    expect(res.every(r => r.status === 201)).toBe(true)
    const text = (): string => m1.messages(X).map(d => m1.read(X, d).text ?? '').join('\n')
    await until('M1 to receive every record by gossip', () => values.every(v => text().includes(`"${v}"`)), 15_000)
    const messages = m1.messages(X).length
    // one write group per pace at most (the first at once): without it, ~30 messages
    expect(messages).toBeLessThanOrEqual(Math.ceil(ms / 56) + 1)
    expect(messages).toBeLessThan(values.length / 2)
  })
})
