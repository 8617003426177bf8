/**
 * Feeds for other tools: blocklists for firewalls and resolvers (streamed text), exports of
 * indicators in csv, text, ndjson, STIX 2.1 or MISP (streamed; what `phalanx export` prints),
 * and a live stream of server-sent events that a reconnecting SIEM resumes without a gap
 * (`Last-Event-ID` is the store's cursor): new indicator versions, and (issue 15) advisories,
 * acks and other organizations' sightings of this node's own indicators, in the order stored.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { ValidationError } from '../../errors.js'
import { isIndicatorType } from '../../records/index.js'
import { CURSOR_RE } from '../../store/index.js'
import { BLOCKLIST_FORMATS, EXPORT_FORMATS, EXPORT_MEDIA_TYPES, checkBlocklistType, type BlocklistFormat, type ExportFormat } from '../../interop/index.js'
import { STREAM_EVENT_KINDS, type Operations, type StreamEvent, type StreamEventFilter, type StreamEventKind } from '../../operations/index.js'
import { bool, checkKnown, one, parseQueryFilter, type Query } from '../params.js'

/** how often a stream looks for new versions when idle */
const STREAM_POLL_MS = 200
/** a comment line this often keeps proxies from closing an idle stream */
const STREAM_HEARTBEAT_MS = 15_000

/** the filters of an export of indicators (those of GET /v1/indicators but paging), in the order a MISP event's title names them */
const EXPORT_FILTERS = ['type', 'value', 'tag', 'tlp', 'origin', 'circle', 'since', 'until', 'include_revoked', 'include_expired'] as const

/** the `events` query of the stream: kinds, comma-separated (default all) */
function eventKinds (raw: string | undefined): Set<StreamEventKind> {
  if (raw === undefined) return new Set(STREAM_EVENT_KINDS)
  const out = new Set<StreamEventKind>()
  for (const k of raw.split(',').map(x => x.trim()).filter(x => x !== '')) {
    if (!(STREAM_EVENT_KINDS as readonly string[]).includes(k)) throw new ValidationError('events', `events is a comma-separated list of ${STREAM_EVENT_KINDS.join(', ')}; "${k.slice(0, 40)}" is none of them`)
    out.add(k as StreamEventKind)
  }
  if (out.size === 0) throw new ValidationError('events', `events names at least one of ${STREAM_EVENT_KINDS.join(', ')}`)
  return out
}

