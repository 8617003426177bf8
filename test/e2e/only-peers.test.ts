/**
 * p2p.onlyPeers, an allow-list of peers (issue 17, part 5: a line A–B–C for the bench). A
 * connects only to B, C only to B, B to both. After C joins with A's invite (a connection
 * that ends with the join), A and C never hold a connection to each other, yet A's indicator
 * reaches C through B, and C's through B to A.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initIdentity } from '../../src/identity/keystore.js'
import { startTestNode, type TestNode } from '../utils/node.js'
import { until } from '../utils/wait.js'

const nodes: TestNode[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(nodes.map(async n => { await n.stop() }))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function start (org: string, dataDir: string, onlyPeers: string[]): Promise<TestNode> {
  const n = await startTestNode({ flags: { org, dataDir, logLevel: 'silent', p2p: { dialIntervalMs: 300, syncIntervalMs: 300, onlyPeers } } })
  nodes.push(n)
  return n
}

describe('an allow-list of peers (p2p.onlyPeers)', () => {
  it('a line A–B–C: A and C never connect, and what each publishes reaches the other through B', async () => {
    const ids = ['A', 'B', 'C'].map(org => {
      const dir = mkdtempSync(join(tmpdir(), 'phalanx-line-'))
      dirs.push(dir)
      return { dir, key: initIdentity(dir, `Org ${org}`).identity.publicKey }
    })
    const [a, b, c] = await Promise.all([start('Org A', ids[0].dir, [ids[1].key]), start('Org B', ids[1].dir, []), start('Org C', ids[2].dir, [ids[1].key])])
    const circle = (await a.api('/v1/circles', { json: { name: 'line' } })).body.id as string
    for (const joiner of [b, c]) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await joiner.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    await until('B connected to A and C; A and C apart', () => b.node.network!.connectedKeys().length === 2 &&
      !a.node.network!.connectedKeys().includes(ids[2].key) && !c.node.network!.connectedKeys().includes(ids[0].key), 30_000, 100)
    const fromA = await a.api('/v1/indicators', { json: { type: 'domain', value: 'line-a.example', tlp: 'GREEN', circle } })
    const fromC = await c.api('/v1/indicators', { json: { type: 'domain', value: 'line-c.example', tlp: 'GREEN', circle } })
    await until('C holds A\'s and A holds C\'s', () => c.node.store.getIndicator(fromA.body.id) !== undefined && a.node.store.getIndicator(fromC.body.id) !== undefined, 30_000, 50)
    // never connected to each other meanwhile
    expect(a.node.network!.connectedKeys()).toEqual([ids[1].key])
    expect(c.node.network!.connectedKeys()).toEqual([ids[1].key])
  })
})
