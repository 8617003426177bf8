/**
 * Display-safe text (src/records/text.ts): the table of hostile characters every name and tag
 * refuses, what a free text allows (LF, TAB), and the terminal escape that leaves none of them.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  displaySafeName, displaySafeText, escapeForTerminal, escapeJsonText, isDisplaySafeName, isDisplaySafeText, unsafeCharOf,
  normalizeTags, optionalName, optionalText, validateItem, validateEntry
} from '../../../src/records/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { RemoteLog } from '../../utils/store.js'

/** [code point, what it is]: every one is refused in a name and escaped on output */
const HOSTILE: Array<[number, string]> = [
  [0x00, 'NUL'], [0x07, 'BEL'], [0x08, 'backspace'], [0x0d, 'CR'], [0x1b, 'ESC'], [0x7f, 'DEL'],
  [0x80, 'C1 first'], [0x85, 'NEL'], [0x9b, 'CSI (C1)'], [0x9f, 'C1 last'],
  [0x00ad, 'soft hyphen'], [0x061c, 'Arabic letter mark'], [0x180e, 'Mongolian vowel separator'],
  [0x200b, 'zero width space'], [0x200c, 'ZWNJ'], [0x200d, 'ZWJ'], [0x200e, 'LRM'], [0x200f, 'RLM'],
  [0x202a, 'LRE'], [0x202b, 'RLE'], [0x202c, 'PDF'], [0x202d, 'LRO'], [0x202e, 'RLO'],
  [0x2028, 'line separator'], [0x2029, 'paragraph separator'],
  [0x2060, 'word joiner'], [0x2063, 'invisible separator'], [0x2066, 'LRI'], [0x2067, 'RLI'], [0x2068, 'FSI'], [0x2069, 'PDI'],
  [0x206a, 'inhibit symmetric swapping'], [0xfeff, 'BOM / ZWNBSP'], [0xfff9, 'interlinear annotation anchor'],
  [0xe0001, 'language tag'], [0xe0041, 'tag latin capital A'], [0xe007f, 'cancel tag']
]
const ch = (cp: number): string => String.fromCodePoint(cp)
const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`

/** every character a terminal could act on or hide, as a regular expression over a string */
// eslint-disable-next-line no-control-regex, no-misleading-character-class
const RAW_HOSTILE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udfff]/u

function refused (f: () => unknown, field: string, cp: number): void {
  let err: unknown
  try { f() } catch (e) { err = e }
  expect(err, `${hex(cp)} must be refused`).toBeInstanceOf(PhalanxError)
  expect((err as PhalanxError).code).toBe('PX_ERR_VALIDATION')
  expect((err as PhalanxError).field).toBe(field)
  expect((err as PhalanxError).message).toContain(hex(cp))
}

describe('display-safe names and texts', () => {
  it.each(HOSTILE)('U+%s is refused in a name, a tag, a circle and a member org, and named in the message', (cp) => {
    const s = `Bank ${ch(cp)}B`
    expect(isDisplaySafeName(s)).toBe(false)
    expect(unsafeCharOf(s)).toBe(ch(cp))
    refused(() => displaySafeName(s, 'org', 200), 'org', cp)
    refused(() => optionalName(s, 'name', 200), 'name', cp)
    refused(() => normalizeTags(['ok', s]), 'tags[1]', cp)
    refused(() => validateItem({ kind: 'circle', name: s }), 'name', cp)
    refused(() => validateItem({ kind: 'member', op: 'add', key: 'a'.repeat(64), role: 'member', org: s }), 'org', cp)
    // a free text refuses it too (it is not LF or TAB)
    expect(isDisplaySafeText(s)).toBe(false)
    refused(() => displaySafeText(s, 'description', 4096), 'description', cp)
    refused(() => optionalText(s, 'note', 1024), 'note', cp)
    refused(() => validateItem({ kind: 'indicator', type: 'domain', value: 'x.example', confidence: 50, tags: [], description: s }), 'description', cp)
  })

  it('a free text allows LF and TAB; a name does not; surrounding white space is trimmed, as ever', () => {
    expect(displaySafeText('line one\n\tline two', 'description', 100)).toBe('line one\n\tline two')
    expect(isDisplaySafeText('a\nb\tc')).toBe(true)
    refused(() => displaySafeName('Bank\nB', 'org', 200), 'org', 0x0a)
    refused(() => displaySafeName('Bank\tB', 'org', 200), 'org', 0x09)
    expect(displaySafeName('  Bank B\r\n', 'org', 200)).toBe('Bank B')
    expect(displaySafeName('   ', 'org', 200)).toBeUndefined()
    // ordinary text of every script stays: accents, CJK, RTL letters, emoji (without ZWJ)
    for (const s of ['Société Générale', '銀行', 'بنك', 'Банк', 'Bank 🏦', 'O\'Brien & Co. (EU)']) expect(displaySafeName(s, 'org', 200)).toBe(s)
    expect(normalizeTags(['apt-28', 'c2 server'])).toEqual(['apt-28', 'c2 server'])
  })

  it('a stored entry (verify) is checked as v0.1 did; a received one is refused', () => {
    const log = new RemoteLog(undefined, 'c-0123456789abcdef0123')
    const e = log.next([{ kind: 'indicator', type: 'domain', value: 'x.example', confidence: 50, tags: ['evil\u202etag'], description: 'a\u001b[2Kb' }])
    expect(validateEntry(e, { stored: true }).items).toHaveLength(1)
    expect(() => validateEntry(e)).toThrow(/U\+202E/)
  })

  it('escapeForTerminal writes each hostile character as a visible escape', () => {
    expect(escapeForTerminal('Bank B\r\x1b[2K')).toBe('Bank B\\x0d\\x1b[2K')
    expect(escapeForTerminal('a\u202eb\u200bc\u{e0041}')).toBe('a\\u202eb\\u200bc\\u{e0041}')
    expect(escapeForTerminal('x\u009by')).toBe('x\\x9by')
    expect(escapeForTerminal('a\nb\tc')).toBe('a\\x0ab\\x09c')
    expect(escapeForTerminal('a\nb\tc\rd', { keepLines: true })).toBe('a\nb\tc\\x0dd')
    expect(escapeForTerminal('\ud800 lone')).toBe('\\ud800 lone')
    expect(escapeForTerminal('Société 銀行 🏦 \\x1b')).toBe('Société 銀行 🏦 \\x1b')
  })

  it('escapeJsonText writes C1, bidi, invisible characters and U+2028 as \\u escapes and parses to the same value', () => {
    const v = { org: 'a\u009b\u202e\u2028\u200b\u{e0041}\u001b' }
    const out = escapeJsonText(JSON.stringify(v))
    expect(RAW_HOSTILE.test(out)).toBe(false)
    expect(JSON.parse(out)).toEqual(v)
  })

  it('property: the output of escapeForTerminal and escapeJsonText holds no hostile character', () => {
    const hostile = fc.constantFrom(...HOSTILE.map(([cp]) => ch(cp)), '\n', '\t', '\ud800', '\udfff')
    const piece = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), hostile)
    fc.assert(fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
      const s = parts.join('')
      expect(RAW_HOSTILE.test(escapeForTerminal(s))).toBe(false)
      const keep = escapeForTerminal(s, { keepLines: true })
      expect(RAW_HOSTILE.test(keep.replace(/[\n\t]/g, ''))).toBe(false)
      const json = escapeJsonText(JSON.stringify({ s }))
      expect(RAW_HOSTILE.test(json)).toBe(false)
      expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify({ s })))
      // a safe name is left as it is
      if (isDisplaySafeName(s)) expect(escapeForTerminal(s)).toBe(s)
    }), { numRuns: 2000 })
  })
})
