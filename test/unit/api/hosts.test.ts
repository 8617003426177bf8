/**
 * The Host and Origin checks (src/api/hosts.ts) as a table: which Host headers a node answers
 * to, which origins may call it, and the code and field of each refusal; then the same checks
 * through the server (inject), before auth and on every route kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { HostPolicy, canonicalHostName, hostNameProblem, publicUrlProblem, type HostPolicyInit, type RequestOrigin } from '../../../src/api/hosts.js'
import { createApiServer, type ApiServer } from '../../../src/api/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'

const DEFAULT: HostPolicyInit = { host: '127.0.0.1', allowedHosts: [], publicUrl: '' }

/** the code and field of the refusal, or 'ok' */
function verdict (init: HostPolicyInit, req: Partial<RequestOrigin>): string {
  const full: RequestOrigin = { host: undefined, hostLines: req.host === undefined ? 0 : 1, httpVersion: '1.1', origin: undefined, secFetchSite: undefined, ...req }
  try {
    new HostPolicy(init).check(full)
    return 'ok'
  } catch (err) {
    if (!(err instanceof PhalanxError)) throw err
    return `${err.code} ${err.field ?? ''}`
  }
}

const HOST = 'PX_ERR_HOST host'
const BAD_HOST = 'PX_ERR_VALIDATION host'
const ORIGIN = 'PX_ERR_ORIGIN origin'
const FETCH_SITE = 'PX_ERR_ORIGIN sec-fetch-site'

describe('HostPolicy: Host', () => {
  const cases: Array<[string, Partial<RequestOrigin>, string, HostPolicyInit?]> = [
    ['127.0.0.1 with the port', { host: '127.0.0.1:7300' }, 'ok'],
    ['localhost, no port', { host: 'localhost' }, 'ok'],
    ['localhost, another port', { host: 'localhost:1' }, 'ok'],
    ['upper case', { host: 'LocalHost:7300' }, 'ok'],
    ['a trailing dot', { host: 'localhost.:7300' }, 'ok'],
    ['[::1]', { host: '[::1]:7300' }, 'ok'],
    ['[::1] written long', { host: '[0:0:0:0:0:0:0:1]:7300' }, 'ok'],
    ['a rebinding name', { host: 'evil.example:7300' }, HOST],
    ['a rebinding name, no port', { host: 'evil.example' }, HOST],
    ['a name ending in localhost', { host: 'evil.localhost' }, HOST],
    ['a name starting with 127.0.0.1', { host: '127.0.0.1.evil.example' }, HOST],
    ['another loopback address', { host: '127.0.0.2:7300' }, HOST],
    ['the bind-all address', { host: '0.0.0.0:7300' }, HOST],
    ['IPv4-mapped loopback', { host: '[::ffff:127.0.0.1]:7300' }, HOST],
    ['no Host (HTTP/1.1)', {}, BAD_HOST],
    ['an empty Host', { host: '' }, BAD_HOST],
    ['no Host (HTTP/1.0)', { httpVersion: '1.0' }, 'ok'],
    ['two Host lines', { host: '127.0.0.1', hostLines: 2 }, BAD_HOST],
    ['user info', { host: 'evil@127.0.0.1' }, BAD_HOST],
    ['a path', { host: '127.0.0.1/x' }, BAD_HOST],
    ['a bare IPv6', { host: '::1' }, BAD_HOST],
    ['a port out of range', { host: '127.0.0.1:70000' }, BAD_HOST],
    ['a port that is not a number', { host: '127.0.0.1:x' }, BAD_HOST],
    ['white space', { host: 'local host' }, BAD_HOST],
    ['an allowed name', { host: 'phalanx.corp.example:443' }, 'ok', { ...DEFAULT, allowedHosts: ['Phalanx.Corp.Example'] }],
    ['an allowed IPv6', { host: '[fd00::5]:7300' }, 'ok', { ...DEFAULT, allowedHosts: ['fd00:0::5'] }],
    ['a sub-domain of an allowed name', { host: 'x.phalanx.corp.example' }, HOST, { ...DEFAULT, allowedHosts: ['phalanx.corp.example'] }],
    ['the bind address', { host: '10.0.0.5:7300' }, 'ok', { ...DEFAULT, host: '10.0.0.5' }],
    ['a wildcard bind adds no name', { host: '0.0.0.0:7300' }, HOST, { ...DEFAULT, host: '0.0.0.0' }],
    ['a wildcard IPv6 bind adds no name', { host: '[::]:7300' }, HOST, { ...DEFAULT, host: '::' }],
    ['the public URL\'s host', { host: 'phalanx.example.org' }, 'ok', { ...DEFAULT, publicUrl: 'https://phalanx.example.org/px/' }]
  ]
  for (const [name, req, want, init] of cases) {
    it(`${name}: ${want}`, () => { expect(verdict(init ?? DEFAULT, req)).toBe(want) })
  }
})

