/**
 * Report routes (issue 16, part 1): share a report with a circle, list and read reports, update
 * and revoke this node's own, and keep the ATT&CK technique names the views show.
 */
import type { FastifyInstance } from 'fastify'
import type { Operations } from '../../operations/index.js'
import { bool, checkKnown, one, type Query } from '../params.js'

export function registerReportRoutes (app: FastifyInstance, ops: Operations): void {
  app.post('/v1/reports', async (req, reply) => {
    const r = await ops.reports.create(req.body)
    void reply.status(201)
    return r
  })

  app.get('/v1/reports', async (req) => {
    const q = req.query as Query
    checkKnown(q, ['circle', 'attack', 'actor', 'include_revoked'])
    const circle = one(q, 'circle')
    const attack = one(q, 'attack')
    const actor = one(q, 'actor')
    const includeRevoked = bool(q, 'include_revoked')
    return await ops.reports.list({
      ...(circle !== undefined ? { circle } : {}),
      ...(attack !== undefined ? { attack } : {}),
      ...(actor !== undefined ? { actor } : {}),
      ...(includeRevoked !== undefined ? { includeRevoked } : {})
    })
  })

  app.get('/v1/reports/:id', async (req) => {
    return ops.reports.get((req.params as { id: string }).id)
  })

  app.patch('/v1/reports/:id', async (req) => {
    return await ops.reports.update((req.params as { id: string }).id, req.body)
  })

  app.post('/v1/reports/:id/revoke', async (req) => {
    return await ops.reports.revoke((req.params as { id: string }).id, req.body ?? {})
  })

  app.post('/v1/attack', async (req) => {
    return await ops.reports.putAttack(req.body)
  })

  app.get('/v1/attack', async (req) => {
    const q = req.query as Query
    checkKnown(q, ['id'])
    return await ops.reports.attackInfo(one(q, 'id'))
  })
}
