/**
 * Reports (issue 16, part 1): an incident or an analysis an organization shares with a circle —
 * a title, a Markdown body, the ATT&CK techniques it describes, the threat actors, malware,
 * campaigns and sectors it names, references, and the indicators (held in the same circle) it
 * links. A record of a circle's data log (or of the private scope), gossiped and synced like an
 * indicator; a node from before reports keeps it for sync and does not read it (a new kind).
 *
 * A report's id is deterministic from its origin and the record's `nonce` (128 bits its author
 * picks, or the UUID of the STIX report it came from): every version of a report carries the
 * same nonce, and the latest version (its entry's `created`, then its place in the log) is the
 * report. A revocation is a version of its own (`revoked: true`) that holds nothing else, so a
 * revoked report is the same on every node whatever order its versions arrived in.
 */
import { ValidationError } from '../errors.js'
import { PURPOSE, sha256Hex } from './canonical.js'
import { normalizeIds, sameList } from './advisory.js'
import { canonicalJson } from './canonical.js'
import { parseTime, text, type ItemCheckOptions, type TextRule } from './fields.js'

export const REPORT_LIMITS = {
  /** characters of a title (display-safe, one line) */
  TITLE_MAX: 300,
  /** UTF-8 bytes of the Markdown body (LF and TAB allowed) */
  BODY_MAX_BYTES: 32 * 1024,
  /** ATT&CK technique ids */
  ATTACK_MAX: 100,
  /** names in each list (actors, malware, campaigns, sectors) */
  NAMES_MAX: 50,
  /** characters of one name */
  NAME_MAX: 200,
  REFERENCES_MAX: 20,
  /** characters of one reference (a URL) */
  REFERENCE_MAX: 1024,
  /** linked indicators (ids of 32 characters: ~17 KiB) */
  INDICATORS_MAX: 500,
  /** bytes of the whole record as signed (so that it fits in one entry with its header) */
  RECORD_MAX_BYTES: 60 * 1024,
  /** characters of a revocation's reason */
  REASON_MAX: 1024
} as const

export const REPORT_TYPES = ['incident', 'analysis'] as const
export type ReportType = typeof REPORT_TYPES[number]

export function isReportType (s: unknown): s is ReportType {
  return typeof s === 'string' && (REPORT_TYPES as readonly string[]).includes(s)
}

/** the lists of names a report carries, in the order the views show them */
export const REPORT_NAME_LISTS = ['actors', 'malware', 'campaigns', 'sectors'] as const
export type ReportNameList = typeof REPORT_NAME_LISTS[number]

export interface ReportContent {
  /** incident or analysis */
  type: ReportType
  title: string
  /** Markdown */
  body?: string
  /** ATT&CK technique ids (T1566, T1566.002), upper-case, sorted, unique */
  attack?: string[]
  actors?: string[]
  malware?: string[]
  campaigns?: string[]
  sectors?: string[]
  /** URLs, in the author's order, unique */
  references?: string[]
  /** ids of indicators in the same circle, sorted, unique */
  indicators?: string[]
  /** when the author published it (a STIX report's `published`), ISO UTC */
  published?: string
}

/** a version of a report: its content, or its revocation */
export type ReportItem =
  | ({ kind: 'report', nonce: string, revoked?: undefined } & ReportContent)
  | { kind: 'report', nonce: string, revoked: true, reason?: string }

const ORIGIN_RE = /^[0-9a-f]{64}$/
const ATTACK_RE = /^T\d{4}(\.\d{3})?$/

/** a report's id: 128 bits of SHA-256 over a purpose tag, its origin and its nonce */
export function reportId (origin: string, nonce: string): string {
  const o = ORIGIN_RE.test(origin) ? origin : JSON.stringify(origin)
  return sha256Hex(`${PURPOSE.REPORT_ID}\n["${o}","${nonce}"]`).slice(0, 32)
}

/** is it an ATT&CK technique or sub-technique id as records hold it (T1566, T1566.002)? */
export function isAttackId (s: unknown): s is string {
  return typeof s === 'string' && ATTACK_RE.test(s)
}

/** an ATT&CK technique id as a user may write it (t1566.002, " T1566 ") in the form records hold, or undefined */
export function parseAttackId (s: string): string | undefined {
  const t = s.trim().toUpperCase()
  return ATTACK_RE.test(t) ? t : undefined
}

/** a list of technique ids as a record holds them (upper-case, sorted, unique); errors name `field[i]` */
export function normalizeAttackIds (raw: unknown, field: string): string[] {
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list)) throw new ValidationError(field, `${field} must be an array of ATT&CK technique ids (e.g. T1566.002)`)
  if (list.length > REPORT_LIMITS.ATTACK_MAX) throw new ValidationError(field, `${field} holds at most ${REPORT_LIMITS.ATTACK_MAX} technique ids`)
  const out = list.map((t, i) => {
    const id = typeof t === 'string' ? parseAttackId(t) : undefined
    if (id === undefined) {
      const given = typeof t === 'string' ? JSON.stringify(t.trim().slice(0, 40)) : 'it'
      const tactic = typeof t === 'string' && /^TA\d{4}$/i.test(t.trim()) ? ' (a tactic: name its techniques)' : ''
      throw new ValidationError(`${field}[${i}]`, `${given} is not an ATT&CK technique id${tactic}: T and four digits, with a sub-technique's .NNN (e.g. T1566 or T1566.002)`)
    }
    return id
  })
  return [...new Set(out)].sort()
}

