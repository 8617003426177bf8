/**
 * Advisory routes (issue 15, part 3): publish an advisory to a circle, list them, read one
 * with who acknowledged it and who has not, acknowledge one.
 */
import type { FastifyInstance } from 'fastify'
import type { Operations } from '../../operations/index.js'
import { checkKnown, one, type Query } from '../params.js'

export function registerAdvisoryRoutes (app: FastifyInstance, ops: Operations): void {
  app.post('/v1/advisories', async (req, reply) => {
    const r = await ops.advisories.publish(req.body)
    void reply.status(201)
    return r
  })

  app.get('/v1/advisories', async (req) => {
    const q = req.query as Query
    checkKnown(q, ['circle'])
    return await ops.advisories.list(one(q, 'circle'))
  })

  app.get('/v1/advisories/:id', async (req) => {
    return await ops.advisories.get((req.params as { id: string }).id)
  })

  app.post('/v1/advisories/:id/ack', async (req, reply) => {
    const r = await ops.advisories.ack((req.params as { id: string }).id, req.body ?? {})
    void reply.status(201)
    return r
  })
}
