/**
 * The input helpers the operations share (src/operations/input.ts): `bodyWith` (a request body
 * is a JSON object with only the named fields) and `resolveCircle` (absent or `local` is the
 * private scope; otherwise a circle this node is in, or PX_ERR_UNKNOWN_CIRCLE on the field).
 */
import { describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { LOCAL_CIRCLE } from '../../../src/records/index.js'
import { bodyWith, circleIdOf, requireCircle, resolveCircle } from '../../../src/operations/index.js'
import { FixedCircles } from '../../utils/ops.js'
import { randomKey } from '../../utils/store.js'

/** the PhalanxError `fn` throws (fails the test when it throws none, or something else) */
function thrown (fn: () => unknown): PhalanxError {
  try { fn() } catch (err) {
    expect(err).toBeInstanceOf(PhalanxError)
    return err as PhalanxError
  }
  throw new Error('expected a PhalanxError, nothing was thrown')
}

describe('bodyWith', () => {
  const keys = new Set(['circle', 'reason'])

  it('takes an object with some, all or none of the named fields', () => {
    for (const body of [{}, { circle: 'c1' }, { circle: 'c1', reason: 'x' }]) {
      expect(() => { bodyWith(body, keys) }).not.toThrow()
    }
    const raw: unknown = { reason: 'typed' }
    bodyWith(raw, keys)
    // after the assertion the body's fields are readable as a record
    expect(raw.reason).toBe('typed')
  })

  it('refuses anything but an object: PX_ERR_VALIDATION on field ""', () => {
    for (const body of [undefined, null, 'c1', 42, true, ['circle'], [{ circle: 'c1' }]]) {
      const err = thrown(() => { bodyWith(body, keys) })
      expect({ body, code: err.code, field: err.field, message: err.message }).toEqual({ body, code: 'PX_ERR_VALIDATION', field: '', message: 'the body must be a JSON object' })
    }
  })

  it('refuses a field it was not told of, naming that field', () => {
    const err = thrown(() => { bodyWith({ circle: 'c1', circel: 'c2' }, keys) })
    expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'circel', message: 'unknown field "circel"' })
    // with no fields named, any field is unknown
    expect(thrown(() => { bodyWith({ circle: 'c1' }, new Set()) })).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'circle' })
  })
})

describe('resolveCircle', () => {
  const circles = new FixedCircles(randomKey().publicKeyHex)
  circles.join('c1')
  circles.join('c-two')
  const none = new FixedCircles(randomKey().publicKeyHex)

  it('absent or "local" is the private scope, whatever circles the node is in', () => {
    for (const c of [circles, none]) {
      expect(resolveCircle(c, undefined, 'circle')).toBe(LOCAL_CIRCLE)
      expect(resolveCircle(c, LOCAL_CIRCLE, 'circle')).toBe(LOCAL_CIRCLE)
    }
  })

  it('a circle this node is in is its id', () => {
    expect(resolveCircle(circles, 'c1', 'circle')).toBe('c1')
    expect(resolveCircle(circles, 'c-two', 'circle')).toBe('c-two')
  })

  it('a circle that is not a string is PX_ERR_VALIDATION on the field given', () => {
    for (const raw of [null, 7, { id: 'c1' }, ['c1']]) {
      const err = thrown(() => resolveCircle(circles, raw, 'indicators[2].circle'))
      expect({ raw, code: err.code, field: err.field }).toEqual({ raw, code: 'PX_ERR_VALIDATION', field: 'indicators[2].circle' })
    }
  })

  it('a circle this node is not in is PX_ERR_UNKNOWN_CIRCLE on the field given, listing the node\'s circles', () => {
    const err = thrown(() => resolveCircle(circles, 'c-nope', 'collection'))
    expect(err).toMatchObject({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'collection' })
    expect(err.message).toBe('this node is not in a circle with the id or name "c-nope" (its circles: c1 "Circle c1", c-two "Circle c-two"; "local" is the private scope)')
    expect(thrown(() => resolveCircle(none, 'c1', 'circle')).message).toBe('this node is not in a circle with the id or name "c1" (its circles: none; "local" is the private scope)')
  })

  it('a circle may be named by its name: exact, else ignoring case, when unique among this node\'s circles', () => {
    expect(resolveCircle(circles, 'Circle c1', 'circle')).toBe('c1')
    expect(resolveCircle(circles, '  circle C-TWO ', 'circle')).toBe('c-two')
    expect(requireCircle(circles, 'Circle c-two', 'circle')).toBe('c-two')
    expect(circleIdOf(circles, 'no such name', 'circle')).toBeUndefined()
    // an id wins over a name; two circles of one name need the id
    const twins = new FixedCircles(randomKey().publicKeyHex)
    twins.join('c-a')
    twins.join('c-b')
    twins.states.get('c-b')!.name = 'Circle c-a'
    twins.states.get('c-a')!.name = 'Circle c-a'
    const err = thrown(() => resolveCircle(twins, 'Circle c-a', 'circle'))
    expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'circle' })
    expect(err.message).toBe('2 of this node\'s circles are named "Circle c-a" (c-a, c-b): give the circle\'s id')
    expect(resolveCircle(twins, 'c-b', 'circle')).toBe('c-b')
  })

  it('quotes at most 140 characters of an unknown circle name', () => {
    const err = thrown(() => resolveCircle(none, 'x'.repeat(10_000), 'circle'))
    expect(err.code).toBe('PX_ERR_UNKNOWN_CIRCLE')
    expect(err.message).toContain(`"${'x'.repeat(140)}"`)
    expect(err.message).not.toContain('x'.repeat(141))
  })
})
