/**
 * Test helper: a circle of test nodes. The first creates it and invites every other; resolves
 * when all know all (their membership logs agree).
 */
import { expect } from 'vitest'
import { until } from './wait.js'
import type { TestNode } from './node.js'

export async function formCircle (all: TestNode[], name: string, timeoutMs = 20_000): Promise<string> {
  const [admin, ...rest] = all
  const circle = (await admin.api('/v1/circles', { json: { name } })).body.id as string
  for (const n of rest) {
    const code = (await admin.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
    const j = await n.api('/v1/circles/join', { json: { code } })
    expect(j.status, j.text).toBe(200)
  }
  await until('every member to know every member', () => all.every(n => n.node.ops.circles.members(circle).length === all.length), timeoutMs)
  return circle
}
