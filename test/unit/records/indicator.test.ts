import { describe, it, expect } from 'vitest'
import { PhalanxError, ValidationError } from '../../../src/errors.js'
import { parseIndicatorInput, validateItem, LIMITS, type IndicatorDefaults } from '../../../src/records/index.js'

const DEFAULTS: IndicatorDefaults = { tlp: 'AMBER', confidence: 50 }

function parse (raw: unknown): ReturnType<typeof parseIndicatorInput> {
  return parseIndicatorInput(raw, DEFAULTS)
}

function fieldOf (raw: unknown): string {
  try {
    parse(raw)
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as PhalanxError).code).toBe('PX_ERR_VALIDATION')
    expect((err as PhalanxError).message.length).toBeGreaterThan(0)
    return (err as PhalanxError).field as string
  }
  throw new Error(`expected a ValidationError for ${JSON.stringify(raw)}`)
}

const OK = { type: 'domain', value: 'evil.example' }

describe('parseIndicatorInput: each malformed field is named', () => {
  const CASES: Array<[string, Record<string, unknown>, string]> = [
    ['unknown type', { ...OK, type: 'ipv5' }, 'type'],
    ['type not a string', { ...OK, type: 4 }, 'type'],
    ['type upper-case', { ...OK, type: 'DOMAIN' }, 'type'],
    ['type missing and not detectable', { value: 'not an indicator!' }, 'type'],
    ['value missing', { type: 'domain' }, 'value'],
    ['value not a string', { type: 'ipv4', value: 16843009 }, 'value'],
    ['value malformed for its type', { type: 'ipv4', value: '256.1.1.1' }, 'value'],
    ['value of another type', { type: 'ipv4', value: 'evil.example' }, 'value'],
    ['value empty', { type: 'domain', value: '' }, 'value'],
    ['value empty, no type', { value: '' }, 'value'],
    ['value blank, no type', { value: ' \t ' }, 'value'],
    ['value too long', { type: 'url', value: `http://evil.example/${'a'.repeat(LIMITS.VALUE_MAX)}` }, 'value'],
    ['tlp unknown', { ...OK, tlp: 'PURPLE' }, 'tlp'],
    ['tlp not a string', { ...OK, tlp: 2 }, 'tlp'],
    ['confidence non-integer', { ...OK, confidence: 80.5 }, 'confidence'],
    ['confidence 101', { ...OK, confidence: 101 }, 'confidence'],
    ['confidence -1', { ...OK, confidence: -1 }, 'confidence'],
    ['confidence "80"', { ...OK, confidence: '80' }, 'confidence'],
    ['confidence NaN', { ...OK, confidence: Number.NaN }, 'confidence'],
    ['confidence null', { ...OK, confidence: null }, 'confidence'],
    ['tags not an array', { ...OK, tags: { a: 1 } }, 'tags'],
    ['tags a number', { ...OK, tags: 7 }, 'tags'],
    ['too many tags', { ...OK, tags: Array.from({ length: LIMITS.TAGS_MAX + 1 }, (_, i) => `t${i}`) }, 'tags'],
    ['a tag too long', { ...OK, tags: ['ok', 'x'.repeat(LIMITS.TAG_MAX + 1)] }, 'tags[1]'],
    ['a non-string tag', { ...OK, tags: ['a', 'b', 3] }, 'tags[2]'],
    ['a null tag', { ...OK, tags: [null] }, 'tags[0]'],
    ['a tag with a control character', { ...OK, tags: ['a', 'b', 'c', 'bad\u0007tag'] }, 'tags[3]'],
    ['description too long', { ...OK, description: 'd'.repeat(LIMITS.DESCRIPTION_MAX + 1) }, 'description'],
    ['description not a string', { ...OK, description: ['x'] }, 'description'],
    ['validFrom not a date', { ...OK, validFrom: 'yesterday' }, 'validFrom'],
    ['validFrom month 13', { ...OK, validFrom: '2026-13-01' }, 'validFrom'],
    ['validFrom day 32', { ...OK, validFrom: '2026-01-32' }, 'validFrom'],
    ['validFrom 30 February', { ...OK, validFrom: '2026-02-30' }, 'validFrom'],
    ['validFrom 29 February of a common year', { ...OK, validFrom: '2025-02-29T12:00:00Z' }, 'validFrom'],
    ['validFrom 31 April', { ...OK, validFrom: '2026-04-31T00:00:00+02:00' }, 'validFrom'],
    ['validFrom hour 25', { ...OK, validFrom: '2026-01-01T25:00:00Z' }, 'validFrom'],
    ['validFrom before 1970', { ...OK, validFrom: '1969-12-31' }, 'validFrom'],
    ['validFrom an object', { ...OK, validFrom: { y: 2026 } }, 'validFrom'],
    ['validUntil before validFrom', { ...OK, validFrom: '2026-02-01', validUntil: '2026-01-31' }, 'validUntil'],
    ['validUntil equal to validFrom', { ...OK, validFrom: '2026-02-01', validUntil: '2026-02-01T00:00:00Z' }, 'validUntil'],
    ['validUntil malformed', { ...OK, validUntil: '31/01/2026' }, 'validUntil'],
    ['lastSeen before firstSeen', { ...OK, firstSeen: '2026-02-01', lastSeen: '2026-01-01' }, 'lastSeen'],
    ['firstSeen malformed', { ...OK, firstSeen: 'soon' }, 'firstSeen'],
    ['unknown field confidnce', { ...OK, confidnce: 80 }, 'confidnce'],
    ['unknown field kind', { ...OK, kind: 'indicator' }, 'kind'],
    ['circle malformed (empty)', { ...OK, circle: ' ' }, 'circle'],
    ['circle malformed (not a string)', { ...OK, circle: 7 }, 'circle'],
    ['circle malformed (too long)', { ...OK, circle: 'c'.repeat(201) }, 'circle']
  ]

  it.each(CASES)('%s', (_name, raw, field) => {
    expect(fieldOf(raw)).toBe(field)
  })

  it('refuses a non-object with an empty field', () => {
    for (const raw of [null, 'evil.example', ['evil.example'], 42]) expect(fieldOf(raw)).toBe('')
  })

  it('serializes the error as { code, message, field }', () => {
    try {
      parse({ ...OK, confidence: 101 })
      expect.unreachable()
    } catch (err) {
      expect((err as PhalanxError).toJSON()).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'confidence' })
      expect((err as PhalanxError).status).toBe(400)
    }
  })
})

