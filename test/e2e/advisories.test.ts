/**
 * Advisories (issue 15, part 3) with real nodes. Circle X holds A, B and C; circle Y holds A
 * and O, who is not in X. A's advisory reaches B and C by gossip and their signed acks come
 * back: A's node shows who acknowledged and who has not. C, stopped while A sends another,
 * gets it by sync when it returns and acknowledges it then. O, connected to A through Y, sees
 * none of it. An advisory naming an AMBER indicator cannot be GREEN. A's SSE stream tells its
 * indicator, B's sighting of it, B's advisory and the acks in the order stored, and resumes by
 * Last-Event-ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PhalanxNode } from '../../src/node.js'
import { cluster } from '../utils/cluster.js'
import { apiCall } from '../utils/node.js'
import type { StreamEvent } from '../../src/cli/watch.js'
import { followStream, runCli } from '../utils/cli.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'

const c = cluster()

const cli = runCli
const restarted: PhalanxNode[] = []
const streams: AbortController[] = []
afterAll(async () => {
  for (const s of streams) s.abort()
  for (const n of restarted) await n.stop()
})

const follow = async (n: TestNode, lastEventId?: string): Promise<StreamEvent[]> => await followStream(n, streams, lastEventId !== undefined ? { lastEventId } : {})

describe('advisories and acks across a circle', () => {
  let a: TestNode, b: TestNode, cc: TestNode, o: TestNode
  let X: string, Y: string

  beforeAll(async () => {
    [a, b, cc, o] = await Promise.all([c.start('Org A'), c.start('Org B'), c.start('Org C'), c.start('Org O')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    Y = (await a.api('/v1/circles', { json: { name: 'Y' } })).body.id
    for (const [circle, joiner] of [[X, b], [X, cc], [Y, o]] as const) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await joiner.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    await until('topics meshed', () => a.node.network!.topicPeers(X) >= 2 && b.node.network!.topicPeers(X) >= 1 &&
      cc.node.network!.topicPeers(X) >= 1 && o.node.network!.topicPeers(Y) >= 1, 30_000, 100)
  }, 90_000)

  it('reaches every online member; their acks come back to A, who sees who acknowledged and who has not; O sees nothing', async () => {
    const sent = await a.api('/v1/advisories', { json: { circle: 'X', title: 'Active exploitation of CVE-2026-1234 at 2 members; patch now', cves: ['CVE-2026-1234'], severity: 'critical' } })
    expect(sent.status, sent.text).toBe(201)
    const id = sent.body.id as string
    expect(sent.body.advisory).toMatchObject({ id, circle: X, tlp: 'AMBER', mine: true, acks: [] })
    expect(sent.body.advisory.pending.map((p: any) => p.org).sort()).toEqual(['Org B', 'Org C'])

    await until('B and C hold it', () => b.node.store.advisory(id) !== undefined && cc.node.store.advisory(id) !== undefined, 20_000, 20)
    const atB = (await b.api(`/v1/advisories/${id}`)).body
    expect(atB).toMatchObject({ id, org: 'Org A', mine: false, ackedByMe: false, title: sent.body.advisory.title, cves: ['CVE-2026-1234'], severity: 'critical' })
    expect((await b.api('/v1/advisories?circle=X')).body.advisories.map((x: any) => x.id)).toEqual([id])

    for (const n of [b, cc]) {
      const r = await n.api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })
      expect(r.status, r.text).toBe(201)
    }
    // twice: refused
    expect((await b.api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })).body.error.code).toBe('PX_ERR_CONFLICT')
    await until('A has both acks', async () => (await a.api(`/v1/advisories/${id}`)).body.acks.length === 2, 20_000, 50)
    const atA = (await a.api(`/v1/advisories/${id}`)).body
    expect(atA.acks.map((k: any) => k.org).sort()).toEqual(['Org B', 'Org C'])
    expect(atA.pending).toEqual([])
    expect((await a.api('/v1/advisories')).body.advisories.find((x: any) => x.id === id)).toMatchObject({ acked: 2, expected: 2 })

    // O, in Y with A, never hears of it: A's later publish in Y reaches O, the advisory and acks did not
    const marker = await a.api('/v1/indicators', { json: { type: 'domain', value: 'marker-y.example', tlp: 'CLEAR', circle: Y } })
    await until('O holds A\'s later publish in Y', () => o.node.store.getIndicator(marker.body.id) !== undefined, 20_000, 50)
    expect(o.node.store.advisory(id)).toBeUndefined()
    expect((await o.api('/v1/advisories')).body.advisories).toEqual([])
    expect((await o.api(`/v1/advisories/${id}`)).status).toBe(404)
    expect((await o.api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })).status).toBe(404)
  })

  it('a member offline when it was sent gets it by sync on return, and acknowledges it then', async () => {
    const config = cc.node.config
    await cc.node.stop()
    const sent = await a.api('/v1/advisories', { json: { circle: X, title: 'Second wave', text: 'Rotate the VPN keys.\nDetails follow.', tlp: 'AMBER+STRICT' } })
    expect(sent.status, sent.text).toBe(201)
    const id = sent.body.id as string
    await until('B holds it', () => b.node.store.advisory(id) !== undefined, 20_000, 20)
    expect((await b.api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })).status).toBe(201)
    await until('A has B\'s ack', async () => (await a.api(`/v1/advisories/${id}`)).body.acks.length === 1, 20_000, 50)
    expect((await a.api(`/v1/advisories/${id}`)).body.pending.map((p: any) => p.org)).toEqual(['Org C'])

    const c2 = new PhalanxNode(config)
    restarted.push(c2)
    await c2.start()
    await until('C has it after sync', () => c2.store.advisory(id) !== undefined, 30_000, 50)
    const api = async (path: string, req?: Parameters<typeof apiCall>[3]): Promise<any> => await apiCall(c2.apiUrl!, c2.token, path, req)
    const atC = await api(`/v1/advisories/${id}`)
    expect(atC.body).toMatchObject({ id, tlp: 'AMBER+STRICT', text: 'Rotate the VPN keys.\nDetails follow.', ackedByMe: false })
    expect((await api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })).status).toBe(201)
    await until('A has C\'s ack', async () => (await a.api(`/v1/advisories/${id}`)).body.pending.length === 0, 30_000, 50)
    expect((await a.api(`/v1/advisories/${id}`)).body.acks.map((k: any) => k.org).sort()).toEqual(['Org B', 'Org C'])
  })

  it('an advisory naming an AMBER indicator cannot be GREEN, nor name one its circle does not hold', async () => {
    const amber = await a.api('/v1/indicators', { json: { type: 'domain', value: 'amber-advised.example', tlp: 'AMBER', circle: X } })
    const inY = await a.api('/v1/indicators', { json: { type: 'domain', value: 'y-only.example', tlp: 'GREEN', circle: Y } })
    const green = await a.api('/v1/advisories', { json: { circle: X, title: 'too loose', tlp: 'GREEN', indicators: [amber.body.id] } })
    expect(green.status).toBe(403)
    expect(green.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    const elsewhere = await a.api('/v1/advisories', { json: { circle: X, title: 'wrong circle', indicators: [amber.body.id, inY.body.id] } })
    expect(elsewhere.status).toBe(400)
    expect(elsewhere.body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'indicators[1]' })
    const red = await a.api('/v1/advisories', { json: { circle: X, title: 'red', tlp: 'RED' } })
    expect(red.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    const ok = await a.api('/v1/advisories', { json: { circle: X, title: 'linked', indicators: [amber.body.id] } })
    expect(ok.status, ok.text).toBe(201)
    expect(ok.body.advisory).toMatchObject({ tlp: 'AMBER', indicators: [amber.body.id] })
  })

  it('the CLI: advisory sends (first line the title), advisories lists, advisory ack acknowledges, advisory show tells who has not', async () => {
    const sent = await cli(a, ['advisory', '--circle', 'X', '--severity', 'high', '--cve', 'cve-2026-9999', 'Rotate keys\nThe vendor confirmed the issue.'])
    expect(sent.code, sent.stderr).toBe(0)
    const id = /^advisory ([0-9a-f]{32}) sent to circle X \(TLP:AMBER\): Rotate keys$/m.exec(sent.stdout)?.[1]
    expect(id, sent.stdout).toBeDefined()
    expect(sent.stdout).toContain('2 member(s) to acknowledge it: Org B, Org C')
    await until('B holds it', () => b.node.store.advisory(id!) !== undefined, 20_000, 20)
    const list = await cli(b, ['advisories', '--circle', 'X', '--json'])
    expect(JSON.parse(list.stdout).advisories[0]).toMatchObject({ id, title: 'Rotate keys', org: 'Org A', acked: 0, expected: 2 })
    const human = await cli(b, ['advisories'])
    expect(human.stdout).toMatch(new RegExp(`^${id}  \\S+  Org A  TLP:AMBER  acks 0/2  Rotate keys$`, 'm'))
    const ack = await cli(b, ['advisory', 'ack', id!])
    expect(ack.code, ack.stderr).toBe(0)
    expect(ack.stdout.trim()).toBe(`acknowledged advisory ${id}`)
    const again = await cli(b, ['advisory', 'ack', id!])
    expect(again.code).toBe(5) // PX_ERR_CONFLICT
    await until('A has B\'s ack', async () => (await a.api(`/v1/advisories/${id}`)).body.acks.length === 1, 20_000, 50)
    const show = await cli(a, ['advisory', 'show', id!])
    expect(show.stdout).toContain('severity high')
    expect(show.stdout).toContain('  The vendor confirmed the issue.')
    expect(show.stdout).toContain('CVEs: CVE-2026-9999')
    expect(show.stdout).toMatch(/acknowledged by 1 of 2:\n {2}Org B at \S+\nnot yet: Org C/)
  })

  it('A\'s stream tells, in the order stored: its indicator, B\'s sighting of it, B\'s advisory, the acks; a reconnect with Last-Event-ID resumes exactly after', async () => {
    const live = await follow(a)
    const mine = await a.api('/v1/indicators', { json: { type: 'domain', value: 'watched.example', tlp: 'GREEN', circle: X } })
    expect(mine.status, mine.text).toBe(201)
    await until('B holds A\'s indicator', () => b.node.store.getIndicator(mine.body.id) !== undefined, 20_000, 20)
    // B sights A's indicator (news for A), and a value A has no indicator of (no news)
    expect((await b.api('/v1/sightings', { json: { value: 'watched.example', action: 'blocked', count: 3 } })).status).toBe(201)
    expect((await b.api('/v1/sightings', { json: { value: 'not-ours.example', circle: X } })).status).toBe(201)
    await until('A has B\'s sighting', () => a.node.store.sightings('domain', 'watched.example') !== undefined && a.node.store.sightings('domain', 'not-ours.example') !== undefined, 20_000, 20)
    const adv = await b.api('/v1/advisories', { json: { circle: X, title: 'B warns', tlp: 'GREEN' } })
    const id = adv.body.id as string
    await until('A holds B\'s advisory', () => a.node.store.advisory(id) !== undefined, 20_000, 20)
    expect((await a.api(`/v1/advisories/${id}/ack`, { method: 'POST', json: {} })).status).toBe(201)
    await until('the stream told all four', () => live.length >= 4, 20_000, 50)

    expect(live.map(e => e.event)).toEqual(['indicator', 'sighting', 'advisory', 'ack'])
    const ids = live.map(e => e.id as string)
    expect([...ids].sort()).toEqual(ids)
    const data = live.map(e => JSON.parse(e.data))
    expect(data[0]).toMatchObject({ id: mine.body.id, cursor: ids[0] })
    expect(data[1]).toMatchObject({ type: 'domain', value: 'watched.example', circle: X, org: 'Org B', action: 'blocked', count: 3 })
    expect(data[2]).toMatchObject({ id, org: 'Org B', title: 'B warns', tlp: 'GREEN', mine: false })
    expect(data[3]).toMatchObject({ advisory: id, title: 'B warns', org: 'Org A', publicKey: a.node.identity.publicKey, mine: false })

    // resumed after the second event: the rest, once each, and what comes next
    const resumed = await follow(a, ids[1])
    await until('the resumed stream caught up', () => resumed.length >= 2, 20_000, 50)
    const later = await b.api('/v1/indicators', { json: { type: 'domain', value: 'later.example', tlp: 'GREEN', circle: X } })
    await until('A holds B\'s later indicator', () => a.node.store.getIndicator(later.body.id) !== undefined, 20_000, 20)
    await until('both streams told it', () => live.length >= 5 && resumed.length >= 3, 20_000, 50)
    expect(resumed.map(e => e.id)).toEqual(live.slice(2).map(e => e.id))
    expect(resumed.map(e => e.event)).toEqual(['advisory', 'ack', 'indicator'])

    // events= picks kinds; a bad one is a 400 naming events
    const bad = await a.api('/v1/stream?events=advisory,playbook')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'events' })
  })
})
