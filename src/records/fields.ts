/**
 * Field parsers every record builder shares: optional texts (trimmed, display-safe by the
 * rule of text.ts, or v0.1's rule for what a store already holds) and user-given times.
 */
import { ValidationError } from '../errors.js'
import { assertDisplaySafeName, assertDisplaySafeText } from './text.js'

/** signed entries are canonical JSON (RFC 8785), which has no form for a lone surrogate */
export const WELL_FORMED_MESSAGE = 'text must be well-formed Unicode: a lone surrogate (an unpaired \\uD800–\\uDFFF escape) is not allowed'
const DATE_INPUT_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/
const ZONE_RE = /(Z|[+-]\d{2}:?\d{2})$/
const MAX_TIME = Date.UTC(9999, 11, 31)
/**
 * How a received record's text is checked. What enters (API, CLI, join, gossip, sync,
 * imports) follows the display-safe rule of `text.ts`; an entry a store already holds
 * (`verify`) is checked as v0.1 checked it: a store never refuses what it holds, the CLI
 * escapes it on output.
 */
export interface ItemCheckOptions {
  /** the entry is already stored: check its text as v0.1 did */
  stored?: boolean
}

/** a name or tag (`name`), a free text allowing LF and TAB (`text`), or v0.1's rule (`stored`) */
export type TextRule = 'name' | 'text' | 'stored'

/** parse a user-given time (ISO 8601 date or date-time, or epoch ms) to canonical ISO UTC */
export function parseTime (raw: unknown, field: string): string {
  let d: Date
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    d = new Date(raw)
  } else if (typeof raw === 'string' && DATE_INPUT_RE.test(raw.trim())) {
    const s = raw.trim()
    // Date rolls impossible days over (2026-02-30 → 2026-03-02): refuse them instead
    const [y, m, day] = s.slice(0, 10).split('-').map(Number)
    const cal = new Date(Date.UTC(y, m - 1, day))
    if (cal.getUTCMonth() !== m - 1 || cal.getUTCDate() !== day) throw new ValidationError(field, `${field} is not a valid date`)
    // a date alone, or a date-time without a zone, is UTC
    d = new Date(s.length === 10 ? `${s}T00:00:00Z` : (ZONE_RE.test(s) ? s : `${s}Z`))
  } else {
    throw new ValidationError(field, `${field} must be an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`)
  }
  const t = d.getTime()
  if (Number.isNaN(t) || t < 0 || t > MAX_TIME) throw new ValidationError(field, `${field} is not a valid date`)
  return d.toISOString()
}

/** an optional text, trimmed (undefined when blank): a free text unless `rule` says otherwise */
export function text (raw: unknown, field: string, max: number, rule: TextRule = 'text'): string | undefined {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== 'string') throw new ValidationError(field, `${field} must be a string`)
  if (raw.length > max) throw new ValidationError(field, `${field} has at most ${max} characters`)
  if (!raw.isWellFormed()) throw new ValidationError(field, WELL_FORMED_MESSAGE)
  const s = raw.trim()
  if (rule === 'name') assertDisplaySafeName(s, field)
  else if (rule === 'text') assertDisplaySafeText(s, field)
  return s === '' ? undefined : s
}

/** an optional name (organization, circle): trimmed, display-safe (text.ts), undefined when blank */
export function optionalName (raw: unknown, field: string, max: number): string | undefined {
  return text(raw, field, max, 'name')
}

export { text as optionalText }
