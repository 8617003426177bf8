/**
 * The membership fold of `leave` and `rename` records (src/circles/state.ts), over real signed
 * entries: a member leaves by its own record (marked left, its later entries refused, a key
 * rotation due and done by one designated admin), the last admin cannot leave while others
 * remain; an admin renames a member, a member cannot, and the name follows the rules of an
 * add's org (hostile characters refused).
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { applyControlEntry, checkDataEntry, hasLeft, isCurrentMember, membershipLogOf, rotator, type CircleState } from '../../../src/circles/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { validateItem, type Item } from '../../../src/records/index.js'
import { RemoteLog } from '../../utils/store.js'

const CIRCLE = 'c-a1b2c3d4e5f60718293a'
const LOG = membershipLogOf(CIRCLE)
const AMBER = { tlp: 'AMBER' as const }

const item = (raw: Record<string, unknown>): Item => validateItem(raw)
const sealedFor = (...keys: string[]): Record<string, string> => Object.fromEntries(keys.map(k => [k, Buffer.from(randomBytes(72)).toString('base64')]))
const addRec = (key: string, role: 'admin' | 'member', org?: string): Item => item({ kind: 'member', op: 'add', key, role, ...(org !== undefined ? { org } : {}) })
const keyRec = (epoch: number, ...keys: string[]): Item => item({ kind: 'key', epoch, sealed: sealedFor(...keys) })
const leaveRec = (upTo: number): Item => item({ kind: 'leave', upTo })
const renameRec = (key: string, org: string): Item => item({ kind: 'rename', key, org })
const party = (): RemoteLog => new RemoteLog(undefined, LOG)

function codeOf (fn: () => unknown): string {
  try { fn() } catch (err) { return err instanceof PhalanxError ? err.code : `not a PhalanxError: ${String(err)}` }
  return 'accepted'
}

/** A founds the circle; B (member) and C (member) join with org names */
function circle (): { a: RemoteLog, b: RemoteLog, c: RemoteLog, state: CircleState } {
  const [a, b, c] = [party(), party(), party()]
  let state = applyControlEntry(undefined, a.next([item({ kind: 'circle', name: 'ISAC' }), addRec(a.origin, 'admin', 'A'), keyRec(1, a.origin)], AMBER))
  state = applyControlEntry(state, a.next([addRec(b.origin, 'member', 'Bank B'), keyRec(1, b.origin)], AMBER))
  state = applyControlEntry(state, a.next([addRec(c.origin, 'member', 'Bank C'), keyRec(1, c.origin)], AMBER))
  return { a, b, c, state }
}

