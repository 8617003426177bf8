import type { FastifyInstance } from 'fastify'
import type { Operations } from '../../operations/index.js'

export function registerNodeRoutes (app: FastifyInstance, ops: Operations): void {
  app.get('/v1/status', async () => await ops.status.status())

  app.post('/v1/purge', async (req) => await ops.indicators.purgeExpired(req.body ?? {}))
}
