/**
 * DNS rebinding and cross-site requests against real nodes over real HTTP, with `api.auth`
 * off (the case where only these checks stand between a web page and the node): a foreign
 * Host header is refused before any route runs (reads, publishes, TAXII, metrics, the stream,
 * read tokens) and nothing is published; a request from a page of another origin (Origin,
 * Sec-Fetch-Site) is refused and nothing is stored; configured names (api.host,
 * api.allowedHosts, api.publicUrl) work; no answer carries a CORS header; TAXII discovery never
 * echoes the Host header. docs/API.md, "Host and Origin".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/cli/client.js'
import { startTestNode, type TestNode } from '../utils/node.js'
import { rawRequest, rawSocket, type RawResponse } from '../utils/raw-http.js'

const TAXII = 'application/taxii+json;version=2.1'
const EVIL = 'evil.example'

/** every answer of this file, to check that none carries an Access-Control-* header */
const seen: RawResponse[] = []

function expectRefused (res: RawResponse, status: number, code: string, field: string): void {
  expect(res.status, res.text).toBe(status)
  // TAXII answers carry the code as error_code
  const got = res.body?.error?.code ?? res.body?.error_code
  expect(got, res.text).toBe(code)
  expect(res.body?.error?.field ?? res.body?.details?.field, res.text).toBe(field)
}

let t: TestNode
let port: string
/** a raw request to node `t` whose Host defaults to the node's own address */
async function call (path: string, opts: { method?: string, host?: string, headers?: Record<string, string | string[]>, json?: unknown, node?: TestNode } = {}): Promise<RawResponse> {
  const node = opts.node ?? t
  const headers: Record<string, string | string[]> = { host: opts.host ?? new URL(node.url).host, ...(opts.headers ?? {}) }
  let body: string | undefined
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] ??= 'application/json'
  }
  const res = await rawRequest(node.url, path, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined ? { body } : {}) })
  seen.push(res)
  return res
}

async function counts (node: TestNode = t): Promise<{ entries: number, indicators: number }> {
  const res = await call('/v1/status', { node })
  expect(res.status, res.text).toBe(200)
  return res.body.counts
}

/** whether the node knows `value` (asked with the node's own Host) */
async function known (value: string, node: TestNode = t): Promise<boolean> {
  const res = await call(`/v1/lookup?value=${encodeURIComponent(value)}`, { node })
  expect(res.status, res.text).toBe(200)
  return res.body.found as boolean
}

beforeAll(async () => {
  t = await startTestNode({ flags: { api: { auth: false } } })
  port = new URL(t.url).port
})
afterAll(async () => { await t?.stop() })

