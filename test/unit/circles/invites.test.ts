/**
 * A circle admin's invites (CircleAdmin, with CircleManager's open-invite flag) on a real store and ingest path: an invite is kept through Ingest,
 * used once by a joiner (who becomes a member), refused when used again, expired or of
 * another circle, and `hasOpenInvites` follows; the kept invites survive a restart. The
 * rules themselves (isOpenInvite, useKeptInvite) are pure and tested here too.
 */
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { inviteSecretHash, isOpenInvite, makeInvite, parseInvite, useKeptInvite } from '../../../src/circles/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { OrgKey } from '../../../src/identity/index.js'
import { makeTempDir, removeTempDir } from '../../utils/store.js'
import { startCircleNode, type CircleNode } from '../../utils/circle-node.js'
import { codeOf } from '../../utils/outcome.js'

type Admin = CircleNode

const dirs: string[] = []
const running: Admin[] = []
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop()
  for (const d of dirs.splice(0)) removeTempDir(d)
})

/** a node's store, ingest and circles (test/utils/circle-node.ts), stopped after each test */
async function startAdmin (seed: Uint8Array, path: string): Promise<Admin> {
  const a = await startCircleNode(seed, path)
  running.push(a)
  return a
}

const newJoiner = (): string => OrgKey.fromSeed(randomBytes(32)).publicKeyHex

