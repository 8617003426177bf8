/**
 * Report records (issue 16): a received report is read only in the canonical form its author's
 * builder makes (trimmed text; lists sorted, unique and not empty; technique ids upper-case),
 * every other shape refused naming its field; a revocation holds nothing but its reason; the
 * whole record is bounded to fit one entry; the id covers the origin and the nonce.
 */
import { describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { KNOWN_KINDS, MAX_ENTRY_BYTES, REPORT_LIMITS, canonicalJson, makeReportItem, parseAttackId, reportId, unknownRecord, validateItem } from '../../../src/records/index.js'

const NONCE = 'ab'.repeat(16)
const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const good = {
  kind: 'report',
  nonce: NONCE,
  type: 'incident',
  title: 'Phishing wave vs EU banks',
  body: '# What happened\n\n- links in mail\n\tindented',
  attack: ['T1204.001', 'T1566.002'],
  actors: ['FIN7', 'TA505'],
  malware: ['Dridex'],
  campaigns: ['Wave 3'],
  sectors: ['financial'],
  references: ['https://z.example/r', 'https://a.example/r'],
  indicators: ['0'.repeat(32), 'f'.repeat(32)],
  published: '2026-11-30T08:00:00.000Z'
}

function fieldOf (raw: unknown): string | undefined {
  try {
    validateItem(raw)
  } catch (err) {
    if (err instanceof PhalanxError) return err.field
    throw err
  }
  return undefined
}

describe('report records', () => {
  it('a canonical report, a bare one and a revocation are read as they are', () => {
    expect(validateItem(good)).toEqual(good)
    const bare = { kind: 'report', nonce: NONCE, type: 'analysis', title: 't' }
    expect(validateItem(bare)).toEqual(bare)
    const revoked = { kind: 'report', nonce: NONCE, revoked: true, reason: 'duplicate' }
    expect(validateItem(revoked)).toEqual(revoked)
    expect(validateItem({ kind: 'report', nonce: NONCE, revoked: true })).toEqual({ kind: 'report', nonce: NONCE, revoked: true })
  })

  it('the builder makes the canonical form from loose input, and what it makes is read back unchanged', () => {
    const made = makeReportItem(NONCE, { type: 'incident', title: '  Phishing wave vs EU banks ', body: good.body, attack: ['t1566.002', 'T1204.001', 'T1566.002'], actors: ['TA505', 'FIN7', 'ta505'], malware: 'Dridex', campaigns: ['Wave 3', ''], sectors: ['financial'], references: ['https://z.example/r', 'https://a.example/r', 'https://z.example/r'], indicators: ['f'.repeat(32), '0'.repeat(32)], published: '2026-11-30T08:00:00Z' })
    expect(made).toEqual(good)
    expect(validateItem(JSON.parse(JSON.stringify(made)))).toEqual(good)
    expect(makeReportItem(NONCE, { type: 'analysis', title: 't', actors: [], attack: [] })).toEqual({ kind: 'report', nonce: NONCE, type: 'analysis', title: 't' })
  })

  it.each([
    [{ ...good, extra: 1 }, 'extra'],
    [{ ...good, nonce: 'AB'.repeat(16) }, 'nonce'],
    [{ ...good, type: 'rumour' }, 'type'],
    [{ ...good, title: undefined }, 'title'],
    [{ ...good, title: ' padded' }, ''],
    [{ ...good, title: 'two\nlines' }, 'title'],
    [{ ...good, body: 'bidi \u202e trick' }, 'body'],
    [{ ...good, body: 'x'.repeat(REPORT_LIMITS.BODY_MAX_BYTES + 1) }, 'body'],
    [{ ...good, attack: ['T1566.002', 'T1204.001'] }, ''],
    [{ ...good, attack: ['t1566.002'] }, ''],
    [{ ...good, attack: ['TA0001'] }, 'attack[0]'],
    [{ ...good, attack: [] }, ''],
    [{ ...good, actors: ['TA505', 'FIN7'] }, ''],
    [{ ...good, actors: ['bell\u0007'] }, 'actors[0]'],
    [{ ...good, references: ['https://a.example/r', 'https://a.example/r'] }, ''],
    [{ ...good, indicators: ['f'.repeat(32), '0'.repeat(32)] }, ''],
    [{ ...good, indicators: ['xyz'] }, 'indicators[0]'],
    [{ ...good, published: '2026-11-30' }, 'published'],
    [{ kind: 'report', nonce: NONCE, revoked: false }, 'revoked'],
    [{ kind: 'report', nonce: NONCE, revoked: true, title: 't' }, 'title'],
    [{ kind: 'report', nonce: NONCE, revoked: true, reason: ' x' }, 'reason']
  ])('refuses %j naming %s', (raw, field) => {
    expect(fieldOf(raw)).toBe(field)
  })

  it('a report that would not fit in one entry is refused by its builder, naming the body', () => {
    // each field within its own bound, the whole over: a 32 KiB body of two-byte characters, 500 links and long names
    const big = { type: 'analysis', title: 't', body: 'é'.repeat(REPORT_LIMITS.BODY_MAX_BYTES / 2), indicators: Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(32, '0')), actors: Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(200, 'x')), malware: Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(200, 'y')) }
    expect(() => makeReportItem(NONCE, big)).toThrow(/bytes as signed/)
    // a record at its bound fits in one entry with room for the entry's own fields
    expect(REPORT_LIMITS.RECORD_MAX_BYTES).toBeLessThan(MAX_ENTRY_BYTES - 1024)
    expect(Buffer.byteLength(canonicalJson(makeReportItem(NONCE, { ...big, actors: [], malware: [] })))).toBeLessThanOrEqual(REPORT_LIMITS.RECORD_MAX_BYTES)
  })

  it('technique ids: T and four digits, a sub-technique .NNN; any case in, upper-case out', () => {
    expect(parseAttackId(' t1566.002 ')).toBe('T1566.002')
    expect(parseAttackId('T1566')).toBe('T1566')
    for (const bad of ['TA0001', 'T156', 'T1566.2', 'S0001', 'T1566.002.1']) expect(parseAttackId(bad)).toBeUndefined()
  })

  it('an id depends on the origin and the nonce, and on nothing else; this version reads reports', () => {
    expect(reportId(A, NONCE)).toMatch(/^[0-9a-f]{32}$/)
    expect(reportId(B, NONCE)).not.toBe(reportId(A, NONCE))
    expect(reportId(A, 'cd'.repeat(16))).not.toBe(reportId(A, NONCE))
    expect(KNOWN_KINDS.has('report')).toBe(true)
    expect(unknownRecord(good)).toBeUndefined()
  })
})