describe('Host header (DNS rebinding), auth off', () => {
  it('GET /v1/indicators and POST /v1/indicators with Host evil.example:PORT are refused, nothing is published', async () => {
    const before = await counts()
    const get = await call('/v1/indicators', { host: `${EVIL}:${port}` })
    expectRefused(get, 421, 'PX_ERR_HOST', 'host')
    const post = await call('/v1/indicators', { host: `${EVIL}:${port}`, json: { type: 'domain', value: 'rebound.example', tlp: 'CLEAR' } })
    expectRefused(post, 421, 'PX_ERR_HOST', 'host')
    const bulk = await call('/v1/indicators', { host: EVIL, json: { indicators: [{ type: 'domain', value: 'rebound-bulk.example' }] } })
    expectRefused(bulk, 421, 'PX_ERR_HOST', 'host')
    expect(await counts()).toEqual(before)
    expect(await known('rebound.example')).toBe(false)
    expect(await known('rebound-bulk.example')).toBe(false)
  })

  it('every kind of route is refused: status, lookup, metrics, the stream, OpenAPI, read tokens, TAXII, unknown routes', async () => {
    const host = `${EVIL}:${port}`
    for (const path of ['/v1/status', '/v1/lookup?value=x.example', '/metrics', '/v1/stream', '/v1/openapi.json', '/v1/tokens', '/v1/nope']) {
      expectRefused(await call(path, { host }), 421, 'PX_ERR_HOST', 'host')
    }
    const taxii = await call('/taxii2/', { host, headers: { accept: TAXII } })
    expectRefused(taxii, 421, 'PX_ERR_HOST', 'host')
    expect(taxii.headers['content-type']).toBe(TAXII)
    expect(taxii.text).not.toContain(EVIL + ':')
    expectRefused(await call('/v1/tokens', { host, json: { name: 'stolen', collections: ['local'] } }), 421, 'PX_ERR_HOST', 'host')
    expect((await call('/v1/tokens')).body.tokens).toEqual([])
    // look-alikes of the loopback names are other names
    for (const h of ['127.0.0.1.evil.example', 'localhost.evil.example', 'evil.localhost', '0.0.0.0', '[::ffff:7f00:1]']) {
      expectRefused(await call('/v1/status', { host: `${h}:${port}` }), 421, 'PX_ERR_HOST', 'host')
    }
  })

  it('a missing, repeated or malformed Host is a 400 naming host; HTTP/1.0 without Host passes', async () => {
    expectRefused(await rawSocket(t.url, 'GET /v1/status HTTP/1.1'), 400, 'PX_ERR_VALIDATION', 'host')
    expectRefused(await rawSocket(t.url, `GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: ${EVIL}`), 400, 'PX_ERR_VALIDATION', 'host')
    expectRefused(await call('/v1/status', { host: `user@${EVIL}` }), 400, 'PX_ERR_VALIDATION', 'host')
    const old = await rawSocket(t.url, 'GET /v1/status HTTP/1.0')
    expect(old.status, old.text).toBe(200)
    expectRefused(await rawSocket(t.url, `GET /v1/status HTTP/1.0\r\nHost: ${EVIL}`), 421, 'PX_ERR_HOST', 'host')
  })

  it('the loopback names pass with any port or none, in any case', async () => {
    for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `LOCALHOST:${port}`, `[::1]:${port}`, 'localhost.:1234', '127.0.0.1']) {
      const res = await call('/v1/status', { host: h })
      expect(res.status, `${h}: ${res.text}`).toBe(200)
    }
  })

  it('the refusal comes before auth: an auth-on node answers 421, not 401, and 421 even with the right token', async () => {
    const a = await startTestNode()
    try {
      const host = `${EVIL}:${new URL(a.url).port}`
      expectRefused(await call('/v1/status', { node: a, host }), 421, 'PX_ERR_HOST', 'host')
      expectRefused(await call('/v1/status', { node: a, host, headers: { authorization: `Bearer ${a.token}` } }), 421, 'PX_ERR_HOST', 'host')
      expectRefused(await call('/v1/indicators', { node: a, host, headers: { authorization: `Bearer ${a.token}` }, json: { type: 'domain', value: 'rebound-auth.example' } }), 421, 'PX_ERR_HOST', 'host')
      expect((await a.api('/v1/lookup?value=rebound-auth.example')).body.found).toBe(false)
      // the CLI's client still works (it sends Host 127.0.0.1:PORT and no Origin)
      const cli = connect(a.dataDir, { PHALANX_API_URL: a.url, PHALANX_TOKEN: a.token })
      await cli.request('POST', '/v1/indicators', { type: 'domain', value: 'cli-still-works.example' })
      expect((await cli.request<{ found: boolean }>('GET', '/v1/lookup?value=cli-still-works.example')).found).toBe(true)
    } finally {
      await a.stop()
    }
  })
})

