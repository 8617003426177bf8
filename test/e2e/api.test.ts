/**
 * The local HTTP API end to end: a real node (identity, LevelDB, fastify on a free port),
 * driven with fetch. Auth, the OpenAPI document, every validation error naming its field,
 * size limits, publish/lookup/revoke/sightings, pagination under concurrent writes, metrics.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js'
import { createApiServer } from '../../src/api/index.js'
import { startTestNode, type ApiResponse, type TestNode } from '../utils/node.js'

const API_MD = fileURLToPath(new URL('../../docs/API.md', import.meta.url))
const HEX32 = /^[0-9a-f]{32}$/
const UNKNOWN_ID = '0123456789abcdef0123456789abcdef'

function expectError (res: ApiResponse, status: number, code: ErrorCode, field?: string): void {
  expect(res.status, res.text).toBe(status)
  expect(res.isJson, res.text).toBe(true)
  expect(res.body.error.code, res.text).toBe(code)
  expect(typeof res.body.error.message).toBe('string')
  expect(res.body.error.message.length).toBeGreaterThan(0)
  if (field !== undefined) expect(res.body.error.field, res.text).toBe(field)
}

interface Counts { entries: number, indicators: number, revoked: number, sightings: number }

async function counts (t: TestNode): Promise<Counts> {
  const res = await t.api('/v1/status')
  expect(res.status).toBe(200)
  return res.body.counts
}

/** every (method, path) the server registers, HEAD left out, paths in OpenAPI form */
async function registeredRoutes (t: TestNode): Promise<Array<{ method: string, path: string }>> {
  const server = createApiServer(t.node)
  try {
    await server.app.ready()
    const tree = server.app.printRoutes({ commonPrefix: false })
    const out: Array<{ method: string, path: string }> = []
    const stack: Array<{ depth: number, path: string }> = []
    for (const line of tree.split('\n')) {
      const m = /^([\s│]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line)
      if (m === null) continue
      const depth = m[1].length
      while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop()
      const path = (stack.length > 0 ? stack[stack.length - 1].path : '') + m[2]
      stack.push({ depth, path })
      if (m[3] === undefined) continue
      for (const method of m[3].split(',').map(s => s.trim())) {
        if (method !== 'HEAD' && method !== '-') out.push({ method, path: path.replace(/:(\w+)/g, '{$1}') })
      }
    }
    return out
  } finally {
    await server.app.close()
  }
}

