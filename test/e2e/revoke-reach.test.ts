/**
 * A revoke or a relabel reaches every log the record went to (DESIGN §2, tlp/policy `reachOf`).
 * Three orgs, two circles: X (A, B) and Y (A, C). A publishes into X and re-shares its own
 * record into Y, or sends RED to B and C at once; its revoke and relabel must reach B and C.
 * (Until store format 3, a re-share replaced the record's circle and the revoke went to Y only:
 * B kept the indicator live.) And when B revokes its own record that A re-shared into Y as A's
 * copy, A's node withdraws the copy, signed by A (operations/withdrawals.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { cluster } from '../utils/cluster.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'

const c = cluster()

describe('revoke and relabel reach every circle and recipient a record went to', () => {
  let a: TestNode, b: TestNode, cc: TestNode
  let X: string, Y: string

  beforeAll(async () => {
    [a, b, cc] = await Promise.all([c.start('Org A'), c.start('Org B'), c.start('Org C')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    Y = (await a.api('/v1/circles', { json: { name: 'Y' } })).body.id
    for (const [circle, joiner] of [[X, b], [Y, cc]] as const) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await joiner.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    await until('topics meshed', () => a.node.network!.topicPeers(X) >= 1 && a.node.network!.topicPeers(Y) >= 1 &&
      b.node.network!.topicPeers(X) >= 1 && cc.node.network!.topicPeers(Y) >= 1, 30_000, 100)
  }, 60_000)

  /** A's record of `value` in circle X, re-shared by A into Y, held by B (via X) and C (via Y) */
  async function publishedInBoth (value: string, tlp: 'CLEAR' | 'GREEN'): Promise<string> {
    const p = await a.api('/v1/indicators', { json: { type: 'domain', value, tlp, circle: X } })
    expect(p.status, p.text).toBe(201)
    const id = p.body.id as string
    await until('B holds it', () => b.node.store.getIndicator(id) !== undefined, 20_000, 50)
    const r = await a.api(`/v1/indicators/${id}/reshare`, { json: { circle: Y } })
    expect(r.status, r.text).toBe(201)
    expect(r.body.id).toBe(id) // A's own record: the same id, now in both circles
    await until('C holds it', () => cc.node.store.getIndicator(id) !== undefined, 20_000, 50)
    return id
  }

  it('after A re-shares its record from X into Y, A\'s revoke reaches B (in X) and C (in Y)', async () => {
    const id = await publishedInBoth('reach-revoke.example', 'CLEAR')
    const rv = await a.api(`/v1/indicators/${id}/revoke`, { json: { reason: 'false positive' } })
    expect(rv.status, rv.text).toBe(200)
    await until('C sees the revoke', () => cc.node.store.getIndicator(id)?.revoked !== undefined, 20_000, 50)
    await until('B sees the revoke', () => b.node.store.getIndicator(id)?.revoked !== undefined, 20_000, 50)
    expect(b.node.ops.indicators.lookup('reach-revoke.example').found).toBe(false)
    expect(cc.node.ops.indicators.lookup('reach-revoke.example').found).toBe(false)
    expect(a.node.ops.indicators.getIndicator(id).reach).toEqual([X, Y].sort())
    // each circle got its own signed revoke in its own log
    expect((await b.node.store.headsOf(X))[a.node.identity.publicKey]).toBe(2)
    expect((await cc.node.store.headsOf(Y))[a.node.identity.publicKey]).toBe(2)
  })

  it('A\'s relabel of a record in both circles reaches B and C', async () => {
    const id = await publishedInBoth('reach-relabel.example', 'GREEN')
    const rl = await a.api(`/v1/indicators/${id}/relabel`, { json: { tlp: 'CLEAR' } })
    expect(rl.status, rl.text).toBe(200)
    await until('B sees CLEAR', () => b.node.store.getIndicator(id)?.tlp === 'CLEAR', 20_000, 50)
    await until('C sees CLEAR', () => cc.node.store.getIndicator(id)?.tlp === 'CLEAR', 20_000, 50)
  })

  /** the values in a node's domain blocklist */
  async function blocklisted (n: TestNode): Promise<string[]> {
    const r = await n.api('/v1/export/blocklist?type=domain')
    expect(r.status, r.text).toBe(200)
    return r.text.split('\n').filter(l => l !== '' && !l.startsWith('#'))
  }

  it('when B revokes its indicator that A re-shared from X into Y, A withdraws its copy: C drops it, and so do the blocklists', async () => {
    const value = 'reshared-theirs.example'
    const p = await b.api('/v1/indicators', { json: { type: 'domain', value, tlp: 'GREEN', circle: X } })
    expect(p.status, p.text).toBe(201)
    const source = p.body.id as string
    await until('A holds B\'s record', () => a.node.store.getIndicator(source) !== undefined, 20_000, 50)
    const r = await a.api(`/v1/indicators/${source}/reshare`, { json: { circle: Y } })
    expect(r.status, r.text).toBe(201)
    const copy = r.body.id as string
    expect(copy).not.toBe(source) // A's own record of the value, in Y
    await until('C holds A\'s copy', () => cc.node.store.getIndicator(copy) !== undefined, 20_000, 50)
    expect(await blocklisted(cc)).toContain(value)
    expect(await blocklisted(a)).toContain(value)

    const rv = await b.api(`/v1/indicators/${source}/revoke`, { json: { reason: 'sinkholed by the registrar' } })
    expect(rv.status, rv.text).toBe(200)
    // A's node withdraws its copy with a revoke signed by A, into every log the copy went to
    await until('A withdraws its copy', () => a.node.store.getIndicator(copy)?.revoked !== undefined, 20_000, 50)
    await until('C sees A\'s revoke', () => cc.node.store.getIndicator(copy)?.revoked !== undefined, 20_000, 50)
    const seen = cc.node.store.getIndicator(copy)!
    expect(seen.origin).toBe(a.node.identity.publicKey)
    expect(seen.revoked?.reason).toContain('sinkholed by the registrar')
    expect(seen.revoked?.reason).toMatch(/^withdrawn: /)
    expect(cc.node.ops.indicators.lookup(value).found).toBe(false)
    expect(cc.node.ops.indicators.lookup(value).hidden?.[0]?.id).toBe(copy)
    expect(await blocklisted(cc)).not.toContain(value)
    expect(await blocklisted(a)).not.toContain(value)
    expect(await blocklisted(b)).not.toContain(value)
    // a revoked indicator is not re-shared again
    const again = await a.api(`/v1/indicators/${source}/reshare`, { json: { circle: Y } })
    expect(again.status, again.text).toBe(409)
  })

  it('a copy A also published itself stays when B revokes its source', async () => {
    const value = 'reshared-and-own.example'
    const source = await bPublishes(value, 'CLEAR')
    // A publishes the value on its own in its private scope, and re-shares B's record into Y
    const own = await a.api('/v1/indicators', { json: { type: 'domain', value, tlp: 'CLEAR', circle: 'local' } })
    expect(own.status, own.text).toBe(201)
    const copy = await aReshares(source)
    expect(copy).toBe(own.body.id)
    // a second re-share, of a record A did not publish itself: its withdrawal, checked after
    // the first one's (one check at a time, in store order), shows the first was looked at
    const other = await bPublishes('reshared-only.example', 'CLEAR')
    const otherCopy = await aReshares(other)
    expect((await b.api(`/v1/indicators/${source}/revoke`, { json: {} })).status).toBe(200)
    expect((await b.api(`/v1/indicators/${other}/revoke`, { json: {} })).status).toBe(200)
    await until('A withdraws the other copy', () => a.node.store.getIndicator(otherCopy)?.revoked !== undefined, 20_000, 50)
    expect(a.node.store.getIndicator(source)?.revoked).toBeDefined()
    expect(a.node.store.getIndicator(copy)?.revoked).toBeUndefined()
    expect(cc.node.store.getIndicator(copy)?.revoked).toBeUndefined()
  })

  async function bPublishes (value: string, tlp: 'CLEAR' | 'GREEN'): Promise<string> {
    const p = await b.api('/v1/indicators', { json: { type: 'domain', value, tlp, circle: X } })
    expect(p.status, p.text).toBe(201)
    await until('A holds B\'s record', () => a.node.store.getIndicator(p.body.id) !== undefined, 20_000, 50)
    return p.body.id as string
  }

  async function aReshares (source: string): Promise<string> {
    const r = await a.api(`/v1/indicators/${source}/reshare`, { json: { circle: Y } })
    expect(r.status, r.text).toBe(201)
    const copy = r.body.id as string
    await until('C holds A\'s copy', () => cc.node.store.getIndicator(copy) !== undefined, 20_000, 50)
    return copy
  }

  it('RED sent to B and C at once: A\'s revoke reaches both recipients', async () => {
    const p = await a.api('/v1/indicators', { json: { type: 'domain', value: 'reach-red.example', tlp: 'RED', to: [b.node.identity.publicKey, cc.node.identity.publicKey] } })
    expect(p.status, p.text).toBe(201)
    const id = p.body.id as string
    await until('B and C hold it', () => b.node.store.getIndicator(id) !== undefined && cc.node.store.getIndicator(id) !== undefined, 20_000, 50)
    const rv = await a.api(`/v1/indicators/${id}/revoke`, { json: {} })
    expect(rv.status, rv.text).toBe(200)
    await until('B sees the revoke', () => b.node.store.getIndicator(id)?.revoked !== undefined, 20_000, 50)
    await until('C sees the revoke', () => cc.node.store.getIndicator(id)?.revoked !== undefined, 20_000, 50)
  })
})
