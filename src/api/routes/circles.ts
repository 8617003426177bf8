/**
 * Circle and peer routes: create, list, show, invite, join, connect, add, remove and
 * rename members, leave; sync now; forks; connected peers.
 */
import type { FastifyInstance } from 'fastify'
import type { Operations } from '../../operations/index.js'

interface IdParams { id: string }

export function registerCircleRoutes (app: FastifyInstance, ops: Operations): void {
  app.get('/v1/circles', async () => ({ circles: ops.circles.list() }))

  app.post('/v1/circles', async (req, reply) => {
    const circle = await ops.circles.create(req.body)
    void reply.status(201)
    return circle
  })

  app.get('/v1/circles/:id', async (req) => {
    const c = ops.circles.get((req.params as IdParams).id)
    const { memberList, ...rest } = c
    return { ...rest, memberList }
  })

  app.get('/v1/circles/:id/members', async (req) => ({ members: ops.circles.members((req.params as IdParams).id) }))

  app.get('/v1/circles/:id/digest', async (req) => await ops.circles.digest((req.params as IdParams).id))

  app.post('/v1/circles/:id/invites', async (req, reply) => {
    const r = await ops.circles.invite((req.params as IdParams).id, req.body)
    void reply.status(201)
    return r
  })

  app.post('/v1/circles/join', async (req) => await ops.circles.join(req.body))

  app.post('/v1/circles/:id/connect', async (req) => await ops.circles.connect((req.params as IdParams).id, req.body))

  app.post('/v1/circles/:id/members', async (req, reply) => {
    const m = await ops.circles.addMember((req.params as IdParams).id, req.body)
    void reply.status(201)
    return m
  })

  app.delete('/v1/circles/:id/members/:key', async (req) => {
    const p = req.params as IdParams & { key: string }
    return await ops.circles.removeMember(p.id, p.key)
  })

  app.patch('/v1/circles/:id/members/:key', async (req) => {
    const p = req.params as IdParams & { key: string }
    return await ops.circles.renameMember(p.id, p.key, req.body)
  })

  app.post('/v1/circles/:id/leave', async (req) => await ops.circles.leave((req.params as IdParams).id, req.body))

  app.post('/v1/circles/:id/sync', async (req) => await ops.circles.sync((req.params as IdParams).id, req.body))

  app.get('/v1/forks', async () => ({ forks: await ops.status.forks() }))

  app.get('/v1/peers', async () => ({ peers: await ops.circles.peers() }))

  app.get('/v1/outbox', async () => ({ outbox: await ops.circles.redOutbox() }))
}
