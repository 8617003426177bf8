import { describe, it, expect } from 'vitest'
import { ValidationError } from '../../../src/errors.js'
import { TLP_LEVELS, isLooser, isTlp, parseTlp, tlpRank, tlpsUpTo, type Tlp } from '../../../src/tlp/index.js'

describe('parseTlp', () => {
  const TABLE: Array<[string, Tlp]> = [
    ['CLEAR', 'CLEAR'],
    ['clear', 'CLEAR'],
    [' Clear\t', 'CLEAR'],
    ['TLP:CLEAR', 'CLEAR'],
    ['tlp:clear', 'CLEAR'],
    ['TLP CLEAR', 'CLEAR'],
    ['WHITE', 'CLEAR'],
    ['white', 'CLEAR'],
    ['TLP:WHITE', 'CLEAR'],
    ['GREEN', 'GREEN'],
    ['tlp:green', 'GREEN'],
    ['AMBER', 'AMBER'],
    ['Amber', 'AMBER'],
    ['AMBER+STRICT', 'AMBER+STRICT'],
    ['tlp:amber+strict', 'AMBER+STRICT'],
    ['amber strict', 'AMBER+STRICT'],
    ['AMBER_STRICT', 'AMBER+STRICT'],
    ['amber-strict', 'AMBER+STRICT'],
    ['TLP:AMBER  STRICT', 'AMBER+STRICT'],
    ['RED', 'RED'],
    ['tlp:red', 'RED'],
    ['TLP RED', 'RED']
  ]

  it.each(TABLE)('reads %j as %s', (input, want) => {
    expect(parseTlp(input)).toBe(want)
  })

  it.each(['', ' ', 'PURPLE', 'TLP:', 'TLP', 'AMBER+', 'STRICT', '+STRICT', 'WHITE+STRICT', 'GREEN+STRICT', 'RED STRICT', 'TLP:TLP:RED', 'AMBERSTRICT', 'REDD', 'TLP-RED'])('refuses %j', (input) => {
    expect(() => parseTlp(input)).toThrow(ValidationError)
  })

  it('refuses a long string before reading it: 128 KiB of separators is one check, not a quadratic scan', () => {
    for (const raw of ['_'.repeat(1 << 17) + 'x', `a${' '.repeat(1 << 17)}x`, `AMBER${'-'.repeat(1 << 17)}STRICT`]) {
      expect(() => parseTlp(raw, 'tlp')).toThrow(/unknown TLP/)
    }
    // separators before STRICT are still read at any count that fits
    expect(parseTlp(`AMBER${' '.repeat(40)}STRICT`)).toBe('AMBER+STRICT')
    // the limit is 64 characters: 64 are read, 65 are not
    expect(parseTlp(`${' '.repeat(59)}AMBER`)).toBe('AMBER')
    expect(() => parseTlp(`${' '.repeat(60)}AMBER`)).toThrow(/unknown TLP/)
  })

  it('refuses non-strings, naming the field given', () => {
    for (const raw of [null, undefined, 1, ['RED'], { tlp: 'RED' }]) {
      try {
        parseTlp(raw, 'defaults.tlp')
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError)
        expect((err as ValidationError).field).toBe('defaults.tlp')
      }
    }
    try {
      parseTlp('PURPLE')
      expect.unreachable()
    } catch (err) {
      expect((err as ValidationError).field).toBe('tlp')
      expect((err as ValidationError).message).toContain('PURPLE')
    }
  })

  it('is the identity on every canonical label', () => {
    for (const t of TLP_LEVELS) expect(parseTlp(t)).toBe(t)
  })
})

describe('isTlp', () => {
  it('accepts only canonical labels', () => {
    for (const t of TLP_LEVELS) expect(isTlp(t)).toBe(true)
    for (const x of ['WHITE', 'clear', 'TLP:RED', 'AMBER STRICT', '', null, 3, 'toString', '__proto__', 'constructor']) expect(isTlp(x)).toBe(false)
    // a value that turns into a label only as a property key is not a label
    for (const x of [['RED'], { toString: () => 'AMBER' }]) expect(isTlp(x)).toBe(false)
  })
})

describe('TLP order', () => {
  it('ranks CLEAR < GREEN < AMBER < AMBER+STRICT < RED', () => {
    expect(TLP_LEVELS).toEqual(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'])
    expect(TLP_LEVELS.map(tlpRank)).toEqual([0, 1, 2, 3, 4])
  })

  it('isLooser(to, from) is true exactly when `to` is strictly looser than `from`', () => {
    const looser: Array<[Tlp, Tlp]> = []
    for (const to of TLP_LEVELS) {
      for (const from of TLP_LEVELS) {
        if (isLooser(to, from)) looser.push([to, from])
      }
    }
    expect(looser).toEqual([
      ['CLEAR', 'GREEN'], ['CLEAR', 'AMBER'], ['CLEAR', 'AMBER+STRICT'], ['CLEAR', 'RED'],
      ['GREEN', 'AMBER'], ['GREEN', 'AMBER+STRICT'], ['GREEN', 'RED'],
      ['AMBER', 'AMBER+STRICT'], ['AMBER', 'RED'],
      ['AMBER+STRICT', 'RED']
    ])
  })

  it('isLooser is irreflexive and asymmetric', () => {
    for (const a of TLP_LEVELS) {
      expect(isLooser(a, a)).toBe(false)
      for (const b of TLP_LEVELS) if (isLooser(a, b)) expect(isLooser(b, a)).toBe(false)
    }
    expect(isLooser('RED', 'CLEAR')).toBe(false)
  })

  it('tlpsUpTo lists the labels at or below a maximum', () => {
    expect(tlpsUpTo('CLEAR')).toEqual(['CLEAR'])
    expect(tlpsUpTo('AMBER')).toEqual(['CLEAR', 'GREEN', 'AMBER'])
    expect(tlpsUpTo('RED')).toEqual([...TLP_LEVELS])
  })
})
