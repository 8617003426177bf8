/**
 * API routes through fastify's inject(): a node core (real LevelDB in a temp dir, no network)
 * and the app the server builds, without a listening socket. What each route answers, and
 * how it refuses: the status, the error code and the field.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../../../src/config/index.js'
import { PhalanxNode } from '../../../src/node.js'
import { createApiServer } from '../../../src/api/index.js'
import { redLogOf } from '../../../src/records/index.js'

let dataDir: string
let node: PhalanxNode
let app: FastifyInstance
let auth: Record<string, string>

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'phalanx-routes-'))
  node = new PhalanxNode(loadConfig({ env: {}, flags: { dataDir, org: 'Routes Org', logLevel: 'silent', store: { sync: false } } }))
  await node.startCore()
  app = createApiServer(node).app
  await app.ready()
  auth = { authorization: `Bearer ${node.token}` }
})

afterAll(async () => {
  await app.close()
  await node.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

async function call (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<{ status: number, body: any }> {
  const r = await app.inject({ method, url, headers: auth, ...(body !== undefined ? { payload: body as object } : {}) })
  return { status: r.statusCode, body: r.body === '' ? undefined : JSON.parse(r.body) }
}

describe('indicator routes', () => {
  it('publish, get, lookup, revoke', async () => {
    const p = await call('POST', '/v1/indicators', { type: 'domain', value: 'Routes.EXAMPLE', tlp: 'amber' })
    expect(p.status).toBe(201)
    const id = p.body.id as string
    expect((await call('GET', `/v1/indicators/${id}`)).body).toMatchObject({ value: 'routes.example', tlp: 'AMBER', circle: 'local' })
    expect((await call('GET', '/v1/lookup?value=routes.example')).body).toMatchObject({ found: true })
    const rv = await call('POST', `/v1/indicators/${id}/revoke`, { reason: 'test' })
    expect(rv.status).toBe(200)
    expect(rv.body.revoked).toMatchObject({ reason: 'test' })
    expect((await call('POST', `/v1/indicators/${id}/revoke`, {})).body.error).toMatchObject({ code: 'PX_ERR_CONFLICT', field: 'id' })
  })

  it('a bad input is refused with its field', async () => {
    expect((await call('POST', '/v1/indicators', { type: 'domain', value: 'x.example', tlp: 'PURPLE' })).body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'tlp' })
    expect((await call('POST', '/v1/indicators', { indicators: [{ type: 'domain', value: 'ok.example' }, { type: 'ipv4', value: 'nope' }] })).body.error).toMatchObject({ field: 'indicators[1].value' })
    expect((await call('GET', '/v1/indicators/xyz')).body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'id' })
    expect((await call('GET', `/v1/indicators/${'0'.repeat(32)}`)).status).toBe(404)
    // a value of no known kind: the message says how to name the type, in the API and the CLI
    expect((await call('GET', '/v1/lookup?value=300.1.1.1')).body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'value', message: expect.stringContaining('type= in the API, --type in the CLI') })
  })

  it('TLP: RED to a circle, "to" with a non-RED label, a relabel that does not loosen are refused by the policy', async () => {
    const c = (await call('POST', '/v1/circles', { name: 'Routes circle' })).body.id as string
    const red = await call('POST', '/v1/indicators', { type: 'domain', value: 'red.example', tlp: 'RED', circle: c })
    expect(red.status).toBe(403)
    expect(red.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    const to = await call('POST', '/v1/indicators', { type: 'domain', value: 'to.example', tlp: 'AMBER', to: 'ab'.repeat(32) })
    expect(to.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'to' })
    const id = (await call('POST', '/v1/indicators', { type: 'domain', value: 'green.example', tlp: 'GREEN', circle: c })).body.id as string
    const tighter = await call('POST', `/v1/indicators/${id}/relabel`, { tlp: 'AMBER' })
    expect(tighter.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    expect((await call('POST', `/v1/indicators/${id}/relabel`, { tlp: 'CLEAR' })).body).toMatchObject({ tlp: 'CLEAR' })
  })

  it('a re-share of an own record, then its revoke, writes a revoke into both circles', async () => {
    const x = (await call('POST', '/v1/circles', { name: 'X' })).body.id as string
    const y = (await call('POST', '/v1/circles', { name: 'Y' })).body.id as string
    const id = (await call('POST', '/v1/indicators', { type: 'domain', value: 'both.example', tlp: 'CLEAR', circle: x })).body.id as string
    expect((await call('POST', `/v1/indicators/${id}/reshare`, { circle: y })).body).toMatchObject({ id, from: x, to: y })
    const seq = async (c: string): Promise<number> => (await node.store.headsOf(c))[node.identity.publicKey]
    const [bx, by] = [await seq(x), await seq(y)]
    expect((await call('POST', `/v1/indicators/${id}/revoke`, {})).status).toBe(200)
    expect([await seq(x), await seq(y)]).toEqual([bx + 1, by + 1])
    // AMBER is never re-shared
    const amber = (await call('POST', '/v1/indicators', { type: 'domain', value: 'amber-x.example', tlp: 'AMBER', circle: x })).body.id as string
    expect((await call('POST', `/v1/indicators/${amber}/reshare`, { circle: y })).body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'id' })
    // to a circle this node is not in
    expect((await call('POST', `/v1/indicators/${id}/reshare`, { circle: 'c-nope' })).body.error).toMatchObject({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'circle' })
  })

  it('RED: to a member sharing a circle, never to this org itself; its relabel and revoke stay RED-labelled in the recipient log', async () => {
    const c = (await call('POST', '/v1/circles', { name: 'Red circle' })).body.id as string
    const other = 'cd'.repeat(32)
    expect((await call('POST', `/v1/circles/${c}/members`, { publicKey: other, org: 'Other' })).status).toBe(201)
    expect((await call('POST', '/v1/indicators', { type: 'domain', value: 'self.example', tlp: 'RED', to: node.identity.publicKey })).body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'to' })
    const id = (await call('POST', '/v1/indicators', { type: 'domain', value: 'red-to.example', tlp: 'RED', to: other })).body.id as string
    expect((await call('POST', `/v1/indicators/${id}/relabel`, { tlp: 'AMBER' })).body).toMatchObject({ tlp: 'AMBER' })
    expect((await call('POST', `/v1/indicators/${id}/revoke`, {})).status).toBe(200)
    const log = redLogOf(other)
    expect([1, 2, 3].map(seq => node.store.getEntry(log, node.identity.publicKey, seq)?.tlp)).toEqual(['RED', 'RED', 'RED'])
  })

  it('sightings', async () => {
    const s = await call('POST', '/v1/sightings', { value: '203.0.113.7', count: 3 })
    expect(s.status).toBe(201)
    expect(s.body.sightings).toMatchObject({ count: 3 })
    expect((await call('POST', '/v1/sightings', { value: '203.0.113.7', count: 0 })).body.error).toMatchObject({ field: 'count' })
  })
})

describe('node, circle and token routes', () => {
  it('status names the org and counts', async () => {
    const s = await call('GET', '/v1/status')
    expect(s.status).toBe(200)
    expect(s.body).toMatchObject({ org: 'Routes Org', publicKey: node.identity.publicKey, peers: 0, multiaddrs: [] })
    expect(s.body.counts.indicators).toBeGreaterThan(0)
  })

  it('an invite needs the network (not started here)', async () => {
    const c = (await call('POST', '/v1/circles', { name: 'No net' })).body.id as string
    expect((await call('POST', `/v1/circles/${c}/invites`, {})).body.error).toMatchObject({ code: 'PX_ERR_PEER' })
    expect((await call('GET', `/v1/circles/${c}/members`)).body.members).toHaveLength(1)
    expect((await call('GET', '/v1/outbox')).body).toEqual({ outbox: [] })
    expect((await call('GET', '/v1/peers')).body).toEqual({ peers: [] })
  })

  it('a read token never reads RED; its default ceiling is AMBER', async () => {
    expect((await call('POST', '/v1/tokens', { name: 'siem', collections: ['local'], maxTlp: 'RED' })).body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'maxTlp' })
    const t = await call('POST', '/v1/tokens', { name: 'siem', collections: ['local'] })
    expect(t.status).toBe(201)
    expect(t.body.maxTlp ?? 'AMBER').toBe('AMBER')
  })

  it('a read token never reaches a lookup: a URL related to a domain stays with those who read its circle', async () => {
    const c = (await call('POST', '/v1/circles', { name: 'Unread circle' })).body.id as string
    expect((await call('POST', '/v1/indicators', { type: 'url', value: 'hxxps://unread-circle[.]example/kit', tlp: 'GREEN', circle: c })).status).toBe(201)
    // the API token sees the relation
    expect((await call('GET', '/v1/lookup?value=unread-circle.example')).body.matches).toEqual([expect.objectContaining({ match: 'url-host', circle: c, value: 'https://unread-circle.example/kit' })])
    const token = (await call('POST', '/v1/tokens', { name: 'siem-local', collections: ['local'] })).body.token as string
    const as = { authorization: `Bearer ${token}` }
    for (const url of ['/v1/lookup?value=unread-circle.example', '/v1/lookup?value=https://unread-circle.example/', '/v1/lookup?value=unread-circle.example&include_revoked=true']) {
      const r = await app.inject({ method: 'GET', url, headers: as })
      expect(r.statusCode, url).toBe(401)
      expect(JSON.parse(r.body).error).toMatchObject({ code: 'PX_ERR_UNAUTHORIZED' })
      expect(r.body).not.toContain('unread-circle.example/kit')
    }
    // what it does read, the private scope's TAXII collection, holds nothing of the circle
    const cols = await app.inject({ method: 'GET', url: '/taxii2/api/collections/', headers: as })
    const ids = (JSON.parse(cols.body).collections as Array<{ id: string }>).map(x => x.id)
    expect(ids).toHaveLength(1)
    const objs = await app.inject({ method: 'GET', url: `/taxii2/api/collections/${ids[0]}/objects/`, headers: as })
    expect(objs.statusCode).toBe(200)
    expect(objs.body).not.toContain('unread-circle')
  })

  it('no token: 401', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/status' })
    expect(r.statusCode).toBe(401)
  })
})
