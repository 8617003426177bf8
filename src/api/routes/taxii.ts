/**
 * TAXII 2.1 (docs/API.md, "TAXII 2.1"): discovery, one API root, a collection per circle this
 * node is in plus the private scope, objects (STIX indicators) with `added_after`, `match[id]`,
 * `match[type]`, `match[version]`, `limit` and `next`, manifests, one object and its versions;
 * adding objects (taxii-add.ts) and the status of an add. Media type
 * `application/taxii+json;version=2.1`; HTTP Basic (the API token as password) or Bearer. A
 * node keeps the current version of each indicator, so `versions` lists that one;
 * `date_added` is when this node stored it (its change-feed cursor).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { PhalanxNode } from '../../node.js'
import { PhalanxError, ValidationError } from '../../errors.js'
import { LOCAL_CIRCLE, type StoredIndicator } from '../../records/index.js'
import { CURSOR_RE, cursorFromMicros, queryIndicators } from '../../store/index.js'
import { idCandidatesOfStixId, stableUuid, stixIndicatorId, toStixIndicator } from '../../stix/index.js'
import { checkKnown, one, type Query } from '../params.js'
import { tlpRank, type Tlp } from '../../tlp/index.js'
import { LRUCache } from 'lru-cache'
import { childLogger } from '../../log.js'
import { addStixObjects, envelopeObjects, type TaxiiStatus } from './taxii-add.js'

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1'
const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1'
const DEFAULT_LIMIT = 100
/** the largest envelope a client may add (the API root's max_content_length), unless the API's body limit is lower */
const MAX_CONTENT_LENGTH = 10 * 1024 * 1024
/** status resources of adds kept for GET status/{id}/ (in memory: they end with the process) */
const MAX_STATUSES = 1000
/** and at most this much of them, counted as JSON text */
const MAX_STATUS_BYTES = 64 * 1024 * 1024

/** the body limit of an add: the API's (`api.bodyLimitBytes`), at most 10 MiB */
export function taxiiBodyLimit (apiBodyLimit: number): number {
  return Math.min(apiBodyLimit, MAX_CONTENT_LENGTH)
}
const MAX_LIMIT = 1000
/** records one listing request reads at most before it answers with what it has (and `more`) */
const MAX_EXAMINED = 100_000
/** ids in one match[id] (a URL of 16 KiB, Node's limit, holds ~350 anyway) */
const MAX_MATCH_IDS = 350

