/**
 * Leaving and removal over real libp2p nodes on 127.0.0.1 (issue 14 parts 4 and 10): a
 * removed org is told by a signed removal notice (status and circle list show it removed,
 * with when and by whom; it stops dialling the members; it cannot publish there; it keeps
 * what it stored), a removal notice forged by a member changes nothing, a member that leaves
 * signs a leave record the others apply and the admin's node rotates the key, and an admin
 * renames a member in everyone's eyes (a member cannot; hostile names are refused).
 */
import { describe, expect, it } from 'vitest'
import { membershipLogOf } from '../../src/circles/index.js'
import { validateItem } from '../../src/records/index.js'
import { until } from '../utils/wait.js'
import { RemoteLog, sleep } from '../utils/store.js'
import type { TestNode } from '../utils/node.js'
import type { RawPeer } from '../utils/raw-peer.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()
const NOTICE = '/phalanx/notice/1.0.0'

describe('leave, removal notice and rename', () => {
  let a: TestNode, b: TestNode, c: TestNode, m: RawPeer
  let circle: string

  it('A\'s circle: B and C join, and M (a member built test-side)', async () => {
    ;[a, b, c, m] = await Promise.all([start('Bank A'), start('Bank B'), start('Bank C'), raw()])
    circle = (await a.api('/v1/circles', { json: { name: 'ISAC' } })).body.id
    for (const n of [b, c]) {
      const inv = await a.api(`/v1/circles/${circle}/invites`, { json: {} })
      expect((await n.api('/v1/circles/join', { json: { code: inv.body.code } })).status).toBe(200)
    }
    await m.join((await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code, 'Mallory')
    await until('B to know C and M', () => b.node.circles.get(circle)?.members.size === 4, 15_000)
    await until('B connected to A', () => b.node.network!.connectedKeys().includes(a.node.identity.publicKey), 15_000)
    await until('B on the topic', () => b.node.network!.topicPeers(circle) >= 1, 15_000)
  })

  it('an admin renames a member: the others show the new name; a member cannot; hostile names are refused', async () => {
    const cFp = c.node.identity.fingerprint
    // by fingerprint, the circle by name
    const r = await a.api(`/v1/circles/ISAC/members/${cFp}`, { method: 'PATCH', json: { org: 'Bank C (Paris)' } })
    expect(r.status, r.text).toBe(200)
    expect(r.body).toMatchObject({ org: 'Bank C (Paris)', fingerprint: cFp })
    await until('B to show the new name', async () => (await b.api(`/v1/circles/${circle}/members`)).body.members.find((x: any) => x.fingerprint === cFp)?.org === 'Bank C (Paris)', 15_000)
    // a member renames another (or itself): not an admin
    const byB = await b.api(`/v1/circles/${circle}/members/${cFp}`, { method: 'PATCH', json: { org: 'Mallory Inc' } })
    expect(byB.status).toBe(403)
    expect(byB.body.error.code).toBe('PX_ERR_NOT_MEMBER')
    const self = await c.api(`/v1/circles/${circle}/members/${cFp}`, { method: 'PATCH', json: { org: 'Central Bank' } })
    expect(self.status).toBe(403)
    // hostile characters, as for the org of an add
    for (const org of ['Bank\u202eC', 'Bank\u001b[2JC', '']) {
      const bad = await a.api(`/v1/circles/${circle}/members/${cFp}`, { method: 'PATCH', json: { org } })
      expect(bad.status, JSON.stringify(org)).toBe(400)
      expect(bad.body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'org' })
    }
    const unknownField = await a.api(`/v1/circles/${circle}/members/${cFp}`, { method: 'PATCH', json: { org: 'X', role: 'admin' } })
    expect(unknownField.status).toBe(400)
    expect(a.node.circles.get(circle)!.members.get(c.node.identity.publicKey)!.org).toBe('Bank C (Paris)')
  })

  it('a removal notice forged by a member (M signs "remove B") changes nothing at B', async () => {
    const log = new RemoteLog(m.key, membershipLogOf(circle))
    const forged = log.next([validateItem({ kind: 'member', op: 'remove', key: b.node.identity.publicKey, upTo: 0 })], { tlp: 'AMBER' })
    const r = await m.request(b, NOTICE, { circle, entries: [forged] })
    expect(r).toEqual({ member: true, senderMember: true })
    // one that claims to be A's but is signed by M: does not verify
    const asA = { ...forged, origin: a.node.identity.publicKey, seq: 99 }
    expect(await m.request(b, NOTICE, { circle, entries: [asA] })).toEqual({ member: true, senderMember: true })
    // not of this circle's membership log: refused
    expect((await m.request(b, NOTICE, { circle, entries: [{ ...forged, circle }] })).error.code).toBe('PX_ERR_VALIDATION')
    expect(b.node.circles.mine().map(s => s.id)).toContain(circle)
    expect((await b.api('/v1/circles')).body.circles[0]).toMatchObject({ id: circle, status: 'member' })
  })

  it('a removed org is told: status and circle list show it removed, it stops dialling, cannot publish, keeps what it stored', async () => {
    const before = await b.api('/v1/indicators', { json: { type: 'domain', value: 'before-removal.example', tlp: 'GREEN', circle } })
    expect(before.status).toBe(201)
    await until('A to store B\'s record', async () => (await a.api('/v1/lookup?value=before-removal.example')).body.found === true, 15_000)
    const del = await a.api(`/v1/circles/${circle}/members/${b.node.identity.publicKey}`, { method: 'DELETE' })
    expect(del.status, del.text).toBe(200)
    const removedAt = a.node.circles.get(circle)!.members.get(b.node.identity.publicKey)!.removed!.at
    // B shares no other circle with anyone: only the notice can tell it
    await until('B to learn of its removal', () => !b.node.circles.mine().some(s => s.id === circle), 15_000)
    const list = (await b.api('/v1/circles')).body.circles
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({ id: circle, name: 'ISAC', status: 'removed', role: null, removed: { at: removedAt, by: a.node.identity.publicKey, byFingerprint: a.node.identity.fingerprint } })
    const status = (await b.api('/v1/status')).body
    expect(status.circles.find((x: any) => x.id === circle)).toMatchObject({ status: 'removed', removed: { by: a.node.identity.publicKey }, inSync: { members: 0, of: 0 } })
    // it cannot publish there, and is told why
    const pub = await b.api('/v1/indicators', { json: { type: 'domain', value: 'after-removal.example', tlp: 'GREEN', circle: 'ISAC' } })
    expect(pub.status).toBe(403)
    expect(pub.body.error.code).toBe('PX_ERR_NOT_MEMBER')
    expect(pub.body.error.message).toContain(`removed from it by the admin ${a.node.identity.fingerprint}`)
    const members = await b.api(`/v1/circles/${circle}/members`)
    expect(members.status).toBe(403)
    // what it stored stays
    expect((await b.api('/v1/lookup?value=before-removal.example')).body.found).toBe(true)
    // it stops dialling the members (A hung it up; before, it dialled A again at every backoff)
    await until('B to hang up A', () => !b.node.network!.connectedKeys().includes(a.node.identity.publicKey), 15_000)
    const dials = b.node.network!.dialAttempts(a.node.identity.publicKey)
    await sleep(4000)
    expect(b.node.network!.dialAttempts(a.node.identity.publicKey)).toBe(dials)
    expect(b.node.network!.topicPeers(circle)).toBe(0)
  })

  it('C leaves: A sees it left, A\'s node rotates the key to the members that remain, C reads nothing new', async () => {
    const epoch = a.node.circles.get(circle)!.epoch
    const r = await c.api('/v1/circles/ISAC/leave', { method: 'POST', json: {} })
    expect(r.status, r.text).toBe(200)
    expect(r.body).toMatchObject({ circle, name: 'ISAC', upTo: 0 })
    expect((await c.api('/v1/circles')).body.circles[0]).toMatchObject({ id: circle, status: 'left', removed: { by: c.node.identity.publicKey } })
    // a second leave: not in it
    expect((await c.api(`/v1/circles/${circle}/leave`, { method: 'POST', json: {} })).status).toBe(403)
    await until('A to see C left', () => a.node.circles.get(circle)?.members.get(c.node.identity.publicKey)?.removed?.by === c.node.identity.publicKey, 15_000)
    await until('A to rotate the key', () => a.node.circles.get(circle)!.epoch === epoch + 1, 15_000)
    const s = a.node.circles.get(circle)!
    expect([...s.keys.get(epoch + 1)!.keys()].sort()).toEqual([a.node.identity.publicKey, m.key.publicKeyHex].sort())
    expect(s.rekey).toEqual([])
    expect(a.node.circles.members(circle, true).find(x => x.publicKey === c.node.identity.publicKey)).toMatchObject({ left: true })
    expect(c.node.circles.circleKey(circle, epoch + 1)).toBeNull()
    await sleep(500)
    // once: no second rotation
    expect(a.node.circles.get(circle)!.epoch).toBe(epoch + 1)
    const pub = await c.api('/v1/indicators', { json: { type: 'domain', value: 'after-leave.example', tlp: 'GREEN', circle } })
    expect(pub.status).toBe(403)
    expect(pub.body.error.message).toContain('this node left')
  })

  it('the last admin cannot leave while other members remain', async () => {
    const r = await a.api(`/v1/circles/${circle}/leave`, { method: 'POST', json: {} })
    expect(r.status).toBe(409)
    expect(r.body.error.message).toContain('last admin')
  })
})