describe('API over HTTP', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t?.stop() })

  describe('auth', () => {
    it('refuses a request without Authorization with 401, PX_ERR_UNAUTHORIZED and WWW-Authenticate', async () => {
      const res = await t.api('/v1/status', { token: null })
      expectError(res, 401, 'PX_ERR_UNAUTHORIZED', 'authorization')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
    })

    it('refuses a wrong token', async () => {
      const res = await t.api('/v1/status', { token: t.token.slice(0, -2) + (t.token.endsWith('aa') ? 'bb' : 'aa') })
      expectError(res, 401, 'PX_ERR_UNAUTHORIZED')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
    })

    it('refuses the Basic scheme even with the right token in it', async () => {
      for (const value of [`Basic ${Buffer.from(`phalanx:${t.token}`).toString('base64')}`, `Basic ${t.token}`]) {
        const res = await t.api('/v1/status', { token: null, headers: { Authorization: value } })
        expectError(res, 401, 'PX_ERR_UNAUTHORIZED')
      }
    })

    it('refuses "Bearer" with no token and a token with extra words', async () => {
      for (const value of ['Bearer', 'Bearer ', `Bearer ${t.token} extra`, `${t.token}`]) {
        const res = await t.api('/v1/status', { token: null, headers: { Authorization: value } })
        expectError(res, 401, 'PX_ERR_UNAUTHORIZED')
      }
    })

    it('accepts the right token, with the scheme in any case', async () => {
      expect((await t.api('/v1/status')).status).toBe(200)
      const res = await t.api('/v1/status', { token: null, headers: { Authorization: `bearer ${t.token}` } })
      expect(res.status).toBe(200)
      expect(res.body.publicKey).toBe(t.node.identity.publicKey)
    })

    it('guards every route but /v1/openapi.json, unknown routes included', async () => {
      const routes = await registeredRoutes(t)
      expect(routes.length).toBeGreaterThanOrEqual(8)
      for (const r of [...routes, { method: 'GET', path: '/v1/no-such-route' }]) {
        const path = r.path.replace('{id}', UNKNOWN_ID)
        const res = await t.api(path, { token: null, method: r.method, ...(r.method === 'POST' ? { json: { value: '192.0.2.1' } } : {}) })
        if (r.path === '/v1/openapi.json') expect(res.status, `${r.method} ${path}`).toBe(200)
        else if (r.path.startsWith('/taxii2/')) expect([res.status, res.body.error_code], `${r.method} ${path}`).toEqual([401, 'PX_ERR_UNAUTHORIZED'])
        else expectError(res, 401, 'PX_ERR_UNAUTHORIZED')
      }
      // the refused writes stored nothing
      expect((await counts(t)).entries).toBe(0)
    })
  })

  describe('OpenAPI document', () => {
    it('is served without a token as JSON', async () => {
      const res = await t.api('/v1/openapi.json', { token: null })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.isJson).toBe(true)
      expect(res.body.openapi).toMatch(/^3\.1\./)
      expect(res.body.info.version).toBe(t.node.version)
    })

    it('has a path and method for every route the server registers', async () => {
      const doc = (await t.api('/v1/openapi.json', { token: null })).body
      const routes = await registeredRoutes(t)
      const expected = ['GET /v1/status', 'POST /v1/indicators', 'GET /v1/indicators', 'GET /v1/indicators/{id}', 'POST /v1/indicators/{id}/revoke', 'GET /v1/lookup', 'POST /v1/sightings', 'GET /v1/openapi.json', 'GET /metrics']
      const seen = routes.map(r => `${r.method} ${r.path}`)
      // the route parser must see at least the routes we know of (guards the parser itself)
      for (const e of expected) expect(seen).toContain(e)
      for (const r of routes) {
        expect(doc.paths[r.path], `${r.path} is not in the OpenAPI document`).toBeDefined()
        expect(doc.paths[r.path][r.method.toLowerCase()], `${r.method} ${r.path} is not in the OpenAPI document`).toBeDefined()
        expect(Object.keys(doc.paths[r.path][r.method.toLowerCase()].responses ?? {}).length).toBeGreaterThan(0)
      }
      // and documents nothing the server does not serve
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
        for (const method of Object.keys(ops)) expect(seen, `${method} ${path}`).toContain(`${method.toUpperCase()} ${path}`)
      }
    })

    it('lists every code of ERROR_CODES in the ErrorCode enum, with its status', async () => {
      const doc = (await t.api('/v1/openapi.json', { token: null })).body
      const schema = doc.components.schemas.ErrorCode
      expect([...schema.enum].sort()).toEqual(Object.keys(ERROR_CODES).sort())
      for (const [code, info] of Object.entries(ERROR_CODES)) {
        expect(schema.description).toContain(`${code} (${info.status})`)
      }
    })

    it('docs/API.md mentions every error code', () => {
      expect(existsSync(API_MD), 'docs/API.md is missing').toBe(true)
      const md = readFileSync(API_MD, 'utf8')
      const missing = Object.keys(ERROR_CODES).filter(code => !new RegExp(`\\b${code}\\b`).test(md))
      expect(missing, `codes missing from docs/API.md: ${missing.join(', ')}`).toEqual([])
    })
  })

  describe('validation: each malformed field is a 400 naming it, and stores nothing', () => {
    let before: Counts
    beforeAll(async () => { before = await counts(t) })
    afterAll(async () => { expect(await counts(t)).toEqual(before) })

    const base = { type: 'ipv4', value: '192.0.2.10' }
    const single: Array<[string, unknown, string]> = [
      ['unknown type', { ...base, type: 'ipv7' }, 'type'],
      ['type not a string', { ...base, type: 4 }, 'type'],
      ['value missing', { type: 'ipv4' }, 'value'],
      ['value not a string', { type: 'ipv4', value: 192 }, 'value'],
      ['value empty', { type: 'domain', value: '   ' }, 'value'],
      ['value too long', { type: 'url', value: 'http://x.example/' + 'a'.repeat(3000) }, 'value'],
      ['ipv4 octet over 255', { type: 'ipv4', value: '256.1.1.1' }, 'value'],
      ['ipv4 with three parts', { type: 'ipv4', value: '10.1.1' }, 'value'],
      ['ipv4 in hex', { type: 'ipv4', value: '0x7f.0.0.1' }, 'value'],
      ['ipv6 with a bad group', { type: 'ipv6', value: '2001:db8::g' }, 'value'],
      ['ipv6 given an ipv4', { type: 'ipv6', value: '192.0.2.1' }, 'value'],
      ['cidr without prefix', { type: 'cidr', value: '10.0.0.0' }, 'value'],
      ['cidr prefix 33', { type: 'cidr', value: '10.0.0.0/33' }, 'value'],
      ['domain with a space', { type: 'domain', value: 'exa mple.com' }, 'value'],
      ['domain with one label', { type: 'domain', value: 'localhost' }, 'value'],
      ['domain with an empty label', { type: 'domain', value: 'a..example.com' }, 'value'],
      ['url with a javascript scheme', { type: 'url', value: 'javascript:alert(1)' }, 'value'],
      ['url without host', { type: 'url', value: 'http://' }, 'value'],
      ['email without @', { type: 'email', value: 'nobody.example.com' }, 'value'],
      ['email with two @', { type: 'email', value: 'a@b@example.com' }, 'value'],
      ['md5 not hex', { type: 'md5', value: 'z'.repeat(32) }, 'value'],
      ['sha1 too short', { type: 'sha1', value: 'a'.repeat(39) }, 'value'],
      ['sha256 given a md5', { type: 'sha256', value: 'd41d8cd98f00b204e9800998ecf8427e' }, 'value'],
      ['sha512 too long', { type: 'sha512', value: 'a'.repeat(130) }, 'value'],
      ['cve malformed', { type: 'cve', value: 'CVE-21-1' }, 'value'],
      ['asn out of range', { type: 'asn', value: 'AS4294967296' }, 'value'],
      ['ja3 too short', { type: 'ja3', value: 'abc' }, 'value'],
      ['unknown tlp', { ...base, tlp: 'PURPLE' }, 'tlp'],
      ['tlp not a string', { ...base, tlp: 2 }, 'tlp'],
      ['confidence 101', { ...base, confidence: 101 }, 'confidence'],
      ['confidence -1', { ...base, confidence: -1 }, 'confidence'],
      ['confidence "x"', { ...base, confidence: 'x' }, 'confidence'],
      ['confidence "50"', { ...base, confidence: '50' }, 'confidence'],
      ['confidence 50.5', { ...base, confidence: 50.5 }, 'confidence'],
      ['tags a number', { ...base, tags: 5 }, 'tags'],
      ['tags an object', { ...base, tags: { a: 'b' } }, 'tags'],
      ['tags[1] not a string', { ...base, tags: ['ok', 7] }, 'tags[1]'],
      ['tags[1] null', { ...base, tags: ['ok', null] }, 'tags[1]'],
      ['tags[0] too long', { ...base, tags: ['x'.repeat(129)] }, 'tags[0]'],
      ['tags[2] with a control character', { ...base, tags: ['a', 'b', 'c\u0007d'] }, 'tags[2]'],
      ['too many tags', { ...base, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, 'tags'],
      ['description not a string', { ...base, description: ['x'] }, 'description'],
      ['description too long', { ...base, description: 'd'.repeat(4097) }, 'description'],
      ['unknown field', { ...base, colour: 'red' }, 'colour'],
      ['misspelled field', { ...base, confidance: 50 }, 'confidance'],
      ['validFrom not a date', { ...base, validFrom: 'yesterday' }, 'validFrom'],
      ['validUntil before validFrom', { ...base, validFrom: '2026-01-02T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'validUntil'],
      ['validUntil equal to validFrom', { ...base, validFrom: '2026-01-02', validUntil: '2026-01-02' }, 'validUntil'],
      ['lastSeen before firstSeen', { ...base, firstSeen: '2026-01-02', lastSeen: '2026-01-01' }, 'lastSeen'],
      ['firstSeen before 1970', { ...base, firstSeen: -1 }, 'firstSeen'],
      ['circle not a circle id', { ...base, circle: { toString: 1 } }, 'circle']
    ]
    it.each(single)('POST /v1/indicators: %s', async (_name, body, field) => {
      expectError(await t.api('/v1/indicators', { json: body }), 400, 'PX_ERR_VALIDATION', field)
    })

    const valid = (i: number): Record<string, unknown> => ({ type: 'domain', value: `bulk-refused-${i}.example.com` })
    const bulk: Array<[string, unknown, string]> = [
      ['indicators not an array', { indicators: 'nope' }, 'indicators'],
      ['indicators an object', { indicators: { 0: valid(0) } }, 'indicators'],
      ['indicators empty', { indicators: [] }, 'indicators'],
      ['item 3 with a bad value', { indicators: [valid(0), valid(1), valid(2), { type: 'ipv4', value: '1.2.3.999' }, valid(4)] }, 'indicators[3].value'],
      ['item 0 not an object', { indicators: ['evil.example.com'] }, 'indicators[0]'],
      ['item 1 with an unknown field', { indicators: [valid(0), { ...valid(1), severity: 'high' }] }, 'indicators[1].severity'],
      ['item 2 with tags[0] a number', { indicators: [valid(0), valid(1), { ...valid(2), tags: [1] }] }, 'indicators[2].tags[0]'],
      ['item 1 with a bad tlp', { indicators: [valid(0), { ...valid(1), tlp: 'BLUE' }] }, 'indicators[1].tlp'],
      ['bulk tlp unknown', { indicators: [valid(0)], tlp: 'BLUE' }, 'tlp'],
      ['bulk circle not a string', { indicators: [valid(0)], circle: 3 }, 'circle'],
      ['bulk with an unknown field', { indicators: [valid(0)], defaults: {} }, 'defaults']
    ]
    it.each(bulk)('POST /v1/indicators bulk: %s', async (_name, body, field) => {
      expectError(await t.api('/v1/indicators', { json: body }), 400, 'PX_ERR_VALIDATION', field)
    })

    it('a bulk publish with one bad item stores none of its good items', async () => {
      const c0 = await counts(t)
      const res = await t.api('/v1/indicators', { json: { indicators: [valid(10), valid(11), valid(12), { type: 'ipv4', value: '300.1.1.1' }] } })
      expectError(res, 400, 'PX_ERR_VALIDATION', 'indicators[3].value')
      expect(await counts(t)).toEqual(c0)
      for (const i of [10, 11, 12]) {
        const look = await t.api(`/v1/lookup?value=bulk-refused-${i}.example.com`)
        expect(look.status).toBe(200)
        expect(look.body.found).toBe(false)
      }
    })

    it('NDJSON: a bad line is PX_ERR_BAD_JSON naming its item, a bad item names its field', async () => {
      const badLine = '{"value":"nd-refused-1.example.com"}\n{"value": nope}\n'
      expectError(await t.api('/v1/indicators', { raw: badLine, contentType: 'application/x-ndjson' }), 400, 'PX_ERR_BAD_JSON', 'indicators[1]')
      const badItem = '{"value":"nd-refused-1.example.com"}\n\n{"type":"md5","value":"abc"}\n'
      expectError(await t.api('/v1/indicators', { raw: badItem, contentType: 'application/x-ndjson' }), 400, 'PX_ERR_VALIDATION', 'indicators[1].value')
      expectError(await t.api('/v1/indicators', { raw: '\n \n', contentType: 'application/x-ndjson' }), 400, 'PX_ERR_VALIDATION', 'indicators')
    })

    it('a deeply nested value where a string belongs is a 400, not a crash', async () => {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000)
      expectError(await t.api('/v1/indicators', { raw: `{"type":${deep},"value":"192.0.2.1"}` }), 400, 'PX_ERR_VALIDATION', 'type')
      expectError(await t.api('/v1/indicators', { raw: `{"indicators":[{"value":"192.0.2.1"},{"type":${deep},"value":"192.0.2.1"}]}` }), 400, 'PX_ERR_VALIDATION', 'indicators[1].type')
      expectError(await t.api('/v1/sightings', { raw: `{"type":${deep},"value":"192.0.2.1"}` }), 400, 'PX_ERR_VALIDATION', 'type')
      const deepObject = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)
      for (const field of ['tlp', 'confidence', 'tags', 'description', 'validFrom', 'circle']) {
        expectError(await t.api('/v1/indicators', { raw: `{"value":"192.0.2.1","${field}":${deepObject}}` }), 400, 'PX_ERR_VALIDATION', field)
      }
      expectError(await t.api('/v1/indicators', { raw: `{"value":"192.0.2.1","tags":${deep}}` }), 400, 'PX_ERR_VALIDATION', 'tags[0]')
      for (const field of ['count', 'note', 'tlp', 'circle', 'firstSeen']) {
        expectError(await t.api('/v1/sightings', { raw: `{"value":"192.0.2.1","${field}":${deep}}` }), 400, 'PX_ERR_VALIDATION', field)
      }
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}/revoke`, { raw: `{"reason":${deep}}` }), 400, 'PX_ERR_VALIDATION', 'reason')
    })

    it('a string with a lone surrogate is a 400 naming it, not a crash when the entry is signed', async () => {
      const cases: Array<[string, string, string, string?]> = [
        ['/v1/indicators', '{"value":"ls-1.example.com","tags":"\\ud800"}', 'tags'],
        ['/v1/indicators', '{"value":"ls-2.example.com","tags":["ok","x\\udfff"]}', 'tags[1]'],
        ['/v1/indicators', '{"value":"ls-3.example.com","description":"a\\ud800b"}', 'description'],
        ['/v1/indicators', '{"type":"email","value":"\\ud800@example.com"}', 'value'],
        ['/v1/indicators', '{"indicators":[{"value":"ls-4.example.com"},{"value":"ls-5.example.com","tags":["\\udc00"]}]}', 'indicators[1].tags[0]'],
        ['/v1/indicators', '{"value":"ls-6.example.com","\\ud800":1}', '\ud800'],
        ['/v1/indicators', '{"value":"ls-7.example.com"}\n{"value":"ls-8.example.com","description":"\\ud800"}', 'indicators[1].description', 'application/x-ndjson'],
        ['/v1/sightings', '{"value":"192.0.2.1","note":"\\ud800"}', 'note'],
        [`/v1/indicators/${UNKNOWN_ID}/revoke`, '{"reason":"\\ud800"}', 'reason']
      ]
      for (const [path, raw, field, contentType] of cases) {
        expectError(await t.api(path, { raw, ...(contentType !== undefined ? { contentType } : {}) }), 400, 'PX_ERR_VALIDATION', field)
      }
    })

    it('invalid JSON is 400 PX_ERR_BAD_JSON', async () => {
      for (const raw of ['{"value": ', '{value: "1.2.3.4"}', "{'value':'x'}", '{"value":"1.2.3.4"}}', 'nul']) {
        expectError(await t.api('/v1/indicators', { raw }), 400, 'PX_ERR_BAD_JSON', 'body')
      }
      expectError(await t.api('/v1/sightings', { raw: '[1,' }), 400, 'PX_ERR_BAD_JSON', 'body')
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}/revoke`, { raw: '{"reason":' }), 400, 'PX_ERR_BAD_JSON', 'body')
    })

    it('an empty JSON body is 400 PX_ERR_BAD_JSON', async () => {
      expectError(await t.api('/v1/indicators', { raw: '' }), 400, 'PX_ERR_BAD_JSON', 'body')
    })

    it('a prototype-poisoning key is refused as bad JSON', async () => {
      expectError(await t.api('/v1/indicators', { raw: '{"value":"192.0.2.1","__proto__":{"admin":true}}' }), 400, 'PX_ERR_BAD_JSON')
      expectError(await t.api('/v1/indicators', { raw: '{"value":"192.0.2.1","constructor":{"prototype":{"admin":true}}}' }), 400, 'PX_ERR_BAD_JSON')
    })

    it('a body that is JSON but not an object is a 400 naming body', async () => {
      for (const raw of ['"192.0.2.1"', '[{"value":"192.0.2.1"}]', '42', 'null', 'true']) {
        expectError(await t.api('/v1/indicators', { raw }), 400, 'PX_ERR_VALIDATION', 'body')
      }
    })

    it('a text/plain body is 415 PX_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
      expectError(await t.api('/v1/indicators', { raw: '{"value":"192.0.2.1"}', contentType: 'text/plain' }), 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE', 'content-type')
      expectError(await t.api('/v1/indicators', { raw: 'value=192.0.2.1', contentType: 'application/x-www-form-urlencoded' }), 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE')
      expectError(await t.api('/v1/sightings', { raw: '{"value":"192.0.2.1"}', contentType: 'text/plain' }), 415, 'PX_ERR_UNSUPPORTED_MEDIA_TYPE')
    })

    const queries: Array<[string, string]> = [
      ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'], ['limit=-1', 'limit'], ['limit=1.5', 'limit'],
      ['limit=', 'limit'], ['limit=10&limit=20', 'limit'],
      ['cursor=zzz', 'cursor'], ['cursor=0123456789ABCD', 'cursor'], ['cursor=' + 'f'.repeat(15), 'cursor'],
      ['colour=red', 'colour'], ['value=192.0.2.1&page=2', 'page'],
      ['since=yesterday', 'since'], ['since=2026-13-01', 'since'], ['until=soon', 'until'],
      ['since=2026-02-01&until=2026-01-01', 'until'],
      ['type=ipv7', 'type'], ['tlp=PURPLE', 'tlp'], ['tlp=AMBER,', 'tlp'], ['origin=abc', 'origin'],
      ['include_revoked=maybe', 'include_revoked'], ['include_expired=2', 'include_expired'],
      ['value=', 'value'], ['type=ipv4&value=example.com', 'value'], ['value=%21%21%21', 'value'],
      ['tag=%20', 'tag']
    ]
    it.each(queries)('GET /v1/indicators?%s → field %s', async (qs, field) => {
      expectError(await t.api(`/v1/indicators?${qs}`), 400, 'PX_ERR_VALIDATION', field)
    })

    const lookups: Array<[string, string]> = [
      ['', 'value'], ['value=', 'value'], ['type=ipv4', 'value'], ['value=%20%20', 'value'],
      ['value=not%20a%20thing', 'value'], ['value=%21%40%23', 'value'], ['value=' + 'a'.repeat(2049), 'value'],
      ['value=192.0.2.1&type=ipv7', 'type'], ['value=192.0.2.1&type=domain', 'value'],
      ['value=192.0.2.1&value=192.0.2.2', 'value'], ['value=192.0.2.1&limit=5', 'limit'],
      ['value=192.0.2.1&include_revoked=yes', 'include_revoked']
    ]
    it.each(lookups)('GET /v1/lookup?%s → field %s', async (qs, field) => {
      expectError(await t.api(`/v1/lookup?${qs}`), 400, 'PX_ERR_VALIDATION', field)
    })

    it('GET /v1/indicators/:id: a malformed id is 400, an unknown one 404', async () => {
      for (const id of ['xyz', UNKNOWN_ID.toUpperCase(), UNKNOWN_ID + '0', UNKNOWN_ID.slice(1)]) {
        expectError(await t.api(`/v1/indicators/${id}`), 400, 'PX_ERR_VALIDATION', 'id')
      }
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}`), 404, 'PX_ERR_NOT_FOUND', 'id')
    })

    it('a path that is not valid percent-encoding, or an over-long id, is a JSON 400', async () => {
      expectError(await t.api('/v1/indicators/%zz'), 400, 'PX_ERR_VALIDATION', 'url')
      expectError(await t.api('/v1/indicators/%E0%A4%A/revoke', { method: 'POST' }), 400, 'PX_ERR_VALIDATION', 'url')
      expectError(await t.api(`/v1/indicators/${'a'.repeat(500)}`), 400, 'PX_ERR_VALIDATION')
    })

    it('a URL over the HTTP parser\'s 16 KiB limit is a JSON 413, and the node still answers', async () => {
      const res = await t.api(`/v1/lookup?value=${'a'.repeat(20_000)}.example.com`)
      expectError(res, 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'url')
      expect((await t.api('/v1/status')).status).toBe(200)
    })

    it('an unknown route is a JSON 404', async () => {
      expectError(await t.api('/v1/nothing-here'), 404, 'PX_ERR_NOT_FOUND', 'url')
      expectError(await t.api('/v1/status', { method: 'DELETE' }), 404, 'PX_ERR_NOT_FOUND')
    })

    it('revoke: an unknown id is 404, a malformed one 400, a bad body 400', async () => {
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}/revoke`, { method: 'POST' }), 404, 'PX_ERR_NOT_FOUND', 'id')
      expectError(await t.api('/v1/indicators/nope/revoke', { method: 'POST' }), 400, 'PX_ERR_VALIDATION', 'id')
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}/revoke`, { json: { why: 'x' } }), 400, 'PX_ERR_VALIDATION', 'why')
      expectError(await t.api(`/v1/indicators/${UNKNOWN_ID}/revoke`, { json: ['x'] }), 400, 'PX_ERR_VALIDATION', 'body')
    })

    const sightings: Array<[string, unknown, string]> = [
      ['not an object', ['192.0.2.1'], ''],
      ['value missing', { count: 1 }, 'value'],
      ['value undetectable', { value: '%%%' }, 'value'],
      ['value bad for its type', { type: 'ipv4', value: '1.2.3.4.5' }, 'value'],
      ['type unknown', { type: 'ip', value: '192.0.2.1' }, 'type'],
      ['count 0', { value: '192.0.2.1', count: 0 }, 'count'],
      ['count "3"', { value: '192.0.2.1', count: '3' }, 'count'],
      ['count 1.5', { value: '192.0.2.1', count: 1.5 }, 'count'],
      ['firstSeen not a date', { value: '192.0.2.1', firstSeen: 'now' }, 'firstSeen'],
      ['lastSeen before firstSeen', { value: '192.0.2.1', firstSeen: '2026-01-02', lastSeen: '2026-01-01' }, 'lastSeen'],
      ['note not a string', { value: '192.0.2.1', note: 5 }, 'note'],
      ['tlp unknown', { value: '192.0.2.1', tlp: 'GRAY' }, 'tlp'],
      ['circle an object that cannot print', { value: '192.0.2.1', circle: { toString: 1 } }, 'circle'],
      ['unknown field', { value: '192.0.2.1', seen: 3 }, 'seen']
    ]
    it.each(sightings)('POST /v1/sightings: %s', async (_name, body, field) => {
      expectError(await t.api('/v1/sightings', { json: body }), 400, 'PX_ERR_VALIDATION', field)
    })

    it('a circle this node is not in is a 404 naming the field, for publishes and sightings', async () => {
      expectError(await t.api('/v1/indicators', { json: { value: '192.0.2.1', circle: 'no-such-circle' } }), 404, 'PX_ERR_UNKNOWN_CIRCLE', 'circle')
      expectError(await t.api('/v1/indicators', { json: { indicators: [{ value: '192.0.2.1' }], circle: 'no-such-circle' } }), 404, 'PX_ERR_UNKNOWN_CIRCLE', 'circle')
      expectError(await t.api('/v1/sightings', { json: { value: '192.0.2.1', circle: 'elsewhere' } }), 404, 'PX_ERR_UNKNOWN_CIRCLE', 'circle')
    })
  })

  describe('size limits', () => {
    it('10,001 indicators in one call are 413 and store nothing', async () => {
      const c0 = await counts(t)
      const indicators = Array.from({ length: 10_001 }, (_, i) => ({ type: 'domain', value: `too-many-${i}.example.com` }))
      expectError(await t.api('/v1/indicators', { json: { indicators } }), 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'indicators')
      const ndjson = indicators.map(x => JSON.stringify(x)).join('\n')
      expectError(await t.api('/v1/indicators', { raw: ndjson, contentType: 'application/x-ndjson' }), 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'indicators')
      expect(await counts(t)).toEqual(c0)
    })

    it('10,000 indicators in one call are accepted, in input order', async () => {
      const c0 = await counts(t)
      const indicators = Array.from({ length: 10_000 }, (_, i) => ({ value: `ten-k-${i}.example.com` }))
      const res = await t.api('/v1/indicators', { json: { indicators, tlp: 'CLEAR' } })
      expect(res.status, res.text.slice(0, 500)).toBe(201)
      expect(res.body.count).toBe(10_000)
      expect(res.body.ids).toHaveLength(10_000)
      expect(new Set(res.body.ids).size).toBe(10_000)
      expect((await counts(t)).indicators).toBe(c0.indicators + 10_000)
      const last = await t.api(`/v1/indicators/${res.body.ids[9_999] as string}`)
      expect(last.body.value).toBe('ten-k-9999.example.com')
      expect(last.body.tlp).toBe('CLEAR')
    })

    describe('with api.bodyLimitBytes 65536', () => {
      let small: TestNode
      beforeAll(async () => { small = await startTestNode({ flags: { api: { bodyLimitBytes: 65536 } } }) })
      afterAll(async () => { await small?.stop() })

      it('a JSON body over the limit is 413 PX_ERR_PAYLOAD_TOO_LARGE, and the node still answers', async () => {
        const indicators = Array.from({ length: 3000 }, (_, i) => ({ value: `big-${i}.example.com` }))
        const raw = JSON.stringify({ indicators })
        expect(raw.length).toBeGreaterThan(65536)
        expectError(await small.api('/v1/indicators', { raw }), 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'body')
        expectError(await small.api('/v1/indicators', { json: { value: 'x'.repeat(70_000) } }), 413, 'PX_ERR_PAYLOAD_TOO_LARGE')
        const status = await small.api('/v1/status')
        expect(status.status).toBe(200)
        expect(status.body.counts.indicators).toBe(0)
        const ok = await small.api('/v1/indicators', { json: { value: 'after-413.example.com' } })
        expect(ok.status).toBe(201)
      })

      it('an NDJSON body over the limit is 413', async () => {
        const raw = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ value: `nd-big-${i}.example.com` })).join('\n')
        expect(raw.length).toBeGreaterThan(65536)
        expectError(await small.api('/v1/indicators', { raw, contentType: 'application/x-ndjson' }), 413, 'PX_ERR_PAYLOAD_TOO_LARGE', 'body')
        expect((await small.api('/v1/status')).status).toBe(200)
      })

      it('a streamed (chunked, no Content-Length) body over the limit is 413', async () => {
        const chunk = new TextEncoder().encode(' '.repeat(16 * 1024))
        let sent = 0
        const stream = new ReadableStream<Uint8Array>({
          pull (controller) {
            if (sent === 0) controller.enqueue(new TextEncoder().encode('{"value":"stream.example.com","description":"'))
            if (sent >= 10) { controller.enqueue(new TextEncoder().encode('"}')); controller.close(); return }
            sent++
            controller.enqueue(chunk)
          }
        })
        const res = await fetch(`${small.url}/v1/indicators`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${small.token}`, 'Content-Type': 'application/json' },
          body: stream,
          duplex: 'half',
          signal: AbortSignal.timeout(10_000)
        } as RequestInit)
        expect(res.status).toBe(413)
        const body = await res.json() as { error: { code: string } }
        expect(body.error.code).toBe('PX_ERR_PAYLOAD_TOO_LARGE')
        expect((await small.api('/v1/status')).status).toBe(200)
        expect((await small.api('/v1/lookup?value=stream.example.com')).body.found).toBe(false)
      })
    })
  })

  describe('publish, look up, revoke, sightings', () => {
    it('publishes one defanged indicator, normalized, and finds it by id and by lookup', async () => {
      const c0 = await counts(t)
      const res = await t.api('/v1/indicators', { json: { value: ' EVIL[.]Example[.]COM ', tlp: 'tlp:green', confidence: 80, tags: ['APT-X', ' apt-x ', 'T1566'], description: '  phishing  ' } })
      expect(res.status, res.text).toBe(201)
      expect(res.body.id).toMatch(HEX32)
      expect(res.body.ids).toEqual([res.body.id])
      expect(res.body.entries).toHaveLength(1)
      expect(res.body.entries[0].origin).toBe(t.node.identity.publicKey)
      const id = res.body.id as string

      const got = await t.api(`/v1/indicators/${id}`)
      expect(got.status).toBe(200)
      expect(got.body).toMatchObject({ id, type: 'domain', value: 'evil.example.com', tlp: 'GREEN', confidence: 80, tags: ['APT-X', 'T1566'], description: 'phishing', origin: t.node.identity.publicKey, circle: 'local', version: 1 })
      expect(got.body.revoked).toBeUndefined()

      for (const v of ['evil.example.com', 'evil[.]example[.]com', 'EVIL(.)EXAMPLE{.}COM', 'evil.example.com.']) {
        const look = await t.api(`/v1/lookup?value=${encodeURIComponent(v)}`)
        expect(look.status).toBe(200)
        expect(look.body, v).toMatchObject({ type: 'domain', value: 'evil.example.com', found: true })
        expect(look.body.matches).toHaveLength(1)
        expect(look.body.matches[0]).toMatchObject({ id, match: 'exact' })
      }
      const q = await t.api(`/v1/indicators?value=${encodeURIComponent('evil[.]example[.]com')}`)
      expect(q.body.indicators.map((x: { id: string }) => x.id)).toEqual([id])
      expect((await counts(t)).indicators).toBe(c0.indicators + 1)

      // the id is deterministic: publishing the same value again updates the same indicator
      const again = await t.api('/v1/indicators', { json: { type: 'domain', value: 'evil.example.com', confidence: 90 } })
      expect(again.status).toBe(201)
      expect(again.body.id).toBe(id)
      const v2 = await t.api(`/v1/indicators/${id}`)
      expect(v2.body).toMatchObject({ confidence: 90, version: 2 })
      expect((await counts(t)).indicators).toBe(c0.indicators + 1)
    })

    it('publishes defanged URLs, emails and IPs normalized', async () => {
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ value: 'hxxps[://]bad[.]example/login?x=1' }, 'url', 'https://bad.example/login?x=1'],
        [{ value: 'Mallory[at]Bad[.]Example' }, 'email', 'mallory@bad.example'],
        [{ value: '203[.]0[.]113[.]66' }, 'ipv4', '203.0.113.66'],
        [{ value: '2001:0DB8:0000::0042' }, 'ipv6', '2001:db8::42'],
        [{ type: 'asn', value: '64500' }, 'asn', 'AS64500'],
        [{ value: 'cve-2021-44228' }, 'cve', 'CVE-2021-44228'],
        [{ value: 'D41D8CD98F00B204E9800998ECF8427E' }, 'md5', 'd41d8cd98f00b204e9800998ecf8427e']
      ]
      for (const [input, type, value] of cases) {
        const res = await t.api('/v1/indicators', { json: input })
        expect(res.status, `${JSON.stringify(input)}: ${res.text}`).toBe(201)
        const got = await t.api(`/v1/indicators/${res.body.id as string}`)
        expect(got.body).toMatchObject({ type, value })
        const look = await t.api(`/v1/lookup?value=${encodeURIComponent(String(input.value))}${input.type !== undefined ? `&type=${String(input.type)}` : ''}`)
        expect(look.body.found, JSON.stringify(input)).toBe(true)
        expect(look.body.matches[0].id).toBe(res.body.id)
      }
    })

    it('non-ASCII text round-trips, an escaped surrogate pair included', async () => {
      const res = await t.api('/v1/indicators', { raw: '{"value":"bücher[.]example","description":"\\ud83d\\ude00 Привет","tags":["日本語"]}' })
      expect(res.status, res.text).toBe(201)
      const got = await t.api(`/v1/indicators/${res.body.id as string}`)
      expect(got.body).toMatchObject({ type: 'domain', value: 'xn--bcher-kva.example', description: '\u{1F600} Привет', tags: ['日本語'] })
      expect((await t.api(`/v1/lookup?value=${encodeURIComponent('BÜCHER.example')}`)).body.found).toBe(true)
    })

    it('bulk JSON publish: ids in input order, bulk tlp as default, item tlp wins', async () => {
      const c0 = await counts(t)
      const values = Array.from({ length: 5 }, (_, i) => `bulk-${i}.example.net`)
      const res = await t.api('/v1/indicators', {
        json: { tlp: 'CLEAR', indicators: values.map((v, i) => i === 2 ? { value: v.replace(/\./g, '[.]'), tlp: 'RED' } : { value: v }) }
      })
      expect(res.status, res.text).toBe(201)
      expect(res.body.count).toBe(5)
      expect(res.body.ids).toHaveLength(5)
      // two TLPs: two entries, one per (circle, tlp)
      expect(res.body.entries).toHaveLength(2)
      for (let i = 0; i < 5; i++) {
        const got = await t.api(`/v1/indicators/${res.body.ids[i] as string}`)
        expect(got.body).toMatchObject({ value: values[i], tlp: i === 2 ? 'RED' : 'CLEAR' })
      }
      expect((await counts(t)).indicators).toBe(c0.indicators + 5)
    })

    it('bulk NDJSON publish (application/x-ndjson)', async () => {
      const lines = ['{"value":"nd-1[.]example[.]org","tags":["nd"]}', '', '{"type":"ipv4","value":"198.51.100[.]7"}', '  {"value":"hxxp://nd-3.example.org/x"}  ']
      const res = await t.api('/v1/indicators', { raw: lines.join('\n') + '\n', contentType: 'application/x-ndjson' })
      expect(res.status, res.text).toBe(201)
      expect(res.body.count).toBe(3)
      const expected = ['nd-1.example.org', '198.51.100.7', 'http://nd-3.example.org/x']
      for (let i = 0; i < 3; i++) {
        const look = await t.api(`/v1/lookup?value=${encodeURIComponent(expected[i])}`)
        expect(look.body.found, expected[i]).toBe(true)
        expect(look.body.matches[0].id).toBe(res.body.ids[i])
      }
      const byTag = await t.api('/v1/indicators?tag=ND')
      expect(byTag.body.indicators.map((x: { id: string }) => x.id)).toEqual([res.body.ids[0]])
    })

    it('an IP inside a published CIDR matches it with match "cidr"', async () => {
      const v4 = await t.api('/v1/indicators', { json: { value: '100.64[.]12.0/22' } })
      expect(v4.status, v4.text).toBe(201)
      expect((await t.api(`/v1/indicators/${v4.body.id as string}`)).body).toMatchObject({ type: 'cidr', value: '100.64.12.0/22' })
      const v6 = await t.api('/v1/indicators', { json: { type: 'cidr', value: '2001:db8:abcd::/48' } })
      expect(v6.status).toBe(201)

      for (const ip of ['100.64.12.1', '100.64.15.254', '100[.]64[.]13[.]9']) {
        const look = await t.api(`/v1/lookup?value=${encodeURIComponent(ip)}`)
        expect(look.body.found, ip).toBe(true)
        expect(look.body.matches).toEqual([expect.objectContaining({ id: v4.body.id, value: '100.64.12.0/22', match: 'cidr' })])
      }
      const outside = await t.api('/v1/lookup?value=100.64.16.1')
      expect(outside.body).toMatchObject({ found: false, matches: [] })
      const in6 = await t.api(`/v1/lookup?value=${encodeURIComponent('2001:db8:abcd:12::5')}`)
      expect(in6.body.matches).toEqual([expect.objectContaining({ id: v6.body.id, match: 'cidr' })])

      // an IP published itself and inside a CIDR: both matches
      const ip = await t.api('/v1/indicators', { json: { value: '100.64.12.77' } })
      const both = await t.api('/v1/lookup?value=100.64.12.77')
      expect(both.body.matches.map((m: { id: string, match: string }) => [m.id, m.match])).toEqual([[ip.body.id, 'exact'], [v4.body.id, 'cidr']])
    })

    it('revoke: lookup no longer finds it unless include_revoked=true; revoking twice is 409', async () => {
      const pub = await t.api('/v1/indicators', { json: { value: 'revoke-me[.]example[.]com' } })
      const id = pub.body.id as string
      const c0 = await counts(t)
      expect((await t.api('/v1/lookup?value=revoke-me.example.com')).body.found).toBe(true)

      const rev = await t.api(`/v1/indicators/${id}/revoke`, { json: { reason: '  false positive  ' } })
      expect(rev.status, rev.text).toBe(200)
      expect(rev.body.id).toBe(id)
      expect(rev.body.revoked).toMatchObject({ reason: 'false positive' })
      expect(typeof rev.body.revoked.at).toBe('string')
      expect((await counts(t)).revoked).toBe(c0.revoked + 1)

      const look = await t.api('/v1/lookup?value=revoke-me.example.com')
      expect(look.body).toMatchObject({ found: false, matches: [] })
      const lookAll = await t.api('/v1/lookup?value=revoke-me.example.com&include_revoked=true')
      expect(lookAll.body.found).toBe(true)
      expect(lookAll.body.matches[0]).toMatchObject({ id, revoked: { reason: 'false positive' } })
      expect((await t.api('/v1/indicators?value=revoke-me.example.com')).body.indicators).toEqual([])
      expect((await t.api('/v1/indicators?value=revoke-me.example.com&include_revoked=1')).body.indicators.map((x: { id: string }) => x.id)).toEqual([id])
      // GET by id still shows it, with the revocation
      const got = await t.api(`/v1/indicators/${id}`)
      expect(got.status).toBe(200)
      expect(got.body.revoked.reason).toBe('false positive')

      expectError(await t.api(`/v1/indicators/${id}/revoke`, { method: 'POST' }), 409, 'PX_ERR_CONFLICT', 'id')
      expect((await counts(t)).revoked).toBe(c0.revoked + 1)

      // revoke without a body works too
      const other = await t.api('/v1/indicators', { json: { value: 'revoke-me-too.example.com' } })
      const rev2 = await t.api(`/v1/indicators/${other.body.id as string}/revoke`, { method: 'POST' })
      expect(rev2.status, rev2.text).toBe(200)
      expect(rev2.body.revoked.reason).toBeUndefined()
    })

    it('sightings add up and show in lookups', async () => {
      const pub = await t.api('/v1/indicators', { json: { value: '192.0.2.200' } })
      expect(pub.status).toBe(201)
      const before = await t.api('/v1/lookup?value=192.0.2.200')
      expect(before.body.sightings).toBeNull()

      const s1 = await t.api('/v1/sightings', { json: { value: '192[.]0[.]2[.]200', count: 3, firstSeen: '2026-01-01T10:00:00Z', lastSeen: '2026-01-01T11:00:00Z', note: 'fw' } })
      expect(s1.status, s1.text).toBe(201)
      expect(s1.body.sightings).toMatchObject({ type: 'ipv4', value: '192.0.2.200', count: 3 })
      const s2 = await t.api('/v1/sightings', { json: { type: 'ipv4', value: '192.0.2.200', lastSeen: '2026-01-03' } })
      expect(s2.status, s2.text).toBe(201)

      const look = await t.api('/v1/lookup?value=192.0.2.200')
      expect(look.body.found).toBe(true)
      expect(look.body.sightings).toMatchObject({ count: 4, firstSeen: '2026-01-01T10:00:00.000Z', lastSeen: '2026-01-03T00:00:00.000Z' })
      expect(look.body.sightings.origins[t.node.identity.publicKey]).toMatchObject({ count: 4 })

      // a sighting of a value nobody published: not found, but sighted
      const s3 = await t.api('/v1/sightings', { json: { value: 'only-seen[.]example[.]com', count: 2 } })
      expect(s3.status, s3.text).toBe(201)
      const look3 = await t.api('/v1/lookup?value=only-seen.example.com')
      expect(look3.body).toMatchObject({ found: false, sightings: { count: 2 } })
    })

    it('status reports counts, identity and the API URL', async () => {
      const res = await t.api('/v1/status')
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ apiUrl: t.url, publicKey: t.node.identity.publicKey, org: 'test-org', dataDir: t.dataDir })
      expect(res.body.counts.indicators).toBeGreaterThan(10_000)
      expect(res.body.counts.sightings).toBeGreaterThanOrEqual(2)
    })
  })

  describe('purge', () => {
    it('POST /v1/purge removes indicators past their validUntil (default: now) and names a bad field', async () => {
      const before = await counts(t)
      const pub = await t.api('/v1/indicators', { json: { indicators: [
        { type: 'domain', value: 'expired-1.purge.example', validFrom: '2021-01-01T00:00:00Z', validUntil: '2021-02-01T00:00:00Z' },
        { type: 'domain', value: 'expired-2.purge.example', validFrom: '2021-01-01T00:00:00Z', validUntil: '2021-06-01T00:00:00Z' }
      ] } })
      expect(pub.status, pub.text).toBe(201)
      const some = await t.api('/v1/purge', { json: { expiredBefore: '2021-03-01T00:00:00Z' } })
      expect(some.status, some.text).toBe(200)
      expect(some.body).toMatchObject({ purged: 1, expiredBefore: '2021-03-01T00:00:00.000Z' })
      expect((await t.api('/v1/lookup?value=expired-1.purge.example&include_expired=true')).body.found).toBe(false)
      expect((await t.api('/v1/lookup?value=expired-2.purge.example&include_expired=true')).body.found).toBe(true)
      const rest = await t.api('/v1/purge', { method: 'POST' })
      expect(rest.status, rest.text).toBe(200)
      expect(rest.body.purged).toBeGreaterThanOrEqual(1)
      expect((await counts(t)).indicators).toBe(before.indicators + 2 - 1 - rest.body.purged)
      expectError(await t.api('/v1/purge', { json: { expiredBefore: 'yesterday' } }), 400, 'PX_ERR_VALIDATION', 'expiredBefore')
      expectError(await t.api('/v1/purge', { json: { before: '2021-01-01T00:00:00Z' } }), 400, 'PX_ERR_VALIDATION', 'before')
    })
  })

  describe('metrics', () => {
    it('GET /metrics is Prometheus text with phalanx_store_indicators matching the store', async () => {
      const c = await counts(t)
      const res = await t.api('/metrics')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(res.text).toMatch(/^# HELP phalanx_store_indicators /m)
      expect(res.text).toMatch(/^# TYPE phalanx_store_indicators gauge$/m)
      const m = /^phalanx_store_indicators (\d+)$/m.exec(res.text)
      expect(m).not.toBeNull()
      expect(Number(m?.[1])).toBe(c.indicators)
      expect(res.text).toMatch(/^phalanx_api_errors_total\{code="PX_ERR_VALIDATION"\} [1-9]\d*$/m)
      expectError(await t.api('/metrics', { token: null }), 401, 'PX_ERR_UNAUTHORIZED')
    })
  })
})