/** the linked indicator ids as a record holds them (sorted, unique) */
export function normalizeReportIndicators (raw: unknown, field: string): string[] {
  return normalizeIds(raw, field, REPORT_LIMITS.INDICATORS_MAX)
}

/**
 * A list of names (actors, malware, campaigns, sectors) as a record holds it: trimmed,
 * display-safe, unique (case-insensitive, the first spelling wins), sorted; errors name `field[i]`.
 */
export function normalizeNameList (raw: unknown, field: string, opts: ItemCheckOptions = {}): string[] {
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list)) throw new ValidationError(field, `${field} must be an array of names`)
  if (list.length > REPORT_LIMITS.NAMES_MAX) throw new ValidationError(field, `${field} holds at most ${REPORT_LIMITS.NAMES_MAX} names`)
  const seen = new Map<string, string>()
  list.forEach((n, i) => {
    const at = typeof raw === 'string' ? field : `${field}[${i}]`
    const s = text(n, at, REPORT_LIMITS.NAME_MAX, opts.stored === true ? 'stored' : 'name')
    if (s !== undefined && !seen.has(s.toLowerCase())) seen.set(s.toLowerCase(), s)
  })
  return [...seen.values()].sort()
}

/** references (URLs or citations) as a record holds them: trimmed, display-safe, unique, in the given order */
export function normalizeReferences (raw: unknown, field: string, opts: ItemCheckOptions = {}): string[] {
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list)) throw new ValidationError(field, `${field} must be an array of URLs or citations`)
  if (list.length > REPORT_LIMITS.REFERENCES_MAX) throw new ValidationError(field, `${field} holds at most ${REPORT_LIMITS.REFERENCES_MAX} references`)
  const out: string[] = []
  list.forEach((r, i) => {
    const s = text(r, typeof raw === 'string' ? field : `${field}[${i}]`, REPORT_LIMITS.REFERENCE_MAX, opts.stored === true ? 'stored' : 'name')
    if (s !== undefined && !out.includes(s)) out.push(s)
  })
  return out
}

/**
 * A report version from loose input (API, import) or a received record: each field
 * normalized (errors name the field), empty lists left out, the whole record bounded so that
 * it fits in one entry. `raw.published` is a time as parseTime reads it.
 */
export function makeReportItem (nonce: string, raw: Record<string, unknown>, opts: ItemCheckOptions = {}): ReportItem & ReportContent {
  const rule: TextRule = opts.stored === true ? 'stored' : 'text'
  if (!isReportType(raw.type)) throw new ValidationError('type', `a report's type (the CLI's --kind) is one of ${REPORT_TYPES.join(', ')}${typeof raw.type === 'string' ? `, not ${JSON.stringify(raw.type.slice(0, 40))}` : ''}`)
  const title = text(raw.title, 'title', REPORT_LIMITS.TITLE_MAX, opts.stored === true ? 'stored' : 'name')
  if (title === undefined) throw new ValidationError('title', `a report needs a title (one line, at most ${REPORT_LIMITS.TITLE_MAX} characters)`)
  const item: ReportItem & ReportContent = { kind: 'report', nonce, type: raw.type, title }
  if (raw.body !== undefined && raw.body !== null) {
    if (typeof raw.body !== 'string') throw new ValidationError('body', 'body must be a string (Markdown)')
    if (Buffer.byteLength(raw.body) > REPORT_LIMITS.BODY_MAX_BYTES) throw new ValidationError('body', `body has at most ${REPORT_LIMITS.BODY_MAX_BYTES} bytes (UTF-8); link a longer text in references`)
    const body = text(raw.body, 'body', REPORT_LIMITS.BODY_MAX_BYTES, rule)
    if (body !== undefined) item.body = body
  }
  if (raw.attack !== undefined && raw.attack !== null) {
    const attack = normalizeAttackIds(raw.attack, 'attack')
    if (attack.length > 0) item.attack = attack
  }
  for (const k of REPORT_NAME_LISTS) {
    if (raw[k] === undefined || raw[k] === null) continue
    const names = normalizeNameList(raw[k], k, opts)
    if (names.length > 0) item[k] = names
  }
  if (raw.references !== undefined && raw.references !== null) {
    const refs = normalizeReferences(raw.references, 'references', opts)
    if (refs.length > 0) item.references = refs
  }
  if (raw.indicators !== undefined && raw.indicators !== null) {
    const ids = normalizeReportIndicators(raw.indicators, 'indicators')
    if (ids.length > 0) item.indicators = ids
  }
  if (raw.published !== undefined && raw.published !== null) item.published = parseTime(raw.published, 'published')
  const size = Buffer.byteLength(canonicalJson(item))
  if (size > REPORT_LIMITS.RECORD_MAX_BYTES) throw new ValidationError('body', `the report is ${size} bytes as signed; at most ${REPORT_LIMITS.RECORD_MAX_BYTES}: shorten its body or link fewer indicators`)
  return item
}


export { sameList }
