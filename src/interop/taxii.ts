/**
 * TAXII 2.1 server resources, as JSON (src/operations/taxii.ts builds them, the routes in
 * src/api/routes/taxii.ts send them): media types and their checks, timestamps with
 * microseconds, discovery, API root and collection resources, the objects / manifest /
 * versions envelopes, error messages, the envelope of an add and its status resource. Pure:
 * no store, no HTTP.
 */
import { randomUUID } from 'node:crypto'
import { PhalanxError, ValidationError } from '../errors.js'
import { stableUuid } from './stix-export.js'

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1'
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1'

/** objects in one envelope (a 10 MiB body of indicators holds ~20,000) */
export const MAX_ADD_OBJECTS = 50_000
/** a STIX id is "<type>--<uuid>": types are short */
const MAX_ID_LENGTH = 256

// ---- timestamps ----------------------------------------------------------------------------

/** microseconds since the epoch as a TAXII timestamp (RFC 3339, six fraction digits) */
export function taxiiTimeOfMicros (micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(micros % 1000).padStart(3, '0')}Z`)
}

/** a TAXII timestamp → microseconds since the epoch; a ValidationError naming `field` otherwise */
export function microsOfTaxiiTime (iso: string, field: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso)
  const ms = m === null ? NaN : Date.parse(`${m[1]}Z`)
  if (m === null || Number.isNaN(ms)) throw new ValidationError(field, `${field} must be a timestamp like 2026-01-31T09:00:00.000000Z`)
  const frac = (m[2] ?? '').padEnd(6, '0')
  return ms * 1000 + Number(frac)
}

// ---- media types ---------------------------------------------------------------------------

/** does an Accept header take the TAXII 2.1 media type? (a wildcard or no header does) */
export function acceptsTaxii (accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true
  return accept.split(',').some(a => {
    const [type, ...params] = a.trim().toLowerCase().split(';').map(s => s.trim())
    if (type === '*/*' || type === 'application/*') return true
    if (type !== 'application/taxii+json') return false
    const version = params.find(p => p.startsWith('version='))
    return version === undefined || version === 'version=2.1'
  })
}

/** is a Content-Type the TAXII 2.1 media type (the version may be left out)? */
export function isTaxiiContentType (contentType: string | undefined): boolean {
  const [type, ...params] = (contentType ?? '').toLowerCase().split(';').map(x => x.trim())
  const version = params.find(p => p.startsWith('version='))
  return type === 'application/taxii+json' && (version === undefined || version === 'version=2.1')
}

// ---- resources -----------------------------------------------------------------------------

/**
 * A TAXII 2.1 error message (section 3.6.1): `title` (the status text), `description`,
 * `error_code` (our stable PX_ERR_* code), `http_status` and `details.field` (the request part
 * at fault), so a TAXII client and a script that reads our codes both find what went wrong.
 */
export function taxiiErrorMessage (e: PhalanxError, title: string): Record<string, unknown> {
  return {
    title,
    description: e.message,
    error_code: e.code,
    http_status: String(e.status),
    ...(e.field !== undefined ? { details: { field: e.field } } : {})
  }
}

/** a collection: one per circle, and one for the private scope */
export interface TaxiiCollection { id: string, circle: string, title: string, description: string }

/** the collection of a circle; its id is stable (derived from the circle id) */
export function collectionOf (circle: string, title: string, description: string): TaxiiCollection {
  return { id: stableUuid(`phalanx-collection:${circle}`), circle, title, description }
}

/** a collection resource (section 5.2) */
export function collectionResource (c: TaxiiCollection, canWrite: boolean): Record<string, unknown> {
  return { id: c.id, title: c.title, description: c.description, can_read: true, can_write: canWrite, media_types: [STIX_MEDIA_TYPE] }
}

/** the discovery resource (section 4.1): one API root at `<base>/taxii2/api/` */
export function discoveryResource (org: string, base: string): Record<string, unknown> {
  return { title: `Phalanx node ${org}`, description: 'TAXII 2.1 over this node\'s indicators: read (the API token, or a read token for its collections) and add objects (the API token)', default: `${base}/taxii2/api/`, api_roots: [`${base}/taxii2/api/`] }
}

/** the API root resource (section 4.2) */
export function apiRootResource (maxContentLength: number): Record<string, unknown> {
  return { title: 'Phalanx', description: 'one collection per trust circle, and the private scope', versions: [TAXII_MEDIA_TYPE], max_content_length: maxContentLength }
}

/** an envelope of objects (section 3.7): `more`, `next` when there is more, `objects` when any */
export function objectsEnvelope (objects: Array<Record<string, unknown>>, next: string | null): Record<string, unknown> {
  return { more: next !== null, ...(next !== null ? { next } : {}), ...(objects.length > 0 ? { objects } : {}) }
}

/** a manifest resource (section 5.5): per object its id, date added and version */
export function manifestEnvelope (items: Array<{ stix: Record<string, unknown>, dateAdded: string }>, next: string | null): Record<string, unknown> {
  return {
    more: next !== null,
    ...(next !== null ? { next } : {}),
    ...(items.length > 0 ? { objects: items.map(i => ({ id: i.stix.id, date_added: i.dateAdded, version: i.stix.modified, media_type: STIX_MEDIA_TYPE })) } : {})
  }
}

/** a versions resource (section 5.8) of these objects' versions */
export function versionsEnvelope (objects: Array<Record<string, unknown>>): Record<string, unknown> {
  return { more: false, versions: objects.map(o => o.modified) }
}

// ---- add objects ---------------------------------------------------------------------------

/** the `objects` of a TAXII envelope, or a 400 naming what is wrong */
export function envelopeObjects (body: unknown): Array<Record<string, unknown>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', 'the body is a TAXII envelope: {"objects": [...]}')
  const objects = (body as { objects?: unknown }).objects
  if (!Array.isArray(objects)) throw new ValidationError('objects', 'objects must be an array of STIX objects')
  if (objects.length > MAX_ADD_OBJECTS) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_ADD_OBJECTS} objects per envelope; got ${objects.length}`, { field: 'objects' })
  objects.forEach((o, i) => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ValidationError(`objects[${i}]`, 'a STIX object is a JSON object')
    const { type, id } = o as Record<string, unknown>
    if (typeof type !== 'string' || typeof id !== 'string' || !id.startsWith(`${type}--`) || id.length > MAX_ID_LENGTH) {
      throw new ValidationError(`objects[${i}].id`, `a STIX object has a type and an id "<type>--<uuid>" (at most ${MAX_ID_LENGTH} characters)`)
    }
  })
  return objects as Array<Record<string, unknown>>
}