/** a cursor (µs since the epoch, hex) as a TAXII timestamp with microseconds */
function microTimeOfCursor (cursor: string): string {
  const micros = parseInt(cursor, 16)
  return new Date(Math.floor(micros / 1000)).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(micros % 1000).padStart(3, '0')}Z`)
}

/** a TAXII timestamp → the cursor of that microsecond */
function cursorOfTime (iso: string, field: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso)
  const ms = m === null ? NaN : Date.parse(`${m[1]}Z`)
  if (m === null || Number.isNaN(ms)) throw new ValidationError(field, `${field} must be a timestamp like 2026-01-31T09:00:00.000000Z`)
  const frac = (m[2] ?? '').padEnd(6, '0')
  return cursorFromMicros(ms * 1000 + Number(frac))
}

/** Accept: the TAXII 2.1 media type (or a wildcard / no header) */
function checkAccept (req: FastifyRequest): void {
  const accept = req.headers.accept
  if (accept === undefined || accept.trim() === '') return
  const ok = accept.split(',').some(a => {
    const [type, ...params] = a.trim().toLowerCase().split(';').map(s => s.trim())
    if (type === '*/*' || type === 'application/*') return true
    if (type !== 'application/taxii+json') return false
    const version = params.find(p => p.startsWith('version='))
    return version === undefined || version === 'version=2.1'
  })
  if (!ok) throw new PhalanxError('PX_ERR_NOT_ACCEPTABLE', `this TAXII server answers ${TAXII_MEDIA_TYPE}; the request accepts only ${accept.slice(0, 200)}`, { field: 'accept' })
}

/** a request under the TAXII root: its errors are TAXII error messages */
export function isTaxii (url: string): boolean {
  const path = url.split('?', 1)[0]
  return path === '/taxii2' || path.startsWith('/taxii2/')
}

/**
 * A TAXII 2.1 error message (section 3.6.1) in the TAXII media type: `title`, `description`,
 * `error_code` (our stable PX_ERR_* code), `http_status` and `details.field` (the request part
 * at fault), so a TAXII client and a script that reads our codes both find what went wrong.
 */
export function sendTaxiiError (reply: FastifyReply, e: PhalanxError): void {
  const body = {
    title: STATUS_CODES[e.status] ?? 'Error',
    description: e.message,
    error_code: e.code,
    http_status: String(e.status),
    ...(e.field !== undefined ? { details: { field: e.field } } : {})
  }
  void reply.status(e.status).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body)))
}

/** Content-Type of an add: the TAXII 2.1 media type */
function checkContentType (req: FastifyRequest): void {
  const [type, ...params] = (req.headers['content-type'] ?? '').toLowerCase().split(';').map(x => x.trim())
  const version = params.find(p => p.startsWith('version='))
  if (type !== 'application/taxii+json' || (version !== undefined && version !== 'version=2.1')) {
    throw new PhalanxError('PX_ERR_UNSUPPORTED_MEDIA_TYPE', `send the envelope as ${TAXII_MEDIA_TYPE}`, { field: 'content-type' })
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** set for a TAXII read token (server.ts): the circles whose collections it reads */
    taxiiScope?: Set<string>
    /** with taxiiScope: the strictest TLP it reads */
    taxiiMaxTlp?: Tlp
  }
}

interface Collection { id: string, circle: string, title: string, description: string }

export function registerTaxiiRoutes (app: FastifyInstance, node: PhalanxNode): void {
  const bodyLimit = taxiiBodyLimit(node.config.api.bodyLimitBytes)
  const log = childLogger(node.log, 'taxii')
  /** the collections the caller may read: all for the API token, the named ones for a read token */
  const collections = (req: FastifyRequest): Collection[] => {
    const scope = req.taxiiScope
    return [
      { id: stableUuid(`phalanx-collection:${LOCAL_CIRCLE}`), circle: LOCAL_CIRCLE, title: 'Private scope', description: 'this organization\'s own indicators, never shared' },
      ...node.ops.circles.list().map(c => ({ id: stableUuid(`phalanx-collection:${c.id}`), circle: c.id, title: c.name, description: `trust circle ${c.id}` }))
    ].filter(c => scope === undefined || scope.has(c.circle))
  }
  /** a collection the caller may read; any other is "no such collection" (its existence is not told) */
  const collection = (req: FastifyRequest, id: string): Collection => {
    const c = collections(req).find(x => x.id === id)
    if (c === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no collection ${id.slice(0, 80)}`, { field: 'id' })
    return c
  }
  /** the strictest TLP the caller reads (a read token's maxTlp; the API token: no cap) */
  const maxTlpOf = (req: FastifyRequest): Tlp | undefined => req.taxiiMaxTlp
  /** a read token only reads; the API token also adds objects */
  const canWrite = (req: FastifyRequest): boolean => req.taxiiScope === undefined
  const view = (req: FastifyRequest, c: Collection): Record<string, unknown> => ({ id: c.id, title: c.title, description: c.description, can_read: true, can_write: canWrite(req), media_types: [STIX_MEDIA_TYPE] })
  // a Buffer: fastify would rewrite the parameters of a json media type (and add a charset)
  const send = (reply: FastifyReply, body: unknown): FastifyReply => reply.header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body)))

  /** one page of a collection's indicators after the filters; its first and last date added */
  async function page (c: Collection, q: Query, maxTlp?: Tlp): Promise<{ items: Array<{ ind: StoredIndicator, stix: Record<string, unknown> }>, next: string | null }> {
    const limitRaw = one(q, 'limit')
    const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw)
    if (limitRaw !== undefined && (!/^\d+$/.test(limitRaw) || limit < 1)) throw new ValidationError('limit', 'limit must be a positive integer')
    const next = one(q, 'next')
    if (next !== undefined && !CURSOR_RE.test(next)) throw new ValidationError('next', 'next must be a value this server returned')
    const after = one(q, 'added_after')
    let cursor = next ?? (after !== undefined ? cursorOfTime(after, 'added_after') : undefined)
    const types = one(q, 'match[type]')?.split(',').map(s => s.trim())
    const ids = one(q, 'match[id]')?.split(',').map(s => s.trim())
    const version = one(q, 'match[version]')
    if (version !== undefined && !version.split(',').every(v => ['last', 'first', 'all'].includes(v.trim()) || /^\d{4}-\d{2}-\d{2}T/.test(v.trim()))) {
      throw new ValidationError('match[version]', 'match[version] is last, first, all or timestamps, comma-separated')
    }
    const versions = version?.split(',').map(s => s.trim()).filter(v => /^\d{4}-/.test(v))
    const items: Array<{ ind: StoredIndicator, stix: Record<string, unknown> }> = []
    if (types !== undefined && !types.includes('indicator')) return { items, next: null }
    const want = Math.min(limit, MAX_LIMIT)
    const maxRank = maxTlp === undefined ? undefined : tlpRank(maxTlp)
    /** add what passes the TLP cap and the version filter; true when the page is full */
    const take = (ind: StoredIndicator): boolean => {
      if (maxRank !== undefined && tlpRank(ind.tlp) > maxRank) return false
      const stix = toStixIndicator(ind)
      if (stix === null || (versions !== undefined && versions.length > 0 && !versions.includes(stix.modified as string))) return false
      items.push({ ind, stix })
      return items.length >= want
    }
    if (ids !== undefined) {
      // each STIX id leads to its indicator (stixIndicatorId): no scan of the collection
      if (ids.length > MAX_MATCH_IDS) throw new ValidationError('match[id]', `match[id] takes at most ${MAX_MATCH_IDS} ids`)
      const rest = byStixIds(c, ids).filter(ind => cursor === undefined || ind.cursor > cursor)
      for (const [i, ind] of rest.entries()) {
        if (take(ind)) return { items, next: i === rest.length - 1 ? null : ind.cursor }
      }
      return { items, next: null }
    }
    // a request reads at most this many records: a capped token over a collection of mostly
    // stricter records gets a short (even empty) page with `more`, not a scan of everything
    let budget = MAX_EXAMINED
    for (;;) {
      const p = await queryIndicators(node.store, { circle: c.circle, limit: Math.min(1000, want - items.length + 50), includeRevoked: true, includeExpired: true, ...(cursor !== undefined ? { cursor } : {}) })
      for (const ind of p.indicators) {
        cursor = ind.cursor
        if (take(ind)) return { items, next: p.nextCursor === null && ind === p.indicators[p.indicators.length - 1] ? null : ind.cursor }
      }
      if (p.nextCursor === null) return { items, next: null }
      cursor = p.nextCursor
      budget -= Math.max(p.indicators.length, 1)
      if (budget <= 0) return { items, next: cursor }
    }
  }

  /** the collection's indicators with these STIX ids, in the order they were added */
  function byStixIds (c: Collection, ids: string[]): StoredIndicator[] {
    const found = new Map<string, StoredIndicator>()
    for (const raw of ids) {
      const sid = raw.toLowerCase()
      for (const id of idCandidatesOfStixId(sid) ?? []) {
        const ind = node.store.scanIndicator(id)
        if (ind !== undefined && ind.circle === c.circle && stixIndicatorId(ind.id) === sid) found.set(ind.id, ind)
      }
    }
    return [...found.values()].sort((a, b) => a.cursor < b.cursor ? -1 : 1)
  }

  function dateHeaders (reply: FastifyReply, items: Array<{ ind: StoredIndicator }>): void {
    if (items.length === 0) return
    void reply.header('X-TAXII-Date-Added-First', microTimeOfCursor(items[0].ind.cursor))
    void reply.header('X-TAXII-Date-Added-Last', microTimeOfCursor(items[items.length - 1].ind.cursor))
  }

  app.get('/taxii2/', async (req, reply) => {
    checkAccept(req)
    const base = `${req.protocol}://${req.headers.host ?? '127.0.0.1'}`
    return send(reply, { title: `Phalanx node ${node.identity.org}`, description: 'TAXII 2.1 (read) over this node\'s indicators', default: `${base}/taxii2/api/`, api_roots: [`${base}/taxii2/api/`] })
  })

  app.get('/taxii2/api/', async (req, reply) => {
    checkAccept(req)
    return send(reply, { title: 'Phalanx', description: 'one collection per trust circle, and the private scope', versions: [TAXII_MEDIA_TYPE], max_content_length: bodyLimit })
  })

  app.get('/taxii2/api/collections/', async (req, reply) => {
    checkAccept(req)
    return send(reply, { collections: collections(req).map(c => view(req, c)) })
  })

  app.get('/taxii2/api/collections/:id/', async (req, reply) => {
    checkAccept(req)
    return send(reply, view(req, collection(req, (req.params as { id: string }).id)))
  })

  /** objects/ and manifest/: the page the query asks for, with its date-added headers */
  async function listing (req: FastifyRequest, reply: FastifyReply): Promise<Awaited<ReturnType<typeof page>>> {
    checkAccept(req)
    const q = req.query as Query
    checkKnown(q, ['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]'])
    const listed = await page(collection(req, (req.params as { id: string }).id), q, maxTlpOf(req))
    dateHeaders(reply, listed.items)
    return listed
  }

  app.get('/taxii2/api/collections/:id/objects/', async (req, reply) => {
    const { items, next } = await listing(req, reply)
    return send(reply, { more: next !== null, ...(next !== null ? { next } : {}), ...(items.length > 0 ? { objects: items.map(i => i.stix) } : {}) })
  })

  app.get('/taxii2/api/collections/:id/manifest/', async (req, reply) => {
    const { items, next } = await listing(req, reply)
    return send(reply, {
      more: next !== null,
      ...(next !== null ? { next } : {}),
      ...(items.length > 0 ? { objects: items.map(i => ({ id: i.stix.id, date_added: microTimeOfCursor(i.ind.cursor), version: i.stix.modified, media_type: STIX_MEDIA_TYPE })) } : {})
    })
  })

  /** objects/{id}/ and versions/: the one object, or 404 */
  async function oneObject (req: FastifyRequest, reply: FastifyReply): Promise<Array<{ ind: StoredIndicator, stix: Record<string, unknown> }>> {
    checkAccept(req)
    const p = req.params as { id: string, objectId: string }
    if (p.objectId.includes(',')) throw new ValidationError('objectId', 'one object id, not a list (match[id] takes a list)')
    const { items } = await page(collection(req, p.id), { 'match[id]': p.objectId, limit: '1' }, maxTlpOf(req))
    if (items.length === 0) throw new PhalanxError('PX_ERR_NOT_FOUND', `no object ${p.objectId.slice(0, 80)} in this collection`, { field: 'objectId' })
    dateHeaders(reply, items)
    return items
  }

  app.get('/taxii2/api/collections/:id/objects/:objectId/', async (req, reply) => {
    const items = await oneObject(req, reply)
    return send(reply, { more: false, objects: items.map(i => i.stix) })
  })

  app.get('/taxii2/api/collections/:id/objects/:objectId/versions/', async (req, reply) => {
    const items = await oneObject(req, reply)
    return send(reply, { more: false, versions: items.map(i => i.stix.modified) })
  })

  // --- add objects (the API token only) --------------------------------------------------
  const statuses = new LRUCache<string, TaxiiStatus>({ max: MAX_STATUSES, maxSize: MAX_STATUS_BYTES, sizeCalculation: s => JSON.stringify(s).length })

  // the TAXII media type is parsed as JSON on these routes only: the rest of the API keeps
  // application/json (and 415 for anything else)
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/taxii+json', { parseAs: 'string', bodyLimit }, scope.getDefaultJsonParser('error', 'error'))

    // who may add, to which collection, is known before the body is read
    const mayAdd = async (req: FastifyRequest): Promise<void> => {
      checkAccept(req)
      collection(req, (req.params as { id: string }).id)
      if (!canWrite(req)) throw new PhalanxError('PX_ERR_FORBIDDEN', 'a read token reads; adding objects takes the API token', { field: 'authorization' })
      checkContentType(req)
    }
    scope.post('/taxii2/api/collections/:id/objects/', { bodyLimit, onRequest: mayAdd }, async (req, reply) => {
      const c = collection(req, (req.params as { id: string }).id)
      checkKnown(req.query as Query, [])
      const status = await addStixObjects(node, c.circle, envelopeObjects(req.body), log)
      statuses.set(status.id, status)
      void reply.status(202)
      return send(reply, status)
    })
  })

  app.get('/taxii2/api/status/:statusId/', async (req, reply) => {
    checkAccept(req)
    const id = (req.params as { statusId: string }).statusId
    const status = canWrite(req) ? statuses.get(id) : undefined
    if (status === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no status ${id.slice(0, 80)} (statuses of the last ${MAX_STATUSES} adds are kept until the node restarts)`, { field: 'statusId' })
    return send(reply, status)
  })
}