describe('a leave record', () => {
  it('marks its origin left (by itself), refuses its data entries after upTo, and makes a rotation due', () => {
    const { a, b, c, state } = circle()
    const left = applyControlEntry(state, b.next([leaveRec(2)], AMBER))
    const m = left.members.get(b.origin)!
    expect(isCurrentMember(left, b.origin)).toBe(false)
    expect(hasLeft(m)).toBe(true)
    expect(m.removed).toMatchObject({ by: b.origin, upTo: 2 })
    expect(left.rekey).toEqual([b.origin])
    expect(rotator(left)).toBe(a.origin)
    const data = new RemoteLog(b.key, CIRCLE)
    const items = [item({ kind: 'indicator', type: 'ipv4', value: '192.0.2.1', confidence: 50, tags: [] })]
    expect(codeOf(() => checkDataEntry(left, data.next(items)))).toBe('accepted')
    data.next(items)
    expect(codeOf(() => checkDataEntry(left, data.next(items)))).toBe('PX_ERR_NOT_MEMBER')
    // nothing more from it in the membership log
    expect(codeOf(() => applyControlEntry(left, b.next([item({ kind: 'address', addrs: [] })], AMBER)))).toBe('PX_ERR_NOT_MEMBER')
    // the admin's rotation (a remove of the leaver, for older nodes, and the next key) clears it
    const rotated = applyControlEntry(left, a.next([item({ kind: 'member', op: 'remove', key: b.origin, upTo: 2 }), keyRec(2, a.origin, c.origin)], AMBER))
    expect(rotated.rekey).toEqual([])
    expect(rotated.epoch).toBe(2)
    expect(rotator(rotated)).toBeUndefined()
    // the leave stands as it was: by the member itself, its own upTo
    expect(rotated.members.get(b.origin)!.removed).toMatchObject({ by: b.origin, upTo: 2 })
  })

  it('is refused from a non-member, and twice', () => {
    const { b, state } = circle()
    const left = applyControlEntry(state, b.next([leaveRec(0)], AMBER))
    expect(codeOf(() => applyControlEntry(left, b.next([leaveRec(0)], AMBER)))).toBe('PX_ERR_NOT_MEMBER')
    expect(codeOf(() => applyControlEntry(state, party().next([leaveRec(0)], AMBER)))).toBe('PX_ERR_NOT_MEMBER')
  })

  it('of the last admin is refused while other members remain; the only member may leave', () => {
    const { a, state } = circle()
    expect(codeOf(() => applyControlEntry(state, a.next([leaveRec(0)], AMBER)))).toBe('PX_ERR_VALIDATION')
    const solo = party()
    const alone = applyControlEntry(undefined, solo.next([item({ kind: 'circle', name: 'solo' }), addRec(solo.origin, 'admin'), keyRec(1, solo.origin)], AMBER))
    const gone = applyControlEntry(alone, solo.next([leaveRec(0)], AMBER))
    expect(isCurrentMember(gone, solo.origin)).toBe(false)
    expect(gone.rekey).toEqual([])
  })

  it('of an admin with another admin left: the other is the rotator', () => {
    const { a, b, state } = circle()
    const two = applyControlEntry(state, a.next([item({ kind: 'member', op: 'role', key: b.origin, role: 'admin' })], AMBER))
    const left = applyControlEntry(two, a.next([leaveRec(0)], AMBER))
    expect(rotator(left)).toBe(b.origin)
  })

  it('carries only upTo', () => {
    expect(() => validateItem({ kind: 'leave', upTo: -1 })).toThrow(/upTo/)
    expect(() => validateItem({ kind: 'leave' })).toThrow(/upTo/)
    expect(() => validateItem({ kind: 'leave', upTo: 0, key: 'x' })).toThrow(/unknown field/)
  })
})

describe('a rename record', () => {
  it('from an admin sets the member\'s org name; from a member it is refused', () => {
    const { a, b, c, state } = circle()
    const renamed = applyControlEntry(state, a.next([renameRec(b.origin, 'Bank B (Frankfurt)')], AMBER))
    expect(renamed.members.get(b.origin)!.org).toBe('Bank B (Frankfurt)')
    // a member renames itself, or another: refused
    expect(codeOf(() => applyControlEntry(state, b.next([renameRec(b.origin, 'Central Bank')], AMBER)))).toBe('PX_ERR_NOT_MEMBER')
    expect(codeOf(() => applyControlEntry(state, c.next([renameRec(b.origin, 'Mallory')], AMBER)))).toBe('PX_ERR_NOT_MEMBER')
    // of a non-member: refused
    expect(codeOf(() => applyControlEntry(state, a.next([renameRec(party().origin, 'X')], AMBER)))).toBe('PX_ERR_VALIDATION')
  })

  it('follows the name rules of an add\'s org: hostile characters, untrimmed or empty names refused', () => {
    const key = 'ab'.repeat(32)
    for (const org of ['Bank\u001b[31mB', 'Bank\u202eB', 'Bank\u200bB', ' Bank B', '', 'x'.repeat(201)]) {
      expect(() => validateItem({ kind: 'rename', key, org }), JSON.stringify(org)).toThrow(PhalanxError)
    }
    expect(() => validateItem({ kind: 'rename', key: 'AB', org: 'x' })).toThrow(/key/)
    expect(validateItem({ kind: 'rename', key, org: 'Bank B' })).toEqual({ kind: 'rename', key, org: 'Bank B' })
  })
})
