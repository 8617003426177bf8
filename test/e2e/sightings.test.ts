/**
 * Coordinated response, sightings (issue 15, parts 1 and 2), with real nodes. Four orgs, two
 * circles: X (A, B, C) and Y (C, D). Sightings from B and C aggregate at A with their actions,
 * counts and names; a sighting goes where the sighter holds the value, labelled at least AMBER,
 * and never to a circle that does not hold it (D sees none of X's); a sighting of a RED
 * indicator goes to its origin only; a false positive lowers the effective confidence and
 * drops the value from the default blocklist.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { cluster } from '../utils/cluster.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'

const c = cluster()

describe('sightings with actions across a circle', () => {
  let a: TestNode, b: TestNode, cc: TestNode, d: TestNode
  let X: string, Y: string

  beforeAll(async () => {
    [a, b, cc, d] = await Promise.all([c.start('Org A'), c.start('Org B'), c.start('Org C'), c.start('Org D')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    Y = (await cc.api('/v1/circles', { json: { name: 'Y' } })).body.id
    for (const [admin, circle, joiner] of [[a, X, b], [a, X, cc], [cc, Y, d]] as const) {
      const code = (await admin.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await joiner.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    await until('topics meshed', () => a.node.network!.topicPeers(X) >= 2 && b.node.network!.topicPeers(X) >= 1 &&
      cc.node.network!.topicPeers(X) >= 1 && cc.node.network!.topicPeers(Y) >= 1 && d.node.network!.topicPeers(Y) >= 1, 30_000, 100)
  }, 90_000)

  async function publishedInX (value: string, tlp: string, confidence = 80): Promise<string> {
    const p = await a.api('/v1/indicators', { json: { type: 'domain', value, tlp, circle: X, confidence } })
    expect(p.status, p.text).toBe(201)
    await until('B and C hold it', () => b.node.store.getIndicator(p.body.id) !== undefined && cc.node.store.getIndicator(p.body.id) !== undefined, 20_000, 50)
    return p.body.id as string
  }

  it('B blocked it, C saw it: A sees two orgs with their actions, counts and names; D (not in X) sees nothing', async () => {
    await publishedInX('sighted.example', 'GREEN')
    const sb = await b.api('/v1/sightings', { json: { value: 'sighted.example', action: 'blocked', count: 12, note: 'at the proxy' } })
    expect(sb.status, sb.text).toBe(201)
    // where B holds it (X), at the stricter of AMBER and GREEN
    expect(sb.body.sent).toEqual([{ circle: X, tlp: 'AMBER', to: 'circle X' }])
    const sc = await cc.api('/v1/sightings', { json: { value: 'sighted.example', count: 3 } })
    expect(sc.body.sent).toEqual([{ circle: X, tlp: 'AMBER', to: 'circle X' }])
    await until('A has both sightings', () => Object.keys(a.node.store.sightings('domain', 'sighted.example')?.origins ?? {}).length === 2, 20_000, 50)
    const l = (await a.api('/v1/lookup?value=sighted.example')).body
    expect(l.sighted).toMatchObject({ orgs: 2, count: 15, byAction: { blocked: 1, seen: 1, 'false-positive': 0, investigating: 0, mitigated: 0 } })
    const byOrg = Object.fromEntries(l.sighted.perOrg.map((o: any) => [o.org, o]))
    expect(byOrg['Org B']).toMatchObject({ publicKey: b.node.identity.publicKey, action: 'blocked', count: 12, note: 'at the proxy' })
    expect(byOrg['Org C']).toMatchObject({ publicKey: cc.node.identity.publicKey, action: 'seen', count: 3 })
    // D, in Y only, never hears of the sighting: C's later publish in Y reaches D, the sighting did not
    const marker = await cc.api('/v1/indicators', { json: { type: 'domain', value: 'marker-y.example', tlp: 'CLEAR', circle: Y } })
    await until('D holds C\'s later publish in Y', () => d.node.store.getIndicator(marker.body.id) !== undefined, 20_000, 50)
    expect(d.node.store.sightings('domain', 'sighted.example')).toBeUndefined()
    expect(cc.node.store.head(Y, cc.node.identity.publicKey)?.seq).toBe(1)
  })

  it('a sighting of a RED indicator goes to its origin only, as RED', async () => {
    const p = await a.api('/v1/indicators', { json: { type: 'domain', value: 'red-sighted.example', tlp: 'RED', to: [b.node.identity.publicKey] } })
    expect(p.status, p.text).toBe(201)
    await until('B holds it', () => b.node.store.getIndicator(p.body.id) !== undefined, 20_000, 50)
    const s = await b.api('/v1/sightings', { json: { value: 'red-sighted.example', action: 'investigating' } })
    expect(s.status, s.text).toBe(201)
    expect(s.body.sent).toEqual([{ circle: `red:${a.node.identity.publicKey}`, tlp: 'RED', to: expect.stringMatching(/^org [A-Z2-7-]+ \(RED, directly\)$/) }])
    await until('A has B\'s sighting', () => a.node.store.sightings('domain', 'red-sighted.example')?.origins[b.node.identity.publicKey]?.action === 'investigating', 20_000, 50)
    expect(cc.node.store.sightings('domain', 'red-sighted.example')).toBeUndefined()
    // naming a circle, or labelling it looser than RED, is refused
    expect((await b.api('/v1/sightings', { json: { value: 'red-sighted.example', circle: X, tlp: 'RED' } })).body.error.code).toBe('PX_ERR_TLP_VIOLATION')
  })

  it('an AMBER value: a sighting is never looser than AMBER, and never goes to a circle that does not hold it', async () => {
    await publishedInX('amber-sighted.example', 'AMBER')
    const looser = await b.api('/v1/sightings', { json: { value: 'amber-sighted.example', tlp: 'GREEN' } })
    expect(looser.status).toBe(403)
    expect(looser.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    const elsewhere = await cc.api('/v1/sightings', { json: { value: 'amber-sighted.example', circle: Y } })
    expect(elsewhere.status).toBe(403)
    expect(elsewhere.body.error.code).toBe('PX_ERR_TLP_VIOLATION')
    const strict = await b.api('/v1/sightings', { json: { value: 'amber-sighted.example', tlp: 'AMBER+STRICT', action: 'mitigated' } })
    expect(strict.body.sent).toEqual([{ circle: X, tlp: 'AMBER+STRICT', to: 'circle X' }])
  })

  it('a false positive lowers the effective confidence and leaves the default blocklist', async () => {
    await publishedInX('maybe-cdn.example', 'GREEN', 80)
    const list = async (n: TestNode, q = ''): Promise<string[]> => (await n.api(`/v1/export/blocklist?type=domain${q}`)).text.split('\n').filter(l => l !== '' && !l.startsWith('#'))
    expect(await list(a)).toContain('maybe-cdn.example')
    expect((await b.api('/v1/sightings', { json: { value: 'maybe-cdn.example', action: 'blocked' } })).status).toBe(201)
    const fp = await cc.api('/v1/sightings', { json: { value: 'maybe-cdn.example', action: 'false-positive', note: 'our CDN' } })
    expect(fp.status, fp.text).toBe(201)
    await until('A has the false positive', () => a.node.store.sightings('domain', 'maybe-cdn.example')?.origins[cc.node.identity.publicKey]?.action === 'false-positive', 20_000, 50)
    await until('A has B\'s block', () => a.node.store.sightings('domain', 'maybe-cdn.example')?.origins[b.node.identity.publicKey] !== undefined, 20_000, 50)
    const l = (await a.api('/v1/lookup?value=maybe-cdn.example')).body
    // 80 × (1 + 1) / (1 + 1 + 2 × 1): one confirmation (B) against one false positive (C)
    expect(l.matches[0]).toMatchObject({ confidence: 80, effectiveConfidence: 40 })
    expect(l.sighted.byAction).toMatchObject({ blocked: 1, 'false-positive': 1 })
    expect(await list(a)).not.toContain('maybe-cdn.example')
    expect(await list(a, '&exclude_false_positives=false')).toContain('maybe-cdn.example')
    expect(await list(a, '&exclude_false_positives=false&min_confidence=50')).not.toContain('maybe-cdn.example')
    // C changes its mind: its latest sighting is its stance
    expect((await cc.api('/v1/sightings', { json: { value: 'maybe-cdn.example', action: 'blocked' } })).status).toBe(201)
    await until('A has C\'s new stance', () => a.node.store.sightings('domain', 'maybe-cdn.example')?.origins[cc.node.identity.publicKey]?.action === 'blocked', 20_000, 50)
    expect(await list(a)).toContain('maybe-cdn.example')
  })

  it('STIX and MISP exports carry the sightings by organization', async () => {
    const stix = JSON.parse((await a.api('/v1/export/indicators?format=stix&type=domain')).text)
    const ind = stix.objects.find((o: any) => o.type === 'indicator' && o.name === 'sighted.example')
    const sightings = stix.objects.filter((o: any) => o.type === 'sighting' && o.sighting_of_ref === ind.id)
    const identities = new Map(stix.objects.filter((o: any) => o.type === 'identity').map((o: any) => [o.id, o.name]))
    expect(sightings.map((s: any) => [identities.get(s.where_sighted_refs[0]), s.x_phalanx_action, s.count]).sort()).toEqual([['Org B', 'blocked', 12], ['Org C', 'seen', 3]])
    // each identity once in the bundle, before the objects that name it; an indicator names its origin
    const ids = stix.objects.filter((o: any) => o.type === 'identity').map((o: any) => o.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(identities.get(ind.created_by_ref)).toBe('Org A')
    const at = (id: string): number => stix.objects.findIndex((o: any) => o.id === id)
    expect(at(ind.created_by_ref)).toBeLessThan(at(ind.id))
    const misp = JSON.parse((await a.api('/v1/export/indicators?format=misp&type=domain')).text)
    const attr = misp.Event.Attribute.find((x: any) => x.value === 'sighted.example')
    expect(attr.Sighting.map((x: any) => [x.Organisation.name, x.type, x.source]).sort()).toEqual([['Org B', '0', 'phalanx:blocked'], ['Org C', '0', 'phalanx:seen']])
  })
})
