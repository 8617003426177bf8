/**
 * TAXII 2.1 over real HTTP: discovery, API root, collections (the private scope and each
 * circle), objects with pagination (every object exactly once), added_after, match filters,
 * manifest, one object and its versions, Basic auth, 406 for another media type, TAXII error
 * messages; adding objects (status resources, per-object failures, read tokens refused).
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

let local: string

describe('TAXII 2.1', () => {
  it('discovery, API root and collections, with the TAXII media type and Basic auth', async () => {
    const d = await get('/taxii2/')
    expect(d.status, d.text).toBe(200)
    expect(d.headers.get('content-type')).toBe(TAXII)
    expect(d.body.api_roots).toEqual([`${t.url}/taxii2/api/`])
    const root = await get('/taxii2/api/')
    expect(root.body.versions).toEqual([TAXII])
    const cols = await get('/taxii2/api/collections/')
    expect(cols.body.collections).toHaveLength(1)
    expect(cols.body.collections[0]).toMatchObject({ title: 'Private scope', can_read: true, can_write: true, media_types: ['application/stix+json;version=2.1'] })
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
    expect(list.body.tokens).toEqual([{ id: made.body.id, name: 'siem', collections: [circle], maxTlp: 'AMBER', created: made.body.created }])
    expect((await t.api('/v1/tokens', { json: { name: 'x', collections: ['c-00000000000000000000'] } })).body.error).toMatchObject({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'collections[0]' })
    expect((await t.api(`/v1/tokens/${made.body.id as string}`, { method: 'DELETE' })).status).toBe(200)
    expect((await get('/taxii2/api/collections/', as)).status).toBe(401)
  })

  it('a read token reads up to its maxTlp (default AMBER: AMBER+STRICT stays with the organization)', async () => {
    const circle = (await t.api('/v1/circles', { json: { name: 'TLP caps' } })).body.id
    for (const tlp of ['GREEN', 'AMBER', 'AMBER+STRICT']) {
      expect((await t.api('/v1/indicators', { json: { value: `cap-${tlp.toLowerCase().replace('+', '-')}.taxii.example`, tlp, circle } })).status).toBe(201)
    }
    const names = async (maxTlp?: string): Promise<string[]> => {
      const made = await t.api('/v1/tokens', { json: { name: 'cap', collections: [circle], ...(maxTlp !== undefined ? { maxTlp } : {}) } })
      expect(made.status, made.text).toBe(201)
      const as = { Authorization: `Basic ${Buffer.from(`cap:${made.body.token as string}`).toString('base64')}`, Accept: TAXII }
      const col = (await get('/taxii2/api/collections/', as)).body.collections[0].id
      const objs = (await get(`/taxii2/api/collections/${col as string}/objects/`, as)).body.objects ?? []
      // one object by id obeys the cap too
      const strict = (await get(`/taxii2/api/collections/${col as string}/objects/`)).body.objects.find((o: any) => o.name === 'cap-amber-strict.taxii.example')
      expect((await get(`/taxii2/api/collections/${col as string}/objects/${strict.id as string}/`, as)).status).toBe(maxTlp === 'AMBER+STRICT' ? 200 : 404)
      return objs.map((o: any) => o.name).sort()
    }
    expect(await names()).toEqual(['cap-amber.taxii.example', 'cap-green.taxii.example'])
    expect(await names('GREEN')).toEqual(['cap-green.taxii.example'])
    expect(await names('AMBER+STRICT')).toEqual(['cap-amber-strict.taxii.example', 'cap-amber.taxii.example', 'cap-green.taxii.example'])
    expect((await t.api('/v1/tokens', { json: { name: 'x', collections: [circle], maxTlp: 'RED' } })).body.error).toMatchObject({ field: 'maxTlp' })
    expect((await t.api('/v1/tokens', { json: { name: 'x', collections: [circle], maxTlp: 'PURPLE' } })).body.error).toMatchObject({ field: 'maxTlp' })
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

describe('TAXII 2.1 add objects', () => {
  const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'
  const RED = 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'
  const ind = (n: number, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-02T00:00:00.000Z', pattern, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', ...extra })
  const post = async (path: string, body: unknown, headers: Record<string, string> = basic) =>
    await t.api(path, { token: null, headers, raw: typeof body === 'string' ? body : JSON.stringify(body), contentType: TAXII })
  let circle: string
  let col: string

  beforeAll(async () => {
    circle = (await t.api('/v1/circles', { json: { name: 'TAXII writers' } })).body.id
    col = (await get('/taxii2/api/collections/')).body.collections.find((c: any) => c.title === 'TAXII writers').id
  })

  it('stores the indicators of an envelope in the collection\'s circle, and tells object by object what was not stored and why', async () => {
    const objects = [
      ind(1, "[ipv4-addr:value = '203.0.113.41']", { object_marking_refs: [GREEN], labels: ['c2'] }),
      ind(2, "[domain-name:value = 'pushed.taxii.example'] OR [url:value = 'http://pushed.taxii.example/x']", { object_marking_refs: [GREEN] }),
      ind(3, "[process:name = 'evil.exe']"),
      ind(4, "[ipv4-addr:value = '203.0.113.44']", { object_marking_refs: [RED] }),
      ind(5, "[ipv4-addr:value = '999.0.113.45']"),
      { type: 'marking-definition', spec_version: '2.1', id: RED, created: '2026-01-01T00:00:00.000Z', name: 'TLP:CLEAR', definition_type: 'tlp', definition: { tlp: 'clear' } },
      ind(9, "[ipv4-addr:value = '203.0.113.49']", { object_marking_refs: [RED] }),
      ind(10, "[ipv4-addr:value = '203.0.113.50']", { object_marking_refs: ['marking-definition--33333333-3333-4333-8333-333333333333'] }),
      { type: 'malware', spec_version: '2.1', id: 'malware--00000000-0000-4000-8000-000000000006', name: 'PushRAT', is_family: true },
      { type: 'relationship', spec_version: '2.1', id: 'relationship--00000000-0000-4000-8000-000000000007', relationship_type: 'indicates', source_ref: 'indicator--00000000-0000-4000-8000-000000000001', target_ref: 'malware--00000000-0000-4000-8000-000000000006' },
      { type: 'threat-actor', spec_version: '2.1', id: 'threat-actor--00000000-0000-4000-8000-000000000008', name: 'Nobody' }
    ]
    const r = await post(`/taxii2/api/collections/${col}/objects/`, { objects })
    expect(r.status, r.text).toBe(202)
    expect(r.headers.get('content-type')).toBe(TAXII)
    expect(r.body).toMatchObject({ status: 'complete', total_count: 11, success_count: 5, failure_count: 6, pending_count: 0, pendings: [] })
    expect(r.body.successes.map((s: any) => s.id)).toEqual([objects[0].id, objects[1].id, objects[5].id, objects[8].id, objects[9].id])
    expect(r.body.successes[0].version).toBe('2026-01-02T00:00:00.000Z')
    const why = Object.fromEntries(r.body.failures.map((f: any) => [f.id, f.message]))
    expect(why[objects[2].id as string]).toMatch(/unsupported STIX pattern/)
    expect(why[objects[3].id as string]).toMatch(/RED never goes to a circle/)
    expect(why[objects[4].id as string]).toMatch(/^value: /)
    expect(why[objects[10].id as string]).toMatch(/not linked to an imported one/)
    // a bundle cannot make TLP:RED mean CLEAR, and a marking we cannot read is never guessed
    expect(why[objects[6].id as string]).toMatch(/RED never goes to a circle/)
    expect(why[objects[7].id as string]).toMatch(/its TLP cannot be told/)
    // the status stays readable
    expect((await get(`/taxii2/api/status/${r.body.id as string}/`)).body).toEqual(r.body)
    // stored in the circle, with the TLP of the marking; the malware it indicates is context
    // kept in a report made for the envelope (issue 16), not a tag
    const look = await t.api('/v1/lookup?value=203.0.113.41')
    expect(look.body.matches).toHaveLength(1)
    expect(look.body.matches[0]).toMatchObject({ circle, tlp: 'GREEN', tags: ['c2'] })
    const made = (await t.api(`/v1/reports?circle=${circle}`)).body.reports.find((x: any) => x.malware?.includes('PushRAT'))
    expect(made).toMatchObject({ title: 'STIX context: PushRAT', type: 'analysis', indicatorCount: 1 })
    expect((await t.api('/v1/lookup?value=http://pushed.taxii.example/x')).body.found).toBe(true)
    expect((await t.api('/v1/lookup?value=203.0.113.44')).body.found).toBe(false)
    // and served back by the collection
    const names = (await get(`/taxii2/api/collections/${col}/objects/`)).body.objects.map((o: any) => o.name)
    expect(names).toEqual(expect.arrayContaining(['203.0.113.41', 'pushed.taxii.example', 'http://pushed.taxii.example/x']))
  })

  it('a revoked indicator revokes this node\'s indicator of that value in the collection', async () => {
    const objects = [ind(11, "[domain-name:value = 'withdrawn.taxii.example']", { object_marking_refs: [GREEN] })]
    expect((await post(`/taxii2/api/collections/${col}/objects/`, { objects })).body.success_count).toBe(1)
    const r = await post(`/taxii2/api/collections/${col}/objects/`, { objects: [{ ...objects[0], modified: '2026-02-01T00:00:00.000Z', revoked: true }] })
    expect(r.body).toMatchObject({ success_count: 1, failure_count: 0 })
    expect((await t.api('/v1/lookup?value=withdrawn.taxii.example')).body.found).toBe(false)
    expect((await t.api('/v1/lookup?value=withdrawn.taxii.example&include_revoked=true')).body.matches[0].revoked).toBeDefined()
    // in one envelope: the same value twice, then withdrawn, in that order
    const again = ind(13, "[domain-name:value = 'twice.taxii.example']", { object_marking_refs: [GREEN] })
    const both = await post(`/taxii2/api/collections/${col}/objects/`, { objects: [again, { ...again, id: 'indicator--00000000-0000-4000-8000-000000000014' }, { ...again, modified: '2026-03-01T00:00:00.000Z', revoked: true }] })
    expect(both.body).toMatchObject({ success_count: 3, failure_count: 0 })
    expect((await t.api('/v1/lookup?value=twice.taxii.example&include_revoked=true')).body.matches.map((m: any) => m.revoked !== undefined)).toEqual([true])
    // a status names a version for every object: modified, else created, else the request's time
    const bare = await post(`/taxii2/api/collections/${col}/objects/`, { objects: [{ type: 'indicator', id: 'indicator--00000000-0000-4000-8000-000000000015', pattern: "[domain-name:value = 'bare.taxii.example']" }] })
    expect(bare.body.successes).toEqual([{ id: 'indicator--00000000-0000-4000-8000-000000000015', version: bare.body.request_timestamp }])
    // a value it never stored in this collection is a failure, with the reason
    const none = await post(`/taxii2/api/collections/${col}/objects/`, { objects: [ind(12, "[domain-name:value = 'never.taxii.example']", { revoked: true })] })
    expect(none.body.failures[0].message).toMatch(/not stored in this collection/)
  })

  it('what one node serves, another node adds: objects pulled from the private scope go into a circle unchanged', async () => {
    const pulled = (await get(`/taxii2/api/collections/${local}/objects/?limit=50`)).body.objects
    const r = await post(`/taxii2/api/collections/${col}/objects/`, { objects: pulled })
    expect(r.body).toMatchObject({ total_count: 50, success_count: 50, failure_count: 0 })
    const back = (await get(`/taxii2/api/collections/${col}/objects/?limit=1000`)).body.objects
    expect(back.map((o: any) => o.pattern)).toEqual(expect.arrayContaining(pulled.map((o: any) => o.pattern)))
  })

  it('refuses a read token (403), another media type (415), and a malformed envelope with the field named, storing nothing', async () => {
    const before = (await t.api('/v1/status')).body.counts
    const made = await t.api('/v1/tokens', { json: { name: 'reader', collections: [circle] } })
    const as = { Authorization: `Basic ${Buffer.from(`r:${made.body.token as string}`).toString('base64')}`, Accept: TAXII }
    expect((await get('/taxii2/api/collections/', as)).body.collections[0].can_write).toBe(false)
    expect((await get('/taxii2/api/collections/')).body.collections.every((c: any) => c.can_write === true)).toBe(true)
    const envelope = { objects: [ind(21, "[ipv4-addr:value = '203.0.113.99']")] }
    const cases: Array<[string, Record<string, unknown>, number, string, string]> = [
      ['read token', { body: envelope, headers: as }, 403, 'PX_ERR_FORBIDDEN', 'authorization'],
      ['application/json', { raw: JSON.stringify(envelope), contentType: 'application/json' }, 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE', 'content-type'],
      ['TAXII 2.0', { raw: JSON.stringify(envelope), contentType: 'application/taxii+json;version=2.0' }, 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE', 'content-type'],
      ['truncated JSON', { body: '{"objects": [{"type": "indicator"' }, 400, 'PX_ERR_BAD_JSON', 'body'],
      ['no objects', { body: { more: false } }, 400, 'PX_ERR_VALIDATION', 'objects'],
      ['an object without id', { body: { objects: [envelope.objects[0], { type: 'indicator', pattern: "[ipv4-addr:value = '203.0.113.98']" }] } }, 400, 'PX_ERR_VALIDATION', 'objects[1].id'],
      ['text/plain', { raw: JSON.stringify(envelope), contentType: 'text/plain' }, 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE', 'content-type'],
      ['an over-long id', { body: { objects: [{ ...envelope.objects[0], id: `indicator--${'a'.repeat(300)}` }] } }, 400, 'PX_ERR_VALIDATION', 'objects[0].id'],
      ['over 10 MiB', { body: { objects: [{ ...envelope.objects[0], description: 'x'.repeat(11 * 1024 * 1024) }] } }, 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'body']
    ]
    for (const [name, c, status, code, field] of cases) {
      const r = c.raw !== undefined
        ? await t.api(`/taxii2/api/collections/${col}/objects/`, { token: null, headers: basic, raw: c.raw as string, contentType: c.contentType as string })
        : await post(`/taxii2/api/collections/${col}/objects/`, c.body, (c.headers as Record<string, string>) ?? basic)
      expect([r.status, r.body?.error_code, r.body?.details?.field], name).toEqual([status, code, field])
      if (status === 415) expect(r.body.description, name).toContain(TAXII)
      if (status === 413) expect(r.body.description, name).toContain(`${10 * 1024 * 1024}-byte`)
    }
    expect((await post(`/taxii2/api/collections/00000000-0000-5000-8000-000000000000/objects/`, envelope)).status).toBe(404)
    expect((await get('/taxii2/api/status/00000000-0000-4000-8000-000000000000/')).status).toBe(404)
    expect((await t.api('/v1/status')).body.counts).toEqual(before)
  })

  it('a node with a lower API body limit advertises and enforces it for adds', async () => {
    const small = await startTestNode({ flags: { api: { bodyLimitBytes: 65536 } } })
    try {
      const h = { Authorization: `Basic ${Buffer.from(`a:${small.token}`).toString('base64')}`, Accept: TAXII }
      expect((await small.api('/taxii2/api/', { token: null, headers: h })).body.max_content_length).toBe(65536)
      const priv = (await small.api('/taxii2/api/collections/', { token: null, headers: h })).body.collections[0].id
      const big = { objects: [ind(31, "[ipv4-addr:value = '203.0.113.31']", { description: 'x'.repeat(70_000) })] }
      const r = await small.api(`/taxii2/api/collections/${priv as string}/objects/`, { token: null, headers: h, raw: JSON.stringify(big), contentType: TAXII })
      expect([r.status, r.body.error_code, r.body.description]).toEqual([413, 'PX_ERR_PAYLOAD_TOO_LARGE', expect.stringContaining('65536-byte')])
    } finally {
      await small.stop()
    }
  })
})