export function registerExportRoutes (app: FastifyInstance, ops: Operations): void {
  /** open streams: ended when the server closes (an open stream would hold the close forever) */
  const streams = new Set<() => void>()
  app.addHook('preClose', async () => { for (const end of streams) end() })

  app.get('/v1/export/blocklist', async (req, reply) => {
    const q = req.query as Query
    checkKnown(q, ['type', 'format', 'min_confidence', 'tag', 'circle', 'sid_base', 'include_red', 'exclude_false_positives'])
    const format = (one(q, 'format') ?? 'plain') as BlocklistFormat
    if (!BLOCKLIST_FORMATS.includes(format)) throw new ValidationError('format', `format must be one of ${BLOCKLIST_FORMATS.join(', ')}`)
    const type = one(q, 'type') ?? (format === 'rpz' ? 'domain' : undefined)
    if (type === undefined) throw new ValidationError('type', 'type is required (one list per type)')
    if (!isIndicatorType(type)) throw new ValidationError('type', `unknown indicator type "${type}"`)
    checkBlocklistType(format, type)
    const mc = one(q, 'min_confidence')
    if (mc !== undefined && (!/^\d+$/.test(mc) || Number(mc) > 100)) throw new ValidationError('min_confidence', 'min_confidence must be an integer from 0 to 100')
    const sid = one(q, 'sid_base')
    if (sid !== undefined && (!/^\d{1,9}$/.test(sid) || Number(sid) < 1)) throw new ValidationError('sid_base', 'sid_base must be a positive integer')
    const tag = one(q, 'tag')
    const circle = one(q, 'circle')
    // RED is for named recipients: it is in a bulk list only when asked for by name
    const includeRed = bool(q, 'include_red') === true
    // a value an organization reported as a false positive stays out unless asked for
    const includeFalsePositives = bool(q, 'exclude_false_positives') === false
    const lines = ops.exports.blocklist({
      includeRed,
      includeFalsePositives,
      type,
      format,
      ...(mc !== undefined ? { minConfidence: Number(mc) } : {}),
      ...(tag !== undefined ? { tag } : {}),
      ...(circle !== undefined ? { circle: ops.circles.idOf(circle) } : {}),
      ...(sid !== undefined ? { sidBase: Number(sid) } : {})
    })
    void reply.type('text/plain; charset=utf-8')
    return await reply.send(Readable.from(lines))
  })

  app.get('/v1/export/indicators', async (req, reply) => {
    const q = req.query as Query
    checkKnown(q, ['format', 'include_red', 'include_reports', ...EXPORT_FILTERS])
    const format = one(q, 'format') as ExportFormat | undefined
    if (format === undefined) throw new ValidationError('format', `format is required, one of ${EXPORT_FORMATS.join(', ')}`)
    if (!EXPORT_FORMATS.includes(format)) throw new ValidationError('format', `format must be one of ${EXPORT_FORMATS.join(', ')}`)
    // RED is for named recipients: in a bulk export only when asked for, or named in tlp
    const includeRed = bool(q, 'include_red') === true
    const filters: Query = {}
    for (const k of EXPORT_FILTERS) if (q[k] !== undefined) filters[k] = q[k]
    const filter = parseQueryFilter(filters, (value, type) => ops.indicators.normalizeLookup(value, type), (ref) => ops.circles.idOf(ref))
    const given = EXPORT_FILTERS.flatMap(k => { const v = one(q, k); return v === undefined ? [] : [[k, v] as [string, string]] })
    const includeReports = bool(q, 'include_reports')
    const chunks = ops.exports.indicators({ format, filter, includeRed, given, ...(includeReports !== undefined ? { includeReports } : {}) })
    void reply.header('content-type', EXPORT_MEDIA_TYPES[format])
    return await reply.send(Readable.from(chunks))
  })

  app.get('/v1/stream', async (req, reply) => {
    const q = { ...(req.query as Query) }
    checkKnown(q, ['type', 'tag', 'tlp', 'origin', 'circle', 'include_revoked', 'include_expired', 'last_event_id', 'events'])
    // Last-Event-ID (header, or the query for clients that cannot set it) resumes after it
    const resume = (req.headers['last-event-id'] as string | undefined) ?? one(q, 'last_event_id')
    delete q.last_event_id
    if (resume !== undefined && !CURSOR_RE.test(resume)) throw new ValidationError('last-event-id', 'Last-Event-ID must be the id of an event this stream sent')
    const kinds = eventKinds(one(q, 'events'))
    delete q.events
    const base = parseQueryFilter(q, (value, type) => ops.indicators.normalizeLookup(value, type), (ref) => ops.circles.idOf(ref))
    if (bool(q, 'include_revoked') === undefined) base.includeRevoked = true // a revocation is news
    // circle and origin select every kind of event; the other filters select indicators
    const others: StreamEventFilter = { kinds, ...(base.circle !== undefined ? { circle: base.circle } : {}), ...(base.origin !== undefined ? { origin: base.origin } : {}) }
    let cursor = resume ?? ops.exports.lastCursor()

    /** indicator versions (pages of the change feed) and the other events after `from` up to `upto`, in cursor order */
    async function * merged (from: string, upto: string): AsyncGenerator<StreamEvent> {
      const versions = async function * (): AsyncGenerator<StreamEvent> {
        if (!kinds.has('indicator')) return
        let c = from
        for (;;) {
          const page = await ops.exports.changes(base, c)
          for (const ind of page.indicators) {
            if (ind.cursor > upto) return
            yield { id: ind.cursor, event: 'indicator', data: ind }
          }
          if (page.nextCursor === null || page.nextCursor >= upto) return
          c = page.nextCursor
        }
      }
      const told = async function * (): AsyncGenerator<StreamEvent> {
        if ([...kinds].every(k => k === 'indicator')) return
        let c = from
        for (;;) {
          const page = await ops.events.page(c, upto, others)
          yield * page.events
          if (page.next === null) return
          c = page.next
        }
      }
      const a = versions()
      const b = told()
      let x = await a.next()
      let y = await b.next()
      while (x.done !== true || y.done !== true) {
        if (y.done === true || (x.done !== true && x.value.id < y.value.id)) {
          yield x.value as StreamEvent
          x = await a.next()
        } else {
          yield y.value
          y = await b.next()
        }
      }
    }

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(`retry: 2000\n: phalanx stream from ${cursor}\n\n`)
    let closed = false
    const end = (): void => { closed = true; res.end() }
    streams.add(end)
    req.raw.on('close', () => { closed = true })
    let lastWrite = Date.now()
    const write = async (text: string): Promise<void> => {
      lastWrite = Date.now()
      if (!res.write(text)) await new Promise(resolve => res.once('drain', resolve))
    }
    try {
      while (!closed) {
        // everything stored up to `upto` (indicator versions and events, written in the same
        // batches as the cursor) is in the store when the pages below read it; what is stored
        // later, at greater cursors, comes next round
        const upto = ops.exports.lastCursor()
        if (upto > cursor) {
          for await (const e of merged(cursor, upto)) {
            if (closed) break
            await write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
          }
          if (!closed) cursor = upto
        }
        if (Date.now() - lastWrite > STREAM_HEARTBEAT_MS) await write(': ping\n\n')
        await new Promise(resolve => setTimeout(resolve, STREAM_POLL_MS))
      }
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'stream ended')
    } finally {
      streams.delete(end)
      res.end()
    }
  })
}
