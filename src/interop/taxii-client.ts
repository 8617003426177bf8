/**
 * A TAXII 2.1 client for imports: the objects of a collection (any TAXII 2.1 server: OpenCTI,
 * a MISP TAXII server, a commercial feed, another Phalanx node), page by page, as indicator
 * rows read the way a STIX bundle is read. Follows `more`/`next`, or `added_after` from the
 * `X-TAXII-Date-Added-Last` header for servers that give no `next`; remembers the last date
 * added, so the next pull can start after it. Its only I/O is fetch: no file, no store.
 */
import { PhalanxError } from '../errors.js'
import type { Row } from './row.js'
import { StixPages } from './stix.js'
import { TAXII_MEDIA_TYPE } from './taxii.js'

/** objects asked for per page (a server may answer fewer) */
const PAGE_SIZE = 1000
/** the largest page accepted */
const MAX_PAGE_BYTES = 64 * 1024 * 1024
/** a request that gives no answer in this time fails */
const REQUEST_TIMEOUT_MS = 60_000

export interface TaxiiSource {
  /** the collection's URL: `https://host/api-root/collections/<id>/` */
  collection: string
  user?: string
  password?: string
  /** only objects added after this TAXII timestamp */
  addedAfter?: string
}

export interface TaxiiProgress {
  pages: number
  objects: number
  /** the date added of the last object received (X-TAXII-Date-Added-Last): where to go on from */
  dateAddedLast?: string
}

/** the collection URL, checked and ending with a slash */
export function collectionUrl (raw: string): URL {
  let u: URL
  try { u = new URL(raw) } catch { throw new PhalanxError('PX_ERR_VALIDATION', `not a URL: ${raw.slice(0, 200)}`, { field: 'file' }) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PhalanxError('PX_ERR_VALIDATION', `a TAXII collection URL is http or https; got ${u.protocol}`, { field: 'file' })
  if (u.username !== '' || u.password !== '') throw new PhalanxError('PX_ERR_VALIDATION', 'put no credentials in the URL: use --user and PHALANX_TAXII_PASSWORD', { field: 'file' })
  if (!u.pathname.endsWith('/')) u.pathname += '/'
  if (!/\/collections\/[^/]+\/$/.test(u.pathname)) throw new PhalanxError('PX_ERR_VALIDATION', `a TAXII collection URL ends with /collections/<id>/; got ${u.pathname.slice(0, 200)}`, { field: 'file' })
  return u
}

/** the body of an answer, at most `max` bytes */
async function readBody (res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > max) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `the TAXII server sent a page of ${declared} bytes (at most ${max})`, { field: 'file' })
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const c of res.body ?? []) {
    size += (c as Uint8Array).length
    if (size > max) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `the TAXII server sent a page over ${max} bytes`, { field: 'file' })
    chunks.push(c as Uint8Array)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** one GET of the TAXII API: the parsed envelope and the headers, or a clear error */
async function get (url: URL, auth: string | undefined): Promise<{ body: Record<string, unknown>, headers: Headers }> {
  let res: Response
  try {
    res = await fetch(url, { headers: { accept: TAXII_MEDIA_TYPE, ...(auth !== undefined ? { authorization: auth } : {}) }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (err) {
    throw new PhalanxError('PX_ERR_PEER', `cannot reach the TAXII server at ${url.origin}: ${(err as Error).message}`, { field: 'file' })
  }
  const text = await readBody(res, MAX_PAGE_BYTES)
  let body: unknown
  try { body = JSON.parse(text) } catch { body = undefined }
  if (res.status !== 200) {
    // a TAXII error message names what went wrong
    const e = body as { title?: unknown, description?: unknown } | undefined
    const why = [e?.title, e?.description].filter((x): x is string => typeof x === 'string').join(': ').slice(0, 300)
    const hint = res.status === 401 || res.status === 403 ? ' (check --user and PHALANX_TAXII_PASSWORD)' : ''
    throw new PhalanxError('PX_ERR_PEER', `the TAXII server answered ${res.status}${why !== '' ? ` (${why})` : ''} for ${url.pathname}${hint}`, { field: 'file' })
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new PhalanxError('PX_ERR_PEER', `the TAXII server did not answer a JSON envelope for ${url.pathname}`, { field: 'file' })
  return { body: body as Record<string, unknown>, headers: res.headers }
}

/**
 * The rows of every object in the collection, page by page (one page in memory at a time).
 * `progress` is updated as pages arrive.
 */
export async function * taxiiRows (src: TaxiiSource, progress: TaxiiProgress = { pages: 0, objects: 0 }): AsyncGenerator<Row> {
  const base = collectionUrl(src.collection)
  const auth = src.user !== undefined || src.password !== undefined
    ? `Basic ${Buffer.from(`${src.user ?? ''}:${src.password ?? ''}`).toString('base64')}`
    : undefined
  const stix = new StixPages()
  let next: string | undefined
  let addedAfter = src.addedAfter
  const seen = new Set<string>()
  for (;;) {
    const url = new URL('objects/', base)
    url.searchParams.set('limit', String(PAGE_SIZE))
    if (next !== undefined) url.searchParams.set('next', next)
    else if (addedAfter !== undefined) url.searchParams.set('added_after', addedAfter)
    // a server that answers the same request again would loop forever
    if (seen.has(url.search)) throw new PhalanxError('PX_ERR_PEER', `the TAXII server sent the same page twice (${url.search.slice(0, 200)}); stopped`, { field: 'file' })
    seen.add(url.search)
    const { body, headers } = await get(url, auth)
    const objects = body.objects ?? []
    if (!Array.isArray(objects)) throw new PhalanxError('PX_ERR_PEER', 'the TAXII envelope\'s objects is not an array', { field: 'file' })
    progress.pages++
    progress.objects += objects.length
    const last = headers.get('x-taxii-date-added-last') ?? undefined
    if (last !== undefined && last !== '') progress.dateAddedLast = last
    yield * stix.rows(objects)
    if (body.more !== true) return
    if (typeof body.next === 'string' && body.next !== '') { next = body.next; continue }
    // no `next`: go on after the last object of this page
    if (last === undefined || last === '' || objects.length === 0) throw new PhalanxError('PX_ERR_PEER', 'the TAXII server says there is more but gives neither next nor X-TAXII-Date-Added-Last', { field: 'file' })
    next = undefined
    addedAfter = last
  }
}
