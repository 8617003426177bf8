/**
 * Indicator routes: publish (single, bulk JSON, NDJSON), query, get, lookup, revoke,
 * sightings.
 */
import type { FastifyInstance } from 'fastify'
import { PhalanxError, ValidationError } from '../../errors.js'
import { MAX_BULK_INDICATORS, type Operations } from '../../operations/index.js'
import { isObject, parseRecipients } from '../../records/index.js'
import { parseTlp } from '../../tlp/index.js'
import { bool, checkKnown, one, parseQueryFilter, type Query } from '../params.js'
import type { ApiMetrics } from '../metrics.js'

const BULK_KEYS = new Set(['indicators', 'tlp', 'circle', 'to'])

export function registerIndicatorRoutes (app: FastifyInstance, ops: Operations, metrics: ApiMetrics): void {
  app.post('/v1/indicators', async (req, reply) => {
    const q = req.query as Query
    checkKnown(q, ['skip_tlp_violations'])
    // an importer asks for inputs that would break TLP to be left out (and listed), not the call refused
    const skip = bool(q, 'skip_tlp_violations') === true
    const body = req.body
    let inputs: unknown[]
    let prefix: string | undefined
    const defaults: { tlp?: ReturnType<typeof parseTlp>, circle?: string, to?: string[] } = {}
    if (isObject(body) && 'indicators' in body) {
      for (const k of Object.keys(body)) if (!BULK_KEYS.has(k)) throw new ValidationError(k, `unknown field "${k}" in a bulk publish; use {"indicators":[…], "tlp"?, "circle"?, "to"?}`)
      if (!Array.isArray(body.indicators)) throw new ValidationError('indicators', 'indicators must be an array')
      if (body.indicators.length === 0) throw new ValidationError('indicators', 'indicators is empty')
      if (body.indicators.length > MAX_BULK_INDICATORS) {
        throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_BULK_INDICATORS} indicators per request; got ${body.indicators.length}`, { field: 'indicators' })
      }
      if (body.tlp !== undefined) defaults.tlp = parseTlp(body.tlp)
      if (body.circle !== undefined) {
        if (typeof body.circle !== 'string') throw new ValidationError('circle', 'circle must be a string')
        defaults.circle = body.circle
      }
      if (body.to !== undefined) defaults.to = parseRecipients(body.to, 'to')
      inputs = body.indicators
      prefix = 'indicators'
    } else if (isObject(body)) {
      inputs = [body]
    } else {
      throw new ValidationError('body', 'the body must be an indicator object or {"indicators":[…]}')
    }
    const out = await ops.indicators.publishIndicators(inputs, { ...(prefix !== undefined ? { fieldPrefix: prefix } : {}), defaults, skipTlpViolations: skip })
    metrics.published.inc(out.ids.length)
    void reply.status(201)
    const skipped = skip ? { skipped: (out.skipped ?? []).map(x => ({ ...x, field: prefix !== undefined ? `${prefix}[${x.index}].value` : 'value' })) } : {}
    return prefix === undefined
      ? { id: out.ids[0] ?? null, ids: out.ids, entries: out.entries, ...skipped }
      : { count: out.ids.length, ids: out.ids, entries: out.entries, ...skipped }
  })

  app.get('/v1/indicators', async (req) => {
    const filter = parseQueryFilter(req.query as Query, (value, type) => ops.indicators.normalizeLookup(value, type))
    return await ops.indicators.query(filter)
  })

  app.get('/v1/indicators/:id', async (req) => {
    return ops.indicators.getIndicator((req.params as { id: string }).id)
  })

  app.post('/v1/indicators/:id/revoke', async (req) => {
    const body = req.body ?? {}
    if (!isObject(body)) throw new ValidationError('body', 'the body must be a JSON object (or empty)')
    for (const k of Object.keys(body)) if (k !== 'reason') throw new ValidationError(k, `unknown field "${k}"; only "reason"`)
    const r = await ops.indicators.revoke((req.params as { id: string }).id, body.reason)
    return { id: r.indicator.id, revoked: r.indicator.revoked, entry: r.entry }
  })

  app.post('/v1/indicators/:id/relabel', async (req) => {
    const body = req.body ?? {}
    if (!isObject(body)) throw new ValidationError('body', 'the body must be a JSON object')
    for (const k of Object.keys(body)) if (k !== 'tlp') throw new ValidationError(k, `unknown field "${k}"; only "tlp"`)
    const r = await ops.indicators.relabel((req.params as { id: string }).id, body.tlp)
    return { id: r.indicator.id, tlp: r.indicator.tlp, entry: r.entry }
  })

  app.post('/v1/indicators/:id/reshare', async (req, reply) => {
    const r = await ops.indicators.reshare((req.params as { id: string }).id, req.body ?? {})
    void reply.status(201)
    return { id: r.ids[0], from: r.from, to: r.to, entries: r.entries }
  })

  app.get('/v1/lookup', async (req) => {
    const q = req.query as Query
    checkKnown(q, ['value', 'type', 'include_revoked', 'include_expired'])
    const value = one(q, 'value')
    if (value === undefined) throw new ValidationError('value', 'value is required: /v1/lookup?value=…')
    const ir = bool(q, 'include_revoked')
    const ie = bool(q, 'include_expired')
    const res = ops.indicators.lookup(value, one(q, 'type'), {
      ...(ir !== undefined ? { includeRevoked: ir } : {}),
      ...(ie !== undefined ? { includeExpired: ie } : {})
    })
    metrics.lookups.inc({ result: res.found ? 'hit' : 'miss' })
    return res
  })

  app.post('/v1/sightings', async (req, reply) => {
    const r = await ops.sightings.record(req.body)
    void reply.status(201)
    return r
  })
}