describe('Origin and Sec-Fetch-Site (cross-site requests), auth off', () => {
  it('a POST with Origin http://evil.example and a good Host is refused, nothing is stored', async () => {
    const before = await counts()
    const res = await call('/v1/indicators', { headers: { origin: `http://${EVIL}` }, json: { type: 'domain', value: 'cross-site.example', tlp: 'CLEAR' } })
    expectRefused(res, 403, 'PX_ERR_ORIGIN', 'origin')
    expect(await counts()).toEqual(before)
    expect(await known('cross-site.example')).toBe(false)
  })

  it('every state-changing request from another origin is refused: purge, tokens, revoke, TAXII add', async () => {
    const made = await call('/v1/indicators', { json: { type: 'domain', value: 'keep-me.example', tlp: 'CLEAR' } })
    expect(made.status, made.text).toBe(201)
    const id = made.body.ids[0] as string
    const origin = { origin: `http://${EVIL}:${port}` }
    expectRefused(await call(`/v1/indicators/${id}/revoke`, { headers: origin, json: {} }), 403, 'PX_ERR_ORIGIN', 'origin')
    // a POST without a body needs no CORS preflight: only the Origin check stops it
    expectRefused(await call(`/v1/indicators/${id}/revoke`, { method: 'POST', headers: origin }), 403, 'PX_ERR_ORIGIN', 'origin')
    expectRefused(await call('/v1/purge', { method: 'POST', headers: origin }), 403, 'PX_ERR_ORIGIN', 'origin')
    expectRefused(await call('/v1/tokens', { headers: origin, json: { name: 'stolen', collections: ['local'] } }), 403, 'PX_ERR_ORIGIN', 'origin')
    expect((await call('/v1/tokens')).body.tokens).toEqual([])
    const created = await call('/v1/tokens', { json: { name: 'mine', collections: ['local'] } })
    expect(created.status, created.text).toBe(201)
    expectRefused(await call(`/v1/tokens/${created.body.id as string}`, { method: 'DELETE', headers: origin }), 403, 'PX_ERR_ORIGIN', 'origin')
    expect((await call('/v1/tokens')).body.tokens).toHaveLength(1)
    const cols = await call('/taxii2/api/collections/', { headers: { accept: TAXII } })
    const col = cols.body.collections[0].id as string
    const add = await call(`/taxii2/api/collections/${col}/objects/`, {
      headers: { ...origin, accept: TAXII, 'content-type': TAXII },
      json: { objects: [{ type: 'indicator', spec_version: '2.1', id: 'indicator--3b6e1a52-7b5c-4c1e-9a45-c7d1a1b2c3d4', created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[domain-name:value = 'taxii-cross.example']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z' }] }
    })
    expectRefused(add, 403, 'PX_ERR_ORIGIN', 'origin')
    expect(add.headers['content-type']).toBe(TAXII)
    expect(await known('taxii-cross.example')).toBe(false)
    const still = await call(`/v1/indicators/${id}`)
    expect(still.body.revoked, still.text).toBeUndefined()
  })

  it('GETs from another origin are refused too (the stream, lookups), as is Origin null and another port of localhost', async () => {
    expectRefused(await call('/v1/stream', { headers: { origin: `http://${EVIL}` } }), 403, 'PX_ERR_ORIGIN', 'origin')
    expectRefused(await call('/v1/lookup?value=keep-me.example', { headers: { origin: 'null' } }), 403, 'PX_ERR_ORIGIN', 'origin')
    // same site, other origin: a page of another local web server
    expectRefused(await call('/v1/indicators', { host: `localhost:${port}`, headers: { origin: 'http://localhost:8080' }, json: { type: 'domain', value: 'other-port.example' } }), 403, 'PX_ERR_ORIGIN', 'origin')
    expectRefused(await call('/v1/status', { host: `localhost:${port}`, headers: { origin: `http://localhost:${Number(port) + 1}` } }), 403, 'PX_ERR_ORIGIN', 'origin')
    // an <img>/<script> GET carries no Origin, but browsers mark it
    for (const site of ['cross-site', 'same-site']) {
      expectRefused(await call('/v1/lookup?value=keep-me.example', { headers: { 'sec-fetch-site': site } }), 403, 'PX_ERR_ORIGIN', 'sec-fetch-site')
    }
    expectRefused(await call('/v1/indicators', { headers: { 'sec-fetch-site': 'cross-site' }, json: { type: 'domain', value: 'fetch-meta.example' } }), 403, 'PX_ERR_ORIGIN', 'sec-fetch-site')
    expect(await known('other-port.example')).toBe(false)
    expect(await known('fetch-meta.example')).toBe(false)
  })

  it('the API\'s own origin, a typed URL (Sec-Fetch-Site: none) and a same-origin fetch pass', async () => {
    const own = await call('/v1/indicators', { headers: { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, json: { type: 'domain', value: 'same-origin.example' } })
    expect(own.status, own.text).toBe(201)
    const typed = await call('/v1/lookup?value=same-origin.example', { host: `localhost:${port}`, headers: { 'sec-fetch-site': 'none' } })
    expect(typed.status, typed.text).toBe(200)
  })

  it('a CORS preflight gets no Access-Control-* header, and a foreign one is refused', async () => {
    const pre = await call('/v1/indicators', { method: 'OPTIONS', headers: { origin: `http://${EVIL}`, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expectRefused(pre, 403, 'PX_ERR_ORIGIN', 'origin')
    const plain = await call('/v1/indicators', { method: 'OPTIONS' })
    expect(plain.status).toBeGreaterThanOrEqual(400)
    for (const r of [pre, plain]) expect(Object.keys(r.headers).filter(h => h.startsWith('access-control-'))).toEqual([])
  })
})

describe('configured names and TAXII URLs', () => {
  it('TAXII discovery with a hostile Host header does not echo it: the URLs come from the listen address', async () => {
    const d = await call('/taxii2/', { host: 'localhost:1', headers: { accept: TAXII } })
    expect(d.status, d.text).toBe(200)
    expect(d.body.api_roots).toEqual([`${t.url}/taxii2/api/`])
    expect(d.body.default).toBe(`${t.url}/taxii2/api/`)
    expect(d.text).not.toContain('localhost:1')
  })

  it('api.allowedHosts, api.host and api.publicUrl: those names pass, discovery uses publicUrl, its origin may call', async () => {
    // bound to 127.0.0.2 (Linux routes all of 127/8 to loopback): an api.host outside the built-in names
    const n = await startTestNode({ flags: { api: { auth: false, host: '127.0.0.2', allowedHosts: ['Phalanx.Test.Example', '10.1.2.3'], publicUrl: 'https://phalanx.corp.example/px/' } } })
    try {
      const p = new URL(n.url).port
      expect(new URL(n.url).hostname).toBe('127.0.0.2')
      for (const h of [`phalanx.test.example:${p}`, 'PHALANX.TEST.EXAMPLE', `10.1.2.3:${p}`, `127.0.0.2:${p}`, 'phalanx.corp.example', `127.0.0.1:${p}`]) {
        const res = await call('/v1/status', { node: n, host: h })
        expect(res.status, `${h}: ${res.text}`).toBe(200)
      }
      for (const h of [`${EVIL}:${p}`, `test.example:${p}`, `corp.example:${p}`, `phalanx.test.example.${EVIL}`]) {
        expectRefused(await call('/v1/status', { node: n, host: h }), 421, 'PX_ERR_HOST', 'host')
      }
      for (const h of [`phalanx.test.example:${p}`, EVIL]) {
        const d = await call('/taxii2/', { node: n, host: h, headers: { accept: TAXII } })
        if (h === EVIL) { expectRefused(d, 421, 'PX_ERR_HOST', 'host'); continue }
        expect(d.status, d.text).toBe(200)
        expect(d.body.api_roots).toEqual(['https://phalanx.corp.example/px/taxii2/api/'])
        expect(d.body.default).toBe('https://phalanx.corp.example/px/taxii2/api/')
      }
      // a page behind the TLS proxy at the public URL (Host rewritten by the proxy or kept)
      for (const h of [`127.0.0.2:${p}`, 'phalanx.corp.example']) {
        const res = await call('/v1/indicators', { node: n, host: h, headers: { origin: 'https://phalanx.corp.example' }, json: { type: 'domain', value: `via-proxy-${h.length}.example` } })
        expect(res.status, res.text).toBe(201)
      }
      // an allowed name's page on another port or scheme is another origin
      expectRefused(await call('/v1/indicators', { node: n, host: `phalanx.test.example:${p}`, headers: { origin: 'http://phalanx.test.example:8080' }, json: { type: 'domain', value: 'x8080.example' } }), 403, 'PX_ERR_ORIGIN', 'origin')
      expectRefused(await call('/v1/indicators', { node: n, host: 'phalanx.corp.example', headers: { origin: 'https://phalanx.corp.example:8443' }, json: { type: 'domain', value: 'x8443.example' } }), 403, 'PX_ERR_ORIGIN', 'origin')
      expectRefused(await call('/v1/indicators', { node: n, host: `127.0.0.2:${p}`, headers: { origin: 'http://phalanx.corp.example' }, json: { type: 'domain', value: 'xhttp.example' } }), 403, 'PX_ERR_ORIGIN', 'origin')
      for (const v of ['x8080.example', 'x8443.example', 'xhttp.example']) expect(await known(v, n)).toBe(false)
      const same = await call('/v1/indicators', { node: n, host: `phalanx.test.example:${p}`, headers: { origin: `http://phalanx.test.example:${p}` }, json: { type: 'domain', value: 'same-allowed.example' } })
      expect(same.status, same.text).toBe(201)
    } finally {
      await n.stop()
    }
  })
})

afterAll(() => {
  // no answer of this file carried a CORS header
  const cors = seen.flatMap(r => Object.keys(r.headers).filter(h => h.startsWith('access-control-')))
  expect(cors).toEqual([])
})
