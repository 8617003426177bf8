/**
 * The join protocol's limits: what the inviter's handler refuses or trims, and the invite
 * checks the joiner makes before it dials anything. Real invite codes signed with real keys.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { OrgKey } from '../../../../src/identity/index.js'
import { makeInvite } from '../../../../src/circles/index.js'
import { joinHandler, joinWithInvite } from '../../../../src/p2p/protocols/join.js'
import { orgPeerId, request, silent } from '../../../utils/p2p.js'

describe('join protocol', () => {
  const joinerSeed = randomBytes(32)
  const joiner = OrgKey.fromSeed(joinerSeed)
  const redeemed: Array<{ circle: string, secret: string, key: string, org: string }> = []
  const handler = joinHandler({
    admin: { redeemInvite: async (circle, secret, key, org) => { redeemed.push({ circle, secret, key, org }); return [] } },
    identity: { org: 'Inviter Org' },
    log: silent
  })

  it('answers with the inviter\'s org and the log; the joiner\'s org name is cut to 200 characters', async () => {
    const reply = await request(handler, await orgPeerId(joinerSeed), { circle: 'c-1', secret: 's', org: 'J'.repeat(300) })
    expect(reply).toEqual({ org: 'Inviter Org', entries: [] })
    expect(redeemed.at(-1)).toEqual({ circle: 'c-1', secret: 's', key: joiner.publicKeyHex, org: 'J'.repeat(200) })
  })

  it.each([
    ['a CR and an ANSI erase-line', 'Bank B\r\u001b[2K', 'U+000D'],
    ['a right-to-left override', 'Bank\u202eB', 'U+202E'],
    ['a zero-width space', 'Bank\u200bB', 'U+200B'],
    ['a C1 CSI', 'Bank\u009bB', 'U+009B']
  ])('refuses a joiner\'s org with %s before the invite is used (PX_ERR_INVITE naming the character)', async (_, org, cp) => {
    const before = redeemed.length
    await expect(request(handler, await orgPeerId(joinerSeed), { circle: 'c-1', secret: 's', org })).rejects.toMatchObject({ code: 'PX_ERR_INVITE', message: expect.stringContaining(cp) })
    expect(redeemed).toHaveLength(before)
  })

  it.each([
    ['no secret', { circle: 'c-1' }],
    ['no circle', { secret: 's' }],
    ['a secret that is not a string', { circle: 'c-1', secret: 1 }]
  ])('refuses a join with %s, before the invite is looked at', async (_, body) => {
    const before = redeemed.length
    await expect(request(handler, await orgPeerId(joinerSeed), body)).rejects.toMatchObject({ code: 'PX_ERR_INVITE' })
    expect(redeemed).toHaveLength(before)
  })

  const inviter = OrgKey.fromSeed(randomBytes(32))
  const noDial = { toAddrs: async (): Promise<never> => { throw new Error('dialled') } }
  const client = { circles: { expect: () => {}, get: () => undefined, mine: () => [] }, ingest: { ingest: async (): Promise<never> => { throw new Error('ingested') } }, requester: noDial }

  it('refuses an expired invite before dialling', async () => {
    const { code } = makeInvite(inviter, { circle: 'c-1', name: 'one', org: 'I', addrs: ['/ip4/127.0.0.1/tcp/1'], expires: new Date(Date.now() - 1000).toISOString() })
    await expect(joinWithInvite({ ...client, self: joiner.publicKeyHex }, code, 'J')).rejects.toMatchObject({ code: 'PX_ERR_INVITE', field: 'code' })
  })

  it('refuses this node\'s own invite before dialling', async () => {
    const { code } = makeInvite(inviter, { circle: 'c-1', name: 'one', org: 'I', addrs: ['/ip4/127.0.0.1/tcp/1'], expires: new Date(Date.now() + 60_000).toISOString() })
    await expect(joinWithInvite({ ...client, self: inviter.publicKeyHex }, code, 'J')).rejects.toMatchObject({ code: 'PX_ERR_INVITE', message: expect.stringMatching(/own invite/) })
  })
})
