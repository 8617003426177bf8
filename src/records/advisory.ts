/**
 * Advisories (issue 15, part 3): a short signed alert to a circle (title, text, optional
 * severity, CVE ids and linked indicator ids), and the `ack` by which a member says it read
 * one. Both are records of a circle's data log, gossiped and synced like indicators; a node
 * from before them keeps them for sync and does not read them (a new kind: unknownRecord).
 *
 * An advisory's id is deterministic from its origin and the record's `nonce` (128 random bits
 * its author picks), not from the entry: publishes that arrive together are packed into one
 * entry (group commit), so the entry's `created` is not known when the record is made, and
 * one origin may send two advisories with the same title. No other origin can make an
 * advisory with that id (the id covers the origin), so an ack names exactly one advisory.
 */
import { ValidationError } from '../errors.js'
import { PURPOSE, sha256Hex } from './canonical.js'
import { normalizeValue } from './normalize.js'

export const ADVISORY_LIMITS = {
  /** characters of a title: a name (display-safe, one line) */
  TITLE_MAX: 200,
  /** characters of the text (LF and TAB allowed): 4 KiB */
  TEXT_MAX: 4096,
  CVES_MAX: 50,
  INDICATORS_MAX: 100
} as const

export const ADVISORY_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type AdvisorySeverity = typeof ADVISORY_SEVERITIES[number]

export function isAdvisorySeverity (s: unknown): s is AdvisorySeverity {
  return typeof s === 'string' && (ADVISORY_SEVERITIES as readonly string[]).includes(s)
}

export interface AdvisoryItem {
  kind: 'advisory'
  /** 32 lower-case hex characters its author picked at random: the id is advisoryId(origin, nonce) */
  nonce: string
  title: string
  text: string
  severity?: AdvisorySeverity
  /** CVE ids, upper-case, sorted, unique */
  cves?: string[]
  /** ids of indicators in the same circle, sorted, unique */
  indicators?: string[]
}

/** a member acknowledges an advisory of the same circle (the entry's origin is the acker) */
export interface AckItem {
  kind: 'ack'
  /** the advisory's id */
  advisory: string
}

const HEX32_RE = /^[0-9a-f]{32}$/
const ORIGIN_RE = /^[0-9a-f]{64}$/

export function isAdvisoryNonce (s: unknown): s is string {
  return typeof s === 'string' && HEX32_RE.test(s)
}

/** an advisory's id: 128 bits of SHA-256 over a purpose tag, its origin and its nonce */
export function advisoryId (origin: string, nonce: string): string {
  const o = ORIGIN_RE.test(origin) ? origin : JSON.stringify(origin)
  return sha256Hex(`${PURPOSE.ADVISORY_ID}\n["${o}","${nonce}"]`).slice(0, 32)
}

/** a list of CVE ids as a record holds them (upper-case, sorted, unique); errors name `field[i]` */
export function normalizeCves (raw: unknown, field: string): string[] {
  if (!Array.isArray(raw)) throw new ValidationError(field, `${field} must be an array of CVE ids`)
  if (raw.length > ADVISORY_LIMITS.CVES_MAX) throw new ValidationError(field, `${field} holds at most ${ADVISORY_LIMITS.CVES_MAX} CVE ids`)
  const out = raw.map((c, i) => {
    if (typeof c !== 'string') throw new ValidationError(`${field}[${i}]`, 'a CVE id is a string like CVE-2026-1234')
    try {
      return normalizeValue('cve', c.trim())
    } catch (err) {
      throw new ValidationError(`${field}[${i}]`, (err as Error).message)
    }
  })
  return [...new Set(out)].sort()
}

/** a list of ids (32 lower-case hex characters) as a record holds them (sorted, unique) */
export function normalizeIds (raw: unknown, field: string, max: number): string[] {
  if (!Array.isArray(raw)) throw new ValidationError(field, `${field} must be an array of ids`)
  if (raw.length > max) throw new ValidationError(field, `${field} holds at most ${max} ids`)
  raw.forEach((x, i) => {
    if (typeof x !== 'string' || !HEX32_RE.test(x)) throw new ValidationError(`${field}[${i}]`, 'an id is 32 lower-case hex characters')
  })
  return [...new Set(raw as string[])].sort()
}

/** the same list, in order? (a received record must hold its lists in canonical form) */
export function sameList (a: readonly string[], b: unknown): boolean {
  return Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i])
}
