import type { FastifyInstance } from 'fastify'
import type { PhalanxNode } from '../../node.js'

export function registerNodeRoutes (app: FastifyInstance, node: PhalanxNode): void {
  app.get('/v1/status', async () => await node.status())

  app.post('/v1/purge', async (req) => await node.purgeExpired(req.body ?? {}))
}
