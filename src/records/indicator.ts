/**
 * Indicators as users give them (API, CLI, imports) and as the store keeps them.
 * `parseIndicatorInput` validates and normalizes one user object into a record plus its
 * routing (tlp, circle); every error names the field at fault.
 */
import { ValidationError } from '../errors.js'
import { sha256Hex, PURPOSE } from './canonical.js'
import { type IndicatorType } from './indicator-types.js'
import { normalizeValue, detectType } from './normalize.js'
import {
  type IndicatorItem, LIMITS, checkKeys, confidenceOf, isObject, markCanonical, makeIndicatorItem, normalizeTags, typeOf
} from './items.js'
import { WELL_FORMED_MESSAGE, optionalText, parseTime } from './fields.js'
import { parseTlp, type Tlp } from '../tlp/index.js'

/** 128 bits of SHA-256: ids are compared, never trusted for integrity */
export const ID_HEX_CHARS = 32

const ORIGIN_RE = /^[0-9a-f]{64}$/

/** deterministic id: the same origin publishing the same (type, value) updates one indicator */
export function indicatorId (origin: string, type: IndicatorType, value: string): string {
  // the canonical JSON of an array of strings, written out (this runs once per record); an
  // origin (hex) and a type (a known name) need no escaping, so only the value is encoded
  const o = ORIGIN_RE.test(origin) ? `"${origin}"` : JSON.stringify(origin)
  return sha256Hex(`${PURPOSE.INDICATOR_ID}\n[${o},"${type}",${JSON.stringify(value)}]`).slice(0, ID_HEX_CHARS)
}

export interface IndicatorDefaults {
  tlp: Tlp
  confidence: number
}

export interface ParsedIndicator {
  item: IndicatorItem
  tlp: Tlp
  /** circle named by the input, if any */
  circle?: string
  /** TLP:RED recipients (public keys) named by the input, if any */
  to?: string[]
}

const INPUT_KEYS = new Set(['type', 'value', 'tlp', 'confidence', 'tags', 'description', 'validFrom', 'validUntil', 'firstSeen', 'lastSeen', 'circle', 'to'])

/**
 * Validate and normalize one indicator given by a user. Without `type`, the type is
 * detected from the value. Unknown fields are refused so typos do not pass silently.
 */
export function parseIndicatorInput (raw: unknown, defaults: IndicatorDefaults): ParsedIndicator {
  if (!isObject(raw)) throw new ValidationError('', 'an indicator must be a JSON object')
  checkKeys(raw, INPUT_KEYS, '')
  if (raw.value === undefined) throw new ValidationError('value', 'value is required')
  if (typeof raw.value !== 'string') throw new ValidationError('value', 'value must be a string')
  if (raw.value.length > LIMITS.VALUE_MAX) throw new ValidationError('value', `value has at most ${LIMITS.VALUE_MAX} characters`)
  if (!raw.value.isWellFormed()) throw new ValidationError('value', WELL_FORMED_MESSAGE)
  let type: IndicatorType
  if (raw.type === undefined) {
    // an empty value is the value's fault, not a missing type's
    if (raw.value.trim() === '') throw new ValidationError('value', 'value is empty')
    const t = detectType(raw.value)
    if (t === undefined) throw new ValidationError('type', `type is required: the value "${raw.value.slice(0, 80)}" is not recognizable as any indicator type (ipv4, ipv6, cidr, domain, url, email, hashes, cve, asn)`)
    type = t
  } else {
    type = typeOf(raw.type, 'type')
  }
  const value = normalizeValue(type, raw.value)
  const tlp = raw.tlp === undefined ? defaults.tlp : parseTlp(raw.tlp)
  const confidence = raw.confidence === undefined ? defaults.confidence : confidenceOf(raw.confidence, 'confidence')
  const time = (k: string): string | undefined => raw[k] === undefined || raw[k] === null ? undefined : parseTime(raw[k], k)
  const item = makeIndicatorItem({
    type,
    value,
    confidence,
    tags: normalizeTags(raw.tags),
    description: optionalText(raw.description, 'description', LIMITS.DESCRIPTION_MAX),
    validFrom: time('validFrom'),
    validUntil: time('validUntil'),
    firstSeen: time('firstSeen'),
    lastSeen: time('lastSeen')
  })
  const out: ParsedIndicator = { item: markCanonical(item), tlp }
  if (raw.to !== undefined) out.to = parseRecipients(raw.to, 'to')
  if (raw.circle !== undefined) {
    // an id or a circle's name: the operations resolve it against this node's circles
    if (typeof raw.circle !== 'string' || raw.circle.trim() === '' || raw.circle.length > CIRCLE_REF_MAX) throw new ValidationError('circle', `circle must be a circle id or name (at most ${CIRCLE_REF_MAX} characters)`)
    out.circle = raw.circle
  }
  return out
}

/**
 * When this indicator last changed: its version's `created`, or a later revoke or relabel of
 * it. What STIX calls `modified` and MISP `timestamp`: a client keyed on id + modified must see
 * a relabel or a revoke as a new version.
 */
export function lastChangeOf (ind: Pick<StoredIndicator, 'created' | 'revoked' | 'relabeled'>): string {
  let at = ind.created
  for (const t of [ind.revoked?.at, ind.relabeled?.at]) if (t !== undefined && t > at) at = t
  return at
}

/**
 * Did this indicator go to `log` (a circle, a recipient log, the private scope)? Its current
 * version's log, or any log an earlier version of this origin's record went to (`reach`: a
 * re-share keeps it in the circle it came from, and a revoke goes there too).
 */
export function isInLog (ind: Pick<StoredIndicator, 'circle' | 'reach'>, log: string): boolean {
  return ind.circle === log || (ind.reach?.includes(log) ?? false)
}

/** the longest circle id or name a request may give */
const CIRCLE_REF_MAX = 200

/** an indicator as the store keeps it: the current version, and the entry that proves it */
export interface StoredIndicator extends Omit<IndicatorItem, 'kind'> {
  id: string
  origin: string
  circle: string
  tlp: Tlp
  /** when the origin signed this version (the entry's `created`) */
  created: string
  /** when this node stored this version */
  received: string
  /** position in the node's change feed; query cursors are built from it */
  cursor: string
  /** the entry that proves this version */
  entry: { hash: string, seq: number }
  /** versions this node has seen of this indicator */
  version: number
  revoked?: { at: string, reason?: string, entry: string }
  /**
   * the origin's latest relabel later than this version (its `created`, label and entry
   * hash): kept so that a version that arrives after it (out of order) is loosened as well
   */
  relabeled?: { at: string, tlp: Tlp, entry: string }
  /**
   * every log (circle, recipient log, private scope) this origin's record was published in,
   * when that is more than `circle` (the log of the current version); sorted. A revoke or a
   * relabel goes to each (src/tlp/policy.ts `reachOf`). Store format 3.
   */
  reach?: string[]
}

/** TLP:RED recipients: one public key or a list of 1..64 distinct ones (64 lower-case hex) */
export function parseRecipients (raw: unknown, field: string): string[] {
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list) || list.length === 0 || list.length > 64) throw new ValidationError(field, `${field} must be a public key or a list of 1 to 64 public keys`)
  list.forEach((k, i) => {
    if (typeof k !== 'string' || !/^[0-9a-f]{64}$/.test(k)) throw new ValidationError(typeof raw === 'string' ? field : `${field}[${i}]`, 'a recipient is a public key (64 lower-case hex characters; phalanx id --json shows it) or the fingerprint of a member of this node\'s circles')
  })
  return [...new Set(list as string[])]
}
