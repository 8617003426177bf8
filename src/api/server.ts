/**
 * The local node API (fastify): the Host and Origin checks (hosts.ts) before anything else, with
 * or without auth; bearer-token auth on every route but the OpenAPI document; no CORS; JSON errors `{"error":{"code","message","field"}}` with the status from ERROR_CODES, a
 * body limit answered with 413, and NDJSON accepted for bulk publishes.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { PhalanxError, ValidationError } from '../errors.js'
import type { PhalanxNode } from '../node.js'
import { childLogger } from '../log.js'
import { buildOpenApi } from './openapi.js'
import { registerIndicatorRoutes } from './routes/indicators.js'
import { registerNodeRoutes } from './routes/node.js'
import { registerCircleRoutes } from './routes/circles.js'
import { registerExportRoutes } from './routes/export.js'
import { registerAdvisoryRoutes } from './routes/advisories.js'
import { registerReportRoutes } from './routes/reports.js'
import { TAXII_MEDIA_TYPE, isTaxii, registerTaxiiRoutes, sendTaxiiError, taxiiBodyLimit } from './routes/taxii.js'
import { DEFAULT_MAX_TLP, ReadTokens } from './read-tokens.js'
import { createMetrics } from './metrics.js'
import { HostPolicy, publicBase, type RequestOrigin } from './hosts.js'

/** routes reachable without a token: the API description only */
const PUBLIC_ROUTES = new Set(['/v1/openapi.json'])

export interface ApiServer {
  app: FastifyInstance
  start: () => Promise<string>
  stop: () => Promise<void>
}

/** the headers the Host and Origin checks read */
function requestOrigin (req: FastifyRequest): RequestOrigin {
  const raw = req.raw.rawHeaders
  let hostLines = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'host') hostLines++
  const one = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v.join(', ') : v
  return { host: req.headers.host, hostLines, httpVersion: req.raw.httpVersion, origin: one(req.headers.origin), secFetchSite: one(req.headers['sec-fetch-site']) }
}

/** constant-time token check; only the length can leak, and every token has the same length */
function tokenMatches (given: string, expected: Buffer): boolean {
  const b = Buffer.from(given)
  return b.length === expected.length && timingSafeEqual(b, expected)
}

/** parse NDJSON (one indicator per line) into the bulk body shape */
export function parseNdjson (text: string): { indicators: unknown[] } {
  const indicators: unknown[] = []
  let line = 0
  for (const raw of text.split('\n')) {
    line++
    const s = raw.trim()
    if (s === '') continue
    try {
      indicators.push(JSON.parse(s))
    } catch {
      throw new PhalanxError('PX_ERR_BAD_JSON', `NDJSON line ${line} is not valid JSON`, { field: `indicators[${indicators.length}]` })
    }
  }
  return { indicators }
}

function toPhalanxError (err: unknown, bodyLimit: number): PhalanxError {
  if (err instanceof PhalanxError) return err
  const e = err as { code?: string, statusCode?: number, message?: string }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `the request body is over the ${bodyLimit}-byte limit`, { field: 'body' })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PhalanxError('PX_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (or application/x-ndjson for bulk publishes)', { field: 'content-type' })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PhalanxError('PX_ERR_BAD_JSON', 'the request body is empty', { field: 'body' })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PhalanxError('PX_ERR_BAD_JSON', 'the request body does not match its Content-Length', { field: 'body' })
    case 'FST_ERR_BAD_URL':
      return new ValidationError('url', 'the URL path is not valid percent-encoding')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ValidationError('url', 'a path parameter of the URL is too long')
  }
  if (err instanceof SyntaxError || (e.statusCode === 400 && typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP'))) {
    return new PhalanxError('PX_ERR_BAD_JSON', `the request body is not valid JSON: ${e.message ?? ''}`.trim(), { field: 'body' })
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', e.message ?? 'too large', { field: 'body' })
    if (e.statusCode === 415) return new PhalanxError('PX_ERR_UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported media type', { field: 'content-type' })
    return new ValidationError('request', e.message ?? 'bad request')
  }
  return new PhalanxError('PX_ERR_INTERNAL', 'internal error; see the node log', { cause: err })
}