describe('pagination under concurrent publishes', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t?.stop() })

  it('pages through 3,000 indicators exactly once while 1,000 more arrive', async () => {
    const original: string[] = []
    for (let b = 0; b < 3; b++) {
      const indicators = Array.from({ length: 1000 }, (_, i) => ({ value: `orig-${b * 1000 + i}.example.com` }))
      const res = await t.api('/v1/indicators', { json: { indicators } })
      expect(res.status).toBe(201)
      original.push(...(res.body.ids as string[]))
    }
    expect(new Set(original).size).toBe(3000)

    const added: string[] = []
    let paging = true
    let publishedWhilePaging = 0
    const publisher = (async () => {
      for (let b = 0; b < 100; b++) {
        const indicators = Array.from({ length: 10 }, (_, i) => ({ value: `new-${b * 10 + i}.example.com` }))
        const res = await t.api('/v1/indicators', { json: { indicators } })
        expect(res.status).toBe(201)
        added.push(...(res.body.ids as string[]))
        if (paging) publishedWhilePaging++
      }
    })()

    const seen = new Map<string, number>()
    let cursor: string | null = null
    let pages = 0
    try {
      do {
        const res: ApiResponse = await t.api(`/v1/indicators?limit=250${cursor !== null ? `&cursor=${cursor}` : ''}`)
        expect(res.status, res.text).toBe(200)
        expect(res.body.indicators.length).toBeLessThanOrEqual(250)
        for (const ind of res.body.indicators as Array<{ id: string }>) seen.set(ind.id, (seen.get(ind.id) ?? 0) + 1)
        expect(res.body.nextCursor === null || res.body.nextCursor !== cursor, 'the cursor must advance').toBe(true)
        cursor = res.body.nextCursor
        pages++
        // a loop that never ends fails here instead of hanging
        expect(pages).toBeLessThan(100)
      } while (cursor !== null)
    } finally {
      paging = false
      await publisher
    }

    expect(publishedWhilePaging, 'the publisher ran while paging').toBeGreaterThan(0)
    const twice = [...seen].filter(([, n]) => n > 1)
    expect(twice, 'ids seen more than once').toEqual([])
    const missing = original.filter(id => !seen.has(id))
    expect(missing.length, 'original ids never seen').toBe(0)
    const addedSet = new Set(added)
    const originalSet = new Set(original)
    const strangers = [...seen.keys()].filter(id => !originalSet.has(id) && !addedSet.has(id))
    expect(strangers).toEqual([])
    expect(pages).toBeGreaterThanOrEqual(12)

    // once the publisher is done, a fresh walk sees all 4,000 exactly once
    const all: string[] = []
    cursor = null
    do {
      const res: ApiResponse = await t.api(`/v1/indicators?limit=1000${cursor !== null ? `&cursor=${cursor}` : ''}`)
      all.push(...(res.body.indicators as Array<{ id: string }>).map(x => x.id))
      cursor = res.body.nextCursor
    } while (cursor !== null)
    expect(all).toHaveLength(4000)
    expect(new Set(all)).toEqual(new Set([...original, ...added]))
  })
})
