/**
 * Test helper: the nodes and raw peers of one test file, started with fast p2p timers
 * (dial and sync every 300 ms) and stopped after the file's tests (raw peers first).
 * Call `cluster()` at the top level of a test file.
 */
import { afterAll } from 'vitest'
import { RawPeer } from './raw-peer.js'
import { startTestNode, type TestNode } from './node.js'

export interface Cluster {
  /** a node for the org `org` (logs silent unless PX_TEST_LOG is set); `p2p` settings over the fast timers */
  start: (org: string, p2p?: Record<string, unknown>) => Promise<TestNode>
  /** a raw libp2p peer with a fresh key */
  raw: () => Promise<RawPeer>
}

export function cluster (): Cluster {
  const nodes: TestNode[] = []
  const raws: RawPeer[] = []
  afterAll(async () => {
    await Promise.all(raws.map(async r => { await r.stop() }))
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })
  return {
    async start (org, p2p = {}) {
      const n = await startTestNode({ flags: { org, logLevel: process.env.PX_TEST_LOG ?? 'silent', p2p: { dialIntervalMs: 300, syncIntervalMs: 300, ...p2p } } })
      nodes.push(n)
      return n
    },
    async raw () {
      const r = await RawPeer.start()
      raws.push(r)
      return r
    }
  }
}
