/**
 * The membership pull's digest (CircleManager.controlDigest, protocols/control.ts): a member
 * that names the digest of the log it holds gets `same` instead of the log; once an entry of
 * the log is stored the digest changes, and a puller naming the old one gets the whole log
 * again. A request without a digest (join, connect) always gets the log. Real store, ingest
 * and circle manager wired as a node wires them.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { OrgKey } from '../../../../src/identity/index.js'
import { controlHandler } from '../../../../src/p2p/protocols/control.js'
import { makeTempDir, removeTempDir } from '../../../utils/store.js'
import { startCircleNode, type CircleNode } from '../../../utils/circle-node.js'
import { orgPeerId, request } from '../../../utils/p2p.js'

const stops: Array<() => Promise<void>> = []
afterEach(async () => { for (const s of stops.splice(0)) await s() })

async function startNode (): Promise<CircleNode> {
  const dir = makeTempDir()
  const n = await startCircleNode(randomBytes(32), `${dir}/db`)
  stops.push(async () => { await n.stop(); removeTempDir(dir) })
  return n
}

describe('membership pull digest', () => {
  it('answers `same` to a member holding the same log, the log once it changed, and the log to a request without a digest', async () => {
    const { circles, admin } = await startNode()
    const circle = (await admin.create('ISAC', 'Org A')).id
    const askerSeed = randomBytes(32)
    await admin.addMember(circle, OrgKey.fromSeed(askerSeed).publicKeyHex, 'Org B')
    const asker = await orgPeerId(askerSeed)
    const handler = controlHandler(circles)

    const held = await circles.controlEntries(circle)
    const d1 = await circles.controlDigest(circle)
    expect(d1).toMatch(/^[0-9a-f]{64}$/)
    expect(await request(handler, asker, { circle, have: d1 })).toEqual({ same: true })
    expect((await request(handler, asker, { circle })).entries).toHaveLength(held.length)
    expect((await request(handler, asker, { circle, have: 'f'.repeat(64) })).entries).toHaveLength(held.length)

    // a new membership entry (a third member): the old digest no longer matches
    await admin.addMember(circle, OrgKey.fromSeed(randomBytes(32)).publicKeyHex, 'Org C')
    const d2 = await circles.controlDigest(circle)
    expect(d2).not.toBe(d1)
    const reply = await request(handler, asker, { circle, have: d1 })
    expect(reply.entries).toHaveLength(held.length + 1)
    expect(await request(handler, asker, { circle, have: d2 })).toEqual({ same: true })
  })

  it('two nodes holding the same entries agree on the digest', async () => {
    const a = await startNode()
    const b = await startNode()
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    await a.admin.addMember(circle, OrgKey.fromSeed(randomBytes(32)).publicKeyHex, 'Org B')
    const entries = await a.circles.controlEntries(circle)
    b.circles.expect(circle)
    expect(await b.circles.controlDigest(circle)).not.toBe(await a.circles.controlDigest(circle))
    // b takes a's log entry by entry, as a join does
    for (const e of entries.slice(0, -1)) await b.ingest.ingest(e, 'join')
    expect(await b.circles.controlDigest(circle)).not.toBe(await a.circles.controlDigest(circle))
    await b.ingest.ingest(entries[entries.length - 1], 'join')
    expect(await b.circles.controlDigest(circle)).toBe(await a.circles.controlDigest(circle))
  })
})