/** answer a request the HTTP parser refused; the socket is closed after */
function sendClientError (err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e = err.code === 'HPE_HEADER_OVERFLOW'
    ? new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', 'the request line and headers are over the HTTP server\'s size limit (16 KiB): shorten the URL', { field: 'url' })
    : new ValidationError('request', err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'the request did not arrive completely in time' : 'the request is not valid HTTP')
  const body = JSON.stringify({ error: e.toJSON() })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

export function createApiServer (node: PhalanxNode): ApiServer {
  const log = childLogger(node.log, 'api')
  const { bodyLimitBytes, host, port, auth, allowedHosts, publicUrl } = node.config.api
  const hosts = new HostPolicy({ host, allowedHosts, publicUrl })
  /** the base of the absolute URLs the API answers with (TAXII): api.publicUrl, else the listen address once known */
  let base = publicUrl === '' ? `http://127.0.0.1:${port}` : publicBase(publicUrl)
  const app = Fastify({
    // a request without Host reaches the checks below (a JSON 400), not Node's bare 400
    http: { requireHostHeader: false },
    bodyLimit: bodyLimitBytes,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    // keep parsing safe: refuse prototype-poisoning keys instead of passing them on
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // errors the router raises before any route runs (bad %-encoding in the path, an
    // over-long path parameter) get the same JSON error shape as everything else
    frameworkErrors: (err, req, reply) => { sendError(err, req, reply) },
    // requests Node's HTTP parser refuses before fastify sees them (e.g. a URL or headers
    // over 16 KiB) also get a JSON error with a PX_ERR_* code
    clientErrorHandler: (err, socket) => { sendClientError(err, socket) }
  })
  const expected = Buffer.from(node.token)
  const readTokens = new ReadTokens(node.dataDir)
  const metrics = createMetrics({
    counts: () => node.store.isOpen ? node.store.counts() : undefined,
    queuedItems: () => node.ingest.queuedItems,
    gossipCounts: () => node.network?.gossipCounts,
    gossipReceived: () => node.network?.gossipReceived
  })

  // bodies are JSON (or NDJSON for bulk publishes) only: fastify's built-in text/plain
  // parser would hand a string to the routes instead of answering 415
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson'], { parseAs: 'string', bodyLimit: bodyLimitBytes }, (_req, body, done) => {
    try { done(null, parseNdjson(body as string)) } catch (err) { done(err as Error, undefined) }
  })

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    metrics.requests.inc()
    // no answer is a page to render: a browser never sniffs JSON or text into HTML
    void reply.header('X-Content-Type-Options', 'nosniff')
    // before auth and before any route: a rebinding page's Host, another origin's page
    hosts.check(requestOrigin(req))
    if (!auth || PUBLIC_ROUTES.has(req.url.split('?')[0])) return
    const h = req.headers.authorization
    let m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null
    // TAXII clients authenticate with HTTP Basic: any user name, the API token as password
    const taxii = isTaxii(req.url)
    if (m === null && taxii && typeof h === 'string') {
      const b = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h)
      const decoded = b === null ? '' : Buffer.from(b[1], 'base64').toString('utf8')
      if (decoded.includes(':')) m = ['', decoded.slice(decoded.indexOf(':') + 1)] as unknown as RegExpExecArray
    }
    // a TAXII read token reads the collections it names, and nothing else
    if (m !== null && taxii && !tokenMatches(m[1], expected)) {
      const t = readTokens.match(m[1])
      if (t !== undefined) {
        req.taxiiScope = new Set(t.collections)
        // a token made before maxTlp existed gets the default cap (the safe side)
        req.taxiiMaxTlp = t.maxTlp ?? DEFAULT_MAX_TLP
        return
      }
    }
    if (m === null || !tokenMatches(m[1], expected)) {
      reply.header('WWW-Authenticate', taxii ? 'Basic realm="phalanx-taxii"' : 'Bearer realm="phalanx"')
      throw new PhalanxError('PX_ERR_UNAUTHORIZED', m === null
        ? 'missing bearer token: send "Authorization: Bearer <token>" (the token is in <data>/api.token)'
        : 'wrong bearer token', { field: 'authorization' })
    }
  })

  function sendError (err: unknown, req: FastifyRequest, reply: FastifyReply): void {
    const taxii = isTaxii(req.url)
    let e = toPhalanxError(err, taxii ? taxiiBodyLimit(bodyLimitBytes) : bodyLimitBytes)
    if (taxii && e.code === 'PX_ERR_UNSUPPORTED_MEDIA_TYPE') e = new PhalanxError(e.code, `send the envelope as ${TAXII_MEDIA_TYPE}`, { field: 'content-type' })
    if (e.code === 'PX_ERR_INTERNAL') log.error({ err, url: req.url, method: req.method }, 'request failed')
    else log.debug({ code: e.code, field: e.field, url: req.url }, 'request refused')
    if (e.code === 'PX_ERR_RATE_LIMITED') reply.header('Retry-After', String(e.meta?.retryAfter ?? 1))
    metrics.errors.inc({ code: e.code })
    if (taxii) { sendTaxiiError(reply, e); return }
    void reply.status(e.status).send({ error: e.toJSON() })
  }
  app.setErrorHandler((err, req, reply) => { sendError(err, req, reply) })

  app.setNotFoundHandler((req, reply) => {
    const e = new PhalanxError('PX_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, { field: 'url' })
    if (isTaxii(req.url)) { sendTaxiiError(reply, e); return }
    void reply.status(404).send({ error: e.toJSON() })
  })

  const openapi = buildOpenApi(node.version)
  app.get('/v1/openapi.json', async () => openapi)
  app.get('/metrics', async (_req, reply) => {
    void reply.header('Content-Type', metrics.registry.contentType)
    return await metrics.registry.metrics()
  })
  registerNodeRoutes(app, node.ops)
  registerIndicatorRoutes(app, node.ops, metrics)
  registerCircleRoutes(app, node.ops)
  registerAdvisoryRoutes(app, node.ops)
  registerReportRoutes(app, node.ops)
  registerExportRoutes(app, node.ops)
  registerTaxiiRoutes(app, node.ops, { bodyLimitBytes, publicBase: () => base })
  app.get('/v1/tokens', async () => ({ tokens: readTokens.list() }))
  app.post('/v1/tokens', async (req, reply) => {
    // collections may name circles by name, as everywhere a circle id is taken
    const body = req.body as { collections?: unknown } | null | undefined
    const named = body !== null && typeof body === 'object' && Array.isArray(body.collections)
      ? { ...body, collections: body.collections.map(c => typeof c === 'string' && c !== 'local' ? node.ops.circles.idOf(c) : c) }
      : body
    const t = readTokens.create(named ?? {}, node.ops.circles.list().map(c => c.id))
    void reply.status(201)
    return t
  })
  app.delete('/v1/tokens/:id', async (req) => {
    const id = (req.params as { id: string }).id
    readTokens.revoke(id)
    return { revoked: id }
  })

  return {
    app,
    async start () {
      let address: string
      try {
        address = await app.listen({ host, port })
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new PhalanxError('PX_ERR_CONFIG', code === 'EADDRINUSE'
            ? `the API port ${host}:${port} is in use (another node?); choose another with --api-port (0 = any free port)`
            : `cannot listen on ${host}:${port} (${code}); check api.host / api.port`, { field: code === 'EADDRNOTAVAIL' ? 'api.host' : 'api.port' })
        }
        throw err
      }
      const url = new URL(address)
      // show the bound address as a client would dial it
      const h = url.hostname === '[::]' || url.hostname === '0.0.0.0' ? '127.0.0.1' : url.hostname
      const apiUrl = `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${url.port}`
      if (publicUrl === '') base = apiUrl
      log.info({ apiUrl, publicUrl: base, hosts: [...hosts.names] }, 'API listening')
      if (!auth) {
        // without the token anyone who reaches the port reads, publishes, adds TAXII objects and makes read tokens
        const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost'
        log.warn({ host }, loopback
          ? 'API authentication is off (api.auth false): every local process has full access'
          : 'API authentication is off (api.auth false) on a non-loopback address: anyone who reaches it has full access, TAXII adds and read-token creation included')
      }
      return apiUrl
    },
    async stop () {
      await app.close()
    }
  }
}
