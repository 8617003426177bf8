/**
 * DNS rebinding and cross-site requests from a real browser: headless Chromium (Debian's
 * `chromium`, driven by playwright-core) against a real node with `api.auth` off, the case
 * where only the Host and Origin checks stand between a web page and the node (docs/API.md,
 * "Host and Origin"; test/e2e/rebinding.test.ts sends the same headers by hand).
 *
 * Chromium resolves `evil.example` and `attacker.example` to 127.0.0.1
 * (`--host-resolver-rules`), so no DNS is asked, and runs without its own Local Network Access
 * checks (browsers without them must be safe too). An "attacker" HTTP server on another port of
 * 127.0.0.1 serves the page at http://attacker.example:PORT/. The node's side is recorded from
 * Node's `http.server.request.start` diagnostics channel (what each request carried and what
 * the node answered), and what is stored is asked with a trusted request (Host 127.0.0.1, no
 * Origin). Cases:
 * (a) the attacker page POSTs simple requests (text/plain; no-cors with a JSON-looking body;
 *     a bodiless revoke) to 127.0.0.1:API and evil.example:API: refused, nothing stored;
 * (b) the browser at http://evil.example:API/ (the rebinding: the page's origin is the API's
 *     name and port): a navigation gets 421 and no data, its same-origin fetches read and
 *     publish nothing;
 * (c) a CORS GET fails (no Access-Control-Allow-Origin) and a preflighted POST
 *     (application/json) is refused at the preflight.
 *
 * Chromium is found as PHALANX_CHROMIUM, else `chromium` or `chromium-browser` on PATH. When
 * none is found the file fails and says how to install it (.ci/run installs it), unless
 * PHALANX_SKIP_BROWSER=1, which reports the tests as skipped with the reason in their names.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { accessSync, constants } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { delimiter, join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startTestNode, type TestNode } from '../utils/node.js'
import { until } from '../utils/wait.js'

const EVIL = 'evil.example'
const ATTACKER = 'attacker.example'
/** every wait in the browser is bounded by this (ms) */
const WAIT_MS = 15_000

function executable (p: string): boolean {
  try { accessSync(p, constants.X_OK); return true } catch { return false }
}

/** PHALANX_CHROMIUM, else the first `chromium`/`chromium-browser` on PATH */
function findChromium (): string | undefined {
  const env = process.env.PHALANX_CHROMIUM
  if (env !== undefined && env !== '') return executable(env) ? env : undefined
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    for (const name of ['chromium', 'chromium-browser']) {
      const p = join(dir, name)
      if (executable(p)) return p
    }
  }
  return undefined
}

const CHROMIUM = findChromium()
const SKIP = process.env.PHALANX_SKIP_BROWSER === '1'
const MISSING = `Chromium not found (${process.env.PHALANX_CHROMIUM !== undefined && process.env.PHALANX_CHROMIUM !== '' ? `PHALANX_CHROMIUM=${process.env.PHALANX_CHROMIUM} is not executable` : 'no chromium or chromium-browser on PATH'}): ` +
  'the browser tests need Debian\'s chromium: apt-get install -y --no-install-recommends chromium ' +
  '(.ci/run installs it when missing), or PHALANX_CHROMIUM=/path/to/chromium; PHALANX_SKIP_BROWSER=1 skips them'
/** appended to the test names when they are skipped, so the skip shows its reason */
const SKIPPED = CHROMIUM === undefined ? ' (skipped: PHALANX_SKIP_BROWSER=1 and no chromium found)' : ''
if (CHROMIUM === undefined && SKIP) console.warn(`[browser] ${MISSING}`)

if (CHROMIUM === undefined && !SKIP) {
  describe('a real browser against a node with auth off', () => {
    it('needs chromium', () => { throw new Error(MISSING) })
  })
}

/** a request the node received, and its answer */
interface Seen {
  method: string
  path: string
  host: string | undefined
  origin: string | undefined
  secFetchSite: string | undefined
  acrMethod: string | undefined
  status: number | undefined
  /** the answer's header names */
  headers: string[]
  /** the answer's body */
  body: string
  done: boolean
}

