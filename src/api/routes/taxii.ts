/**
 * TAXII 2.1 over HTTP (docs/API.md, "TAXII 2.1"): discovery, one API root, the collections,
 * objects, manifests, one object and its versions, adding objects and the status of an add.
 * Media type `application/taxii+json;version=2.1`; HTTP Basic (the API token as password) or
 * Bearer; a read token (server.ts) reads the collections it names up to its TLP ceiling. The
 * use cases are src/operations/taxii.ts, the resources src/interop/taxii.ts; this file checks
 * the media types, maps each request to its caller and sends the answer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { LRUCache } from 'lru-cache'
import { PhalanxError } from '../../errors.js'
import {
  TAXII_MEDIA_TYPE, acceptsTaxii, apiRootResource, collectionResource, envelopeObjects, isTaxiiContentType,
  manifestEnvelope, objectsEnvelope, taxiiErrorMessage, versionsEnvelope, type TaxiiCollection, type TaxiiStatus
} from '../../interop/index.js'
import type { Operations, TaxiiCaller, TaxiiItem, TaxiiPage } from '../../operations/index.js'
import type { Tlp } from '../../tlp/index.js'
import { checkKnown, type Query } from '../params.js'

export { TAXII_MEDIA_TYPE }
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

/** Accept: the TAXII 2.1 media type (or a wildcard / no header) */
function checkAccept (req: FastifyRequest): void {
  const accept = req.headers.accept
  if (accept === undefined || acceptsTaxii(accept)) return
  throw new PhalanxError('PX_ERR_NOT_ACCEPTABLE', `this TAXII server answers ${TAXII_MEDIA_TYPE}; the request accepts only ${accept.slice(0, 200)}`, { field: 'accept' })
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
  const body = taxiiErrorMessage(e, STATUS_CODES[e.status] ?? 'Error')
  void reply.status(e.status).header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body)))
}

/** Content-Type of an add: the TAXII 2.1 media type */
function checkContentType (req: FastifyRequest): void {
  if (!isTaxiiContentType(req.headers['content-type'])) {
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

/** who asks: the API token, or a read token with its collections and TLP ceiling */
function callerOf (req: FastifyRequest): TaxiiCaller {
  return { scope: req.taxiiScope, maxTlp: req.taxiiMaxTlp }
}

export interface TaxiiRouteOptions {
  /** the API's body limit (`api.bodyLimitBytes`): an add takes at most this, and at most 10 MiB */
  bodyLimitBytes: number
  /** the base of absolute URLs (`api.publicUrl`, else the listen address): never the request's Host */
  publicBase: () => string
}

export function registerTaxiiRoutes (app: FastifyInstance, ops: Operations, opts: TaxiiRouteOptions): void {
  const taxii = ops.taxii
  const bodyLimit = taxiiBodyLimit(opts.bodyLimitBytes)
  const collectionId = (req: FastifyRequest): string => (req.params as { id: string }).id
  const view = (req: FastifyRequest, c: TaxiiCollection): Record<string, unknown> => collectionResource(c, taxii.mayAdd(callerOf(req)))
  // a Buffer: fastify would rewrite the parameters of a json media type (and add a charset)
  const send = (reply: FastifyReply, body: unknown): FastifyReply => reply.header('content-type', TAXII_MEDIA_TYPE).send(Buffer.from(JSON.stringify(body)))

  function dateHeaders (reply: FastifyReply, items: TaxiiItem[]): void {
    if (items.length === 0) return
    void reply.header('X-TAXII-Date-Added-First', items[0].dateAdded)
    void reply.header('X-TAXII-Date-Added-Last', items[items.length - 1].dateAdded)
  }

  app.get('/taxii2/', async (req, reply) => {
    checkAccept(req)
    return send(reply, taxii.discovery(opts.publicBase()))
  })

  app.get('/taxii2/api/', async (req, reply) => {
    checkAccept(req)
    return send(reply, apiRootResource(bodyLimit))
  })

  app.get('/taxii2/api/collections/', async (req, reply) => {
    checkAccept(req)
    return send(reply, { collections: taxii.collections(callerOf(req)).map(c => view(req, c)) })
  })

  app.get('/taxii2/api/collections/:id/', async (req, reply) => {
    checkAccept(req)
    return send(reply, view(req, taxii.collection(callerOf(req), collectionId(req))))
  })

  /** objects/ and manifest/: the page the query asks for, with its date-added headers */
  async function listing (req: FastifyRequest, reply: FastifyReply): Promise<TaxiiPage> {
    checkAccept(req)
    const q = req.query as Query
    checkKnown(q, ['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]'])
    const listed = await taxii.objects(callerOf(req), collectionId(req), q)
    dateHeaders(reply, listed.items)
    return listed
  }

  app.get('/taxii2/api/collections/:id/objects/', async (req, reply) => {
    const { items, next } = await listing(req, reply)
    return send(reply, objectsEnvelope(items.map(i => i.stix), next))
  })

  app.get('/taxii2/api/collections/:id/manifest/', async (req, reply) => {
    const { items, next } = await listing(req, reply)
    return send(reply, manifestEnvelope(items, next))
  })

  /** objects/{id}/ and versions/: the one object, or 404 */
  async function oneObject (req: FastifyRequest, reply: FastifyReply): Promise<TaxiiItem[]> {
    checkAccept(req)
    const p = req.params as { id: string, objectId: string }
    const items = await taxii.object(callerOf(req), p.id, p.objectId)
    dateHeaders(reply, items)
    return items
  }

  app.get('/taxii2/api/collections/:id/objects/:objectId/', async (req, reply) => {
    const items = await oneObject(req, reply)
    return send(reply, objectsEnvelope(items.map(i => i.stix), null))
  })

  app.get('/taxii2/api/collections/:id/objects/:objectId/versions/', async (req, reply) => {
    const items = await oneObject(req, reply)
    return send(reply, versionsEnvelope(items.map(i => i.stix)))
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
      taxii.addTarget(callerOf(req), collectionId(req))
      checkContentType(req)
    }
    scope.post('/taxii2/api/collections/:id/objects/', { bodyLimit, onRequest: mayAdd }, async (req, reply) => {
      checkKnown(req.query as Query, [])
      const status = await taxii.add(callerOf(req), collectionId(req), envelopeObjects(req.body))
      statuses.set(status.id, status)
      void reply.status(202)
      return send(reply, status)
    })
  })

  app.get('/taxii2/api/status/:statusId/', async (req, reply) => {
    checkAccept(req)
    const id = (req.params as { statusId: string }).statusId
    const status = taxii.mayAdd(callerOf(req)) ? statuses.get(id) : undefined
    if (status === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no status ${id.slice(0, 80)} (statuses of the last ${MAX_STATUSES} adds are kept until the node restarts)`, { field: 'statusId' })
    return send(reply, status)
  })
}
