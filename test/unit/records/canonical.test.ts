import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { PURPOSE, canonicalBytes, canonicalJson, sha256Hex } from '../../../src/records/canonical.js'
import { prng } from '../../utils/prng.mjs'

/** hand-written RFC 8785 (JCS) vectors: [name, value, canonical text] */
const VECTORS: Array<[string, unknown, string]> = [
  ['keys sorted', { b: 2, a: 1, c: 3 }, '{"a":1,"b":2,"c":3}'],
  ['no whitespace, arrays keep order', [3, 1, 2, { }, []], '[3,1,2,{},[]]'],
  ['nested objects sorted at every level',
    { z: { y: [{ d: 1, c: 2 }, 'x'], x: null }, a: { b: { d: true, c: false } } },
    '{"a":{"b":{"c":false,"d":true}},"z":{"x":null,"y":[{"c":2,"d":1},"x"]}}'],
  // RFC 8785 §3.2.3: keys sort by UTF-16 code units, not by code points: 😀 (U+1F600 = D83D DE00)
  // sorts before U+FB33, though its code point is larger
  ['key order by UTF-16 code units (RFC 8785 §3.2.3 example)',
    { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', 1: 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' },
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'],
  ['upper case sorts before lower case', { b: 1, B: 2, a: 3, A: 4 }, '{"A":4,"B":2,"a":3,"b":1}'],
  // RFC 8785 §3.2.2.2: only " \ and control characters are escaped; \b \t \n \f \r use short forms,
  // other controls \u00XX in lower-case hex; everything else (incl. / and non-ASCII) is literal
  ['string escapes (RFC 8785 §3.2.2.2 example)',
    '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
    '"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'],
  ['short escapes and other controls', '\b\t\n\f\r\u0000\u001f\u007f', '"\\b\\t\\n\\f\\r\\u0000\\u001f\u007f"'],
  ['unicode strings are not escaped', { 'ключ': 'значение', emoji: '🛡️', cjk: '中文' }, '{"cjk":"中文","emoji":"🛡️","ключ":"значение"}'],
  // RFC 8785 §3.2.2.3: numbers as ECMAScript Number.prototype.toString
  ['numbers: 1e21, 1e20, 0.1, -0, small and large',
    [1e21, 1e20, 0.1, -0, 1e-7, 0.000001, 4.50, 2e-3, 333333333.33333329, 9007199254740991, -1.5e-300, 5e-324],
    '[1e+21,100000000000000000000,0.1,0,1e-7,0.000001,4.5,0.002,333333333.3333333,9007199254740991,-1.5e-300,5e-324]'],
  ['literals', { t: true, f: false, n: null }, '{"f":false,"n":null,"t":true}'],
  ['RFC 8785 §3.2.2 sample object',
    { numbers: [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/', literals: [null, true, false] },
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}']
]

describe('canonicalJson (RFC 8785)', () => {
  it.each(VECTORS)('%s', (_name, value, want) => {
    expect(canonicalJson(value)).toBe(want)
  })

  it('gives text that JSON.parse reads back to the same value', () => {
    for (const [, value] of VECTORS) {
      const text = canonicalJson(value)
      expect(canonicalJson(JSON.parse(text))).toBe(text)
    }
  })

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError)
    expect(() => canonicalJson(Number.NaN)).toThrow()
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow()
    expect(() => canonicalJson({ a: [1, Number.NEGATIVE_INFINITY] })).toThrow()
    expect(() => canonicalJson('\ud800 lone surrogate')).toThrow()
  })
})

describe('canonicalBytes', () => {
  it('is the purpose tag, a newline, then the canonical JSON', () => {
    for (const purpose of Object.values(PURPOSE)) {
      const bytes = canonicalBytes(purpose, { b: 1, a: 'é' })
      expect(Buffer.isBuffer(bytes)).toBe(true)
      expect(bytes.toString('utf8')).toBe(`${purpose}\n{"a":"é","b":1}`)
      expect(bytes.subarray(0, purpose.length + 1).equals(Buffer.from(`${purpose}\n`))).toBe(true)
    }
  })

  it('has distinct tags per purpose, so the same value gives different bytes', () => {
    const tags = Object.values(PURPOSE)
    expect(new Set(tags).size).toBe(tags.length)
    for (const t of tags) expect(t).toMatch(/^phalanx\/[a-z-]+\/v\d+$/)
    const all = tags.map(p => canonicalBytes(p, [1, 2, 3]).toString('hex'))
    expect(new Set(all).size).toBe(tags.length)
  })

  it('encodes as UTF-8', () => {
    const bytes = canonicalBytes(PURPOSE.ENTRY_HASH, '€')
    expect(bytes.length).toBe(PURPOSE.ENTRY_HASH.length + 1 + 2 + 3)
  })
})

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 vector and node:crypto', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    const bytes = canonicalBytes(PURPOSE.ENTRY_HASH, { x: 1 })
    expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'))
  })
})