describe('invites of a circle admin', () => {
  it('an invite is used once: the joiner becomes a member and gets the control entries; a second use is refused', async () => {
    const dir = makeTempDir(); dirs.push(dir)
    const a = await startAdmin(randomBytes(32), join(dir, 'db'))
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    expect(a.circles.hasOpenInvites()).toBe(false)
    const { code, expires } = await a.admin.createInvite(circle, 60_000, 'Org A', [])
    const invite = parseInvite(code)
    expect(a.store.invite(inviteSecretHash(invite.secret))).toEqual({ circle, expires })
    expect(a.circles.hasOpenInvites()).toBe(true)

    const joiner = newJoiner()
    const entries = await a.admin.redeemInvite(circle, invite.secret, joiner, 'Org B')
    expect(entries.map(e => e.seq)).toEqual([1, 2])
    expect(entries[1].items[0]).toMatchObject({ kind: 'member', op: 'add', key: joiner, org: 'Org B' })
    expect(a.circles.members(circle).map(m => m.publicKey)).toContain(joiner)
    expect(a.store.invite(inviteSecretHash(invite.secret))).toMatchObject({ circle, expires, usedBy: joiner })
    expect(a.circles.hasOpenInvites()).toBe(false)

    expect(await codeOf(a.admin.redeemInvite(circle, invite.secret, newJoiner(), 'Org C'))).toMatch(/^PX_ERR_INVITE: this invite was already used \(at /)
    expect(a.circles.members(circle)).toHaveLength(2)
  })

  it('an invite that expires unused closes the door at its expiry, with no join or restart', async () => {
    const dir = makeTempDir(); dirs.push(dir)
    const a = await startAdmin(randomBytes(32), join(dir, 'db'))
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    await a.admin.createInvite(circle, 300, 'Org A', [])
    const longer = await a.admin.createInvite(circle, 900, 'Org A', [])
    expect(a.circles.hasOpenInvites()).toBe(true)
    await new Promise(resolve => setTimeout(resolve, 500))
    // the first expired; the second is still open
    expect(a.circles.hasOpenInvites()).toBe(true)
    await new Promise(resolve => setTimeout(resolve, Date.parse(longer.expires) - Date.now()))
    // the expiry timer re-reads the invites: allow it a moment on a busy machine (bounded)
    const t0 = Date.now()
    while (a.circles.hasOpenInvites() && Date.now() - t0 < 5000) await new Promise(resolve => setTimeout(resolve, 20))
    expect(a.circles.hasOpenInvites()).toBe(false)
  })

  it('two joiners racing for one invite: one gets in, the other is refused', async () => {
    const dir = makeTempDir(); dirs.push(dir)
    const a = await startAdmin(randomBytes(32), join(dir, 'db'))
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    const { secret } = parseInvite((await a.admin.createInvite(circle, 60_000, 'Org A', [])).code)
    const [b, c] = [newJoiner(), newJoiner()]
    const results = await Promise.allSettled([a.admin.redeemInvite(circle, secret, b, 'B'), a.admin.redeemInvite(circle, secret, c, 'C')])
    expect(results.map(r => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    expect(a.circles.members(circle)).toHaveLength(2)
  })

  it('an expired invite, a wrong secret and another circle\'s invite are refused, and no one is added', async () => {
    const dir = makeTempDir(); dirs.push(dir)
    const a = await startAdmin(randomBytes(32), join(dir, 'db'))
    const circle = (await a.admin.create('One', 'Org A')).id
    const other = (await a.admin.create('Two', 'Org A')).id
    const short = parseInvite((await a.admin.createInvite(circle, 1, 'Org A', [])).code)
    await new Promise(resolve => setTimeout(resolve, 5))
    expect(await codeOf(a.admin.redeemInvite(circle, short.secret, newJoiner(), 'B'))).toBe(`PX_ERR_INVITE: this invite expired at ${short.expires}`)
    expect(await codeOf(a.admin.redeemInvite(circle, 'ab'.repeat(16), newJoiner(), 'B'))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    const toOther = parseInvite((await a.admin.createInvite(other, 60_000, 'Org A', [])).code)
    expect(await codeOf(a.admin.redeemInvite(circle, toOther.secret, newJoiner(), 'B'))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    expect(a.circles.members(circle)).toHaveLength(1)
    expect(a.store.invite(inviteSecretHash(short.secret))?.usedBy).toBeUndefined()
  })

  it('after a restart the circles are folded again from the stored control entries and a used invite stays used', async () => {
    const dir = makeTempDir(); dirs.push(dir)
    const seed = randomBytes(32)
    const a = await startAdmin(seed, join(dir, 'db'))
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    const used = parseInvite((await a.admin.createInvite(circle, 60_000, 'Org A', [])).code)
    await a.admin.createInvite(circle, 60_000, 'Org A', [])
    const joiner = newJoiner()
    await a.admin.redeemInvite(circle, used.secret, joiner, 'B')
    const before = await a.circles.controlEntries(circle)
    await a.stop()

    const again = await startAdmin(seed, join(dir, 'db'))
    expect(await again.circles.controlEntries(circle)).toEqual(before)
    expect(again.circles.members(circle).map(m => m.publicKey)).toContain(joiner)
    // the second invite is still open
    expect(again.circles.hasOpenInvites()).toBe(true)
    expect(await codeOf(again.admin.redeemInvite(circle, used.secret, newJoiner(), 'C'))).toMatch(/^PX_ERR_INVITE: this invite was already used/)
  })
})

describe('invite rules (pure)', () => {
  const now = '2030-01-01T00:00:00.000Z'
  it('isOpenInvite: unused and expiring after now', () => {
    expect(isOpenInvite({ circle: 'c', expires: '2030-01-01T00:00:00.001Z' }, now)).toBe(true)
    expect(isOpenInvite({ circle: 'c', expires: now }, now)).toBe(false)
    expect(isOpenInvite({ circle: 'c', expires: '2031-01-01T00:00:00.000Z', usedBy: 'k', usedAt: now }, now)).toBe(false)
  })

  it('useKeptInvite marks the invite used by the joiner at now, or refuses it with PX_ERR_INVITE', () => {
    const kept = { circle: 'c-1', expires: '2030-01-02T00:00:00.000Z' }
    expect(useKeptInvite(kept, 'c-1', 'joiner', now)).toEqual({ ...kept, usedBy: 'joiner', usedAt: now })
    const refused = (f: () => unknown): string => { try { f() } catch (err) { return err instanceof PhalanxError ? `${err.code}: ${err.message}` : String(err) } return 'ok' }
    expect(refused(() => useKeptInvite(undefined, 'c-1', 'j', now))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    expect(refused(() => useKeptInvite(kept, 'c-2', 'j', now))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    expect(refused(() => useKeptInvite({ ...kept, usedBy: 'x', usedAt: now }, 'c-1', 'j', now))).toBe(`PX_ERR_INVITE: this invite was already used (at ${now})`)
    expect(refused(() => useKeptInvite({ ...kept, expires: now }, 'c-1', 'j', now))).toBe(`PX_ERR_INVITE: this invite expired at ${now}`)
  })
})

describe('parseInvite: names printed next to the inviter\'s fingerprint', () => {
  it('refuses a code whose circle name or inviter org holds a control, bidirectional or invisible character', () => {
    const key = OrgKey.fromSeed(randomBytes(32))
    const expires = new Date(Date.now() + 60_000).toISOString()
    const make = (name: string, org: string): string => makeInvite(key, { circle: `c-${randomBytes(10).toString('hex')}`, name, org, addrs: ['/ip4/127.0.0.1/tcp/1'], expires }).code
    expect(parseInvite(make('Banks', 'Bank A')).name).toBe('Banks')
    for (const [name, org, cp] of [['Banks\r\u001b[2K', 'Bank A', 'U+000D'], ['Banks', 'Bank\u202eA', 'U+202E'], ['Banks', 'Bank\u2060A', 'U+2060']]) {
      let err: unknown
      try { parseInvite(make(name, org)) } catch (e) { err = e }
      expect(err).toMatchObject({ code: 'PX_ERR_INVITE', field: 'code' })
      expect((err as Error).message).toContain(cp)
    }
  })
})
