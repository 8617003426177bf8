/**
 * Advisory and ack records (issue 15, part 3): what validateItem accepts is exactly what the
 * Advisories use case builds (canonical lists, trimmed display-safe text), each refusal names
 * its field; an advisory's id covers its origin; both kinds are read by this version (a node
 * from before them keeps them unread: unknownRecord).
 */
import { describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { ADVISORY_LIMITS, KNOWN_KINDS, advisoryId, unknownRecord, validateItem } from '../../../src/records/index.js'

const NONCE = 'ab'.repeat(16)
const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const good = { kind: 'advisory', nonce: NONCE, title: 'Patch now', text: 'Active exploitation of CVE-2026-1234\nat 2 members', severity: 'high', cves: ['CVE-2025-0001', 'CVE-2026-1234'], indicators: ['0'.repeat(32), 'f'.repeat(32)] }

function fieldOf (raw: unknown): string | undefined {
  try {
    validateItem(raw)
  } catch (err) {
    if (err instanceof PhalanxError) return err.field
    throw err
  }
  return undefined
}

describe('advisory records', () => {
  it('a canonical advisory and a bare one are read as they are', () => {
    expect(validateItem(good)).toEqual(good)
    const bare = { kind: 'advisory', nonce: NONCE, title: 't', text: 'x' }
    expect(validateItem(bare)).toEqual(bare)
  })

  it.each([
    [{ ...good, extra: 1 }, 'extra'],
    [{ ...good, nonce: 'AB'.repeat(16) }, 'nonce'],
    [{ ...good, nonce: undefined }, 'nonce'],
    [{ ...good, title: undefined }, 'title'],
    [{ ...good, title: 'two\nlines' }, 'title'],
    [{ ...good, title: ' padded' }, 'title'],
    [{ ...good, title: 'x'.repeat(ADVISORY_LIMITS.TITLE_MAX + 1) }, 'title'],
    [{ ...good, title: 'bidi \u202e trick' }, 'title'],
    [{ ...good, text: '' }, 'text'],
    [{ ...good, text: 'x'.repeat(ADVISORY_LIMITS.TEXT_MAX + 1) }, 'text'],
    [{ ...good, text: 'bell \u0007' }, 'text'],
    [{ ...good, severity: 'urgent' }, 'severity'],
    [{ ...good, cves: ['CVE-2026-1234', 'CVE-2025-0001'] }, 'cves'],
    [{ ...good, cves: ['cve-2026-1234'] }, 'cves'],
    [{ ...good, cves: [] }, 'cves'],
    [{ ...good, cves: ['CVE-2026-1234', 'not-a-cve'] }, 'cves[1]'],
    [{ ...good, cves: Array.from({ length: ADVISORY_LIMITS.CVES_MAX + 1 }, (_, i) => `CVE-2026-${10000 + i}`) }, 'cves'],
    [{ ...good, indicators: ['f'.repeat(32), '0'.repeat(32)] }, 'indicators'],
    [{ ...good, indicators: ['0'.repeat(32), 'xyz'] }, 'indicators[1]'],
    [{ ...good, indicators: 'f'.repeat(32) }, 'indicators']
  ])('refuses %j naming %s', (raw, field) => {
    expect(fieldOf(raw)).toBe(field)
  })

  it('an id depends on the origin and the nonce, and on nothing else', () => {
    expect(advisoryId(A, NONCE)).toMatch(/^[0-9a-f]{32}$/)
    expect(advisoryId(A, NONCE)).toBe(advisoryId(A, NONCE))
    expect(advisoryId(B, NONCE)).not.toBe(advisoryId(A, NONCE))
    expect(advisoryId(A, 'cd'.repeat(16))).not.toBe(advisoryId(A, NONCE))
  })
})

describe('ack records', () => {
  it('names an advisory id, and only that', () => {
    expect(validateItem({ kind: 'ack', advisory: '1'.repeat(32) })).toEqual({ kind: 'ack', advisory: '1'.repeat(32) })
    expect(fieldOf({ kind: 'ack', advisory: 'nope' })).toBe('advisory')
    expect(fieldOf({ kind: 'ack' })).toBe('advisory')
    expect(fieldOf({ kind: 'ack', advisory: '1'.repeat(32), at: 'now' })).toBe('at')
  })
})

describe('versions', () => {
  it('this version reads advisories and acks (a node from before keeps them unread)', () => {
    expect(KNOWN_KINDS.has('advisory')).toBe(true)
    expect(KNOWN_KINDS.has('ack')).toBe(true)
    expect(unknownRecord(good)).toBeUndefined()
    expect(unknownRecord({ kind: 'ack', advisory: '1'.repeat(32) })).toBeUndefined()
  })
})