describe('HostPolicy: Origin and Sec-Fetch-Site', () => {
  const cases: Array<[string, Partial<RequestOrigin>, string, HostPolicyInit?]> = [
    ['no Origin', { host: '127.0.0.1:7300' }, 'ok'],
    ['the request\'s own origin', { host: '127.0.0.1:7300', origin: 'http://127.0.0.1:7300' }, 'ok'],
    ['own origin, default port', { host: 'localhost', origin: 'http://localhost' }, 'ok'],
    ['own origin, https default port', { host: 'localhost', origin: 'https://localhost' }, 'ok'],
    ['https origin whose port the Host omits', { host: 'localhost', origin: 'https://localhost:80' }, ORIGIN],
    ['a foreign origin', { host: '127.0.0.1:7300', origin: 'http://evil.example' }, ORIGIN],
    ['null', { host: '127.0.0.1:7300', origin: 'null' }, ORIGIN],
    ['another port of the same name', { host: 'localhost:7300', origin: 'http://localhost:8080' }, ORIGIN],
    ['another loopback name, same port', { host: '127.0.0.1:7300', origin: 'http://localhost:7300' }, ORIGIN],
    ['a non-web scheme', { host: '127.0.0.1:7300', origin: 'file://127.0.0.1:7300' }, ORIGIN],
    ['garbage', { host: '127.0.0.1:7300', origin: '<script>' }, ORIGIN],
    ['any Origin on HTTP/1.0 without Host', { httpVersion: '1.0', origin: 'http://127.0.0.1' }, ORIGIN],
    ['cross-site', { host: '127.0.0.1:7300', secFetchSite: 'cross-site' }, FETCH_SITE],
    ['same-site', { host: '127.0.0.1:7300', secFetchSite: 'same-site' }, FETCH_SITE],
    ['same-site in capitals', { host: '127.0.0.1:7300', secFetchSite: 'Same-Site' }, FETCH_SITE],
    ['same-origin', { host: '127.0.0.1:7300', secFetchSite: 'same-origin', origin: 'http://127.0.0.1:7300' }, 'ok'],
    ['none (a typed URL)', { host: '127.0.0.1:7300', secFetchSite: 'none' }, 'ok'],
    ['the Host check comes first', { host: 'evil.example', origin: 'http://evil.example' }, HOST],
    ['the public URL\'s origin through a rewritten Host', { host: '127.0.0.1:7300', origin: 'https://phalanx.example.org' }, 'ok', { ...DEFAULT, publicUrl: 'https://phalanx.example.org/px' }],
    ['the public URL\'s host on another port', { host: '127.0.0.1:7300', origin: 'https://phalanx.example.org:8443' }, ORIGIN, { ...DEFAULT, publicUrl: 'https://phalanx.example.org/px' }],
    ['the public URL\'s host over http', { host: '127.0.0.1:7300', origin: 'http://phalanx.example.org' }, ORIGIN, { ...DEFAULT, publicUrl: 'https://phalanx.example.org/px' }],
    ['an allowed name\'s own origin', { host: 'phalanx.corp.example:7300', origin: 'http://phalanx.corp.example:7300' }, 'ok', { ...DEFAULT, allowedHosts: ['phalanx.corp.example'] }],
    ['an allowed name\'s page on another port', { host: 'phalanx.corp.example:7300', origin: 'http://phalanx.corp.example:8080' }, ORIGIN, { ...DEFAULT, allowedHosts: ['phalanx.corp.example'] }]
  ]
  for (const [name, req, want, init] of cases) {
    it(`${name}: ${want}`, () => { expect(verdict(init ?? DEFAULT, req)).toBe(want) })
  }
})

