/**
 * Indicator routes: publish (single, bulk JSON, NDJSON), query, get, lookup, revoke,
 * sightings.
 */
import type { FastifyInstance } from 'fastify'
import { ValidationError } from '../../errors.js'
import type { Operations } from '../../operations/index.js'
import { bool, checkKnown, one, parseQueryFilter, type Query } from '../params.js'
import type { ApiMetrics } from '../metrics.js'

export function registerIndicatorRoutes (app: FastifyInstance, ops: Operations, metrics: ApiMetrics): void {
  app.post('/v1/indicators', async (req, reply) => {
    const q = req.query as Query
    checkKnown(q, ['skip_tlp_violations'])
    // an importer asks for inputs that would break TLP to be left out (and listed), not the call refused
    const out = await ops.indicators.publishBody(req.body, { skipTlpViolations: bool(q, 'skip_tlp_violations') === true })
    metrics.published.inc(out.ids.length)
    void reply.status(201)
    return out
  })

  app.get('/v1/indicators', async (req) => {
    const filter = parseQueryFilter(req.query as Query, (value, type) => ops.indicators.normalizeLookup(value, type), (ref) => ops.circles.idOf(ref))
    return await ops.indicators.query(filter)
  })

  app.get('/v1/indicators/:id', async (req) => {
    return ops.indicators.getIndicator((req.params as { id: string }).id)
  })

  app.post('/v1/indicators/:id/revoke', async (req) => {
    return await ops.indicators.revokeBody((req.params as { id: string }).id, req.body)
  })

  app.post('/v1/indicators/:id/relabel', async (req) => {
    return await ops.indicators.relabelBody((req.params as { id: string }).id, req.body)
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