interface ObjectRef { id: string, version: string, message?: string }

/** TAXII 2.1 status resource (section 4.3.1) */
export interface TaxiiStatus {
  id: string
  status: 'complete' | 'pending'
  request_timestamp: string
  total_count: number
  success_count: number
  successes: ObjectRef[]
  failure_count: number
  failures: ObjectRef[]
  pending_count: number
  pendings: ObjectRef[]
}

/** what happened to one object of an add: values stored, kept as context, revoked, or why not */
export interface AddOutcome { stored: number, context: boolean, revoked: number, problems: string[] }

/**
 * The status of a finished add: an object is a success when all its values were stored (or it
 * was kept as context of one, or its revocation applied); otherwise a failure with reasons.
 */
export function statusResource (objects: Array<Record<string, unknown>>, outcomes: AddOutcome[], requested: string): TaxiiStatus {
  const successes: ObjectRef[] = []
  const failures: ObjectRef[] = []
  objects.forEach((o, i) => {
    const out = outcomes[i]
    // a status names each object's version: its modified, else its created, else the request's time
    const ref: ObjectRef = { id: o.id as string, version: typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : requested }
    if (out.problems.length === 0 && (out.stored > 0 || out.context || out.revoked > 0)) successes.push(ref)
    else failures.push({ ...ref, message: [...new Set(out.problems)].join('; ').slice(0, 1000) || 'nothing to store' })
  })
  return {
    id: randomUUID(),
    status: 'complete',
    request_timestamp: requested,
    total_count: objects.length,
    success_count: successes.length,
    successes,
    failure_count: failures.length,
    failures,
    pending_count: 0,
    pendings: []
  }
}
