/**
 * GET /v1/export/indicators through fastify's inject() (no socket) on a real node's API (real
 * LevelDB in a temp dir): each format with its media type, the filters of GET /v1/indicators,
 * RED only when asked for or named, errors naming the parameter at fault; and the blocklist
 * route it sits next to still answers as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createApiServer } from '../../../../src/api/index.js'
import { startTestNode, type TestNode } from '../../../utils/node.js'

let t: TestNode
let app: FastifyInstance

beforeAll(async () => {
  t = await startTestNode()
  app = createApiServer(t.node).app
  await app.ready()
  await t.node.ops.indicators.publishIndicators([
    { type: 'domain', value: 'x1.route-export.example', tlp: 'GREEN', confidence: 77, tags: ['rx', 'c2'], description: 'first, with a comma' },
    { type: 'ipv4', value: '198.51.100.77', tlp: 'AMBER', confidence: 20, tags: ['rx'] },
    { type: 'cve', value: 'CVE-2021-44228', tlp: 'CLEAR', tags: ['rx'] },
    { type: 'domain', value: 'red.route-export.example', tlp: 'RED', confidence: 90, tags: ['rx'] },
    { type: 'domain', value: 'other.route-export.example', tlp: 'GREEN' }
  ])
})
afterAll(async () => {
  await app?.close()
  await t?.stop()
})

const get = async (url: string, token: string | null = t.token) => await app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } })
const lines = (s: string): string[] => s.split('\n').filter(l => l !== '')

describe('GET /v1/export/indicators', () => {
  it('text: a value per line, with the filters of GET /v1/indicators; RED left out', async () => {
    const r = await get('/v1/export/indicators?format=text&tag=rx')
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(lines(r.body).sort()).toEqual(['198.51.100.77', 'CVE-2021-44228', 'x1.route-export.example'])
    expect(lines((await get('/v1/export/indicators?format=text&tag=rx&type=domain')).body)).toEqual(['x1.route-export.example'])
    expect(lines((await get('/v1/export/indicators?format=text&tag=rx&tlp=AMBER,CLEAR')).body).sort()).toEqual(['198.51.100.77', 'CVE-2021-44228'])
  })

  it('RED only when asked for (include_red) or named (tlp=RED)', async () => {
    expect(lines((await get('/v1/export/indicators?format=text&tag=rx&include_red=true')).body)).toContain('red.route-export.example')
    expect(lines((await get('/v1/export/indicators?format=text&tag=rx&tlp=RED')).body)).toEqual(['red.route-export.example'])
    expect(lines((await get('/v1/export/indicators?format=text&tag=rx&include_red=false')).body)).not.toContain('red.route-export.example')
  })

  it('csv: the header, then a row per indicator with every modelled field', async () => {
    const r = await get('/v1/export/indicators?format=csv&tag=rx&type=domain')
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8')
    const rows = lines(r.body)
    expect(rows[0]).toBe('type,value,tlp,confidence,tags,description,validFrom,validUntil,firstSeen,lastSeen,origin,circle,created,id')
    expect(rows).toHaveLength(2)
    expect(rows[1]).toMatch(/^domain,x1\.route-export\.example,GREEN,77,c2;rx,"first, with a comma",,,,,[0-9a-f]{64},local,/)
  })

  it('ndjson: the stored indicators, as GET /v1/indicators returns them', async () => {
    const r = await get('/v1/export/indicators?format=ndjson&tag=rx')
    expect(r.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    const query = JSON.parse((await get('/v1/indicators?tag=rx&tlp=CLEAR,GREEN,AMBER,AMBER%2BSTRICT&limit=1000')).body)
    expect(lines(r.body).map(l => JSON.parse(l))).toEqual(query.indicators)
  })

  it('stix: a bundle with the five TLP 2.0 markings and an indicator per type STIX covers', async () => {
    const r = await get('/v1/export/indicators?format=stix&tag=rx')
    expect(r.headers['content-type']).toBe('application/stix+json;version=2.1')
    const bundle = JSON.parse(r.body)
    expect(bundle.type).toBe('bundle')
    expect(bundle.objects.filter((o: any) => o.type === 'marking-definition')).toHaveLength(5)
    expect(bundle.objects.filter((o: any) => o.type === 'indicator').map((o: any) => o.pattern).sort()).toEqual(["[domain-name:value = 'x1.route-export.example']", "[ipv4-addr:value = '198.51.100.77']"])
  })

  it('misp: an event titled with the filters given, an attribute per indicator, the strictest TLP as its tag', async () => {
    const r = await get('/v1/export/indicators?format=misp&tag=rx')
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    const event = JSON.parse(r.body).Event
    expect(event.info).toBe('Phalanx export (tag=rx)')
    expect(event.Tag).toEqual([{ name: 'tlp:amber' }])
    expect(event.Attribute.map((a: any) => a.value).sort()).toEqual(['198.51.100.77', 'CVE-2021-44228', 'x1.route-export.example'])
    // the title names the filters in a fixed order, as given
    expect(JSON.parse((await get('/v1/export/indicators?include_revoked=true&format=misp&tlp=RED&tag=rx')).body).Event.info).toBe('Phalanx export (tag=rx, tlp=RED, include_revoked=true)')
    expect(JSON.parse((await get('/v1/export/indicators?format=misp&value=none.route-export.example')).body).Event).toMatchObject({ info: 'Phalanx export (value=none.route-export.example)', Attribute: [], Tag: [] })
  })

  it('names the parameter at fault; needs the token', async () => {
    for (const [qs, field] of [['', 'format'], ['format=pdf', 'format'], ['format=csv&type=nope', 'type'], ['format=csv&tlp=PURPLE', 'tlp'],
      ['format=csv&include_red=maybe', 'include_red'], ['format=csv&limit=10', 'limit'], ['format=csv&cursor=00', 'cursor'], ['format=csv&since=soon', 'since'], ['format=csv&format=text', 'format']]) {
      const r = await get(`/v1/export/indicators?${qs}`)
      expect(r.statusCode, qs).toBe(400)
      expect(JSON.parse(r.body).error, qs).toMatchObject({ code: 'PX_ERR_VALIDATION', field })
    }
    expect((await get('/v1/export/indicators?format=csv', null)).statusCode).toBe(401)
  })
})

describe('GET /v1/export/blocklist (through inject)', () => {
  it('a plain list of live values; RED only with include_red', async () => {
    const r = await get('/v1/export/blocklist?type=domain')
    expect(r.statusCode).toBe(200)
    expect(r.body).toMatch(/^# Phalanx blocklist: domain, plain, /)
    expect(lines(r.body).slice(1).sort()).toEqual(['other.route-export.example', 'x1.route-export.example'])
    expect(lines((await get('/v1/export/blocklist?type=domain&include_red=true')).body)).toContain('red.route-export.example')
  })
})
