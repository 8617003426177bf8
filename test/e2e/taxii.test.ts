/**
 * TAXII 2.1 read side over real HTTP: discovery, API root, collections (the private scope and
 * each circle), objects with pagination (every object exactly once), added_after, match
 * filters, manifest, one object and its versions, Basic auth, and 406 for another media type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startTestNode, type TestNode } from '../utils/node.js'

const TAXII = 'application/taxii+json;version=2.1'
let t: TestNode
let basic: Record<string, string>

beforeAll(async () => {
  t = await startTestNode()
  basic = { Authorization: `Basic ${Buffer.from(`analyst:${t.token}`).toString('base64')}`, Accept: TAXII }
  const indicators = Array.from({ length: 250 }, (_, i) => ({ type: 'ipv4', value: `10.77.${i >> 8}.${i & 255}`, tags: ['taxii'] }))
  expect((await t.api('/v1/indicators', { json: { indicators } })).status).toBe(201)
})
afterAll(async () => { await t?.stop() })

const get = async (path: string, headers: Record<string, string> = basic) => await t.api(path, { token: null, headers })

describe('TAXII 2.1', () => {
  let local: string

  it('discovery, API root and collections, with the TAXII media type and Basic auth', async () => {
    const d = await get('/taxii2/')
    expect(d.status, d.text).toBe(200)
    expect(d.headers.get('content-type')).toBe(TAXII)
    expect(d.body.api_roots).toEqual([`${t.url}/taxii2/api/`])
    const root = await get('/taxii2/api/')
    expect(root.body.versions).toEqual([TAXII])
    const cols = await get('/taxii2/api/collections/')
    expect(cols.body.collections).toHaveLength(1)
    expect(cols.body.collections[0]).toMatchObject({ title: 'Private scope', can_read: true, can_write: false, media_types: ['application/stix+json;version=2.1'] })
    local = cols.body.collections[0].id
    expect((await get(`/taxii2/api/collections/${local}/`)).body.id).toBe(local)
    // Bearer works too; a wrong password or none does not
    expect((await t.api('/taxii2/', { headers: { Accept: TAXII } })).status).toBe(200)
    expect((await get('/taxii2/', { Authorization: `Basic ${Buffer.from('analyst:wrong').toString('base64')}`, Accept: TAXII })).status).toBe(401)
    expect((await get('/taxii2/', { Accept: TAXII })).status).toBe(401)
  })

  it('a read token reads the collections it names and nothing else; revoked, it reads nothing', async () => {
    const circle = (await t.api('/v1/circles', { json: { name: 'GREEN sharing' } })).body.id
    expect((await t.api('/v1/indicators', { json: { value: 'circle-only.taxii.example', tlp: 'GREEN', circle } })).status).toBe(201)
    const made = await t.api('/v1/tokens', { json: { name: 'siem', collections: [circle] } })
    expect(made.status, made.text).toBe(201)
    expect(made.body.token).toMatch(/^pxr_/)
    // kept hashed, in a file only the node's user reads
    const file = join(t.dataDir, 'taxii-tokens.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).not.toContain(made.body.token)
    const as = { Authorization: `Basic ${Buffer.from(`siem:${made.body.token as string}`).toString('base64')}`, Accept: TAXII }
    const cols = await get('/taxii2/api/collections/', as)
    expect(cols.body.collections.map((c: any) => c.title)).toEqual(['GREEN sharing'])
    const objs = await get(`/taxii2/api/collections/${cols.body.collections[0].id}/objects/`, as)
    expect(objs.body.objects.map((o: any) => o.name)).toEqual(['circle-only.taxii.example'])
    // an object is found by its id in its own collection only
    const oid = objs.body.objects[0].id as string
    expect((await get(`/taxii2/api/collections/${cols.body.collections[0].id as string}/objects/${oid}/`, as)).body.objects[0].name).toBe('circle-only.taxii.example')
    expect((await get(`/taxii2/api/collections/${local}/objects/${oid}/`)).status).toBe(404)
    // the private scope is not there for it, and the rest of the API is closed to it
    expect((await get(`/taxii2/api/collections/${local}/objects/`, as)).status).toBe(404)
    expect((await t.api('/v1/status', { token: made.body.token })).status).toBe(401)
    // the admin sees both; the list shows no secret
    expect((await get('/taxii2/api/collections/')).body.collections).toHaveLength(2)
    const list = await t.api('/v1/tokens')
    expect(list.body.tokens).toEqual([{ id: made.body.id, name: 'siem', collections: [circle], created: made.body.created }])
    expect((await t.api('/v1/tokens', { json: { name: 'x', collections: ['c-00000000000000000000'] } })).body.error).toMatchObject({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'collections[0]' })
    expect((await t.api(`/v1/tokens/${made.body.id as string}`, { method: 'DELETE' })).status).toBe(200)
    expect((await get('/taxii2/api/collections/', as)).status).toBe(401)
  })

  it('answers 406 to a request that accepts another media type, and 404 for an unknown collection', async () => {
    const r = await get('/taxii2/api/collections/', { ...basic, Accept: 'application/xml' })
    expect(r.status).toBe(406)
    expect(r.body).toMatchObject({ error_code: 'PX_ERR_NOT_ACCEPTABLE', http_status: '406', details: { field: 'accept' } })
    expect((await get('/taxii2/api/collections/', { ...basic, Accept: 'application/taxii+json;version=2.0' })).status).toBe(406)
    expect((await get('/taxii2/api/collections/00000000-0000-5000-8000-000000000000/objects/')).status).toBe(404)
  })

  it('errors are TAXII error messages in the TAXII media type (title, description, error_code, http_status, details)', async () => {
    const cases: Array<[string, Record<string, string>, number, string, string]> = [
      ['/taxii2/api/collections/00000000-0000-5000-8000-000000000000/objects/', basic, 404, 'PX_ERR_NOT_FOUND', 'id'],
      ['/taxii2/api/collections/', { Accept: TAXII }, 401, 'PX_ERR_UNAUTHORIZED', 'authorization'],
      ['/taxii2/api/nowhere/', basic, 404, 'PX_ERR_NOT_FOUND', 'url'],
      [`/taxii2/api/collections/${local}/objects/?limit=0`, basic, 400, 'PX_ERR_VALIDATION', 'limit'],
      [`/taxii2/api/collections/${local}/objects/?colour=red`, basic, 400, 'PX_ERR_VALIDATION', 'colour']
    ]
    for (const [path, headers, status, code, field] of cases) {
      const r = await get(path, headers)
      expect(r.status, path).toBe(status)
      expect(r.headers.get('content-type'), path).toBe(TAXII)
      expect(r.body, path).toEqual({ title: expect.any(String), description: expect.any(String), error_code: code, http_status: String(status), details: { field } })
      expect(r.body.description.length, path).toBeGreaterThan(5)
    }
    const noAuth = await get('/taxii2/api/collections/', { Accept: TAXII })
    expect(noAuth.headers.get('www-authenticate')).toBe('Basic realm="phalanx-taxii"')
    expect((await get('/taxii2?x=1', { Accept: TAXII })).body).toMatchObject({ error_code: 'PX_ERR_UNAUTHORIZED', http_status: '401' })
    const list = await get(`/taxii2/api/collections/${local}/objects/indicator--0123abcd-0123-5123-8123-0123456789ab,indicator--1123abcd-0123-5123-8123-0123456789ab/`)
    expect([list.status, list.body.details]).toEqual([400, { field: 'objectId' }])
    // the rest of the API keeps its own error body
    expect((await t.api('/v1/nowhere')).body.error).toMatchObject({ code: 'PX_ERR_NOT_FOUND', field: 'url' })
  })

  it('pages through every object exactly once (more/next), with the date-added headers', async () => {
    const seen: string[] = []
    let next: string | undefined
    let pages = 0
    do {
      const r = await get(`/taxii2/api/collections/${local}/objects/?limit=40${next !== undefined ? `&next=${next}` : ''}`)
      expect(r.status, r.text).toBe(200)
      pages++
      for (const o of r.body.objects ?? []) seen.push(o.id)
      if (r.body.objects !== undefined) {
        expect(Date.parse(r.headers.get('x-taxii-date-added-first')!)).not.toBeNaN()
        expect(r.headers.get('x-taxii-date-added-last')! >= r.headers.get('x-taxii-date-added-first')!).toBe(true)
      }
      next = r.body.more === true ? r.body.next : undefined
    } while (next !== undefined && pages < 20)
    expect(seen).toHaveLength(250)
    expect(new Set(seen).size).toBe(250)
    expect(pages).toBe(7)
  })

  it('added_after leaves out what was added before; match[type], match[id], manifest, one object, versions', async () => {
    const first = await get(`/taxii2/api/collections/${local}/manifest/?limit=100`)
    expect(first.body.objects).toHaveLength(100)
    const mid = first.body.objects[99]
    expect(mid).toMatchObject({ media_type: 'application/stix+json;version=2.1' })
    const after = await get(`/taxii2/api/collections/${local}/objects/?added_after=${mid.date_added}&limit=1000`)
    expect(after.body.objects).toHaveLength(150)
    expect(after.body.objects.map((o: any) => o.id)).not.toContain(mid.id)
    expect((await get(`/taxii2/api/collections/${local}/objects/?match[type]=malware`)).body).toEqual({ more: false })
    const one = await get(`/taxii2/api/collections/${local}/objects/?match[id]=${mid.id}`)
    expect(one.body.objects.map((o: any) => o.id)).toEqual([mid.id])
    const obj = await get(`/taxii2/api/collections/${local}/objects/${mid.id}/`)
    expect(obj.body.objects[0]).toMatchObject({ id: mid.id, type: 'indicator', pattern: expect.stringMatching(/^\[ipv4-addr:value = '10\.77\./) })
    const versions = await get(`/taxii2/api/collections/${local}/objects/${mid.id}/versions/`)
    expect(versions.body).toEqual({ more: false, versions: [mid.version] })
    expect((await get(`/taxii2/api/collections/${local}/objects/indicator--00000000-0000-5000-8000-000000000000/`)).status).toBe(404)
    // several ids: found without a scan, paged in the order added, unknown ids left out
    const some = first.body.objects.filter((_o: any, k: number) => k % 10 === 3).map((o: any) => o.id)
    const ids = [...some].reverse().concat(['indicator--0123abcd-0123-5123-8123-0123456789ab', 'indicator--nope']).join(',')
    const p1 = await get(`/taxii2/api/collections/${local}/objects/?match[id]=${ids}&limit=6`)
    expect(p1.body.more).toBe(true)
    const p2 = await get(`/taxii2/api/collections/${local}/objects/?match[id]=${ids}&limit=6&next=${p1.body.next as string}`)
    expect(p2.body.more).toBe(false)
    expect([...p1.body.objects, ...p2.body.objects].map((o: any) => o.id)).toEqual(some)
    expect((await get(`/taxii2/api/collections/${local}/objects/?match[id]=${mid.id.toUpperCase()}`)).body.objects.map((o: any) => o.id)).toEqual([mid.id])
    expect((await get(`/taxii2/api/collections/${local}/objects/?added_after=yesterday`)).body).toMatchObject({ error_code: 'PX_ERR_VALIDATION', details: { field: 'added_after' } })
  })
})