/** what a fetch() in the page got */
interface Outcome { type?: string, status?: number, text?: string, error?: string }

describe.skipIf(CHROMIUM === undefined)(`a real browser against a node with auth off${SKIPPED}`, () => {
  let t: TestNode
  let apiPort: number
  let attacker: Server
  let attackerPort: number
  let attackerOrigin: string
  let browser: Browser
  let context: BrowserContext | undefined
  let page: Page
  /** the node's requests since the test began */
  let seen: Seen[] = []
  /** every answer of the node in this file */
  const all: Seen[] = []
  /** an indicator of the node the attacker wants to read */
  const SECRET = 'browser-secret.example'

  function record (message: unknown): void {
    const { request, response } = message as { request: IncomingMessage, response: ServerResponse }
    if (request.socket.localPort !== apiPort) return
    const one = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v.join(', ') : v
    const s: Seen = {
      method: request.method ?? '',
      path: request.url ?? '',
      host: request.headers.host,
      origin: one(request.headers.origin),
      secFetchSite: one(request.headers['sec-fetch-site']),
      acrMethod: one(request.headers['access-control-request-method']),
      status: undefined,
      headers: [],
      body: '',
      done: false
    }
    seen.push(s)
    all.push(s)
    const chunks: string[] = []
    const keep = (chunk: unknown): void => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk).toString('utf8'))
    }
    const write = response.write.bind(response) as (...a: unknown[]) => boolean
    const end = response.end.bind(response) as (...a: unknown[]) => ServerResponse
    response.write = ((...a: unknown[]) => { keep(a[0]); return write(...a) }) as typeof response.write
    response.end = ((...a: unknown[]) => { if (typeof a[0] !== 'function') keep(a[0]); return end(...a) }) as typeof response.end
    response.on('finish', () => {
      s.status = response.statusCode
      s.headers = Object.keys(response.getHeaders())
      s.body = chunks.join('')
      s.done = true
    })
  }

  /**
   * The node's requests matching `pred`, once it has answered them all and (given `want`) they
   * hold every path of `want` (as `paths` gives them): a page can hold its answer before the
   * node's 'finish' event runs. After 5 s, what it has answered by then, for the assertions to
   * show.
   */
  async function nodeSaw (pred: (s: Seen) => boolean, want?: { paths: string[], method?: boolean }): Promise<Seen[]> {
    const ready = (): Seen[] | undefined => {
      const m = seen.filter(pred)
      if (m.length === 0 || m.some(s => !s.done)) return undefined
      if (want !== undefined) {
        const got = paths(m, want.method)
        if (!want.paths.every(p => got.includes(p))) return undefined
      }
      return m
    }
    try {
      return await until('the node to answer', ready, 5_000, 20)
    } catch {
      return seen.filter(s => s.done && pred(s))
    }
  }

  /**
   * the distinct paths (with the method) of `list`: Chromium sends a request again once after
   * a 421 (Misdirected Request), so the node sees each of those twice
   */
  function paths (list: Seen[], method = false): string[] {
    return [...new Set(list.map(s => `${method ? `${s.method} ` : ''}${s.path.split('?')[0]}`))].sort()
  }

  function expectRefused (s: Seen, status: number, code: string): void {
    const text = `${s.method} ${s.path} (Host ${s.host ?? '-'}, Origin ${s.origin ?? '-'}, Sec-Fetch-Site ${s.secFetchSite ?? '-'}): ${s.status ?? '?'} ${s.body.slice(0, 300)}`
    expect(s.status, text).toBe(status)
    let parsed: { error?: { code?: string } } | undefined
    try { parsed = JSON.parse(s.body) } catch { parsed = undefined }
    expect(parsed?.error?.code, text).toBe(code)
    expect(s.headers.filter(h => h.startsWith('access-control-')), text).toEqual([])
  }

  /** fetch() run by the page, bounded; a rejected fetch is `{ error }` */
  async function pageFetch (url: string, init: { method?: string, mode?: 'cors' | 'no-cors', body?: string, contentType?: string } = {}): Promise<Outcome> {
    return await page.evaluate(async ({ url, init }) => {
      const headers: Record<string, string> = {}
      if (init.contentType !== undefined) headers['content-type'] = init.contentType
      try {
        const r = await fetch(url, { method: init.method ?? 'GET', mode: init.mode ?? 'cors', headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: AbortSignal.timeout(10_000) })
        return { type: r.type, status: r.status, text: await r.text() }
      } catch (e) {
        return { error: String(e) }
      }
    }, { url, init })
  }

  async function counts (): Promise<{ entries: number, indicators: number }> {
    const res = await t.api('/v1/status')
    expect(res.status, res.text).toBe(200)
    return res.body.counts
  }

  /** whether the node knows `value` (a trusted request: Host 127.0.0.1:PORT, no Origin) */
  async function known (value: string): Promise<boolean> {
    const res = await t.api(`/v1/lookup?value=${encodeURIComponent(value)}`)
    expect(res.status, res.text).toBe(200)
    return res.body.found as boolean
  }

  /** publish `value` with a trusted request; its id (an indicator for a page to try to revoke) */
  async function mine (value: string): Promise<string> {
    const res = await t.api('/v1/indicators', { json: { type: 'domain', value, tlp: 'CLEAR' }, token: null })
    expect(res.status, res.text).toBe(201)
    return res.body.ids[0] as string
  }

  async function notRevoked (id: string): Promise<void> {
    const res = await t.api(`/v1/indicators/${id}`)
    expect(res.status, res.text).toBe(200)
    expect(res.body.revoked, res.text).toBeUndefined()
  }

  const indicator = (value: string): string => JSON.stringify({ type: 'domain', value, tlp: 'CLEAR' })

  beforeAll(async () => {
    subscribe('http.server.request.start', record)
    t = await startTestNode({ flags: { api: { auth: false } } })
    apiPort = Number(new URL(t.url).port)
    await mine(SECRET)
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end('<!doctype html><meta charset="utf-8"><title>a page on the web</title><p>nothing to see here</p>')
    })
    await new Promise<void>((resolve, reject) => { attacker.once('error', reject); attacker.listen(0, '127.0.0.1', resolve) })
    attackerPort = (attacker.address() as AddressInfo).port
    attackerOrigin = `http://${ATTACKER}:${attackerPort}`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        // CI runs as root
        '--no-sandbox',
        // both names are 127.0.0.1, without DNS
        `--host-resolver-rules=MAP ${EVIL} 127.0.0.1, MAP ${ATTACKER} 127.0.0.1`,
        // Chromium's own Local/Private Network Access checks stop a page that came from a
        // public address (the rebound page of (b)) from reaching loopback at all. Firefox and
        // Safari have none, older Chromium had none and a policy can turn them off: the node
        // must refuse on its own, so the browser runs without them
        '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests'
      ]
    })
  })

  afterAll(async () => {
    unsubscribe('http.server.request.start', record)
    await context?.close().catch(() => {})
    await browser?.close()
    if (attacker !== undefined) await new Promise<void>(resolve => { attacker.closeAllConnections(); attacker.close(() => { resolve() }) })
    await t?.stop()
    // no answer of the node in this file carried a CORS header
    expect(all.flatMap(s => s.headers.filter(h => h.startsWith('access-control-')))).toEqual([])
  })

  beforeEach(async () => {
    seen = []
    context = await browser.newContext()
    context.setDefaultTimeout(WAIT_MS)
    context.setDefaultNavigationTimeout(WAIT_MS)
    page = await context.newPage()
  })

  afterEach(async () => {
    await context?.close()
    context = undefined
  })

  it('(a) the attacker page\'s simple POSTs to 127.0.0.1:API and evil.example:API are refused on Origin and Host; nothing is stored or revoked', async () => {
    const nav = await page.goto(`${attackerOrigin}/`)
    expect(nav?.status()).toBe(200)
    const target = await mine('browser-target-a.example')
    const before = await counts()
    const loop = `http://127.0.0.1:${apiPort}`
    const evil = `http://${EVIL}:${apiPort}`

    // a text/plain body needs no preflight
    const plain = await pageFetch(`${loop}/v1/indicators`, { method: 'POST', mode: 'no-cors', body: indicator('browser-plain.example'), contentType: 'text/plain' })
    // no-cors: the page cannot set application/json; the browser sends the JSON as text/plain
    const noCors = await pageFetch(`${loop}/v1/indicators`, { method: 'POST', mode: 'no-cors', body: indicator('browser-nocors.example'), contentType: 'application/json' })
    // a POST without a body: no Content-Type for the node to refuse, only the Origin check
    const revoke = await pageFetch(`${loop}/v1/indicators/${target}/revoke`, { method: 'POST', mode: 'no-cors' })
    // the same through the attacker's name for 127.0.0.1
    const evilPlain = await pageFetch(`${evil}/v1/indicators`, { method: 'POST', mode: 'no-cors', body: indicator('browser-evil.example'), contentType: 'text/plain' })
    const evilRevoke = await pageFetch(`${evil}/v1/indicators/${target}/revoke`, { method: 'POST', mode: 'no-cors' })
    // no-cors answers are opaque to the page: it cannot tell (status 0, no body)
    for (const o of [plain, noCors, revoke, evilPlain, evilRevoke]) expect(o, JSON.stringify(o)).toEqual({ type: 'opaque', status: 0, text: '' })

    const fromPage = (s: Seen): boolean => s.method === 'POST' && s.origin === attackerOrigin
    const posted = ['/v1/indicators', `/v1/indicators/${target}/revoke`].sort()
    const toLoop = await nodeSaw(s => fromPage(s) && s.host === `127.0.0.1:${apiPort}`, { paths: posted })
    expect(paths(toLoop)).toEqual(posted)
    for (const s of toLoop) {
      expect(s.secFetchSite).toBe('cross-site')
      expectRefused(s, 403, 'PX_ERR_ORIGIN')
    }
    const toEvil = await nodeSaw(s => fromPage(s) && s.host === `${EVIL}:${apiPort}`, { paths: posted })
    expect(paths(toEvil)).toEqual(posted)
    for (const s of toEvil) expectRefused(s, 421, 'PX_ERR_HOST')

    expect(await counts()).toEqual(before)
    for (const v of ['browser-plain.example', 'browser-nocors.example', 'browser-evil.example']) expect(await known(v), v).toBe(false)
    await notRevoked(target)
  })

  it('(b) at http://evil.example:API/ (DNS rebinding: the page\'s origin is the API\'s name and port) a navigation gets 421 and no data', async () => {
    const nav = await page.goto(`http://${EVIL}:${apiPort}/v1/status`)
    expect(nav?.status()).toBe(421)
    const shown = await page.content()
    expect(shown).toContain('PX_ERR_HOST')
    for (const leak of ['test-org', 'counts', 'fingerprint', SECRET]) expect(shown, leak).not.toContain(leak)
    const status = await nodeSaw(s => s.method === 'GET' && s.path === '/v1/status')
    expect(status.length).toBeGreaterThan(0)
    for (const s of status) {
      expect(s.host).toBe(`${EVIL}:${apiPort}`)
      expectRefused(s, 421, 'PX_ERR_HOST')
    }

    const list = await page.goto(`http://${EVIL}:${apiPort}/v1/indicators`)
    expect(list?.status()).toBe(421)
    expect(await page.content()).not.toContain(SECRET)
  })

  it('(b) the rebound page\'s same-origin fetches (read, publish, revoke) get 421; nothing is read, stored or revoked', async () => {
    const origin = `http://${EVIL}:${apiPort}`
    // Before the rebinding evil.example resolved to the attacker's server, which served this
    // page; the route stands in for that first DNS answer. Once it is gone, evil.example is
    // 127.0.0.1 and the page's requests are same-origin requests to the node.
    await page.route(`${origin}/`, async route => {
      const res = await fetch(`http://127.0.0.1:${attackerPort}/`, { signal: AbortSignal.timeout(WAIT_MS) })
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: await res.text() })
    })
    const nav = await page.goto(`${origin}/`)
    expect(nav?.status()).toBe(200)
    expect(await page.content()).toContain('nothing to see here')
    await page.unrouteAll()
    expect(await page.evaluate('location.origin')).toBe(origin)
    const target = await mine('browser-target-b.example')
    const before = await counts()

    const read = await pageFetch('/v1/indicators')
    const lookup = await pageFetch(`/v1/lookup?value=${SECRET}`)
    const publish = await pageFetch('/v1/indicators', { method: 'POST', body: indicator('browser-rebound.example'), contentType: 'application/json' })
    const revoke = await pageFetch(`/v1/indicators/${target}/revoke`, { method: 'POST', body: '{}', contentType: 'application/json' })
    // same-origin: the page reads every answer, and every answer is the refusal
    for (const o of [read, lookup, publish, revoke]) {
      expect(o.status, JSON.stringify(o)).toBe(421)
      expect(o.text, JSON.stringify(o)).toContain('PX_ERR_HOST')
      expect(o.text, JSON.stringify(o)).not.toContain(SECRET)
    }

    const sent = ['GET /v1/indicators', 'GET /v1/lookup', 'POST /v1/indicators', `POST /v1/indicators/${target}/revoke`].sort()
    // (the browser may also ask for /favicon.ico: refused the same way, checked below)
    const answers = await nodeSaw(s => s.host === `${EVIL}:${apiPort}` && s.path.startsWith('/v1/'), { paths: sent, method: true })
    expect(paths(answers, true)).toEqual(sent)
    for (const s of answers) {
      // same-origin to the browser: Origin (on the POSTs) is the page's own, and Chromium sends
      // Fetch Metadata only to potentially trustworthy URLs (http://evil.example is not), so
      // only the Host check stands in the way
      if (s.method === 'POST') expect(s.origin, s.path).toBe(origin)
      expect(s.secFetchSite, `${s.method} ${s.path}`).toBeUndefined()
      expectRefused(s, 421, 'PX_ERR_HOST')
    }
    for (const s of seen.filter(s => s.done && s.host === `${EVIL}:${apiPort}`)) expectRefused(s, 421, 'PX_ERR_HOST')
    expect(await counts()).toEqual(before)
    expect(await known('browser-rebound.example')).toBe(false)
    await notRevoked(target)
  })

  it('(c) from the attacker page a CORS GET fails (no Access-Control-Allow-Origin) and a preflighted POST is refused at the preflight', async () => {
    await page.goto(`${attackerOrigin}/`)
    const before = await counts()
    const loop = `http://127.0.0.1:${apiPort}`

    const read = await pageFetch(`${loop}/v1/indicators`)
    expect(read.error, JSON.stringify(read)).toMatch(/TypeError/)
    const [get] = await nodeSaw(s => s.method === 'GET' && s.path === '/v1/indicators')
    expect(get, 'the node saw the GET').toBeDefined()
    expect(get.origin).toBe(attackerOrigin)
    expectRefused(get, 403, 'PX_ERR_ORIGIN')
    expect(get.body).not.toContain(SECRET)

    const post = await pageFetch(`${loop}/v1/indicators`, { method: 'POST', body: indicator('browser-preflight.example'), contentType: 'application/json' })
    expect(post.error, JSON.stringify(post)).toMatch(/TypeError/)
    const [pre] = await nodeSaw(s => s.method === 'OPTIONS' && s.path === '/v1/indicators')
    expect(pre, 'the node saw the preflight').toBeDefined()
    expect(pre.origin).toBe(attackerOrigin)
    expect(pre.acrMethod).toBe('POST')
    expectRefused(pre, 403, 'PX_ERR_ORIGIN')
    // the preflight failed, so the browser never sent the POST
    expect(seen.filter(s => s.method === 'POST')).toEqual([])
    expect(await counts()).toEqual(before)
    expect(await known('browser-preflight.example')).toBe(false)
  })
})