describe('host names and public URLs in the configuration', () => {
  it('canonical forms', () => {
    expect(canonicalHostName('LOCALHOST.')).toBe('localhost')
    expect(canonicalHostName('::1')).toBe('[::1]')
    expect(canonicalHostName('[0:0::1]')).toBe('[::1]')
    expect(canonicalHostName('bücher.example')).toBe('xn--bcher-kva.example')
    for (const bad of ['', 'a:1', 'a/b', 'a@b', 'a b', 'http://a', '[::1]:80']) expect(canonicalHostName(bad), bad).toBeUndefined()
  })

  it('an allowed host is a name or an address, no scheme, port, path or wildcard', () => {
    for (const ok of ['phalanx.example.org', 'PHALANX', '10.0.0.5', 'fd00::5', '[fd00::5]', 'host_1.lan']) expect(hostNameProblem(ok), ok).toBeUndefined()
    for (const bad of ['', '*', '*.example.org', 'http://x', 'x:7300', 'x/y', '0.0.0.0', '::', 'a b', 'a$b']) expect(hostNameProblem(bad), bad).toBeTypeOf('string')
  })

  it('a public URL is http(s), without user, query or fragment', () => {
    for (const ok of ['http://127.0.0.1:7300', 'https://phalanx.example.org/px/']) expect(publicUrlProblem(ok), ok).toBeUndefined()
    for (const bad of ['phalanx.example.org', 'ftp://x', 'https://u:p@x', 'https://x/?a=1', 'https://x/#f', 'http://*.x']) expect(publicUrlProblem(bad), bad).toBeTypeOf('string')
  })
})

describe('through the server (inject)', () => {
  let t: TestNode
  let server: ApiServer
  beforeAll(async () => {
    t = await startTestNode({ flags: { api: { auth: false } } })
    server = createApiServer(t.node)
    await server.app.ready()
  })
  afterAll(async () => {
    await server?.app.close()
    await t?.stop()
  })

  it('a foreign Host or Origin is refused on every kind of route, before the route runs', async () => {
    const before = t.node.store.counts()
    for (const [method, url] of [['GET', '/v1/status'], ['GET', '/metrics'], ['GET', '/v1/openapi.json'], ['GET', '/taxii2/'], ['POST', '/v1/indicators'], ['POST', '/v1/tokens'], ['DELETE', '/v1/tokens/x'], ['OPTIONS', '/v1/indicators'], ['GET', '/no/such/route']] as const) {
      const payload = method === 'POST' ? { type: 'domain', value: 'inject-evil.example', name: 'x', collections: ['local'] } : undefined
      const h = await server.app.inject({ method, url, headers: { host: 'evil.example:7300' }, ...(payload !== undefined ? { payload } : {}) })
      expect(h.statusCode, `${method} ${url}: ${h.body}`).toBe(421)
      expect(h.headers['x-content-type-options']).toBe('nosniff')
      const o = await server.app.inject({ method, url, headers: { host: 'localhost:80', origin: 'https://evil.example' }, ...(payload !== undefined ? { payload } : {}) })
      expect(o.statusCode, `${method} ${url}: ${o.body}`).toBe(403)
      for (const r of [h, o]) expect(Object.keys(r.headers).filter(k => k.startsWith('access-control-'))).toEqual([])
    }
    expect(t.node.store.counts()).toEqual(before)
    const ok = await server.app.inject({ method: 'POST', url: '/v1/indicators', payload: { type: 'domain', value: 'inject-ok.example' } })
    expect(ok.statusCode, ok.body).toBe(201)
  })
})