describe('parseIndicatorInput: normalization', () => {
  it.each([
    ['192.0.2.1', 'ipv4', '192.0.2.1'],
    ['192[.]0[.]2[.]1', 'ipv4', '192.0.2.1'],
    ['2001:DB8:0:0::1', 'ipv6', '2001:db8::1'],
    ['10.1.2.3/8', 'cidr', '10.0.0.0/8'],
    ['Evil[.]Example', 'domain', 'evil.example'],
    ['hxxp://evil[.]example/path', 'url', 'http://evil.example/path'],
    ['Bad.Guy@Evil.Example', 'email', 'bad.guy@evil.example'],
    ['D41D8CD98F00B204E9800998ECF8427E', 'md5', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['da39a3ee5e6b4b0d3255bfef95601890afd80709', 'sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['cve-2021-44228', 'cve', 'CVE-2021-44228'],
    ['as13335', 'asn', 'AS13335']
  ])('detects the type of %s when type is missing', (value, type, normalized) => {
    const p = parse({ value })
    expect(p.item.type).toBe(type)
    expect(p.item.value).toBe(normalized)
  })

  it('applies the defaults, and builds a canonical item', () => {
    const p = parse({ type: 'domain', value: 'EVIL.example.' })
    expect(p).toStrictEqual({
      item: { kind: 'indicator', type: 'domain', value: 'evil.example', confidence: 50, tags: [] },
      tlp: 'AMBER'
    })
    expect(parseIndicatorInput(OK, { tlp: 'RED', confidence: 0 })).toMatchObject({ tlp: 'RED', item: { confidence: 0 } })
  })

  it.each([
    ['WHITE', 'CLEAR'],
    ['tlp:white', 'CLEAR'],
    ['tlp:amber+strict', 'AMBER+STRICT'],
    ['TLP:AMBER STRICT', 'AMBER+STRICT'],
    ['green', 'GREEN'],
    [' RED ', 'RED']
  ])('reads TLP %j as %s', (tlp, want) => {
    expect(parse({ ...OK, tlp }).tlp).toBe(want)
  })

  it('trims tags, drops empty ones, dedupes case-insensitively (first spelling wins) and sorts', () => {
    const p = parse({ ...OK, tags: [' phishing ', 'APT28', 'apt28', 'Phishing', '', '   ', 'c2   server', 'T1566.001', 'banking'] })
    expect(p.item.tags).toEqual(['APT28', 'T1566.001', 'banking', 'c2 server', 'phishing'])
  })

  it('takes a single tag string as one tag, and null tags as none', () => {
    expect(parse({ ...OK, tags: ' c2 ' }).item.tags).toEqual(['c2'])
    expect(parse({ ...OK, tags: null }).item.tags).toEqual([])
  })

  it('keeps exactly TAGS_MAX tags and TAG_MAX characters', () => {
    const tags = Array.from({ length: LIMITS.TAGS_MAX }, (_, i) => `t${String(i).padStart(2, '0')}`)
    expect(parse({ ...OK, tags }).item.tags).toEqual(tags)
    expect(parse({ ...OK, tags: ['x'.repeat(LIMITS.TAG_MAX)] }).item.tags).toEqual(['x'.repeat(LIMITS.TAG_MAX)])
  })

  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T12:34:56Z', '2026-01-31T12:34:56.000Z'],
    ['2026-01-31T12:34:56.789Z', '2026-01-31T12:34:56.789Z'],
    ['2026-01-31T12:34', '2026-01-31T12:34:00.000Z'],
    ['2026-01-31 12:34:56', '2026-01-31T12:34:56.000Z'],
    ['2026-01-31T01:00:00+02:00', '2026-01-30T23:00:00.000Z'],
    ['2026-01-31T23:30:00-0130', '2026-02-01T01:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    [' 2026-01-31 ', '2026-01-31T00:00:00.000Z'],
    [0, '1970-01-01T00:00:00.000Z'],
    [1767225600000, '2026-01-01T00:00:00.000Z']
  ])('normalizes the date %j to ISO UTC %s', (input, want) => {
    expect(parse({ ...OK, validFrom: input }).item.validFrom).toBe(want)
    expect(parse({ ...OK, firstSeen: input }).item.firstSeen).toBe(want)
  })

  it('keeps all optional fields, trimmed, and the result passes validateItem unchanged', () => {
    const p = parse({
      type: 'url',
      value: 'hxxps://Evil[.]Example/Login?x=1',
      tlp: 'tlp:green',
      confidence: 90,
      tags: ['b', 'a'],
      description: '  credential phishing page  ',
      validFrom: '2026-01-01',
      validUntil: '2026-07-01',
      firstSeen: '2025-12-30T08:00:00Z',
      lastSeen: '2025-12-31T08:00:00Z',
      circle: 'fin-isac'
    })
    expect(p).toStrictEqual({
      item: {
        kind: 'indicator',
        type: 'url',
        value: 'https://evil.example/Login?x=1',
        confidence: 90,
        tags: ['a', 'b'],
        description: 'credential phishing page',
        validFrom: '2026-01-01T00:00:00.000Z',
        validUntil: '2026-07-01T00:00:00.000Z',
        firstSeen: '2025-12-30T08:00:00.000Z',
        lastSeen: '2025-12-31T08:00:00.000Z'
      },
      tlp: 'GREEN',
      circle: 'fin-isac'
    })
    expect(validateItem(JSON.parse(JSON.stringify(p.item)))).toStrictEqual(p.item)
  })

  it('drops a blank description and null dates', () => {
    const p = parse({ ...OK, description: '   ', validFrom: null, validUntil: null })
    expect(p.item).toStrictEqual({ kind: 'indicator', type: 'domain', value: 'evil.example', confidence: 50, tags: [] })
  })
})
