/**
 * The membership fold's rules one by one (src/circles/state.ts): each test builds a circle
 * from real signed entries (RemoteLog, other organizations' keys), applies one entry that
 * breaks or keeps a rule, and checks the verdict: the refusal's code and the field it names,
 * or who is a member, who holds which role, who has which sealed key afterwards.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { applyControlEntry, checkDataEntry, isAdmin, isCurrentMember, membershipLogOf, type CircleState } from '../../../src/circles/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { validateItem, type Item } from '../../../src/records/index.js'
import { RemoteLog } from '../../utils/store.js'

const CIRCLE = 'c-a1b2c3d4e5f60718293a'
const LOG = membershipLogOf(CIRCLE)
const AMBER = { tlp: 'AMBER' as const }

const item = (raw: Record<string, unknown>): Item => validateItem(raw)
const sealedFor = (...keys: string[]): Record<string, string> => Object.fromEntries(keys.map(k => [k, Buffer.from(randomBytes(72)).toString('base64')]))
const circleRec = (name: string): Item => item({ kind: 'circle', name })
const addRec = (key: string, role: 'admin' | 'member', org?: string): Item => item({ kind: 'member', op: 'add', key, role, ...(org !== undefined ? { org } : {}) })
const removeRec = (key: string, upTo?: number): Item => item({ kind: 'member', op: 'remove', key, ...(upTo !== undefined ? { upTo } : {}) })
const roleRec = (key: string, role: 'admin' | 'member'): Item => item({ kind: 'member', op: 'role', key, role })
const keyRec = (epoch: number, ...keys: string[]): Item => item({ kind: 'key', epoch, sealed: sealedFor(...keys) })
const addressRec = (...addrs: string[]): Item => item({ kind: 'address', addrs })
const indicatorRec = (value: string): Item => item({ kind: 'indicator', type: 'ipv4', value, confidence: 50, tags: [] })

/** a party with its own log in the circle's membership log */
const party = (): RemoteLog => new RemoteLog(undefined, LOG)

/** the verdict of applying/checking: the PhalanxError's code and field, or 'accepted' */
function verdict (fn: () => unknown): { code: string, field?: string } {
  try { fn() } catch (err) {
    if (err instanceof PhalanxError) return err.field !== undefined ? { code: err.code, field: err.field } : { code: err.code }
    return { code: `not a PhalanxError: ${String(err)}` }
  }
  return { code: 'accepted' }
}

/** A founds the circle (org 'A' unless given; null: none) and seals epoch 1 to itself */
function founded (org: string | null = 'A'): { a: RemoteLog, state: CircleState } {
  const a = party()
  const state = applyControlEntry(undefined, a.next([circleRec('ISAC'), addRec(a.origin, 'admin', org ?? undefined), keyRec(1, a.origin)], AMBER))
  return { a, state }
}

/** `admin` adds `who` with `role` and seals it the current epoch's key */
function admit (state: CircleState, admin: RemoteLog, who: RemoteLog, role: 'admin' | 'member' = 'member', org?: string): CircleState {
  return applyControlEntry(state, admin.next([addRec(who.origin, role, org), keyRec(state.epoch, who.origin)], AMBER))
}

/** `admin` removes `who` and rotates the key to every other current member */
function expel (state: CircleState, admin: RemoteLog, who: RemoteLog): CircleState {
  const rest = [...state.members.values()].filter(m => m.removed === undefined && m.key !== who.origin).map(m => m.key)
  return applyControlEntry(state, admin.next([removeRec(who.origin, 0), keyRec(state.epoch + 1, ...rest)], AMBER))
}

/** the current roles, by key */
const rolesOf = (s: CircleState): Record<string, string> => Object.fromEntries([...s.members.values()].filter(m => m.removed === undefined).map(m => [m.key, m.role]))

