/**
 * Circle and peer routes: create, list, show, invite, join, connect, add and remove
 * members; sync now; forks; connected peers.
 */
import type { FastifyInstance } from 'fastify'
import type { PhalanxNode } from '../../node.js'

interface IdParams { id: string }

export function registerCircleRoutes (app: FastifyInstance, node: PhalanxNode): void {
  app.get('/v1/circles', async () => ({ circles: node.listCircles() }))

  app.post('/v1/circles', async (req, reply) => {
    const circle = await node.createCircle(req.body)
    void reply.status(201)
    return circle
  })

  app.get('/v1/circles/:id', async (req) => {
    const c = node.getCircle((req.params as IdParams).id)
    const { memberList, ...rest } = c
    return { ...rest, memberList }
  })

  app.get('/v1/circles/:id/members', async (req) => ({ members: node.circleMembers((req.params as IdParams).id) }))

  app.get('/v1/circles/:id/digest', async (req) => await node.circleDigest((req.params as IdParams).id))

  app.post('/v1/circles/:id/invites', async (req, reply) => {
    const r = await node.createInvite((req.params as IdParams).id, req.body)
    void reply.status(201)
    return r
  })

  app.post('/v1/circles/join', async (req) => await node.joinCircle(req.body))

  app.post('/v1/circles/:id/connect', async (req) => await node.connectCircle((req.params as IdParams).id, req.body))

  app.post('/v1/circles/:id/members', async (req, reply) => {
    const m = await node.addMember((req.params as IdParams).id, req.body)
    void reply.status(201)
    return m
  })

  app.delete('/v1/circles/:id/members/:key', async (req) => {
    const p = req.params as IdParams & { key: string }
    await node.removeMember(p.id, p.key)
    return { removed: p.key, circle: p.id }
  })

  app.post('/v1/circles/:id/sync', async (req) => await node.syncCircle((req.params as IdParams).id, req.body))

  app.get('/v1/forks', async () => ({ forks: await node.forks() }))

  app.get('/v1/peers', async () => ({ peers: await node.peers() }))

  app.get('/v1/outbox', async () => ({ outbox: await node.redOutbox() }))
}