/** rebuild `v` with every object's keys in a random order (Object.fromEntries keeps `__proto__` an own key) */
function shuffleKeys (v: unknown, rnd: () => number): unknown {
  if (Array.isArray(v)) return v.map(x => shuffleKeys(x, rnd))
  if (v === null || typeof v !== 'object') return v
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shuffleKeys(x, rnd)] as [string, unknown])
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[entries[i], entries[j]] = [entries[j], entries[i]]
  }
  return Object.fromEntries(entries)
}

/**
 * an independent oracle: objects written with keys sorted by UTF-16 code units, everything
 * else by JSON.stringify (a JS object cannot hold integer-like keys in sorted order itself)
 */
function sortedStringify (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedStringify).join(',')}]`
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  const o = v as Record<string, unknown>
  return `{${Object.keys(o).sort().map(k => `${JSON.stringify(k)}:${sortedStringify(o[k])}`).join(',')}}`
}

describe('canonicalJson properties', () => {
  const json = fc.oneof(
    fc.jsonValue(),
    fc.jsonValue({ stringUnit: 'grapheme' }),
    fc.object({ maxDepth: 3 }).map(o => JSON.parse(JSON.stringify(o)) as unknown)
  )

  it('does not depend on object key order', () => {
    fc.assert(fc.property(json, fc.integer(), (value, seed) => {
      const shuffled = shuffleKeys(value, prng(seed))
      expect(shuffled).toStrictEqual(value)
      expect(canonicalJson(shuffled)).toBe(canonicalJson(value))
    }), { numRuns: 300 })
  })

  it('is JSON.stringify of the key-sorted value, and a fixed point of parse', () => {
    fc.assert(fc.property(json, value => {
      const text = canonicalJson(value)
      expect(text).toBe(sortedStringify(value))
      expect(canonicalJson(JSON.parse(text))).toBe(text)
    }), { numRuns: 300 })
  })

  it('agrees with the reference `canonicalize` package', () => {
    fc.assert(fc.property(json, value => {
      expect(canonicalJson(value)).toBe(canonicalize(value))
    }), { numRuns: 300 })
    for (const [, value] of VECTORS) expect(canonicalJson(value)).toBe(canonicalize(value))
  })

  it('actually sees different key orders (the shuffle is not a no-op)', () => {
    const obj = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))
    const shuffled = shuffleKeys(obj, prng(42)) as Record<string, number>
    expect(Object.keys(shuffled)).not.toEqual(Object.keys(obj))
    expect(canonicalJson(shuffled)).toBe(canonicalJson(obj))
  })
})

describe('canonicalJson: the in-place key sort and the built-once key prefixes', () => {
  it('sorts many keys (past the in-place sort) as the reference does', () => {
    const rand = prng(7)
    const names = Array.from({ length: 60 }, (_, i) => `${String.fromCharCode(0x41 + Math.floor(rand() * 58))}${i}\u00e9${i % 3 === 0 ? '\ud83d\ude00' : ''}`)
    for (const n of [3, 24, 25, 60]) {
      const obj = Object.fromEntries(names.slice(0, n).map((k, i) => [k, i]))
      expect(canonicalJson(obj)).toBe(canonicalize(obj))
    }
  })

  it('refuses a key with a lone surrogate every time (a bad key is never kept)', () => {
    const bad = { '\udc00x': 1 }
    expect(() => canonicalJson(bad)).toThrow()
    expect(() => canonicalJson(bad)).toThrow()
  })

  it('stays exact past the bound of kept prefixes (many distinct and long names)', () => {
    const obj = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`name-${i}${i % 7 === 0 ? 'x'.repeat(50) : ''}`, i]))
    expect(canonicalJson(obj)).toBe(canonicalize(obj))
    expect(canonicalJson({ 'name-3': 'again', short: [{ 'name-1499': true }] })).toBe('{"name-3":"again","short":[{"name-1499":true}]}')
  })
})