describe('genesis', () => {
  it('makes the founder the only member: an admin with the org it names (or none) and no addresses', () => {
    const { a, state } = founded('A')
    expect([...state.members.keys()]).toEqual([a.origin])
    expect(state.members.get(a.origin)).toMatchObject({ key: a.origin, org: 'A', role: 'admin', addedBy: a.origin, addrs: [] })
    expect(isAdmin(state, a.origin)).toBe(true)

    const noOrg = founded(null)
    expect(noOrg.state.members.get(noOrg.a.origin)?.org).toBe('')
    expect(noOrg.state.members.get(noOrg.a.origin)?.addrs).toEqual([])
  })

  it('counts the control entries folded: one for the genesis, one more for each entry after it', () => {
    const { a, state } = founded()
    expect(state.entries).toBe(1)
    const b = party()
    const s2 = admit(state, a, b)
    expect(s2.entries).toBe(state.entries + 1)
    const s3 = applyControlEntry(s2, a.next([addressRec('/ip4/192.0.2.10/tcp/7400')], AMBER))
    expect(s3.entries).toBe(s2.entries + 1)
  })

  it('is refused outside the circle\'s membership log (field circle)', () => {
    const a = new RemoteLog(undefined, CIRCLE)
    const entry = a.peek([circleRec('ISAC'), addRec(a.origin, 'admin'), keyRec(1, a.origin)], AMBER)
    expect(verdict(() => applyControlEntry(undefined, entry))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'circle' })
  })

  it('a second genesis of a circle that has one is refused (field items[0]); the first founder keeps the circle', () => {
    const { a, state } = founded()
    const usurper = party()
    const second = usurper.peek([circleRec('ISAC 2'), addRec(usurper.origin, 'admin'), keyRec(1, usurper.origin)], AMBER)
    expect(second.seq).toBe(1)
    expect(verdict(() => applyControlEntry(state, second))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(state.founder).toBe(a.origin)
    expect(isCurrentMember(state, usurper.origin)).toBe(false)
  })

  it('a genesis that is not its founder\'s first entry (seq 2) is refused (field seq)', () => {
    const a = party()
    const entry = a.peek([circleRec('ISAC'), addRec(a.origin, 'admin'), keyRec(1, a.origin)], { ...AMBER, seq: 2 })
    expect(verdict(() => applyControlEntry(undefined, entry))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'seq' })
  })

  it('its second record must add the founder itself as admin (field items[1]), whatever else is wrong', () => {
    const a = party()
    const other = party()
    const cases: Record<string, Item[]> = {
      'no second record': [circleRec('ISAC')],
      'a key record second': [circleRec('ISAC'), keyRec(1, a.origin)],
      'a role change instead of an add': [circleRec('ISAC'), roleRec(a.origin, 'admin'), keyRec(1, a.origin)],
      'another org added as the admin': [circleRec('ISAC'), addRec(other.origin, 'admin'), keyRec(1, a.origin)],
      'the founder added as a plain member': [circleRec('ISAC'), addRec(a.origin, 'member'), keyRec(1, a.origin)]
    }
    for (const [what, items] of Object.entries(cases)) {
      expect(verdict(() => applyControlEntry(undefined, a.peek(items, AMBER))), what).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[1]' })
    }
  })

  it('a genesis that seals no circle key (no key record) is refused (field items)', () => {
    const a = party()
    const entry = a.peek([circleRec('ISAC'), addRec(a.origin, 'admin')], AMBER)
    expect(verdict(() => applyControlEntry(undefined, entry))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
  })

  it('a circle record anywhere but first is refused, naming its position, from an admin or a member', () => {
    const a = party()
    const late = a.peek([circleRec('ISAC'), addRec(a.origin, 'admin'), keyRec(1, a.origin), circleRec('renamed')], AMBER)
    expect(verdict(() => applyControlEntry(undefined, late))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[3]' })

    let state = applyControlEntry(undefined, a.next([circleRec('ISAC'), addRec(a.origin, 'admin'), keyRec(1, a.origin)], AMBER))
    const b = party()
    state = admit(state, a, b)
    expect(verdict(() => applyControlEntry(state, b.peek([addressRec('/ip4/192.0.2.11/tcp/7400'), circleRec('renamed')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[1]' })
    expect(verdict(() => applyControlEntry(state, a.peek([addressRec('/ip4/192.0.2.12/tcp/7400'), circleRec('renamed')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[1]' })
    expect(state.name).toBe('ISAC')
  })
})

describe('entry shape', () => {
  it('a membership entry with no records is refused (field items)', () => {
    const { a, state } = founded()
    expect(verdict(() => applyControlEntry(state, a.peek([], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
    expect(verdict(() => applyControlEntry(undefined, party().peek([], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
  })

  it('a membership entry mixing a member record with an indicator is refused whole (field items)', () => {
    const { a, state } = founded()
    const b = party()
    const mixed = a.peek([addRec(b.origin, 'member'), keyRec(1, b.origin), indicatorRec('192.0.2.20')], AMBER)
    expect(verdict(() => applyControlEntry(state, mixed))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
    expect(isCurrentMember(state, b.origin)).toBe(false)
  })

  it('a refused record later in an entry is named by its own position', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b)
    // the second and third records: re-adding a current member
    expect(verdict(() => applyControlEntry(state, a.peek([addressRec('/ip4/192.0.2.13/tcp/7400'), addRec(b.origin, 'member')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[1]' })
    expect(verdict(() => applyControlEntry(state, a.peek([addressRec('/ip4/192.0.2.13/tcp/7400'), addressRec('/ip4/192.0.2.14/tcp/7400'), addRec(b.origin, 'member')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[2]' })
    // in a genesis, after the circle and founder records
    const c = party()
    const other = party()
    const g = c.peek([circleRec('X'), addRec(c.origin, 'admin'), addRec(other.origin, 'member'), keyRec(1, c.origin, other.origin), addRec(other.origin, 'member')], AMBER)
    expect(verdict(() => applyControlEntry(undefined, g))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[4]' })
  })
})

describe('member records', () => {
  it('adding a current member again is refused (field items[0]) and does not change its role', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b, 'member', 'B')
    expect(verdict(() => applyControlEntry(state, a.peek([addRec(b.origin, 'admin', 'B2')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(state.members.get(b.origin)).toMatchObject({ role: 'member', org: 'B' })
  })

  it('a new member added without an org has an empty org and no addresses', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b, 'member')
    expect(state.members.get(b.origin)).toMatchObject({ key: b.origin, org: '', role: 'member', addedBy: a.origin, addrs: [] })
  })

  it('removing a non-member, or a member already removed, is refused (field items[0])', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const stranger = party()
    const state = expel(admit(s0, a, b), a, b)
    expect(verdict(() => applyControlEntry(state, a.peek([removeRec(stranger.origin), keyRec(state.epoch + 1, a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(verdict(() => applyControlEntry(state, a.peek([removeRec(b.origin), keyRec(state.epoch + 1, a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(state.members.has(stranger.origin)).toBe(false)
  })

  it('the last admin cannot be removed while members remain; one of two admins can, and so can a member', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const state = admit(admit(s0, a, b), a, c)
    // A is the only admin, B and C are members
    expect(verdict(() => applyControlEntry(state, a.peek([removeRec(a.origin), keyRec(2, b.origin, c.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(isAdmin(state, a.origin)).toBe(true)
    // a member goes while A is the only admin
    const withoutC = expel(state, a, c)
    expect(isCurrentMember(withoutC, c.origin)).toBe(false)
    // with B made admin too, A may remove B
    const twoAdmins = applyControlEntry(state, a.next([roleRec(b.origin, 'admin')], AMBER))
    const afterB = expel(twoAdmins, a, b)
    expect(isCurrentMember(afterB, b.origin)).toBe(false)
    expect(rolesOf(afterB)).toEqual({ [a.origin]: 'admin', [c.origin]: 'member' })
  })

  it('a removed admin is no admin: its member and key records are refused (PX_ERR_NOT_MEMBER)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const state = expel(admit(s0, a, b, 'admin'), a, b)
    expect(state.members.get(b.origin)).toMatchObject({ role: 'admin', removed: { by: a.origin } })
    expect(verdict(() => applyControlEntry(state, b.peek([addRec(c.origin, 'member'), keyRec(state.epoch, c.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, b.peek([keyRec(state.epoch, a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, b.peek([removeRec(a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(isAdmin(state, b.origin)).toBe(false)
  })

  it('an org that was never a member is no admin: its member records are refused (PX_ERR_NOT_MEMBER)', () => {
    const { state } = founded()
    const stranger = party()
    const c = party()
    expect(verdict(() => applyControlEntry(state, stranger.peek([addRec(c.origin, 'member'), keyRec(state.epoch, c.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, stranger.peek([keyRec(state.epoch, stranger.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(isAdmin(state, stranger.origin)).toBe(false)
  })
})

describe('role records', () => {
  it('an admin promotes a member to admin, then steps down itself', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const state = admit(admit(s0, a, b), a, c)
    const promoted = applyControlEntry(state, a.next([roleRec(b.origin, 'admin')], AMBER))
    expect(rolesOf(promoted)).toEqual({ [a.origin]: 'admin', [b.origin]: 'admin', [c.origin]: 'member' })
    const steppedDown = applyControlEntry(promoted, a.next([roleRec(a.origin, 'member')], AMBER))
    expect(rolesOf(steppedDown)).toEqual({ [a.origin]: 'member', [b.origin]: 'admin', [c.origin]: 'member' })
    expect(isAdmin(steppedDown, a.origin)).toBe(false)
    // and A, now a member, can no longer add anyone
    expect(verdict(() => applyControlEntry(steppedDown, a.peek([addRec(party().origin, 'member')], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
  })

  it('the last admin cannot step down while members remain (field items[0])', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const state = admit(admit(s0, a, b), a, c)
    expect(verdict(() => applyControlEntry(state, a.peek([roleRec(a.origin, 'member')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(isAdmin(state, a.origin)).toBe(true)
  })

  it('a role record that keeps a role is accepted: the only admin stays admin, a member stays member', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const state = admit(admit(s0, a, b), a, c)
    const same = applyControlEntry(state, a.next([roleRec(a.origin, 'admin')], AMBER))
    expect(rolesOf(same)).toEqual(rolesOf(state))
    const sameMember = applyControlEntry(same, a.next([roleRec(b.origin, 'member')], AMBER))
    expect(rolesOf(sameMember)).toEqual(rolesOf(state))
  })

  it('the role of a non-member, or of a removed member, cannot be set (field items[0])', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const stranger = party()
    const state = expel(admit(s0, a, b), a, b)
    expect(verdict(() => applyControlEntry(state, a.peek([roleRec(stranger.origin, 'admin')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(verdict(() => applyControlEntry(state, a.peek([roleRec(b.origin, 'admin')], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
    expect(isAdmin(state, b.origin)).toBe(false)
    expect(state.members.has(stranger.origin)).toBe(false)
  })

  it('a member cannot change roles, its own or another\'s (PX_ERR_NOT_MEMBER)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b)
    expect(verdict(() => applyControlEntry(state, b.peek([roleRec(b.origin, 'admin')], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, b.peek([roleRec(a.origin, 'member')], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(rolesOf(state)).toEqual({ [a.origin]: 'admin', [b.origin]: 'member' })
  })
})

describe('key records', () => {
  it('a key record from a member that is not an admin is refused (PX_ERR_NOT_MEMBER), for the current or the next epoch', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b)
    expect(verdict(() => applyControlEntry(state, b.peek([keyRec(state.epoch, a.origin, b.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, b.peek([keyRec(state.epoch + 1, a.origin, b.origin)], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(state.epoch).toBe(1)
  })

  it('a key record for an epoch older than the current one is refused (field items[0].epoch)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = expel(admit(s0, a, b), a, b)
    expect(state.epoch).toBe(2)
    const before = state.keys.get(1)?.get(a.origin)
    expect(verdict(() => applyControlEntry(state, a.peek([keyRec(state.epoch - 1, a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0].epoch' })
    expect(state.keys.get(1)?.get(a.origin)).toBe(before)
  })

  it('a key of the current epoch sealed to a non-member or to a removed member is refused (field items[0].sealed)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const stranger = party()
    const state = expel(admit(s0, a, b), a, b)
    expect(verdict(() => applyControlEntry(state, a.peek([keyRec(state.epoch, stranger.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0].sealed' })
    expect(verdict(() => applyControlEntry(state, a.peek([keyRec(state.epoch, b.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0].sealed' })
    expect(state.keys.get(state.epoch)?.has(b.origin)).toBe(false)
  })

  it('a new epoch that leaves out a current member is refused (field items[0].sealed)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b)
    expect(verdict(() => applyControlEntry(state, a.peek([keyRec(state.epoch + 1, a.origin)], AMBER)))).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0].sealed' })
    expect(state.epoch).toBe(1)
    // sealed to both, it is a rotation
    const rotated = applyControlEntry(state, a.next([keyRec(state.epoch + 1, a.origin, b.origin)], AMBER))
    expect(rotated.epoch).toBe(state.epoch + 1)
    expect([...rotated.keys.get(rotated.epoch)!.keys()].sort()).toEqual([a.origin, b.origin].sort())
  })

  it('a second key record for the same epoch adds to that epoch\'s keys; earlier members keep theirs', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const c = party()
    const withB = admit(s0, a, b)
    const withC = admit(withB, a, c)
    const before = withB.keys.get(1)!
    const after = withC.keys.get(1)!
    expect([...after.keys()].sort()).toEqual([...before.keys(), c.origin].sort())
    for (const [k, sealed] of before) expect(after.get(k)).toEqual(sealed)
    expect(after.get(c.origin)?.by).toBe(a.origin)
    // the rotation's epoch sits beside the earlier one
    const rotated = expel(withC, a, b)
    expect([...rotated.keys.keys()].sort()).toEqual([1, 2])
    expect([...rotated.keys.get(1)!.keys()].sort()).toEqual([...after.keys()].sort())
    expect([...rotated.keys.get(2)!.keys()].sort()).toEqual([a.origin, c.origin].sort())
  })
})

describe('address records', () => {
  it('a member\'s address record sets its addresses, and they stay through later entries', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const addrs = ['/ip4/192.0.2.30/tcp/7400', '/ip4/192.0.2.31/tcp/7401']
    const s1 = applyControlEntry(admit(s0, a, b), b.next([addressRec(...addrs)], AMBER))
    expect(s1.members.get(b.origin)?.addrs).toEqual(addrs)
    expect(s1.members.get(a.origin)?.addrs).toEqual([])
    const s2 = admit(s1, a, party())
    expect(s2.members.get(b.origin)?.addrs).toEqual(addrs)
  })

  it('an address record from a non-member or a removed member is refused (PX_ERR_NOT_MEMBER)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const stranger = party()
    const state = expel(admit(s0, a, b), a, b)
    expect(verdict(() => applyControlEntry(state, stranger.peek([addressRec('/ip4/192.0.2.40/tcp/7400')], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(verdict(() => applyControlEntry(state, b.peek([addressRec('/ip4/192.0.2.41/tcp/7400')], AMBER)))).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
    expect(state.members.get(b.origin)?.addrs).toEqual([])
  })
})

describe('data entries', () => {
  it('an entry of another circle is refused against this circle\'s state (field circle)', () => {
    const { a, state: s0 } = founded()
    const b = party()
    const state = admit(s0, a, b)
    const elsewhere = new RemoteLog(b.key, 'c-ffffffffffffffffffff').peek([indicatorRec('192.0.2.50')])
    expect(verdict(() => { checkDataEntry(state, elsewhere) })).toEqual({ code: 'PX_ERR_VALIDATION', field: 'circle' })
    const here = new RemoteLog(b.key, CIRCLE).peek([indicatorRec('192.0.2.50')])
    expect(verdict(() => { checkDataEntry(state, here) })).toEqual({ code: 'accepted' })
  })
})
