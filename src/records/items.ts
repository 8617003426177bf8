/**
 * The records an entry carries (DESIGN §1), as they appear on the wire and on disk.
 * Values are stored normalized; `validateItem` checks a received item is exactly what our
 * own builders would have produced (normalized value, sorted unique tags, known fields).
 */
import { ValidationError, withFieldPrefix } from '../errors.js'
import { isIndicatorType, type IndicatorType } from './indicator-types.js'
import { normalizeValue } from './normalize.js'
import { isTlp, type Tlp } from '../tlp/index.js'
import { assertDisplaySafeName } from './text.js'
import { WELL_FORMED_MESSAGE, text, type ItemCheckOptions, type TextRule } from './fields.js'
import { ADVISORY_LIMITS, isAdvisoryNonce, isAdvisorySeverity, normalizeCves, normalizeIds, sameList, ADVISORY_SEVERITIES, type AckItem, type AdvisoryItem } from './advisory.js'
import { makeReportItem, REPORT_LIMITS, type ReportItem } from './report.js'
import { canonicalJson } from './canonical.js'

/** limits on one record; with them a single record always fits in one entry */
export const LIMITS = {
  /** characters of a value (a long URL); also checked by normalize */
  VALUE_MAX: 2048,
  TAGS_MAX: 64,
  TAG_MAX: 128,
  DESCRIPTION_MAX: 4096,
  REASON_MAX: 1024,
  /** sightings: a count per record, not per event */
  SIGHTING_COUNT_MAX: 1_000_000_000
} as const

export interface IndicatorItem {
  kind: 'indicator'
  type: IndicatorType
  value: string
  confidence: number
  tags: string[]
  description?: string
  validFrom?: string
  validUntil?: string
  firstSeen?: string
  lastSeen?: string
}

export interface RevokeItem {
  kind: 'revoke'
  /** id of the origin's own indicator */
  id: string
  reason?: string
}

/** what an organization did about a value it sighted (a sighting's `action`; absent: seen) */
export const SIGHTING_ACTIONS = ['seen', 'blocked', 'false-positive', 'investigating', 'mitigated'] as const
export type SightingAction = typeof SIGHTING_ACTIONS[number]

export function isSightingAction (a: unknown): a is SightingAction {
  return typeof a === 'string' && (SIGHTING_ACTIONS as readonly string[]).includes(a)
}

/**
 * The record version of a sighting with an action other than `seen`: a node from before
 * actions keeps such a record as signed and does not read it (unknownRecord), rather than
 * counting a false positive as a sighting. A plain `seen` stays version 1, which every node reads.
 */
export const SIGHTING_ACTION_VERSION = 2

export interface SightingItem {
  kind: 'sighting'
  /** SIGHTING_ACTION_VERSION exactly when `action` is present */
  v?: typeof SIGHTING_ACTION_VERSION
  type: IndicatorType
  value: string
  count: number
  firstSeen: string
  lastSeen: string
  note?: string
  /** what the sighter did; absent: seen */
  action?: Exclude<SightingAction, 'seen'>
}

/** a sighting record: `seen` as version 1 (no action), any other action as version 2 */
export function makeSightingItem (s: Omit<SightingItem, 'kind' | 'v' | 'action'> & { action?: SightingAction }): SightingItem {
  const { action, note, ...rest } = s
  return {
    kind: 'sighting',
    ...rest,
    ...(note !== undefined ? { note } : {}),
    ...(action !== undefined && action !== 'seen' ? { v: SIGHTING_ACTION_VERSION, action } : {})
  }
}

/** the action of a sighting record */
export function sightingAction (s: SightingItem): SightingAction {
  return s.action ?? 'seen'
}

export interface RelabelItem {
  kind: 'relabel'
  id: string
  tlp: Tlp
}

/** a circle's genesis: the first record of its founder's first entry in the circle */
export interface CircleItem {
  kind: 'circle'
  name: string
}

export type MemberRole = 'admin' | 'member'

/** a membership change by an admin (the founder's genesis entry adds the founder itself) */
export interface MemberItem {
  kind: 'member'
  op: 'add' | 'remove' | 'role'
  /** the member's Ed25519 public key (hex) */
  key: string
  /** add and role */
  role?: MemberRole
  /** add: the member's organization name as the admin verified it */
  org?: string
  /** remove: the removed member's entries up to this seq (of its log in this circle) stand */
  upTo?: number
}

/** the circle key of an epoch, sealed (NaCl box) by an admin to each listed member */
export interface KeyItem {
  kind: 'key'
  epoch: number
  /** member public key (hex) → base64(nonce ‖ box) */
  sealed: Record<string, string>
}

/**
 * A member leaves the circle: its own record (the entry's origin is the one leaving). Its data
 * entries up to `upTo` (its own last seq in the circle's data log) still stand.
 */
export interface LeaveItem {
  kind: 'leave'
  upTo: number
}

/** an admin records a member's organization name anew (the name the circle shows for it) */
export interface RenameItem {
  kind: 'rename'
  /** the member's Ed25519 public key (hex) */
  key: string
  org: string
}

/** where a member can be dialled: its own announcement */
export interface AddressItem {
  kind: 'address'
  addrs: string[]
}

/** records of a circle's membership log (control entries): never mixed with indicator records */
export type ControlItem = CircleItem | MemberItem | KeyItem | AddressItem | LeaveItem | RenameItem
export type DataItem = IndicatorItem | RevokeItem | SightingItem | RelabelItem | AdvisoryItem | AckItem | ReportItem
export type Item = DataItem | ControlItem
export type ItemKind = Item['kind']

const ID_RE = /^[0-9a-f]{32}$/
// a strict ISO 8601 UTC timestamp as Date#toISOString prints it
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/

export function isIndicatorId (s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s)
}

/** trim, drop empties and duplicates (case-insensitive, first spelling wins), sort */
export function normalizeTags (raw: unknown, field = 'tags', opts: ItemCheckOptions = {}): string[] {
  if (raw === undefined || raw === null) return []
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list)) throw new ValidationError(field, `${field} must be an array of strings`)
  if (list.length > LIMITS.TAGS_MAX) throw new ValidationError(field, `at most ${LIMITS.TAGS_MAX} tags`)
  const seen = new Map<string, string>()
  const at = (i: number): string => typeof raw === 'string' ? field : `${field}[${i}]`
  list.forEach((t, i) => {
    if (typeof t !== 'string') throw new ValidationError(at(i), 'a tag must be a string')
    if (!t.isWellFormed()) throw new ValidationError(at(i), WELL_FORMED_MESSAGE)
    const trimmed = t.trim()
    // a tag is a name: no control, bidirectional or invisible character (text.ts), checked
    // before white space inside it is folded to one space (v0.1 folded a TAB or LF silently)
    if (opts.stored !== true) assertDisplaySafeName(trimmed, at(i))
    const s = trimmed.replace(/\s+/g, ' ')
    if (s === '') return
    if (s.length > LIMITS.TAG_MAX) throw new ValidationError(at(i), `a tag has at most ${LIMITS.TAG_MAX} characters`)
    if (CONTROL_RE.test(s)) throw new ValidationError(at(i), 'a tag must not contain control characters')
    const k = s.toLowerCase()
    if (!seen.has(k)) seen.set(k, s)
  })
  return [...seen.values()].sort()
}

function confidenceOf (raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > 100) throw new ValidationError(field, `${field} must be an integer from 0 to 100`)
  return raw
}

/** a bad input for an error message: a short string quoted, anything else by its kind (never serialized: it may be deeply nested) */
function quoteInput (x: unknown): string {
  return typeof x === 'string' ? JSON.stringify(x.slice(0, 64)) : `(a ${x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x})`
}

function typeOf (raw: unknown, field: string): IndicatorType {
  if (!isIndicatorType(raw)) throw new ValidationError(field, `unknown indicator type ${quoteInput(raw)}; expected one of ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, sha512, cve, asn, ja3`)
  return raw
}

function checkKeys (obj: Record<string, unknown>, allowed: ReadonlySet<string>, where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new ValidationError(where === '' ? k : `${where}.${k}`, `unknown field "${k}"`)
  }
}

function isObject (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

const INDICATOR_KEYS = new Set(['kind', 'type', 'value', 'confidence', 'tags', 'description', 'validFrom', 'validUntil', 'firstSeen', 'lastSeen'])
const REVOKE_KEYS = new Set(['kind', 'id', 'reason'])
const SIGHTING_KEYS = new Set(['kind', 'v', 'type', 'value', 'count', 'firstSeen', 'lastSeen', 'note', 'action'])
const RELABEL_KEYS = new Set(['kind', 'id', 'tlp'])
const CIRCLE_KEYS = new Set(['kind', 'name'])
const MEMBER_KEYS = new Set(['kind', 'op', 'key', 'role', 'org', 'upTo'])
const KEY_KEYS = new Set(['kind', 'epoch', 'sealed'])
const ADDRESS_KEYS = new Set(['kind', 'addrs'])
const LEAVE_KEYS = new Set(['kind', 'upTo'])
const RENAME_KEYS = new Set(['kind', 'key', 'org'])
const ADVISORY_KEYS = new Set(['kind', 'nonce', 'title', 'text', 'severity', 'cves', 'indicators'])
const ACK_KEYS = new Set(['kind', 'advisory'])
const REPORT_KEYS = new Set(['kind', 'nonce', 'type', 'title', 'body', 'attack', 'actors', 'malware', 'campaigns', 'sectors', 'references', 'indicators', 'published'])
const REPORT_REVOKE_KEYS = new Set(['kind', 'nonce', 'revoked', 'reason'])
const HEX64_RE = /^[0-9a-f]{64}$/
const SEALED_RE = /^[A-Za-z0-9+/]{40,200}={0,2}$/
export const CONTROL_KINDS: ReadonlySet<string> = new Set(['circle', 'member', 'key', 'address', 'leave', 'rename'])
export const CIRCLE_LIMITS = { NAME_MAX: 200, ORG_MAX: 200, MEMBERS_MAX: 1000, ADDRS_MAX: 16, ADDR_MAX: 256 } as const

export function isControlItem (item: Item): item is ControlItem {
  return CONTROL_KINDS.has(item.kind)
}

/**
 * Items known to be canonical because a validating builder (parseIndicatorInput,
 * validateItem) made them; the ingest path re-validates any other item before signing.
 */
const CANONICAL_ITEMS = new WeakSet<object>()

export function markCanonical<T extends Item> (item: T): T {
  CANONICAL_ITEMS.add(item)
  return item
}

/** check items about to be signed: what this node signs must be what every peer accepts */
export function assertCanonicalItems (items: Item[]): void {
  for (let i = 0; i < items.length; i++) {
    if (CANONICAL_ITEMS.has(items[i])) continue
    try { validateItem(items[i]) } catch (err) { throw withFieldPrefix(err, `items[${i}]`) }
  }
}

/** assemble an IndicatorItem with the optional fields only when present (canonical shape) */
export function makeIndicatorItem (f: {
  type: IndicatorType, value: string, confidence: number, tags: string[], description?: string | undefined,
  validFrom?: string | undefined, validUntil?: string | undefined, firstSeen?: string | undefined, lastSeen?: string | undefined
}): IndicatorItem {
  const item: IndicatorItem = { kind: 'indicator', type: f.type, value: f.value, confidence: f.confidence, tags: f.tags }
  if (f.description !== undefined) item.description = f.description
  if (f.validFrom !== undefined) item.validFrom = f.validFrom
  if (f.validUntil !== undefined) item.validUntil = f.validUntil
  if (f.firstSeen !== undefined) item.firstSeen = f.firstSeen
  if (f.lastSeen !== undefined) item.lastSeen = f.lastSeen
  if (item.validFrom !== undefined && item.validUntil !== undefined && item.validUntil <= item.validFrom) {
    throw new ValidationError('validUntil', 'validUntil must be after validFrom')
  }
  if (item.firstSeen !== undefined && item.lastSeen !== undefined && item.lastSeen < item.firstSeen) {
    throw new ValidationError('lastSeen', 'lastSeen must not be before firstSeen')
  }
  return item
}

/**
 * Check that a received item is well-formed and canonical: what `validateItem` accepts is
 * exactly what our own builders produce, so two nodes derive the same state from it.
 * Field names in errors are relative to the item.
 */
/** a received value must already be in the form normalizeValue gives */
function canonicalValue (raw: Record<string, unknown>, type: IndicatorType): string {
  if (typeof raw.value !== 'string') throw new ValidationError('value', 'value must be a string')
  if (normalizeValue(type, raw.value) !== raw.value) throw new ValidationError('value', 'value is not in normalized form')
  return raw.value
}

/** a received optional text must already be trimmed and non-empty */
function canonicalText (raw: Record<string, unknown>, field: string, max: number, rule: TextRule): string | undefined {
  if (raw[field] === undefined) return undefined
  const t = text(raw[field], field, max, rule)
  if (t === undefined || t !== raw[field]) throw new ValidationError(field, `${field} is not trimmed`)
  return t
}

/** a received timestamp must be in Date#toISOString form */
function canonicalTime (raw: Record<string, unknown>, field: string): string {
  const v = raw[field]
  if (typeof v !== 'string' || !ISO_RE.test(v)) throw new ValidationError(field, `${field} must be an ISO 8601 UTC timestamp`)
  return v
}

export function validateItem (raw: unknown, opts: ItemCheckOptions = {}): Item {
  if (!isObject(raw)) throw new ValidationError('', 'an item must be an object')
  const nameRule: TextRule = opts.stored === true ? 'stored' : 'name'
  const textRule: TextRule = opts.stored === true ? 'stored' : 'text'
  switch (raw.kind) {
    case 'indicator': {
      checkKeys(raw, INDICATOR_KEYS, '')
      const type = typeOf(raw.type, 'type')
      const value = canonicalValue(raw, type)
      const tags = normalizeTags(raw.tags, 'tags', opts)
      if (!Array.isArray(raw.tags) || tags.length !== raw.tags.length || tags.some((t, i) => t !== (raw.tags as unknown[])[i])) {
        throw new ValidationError('tags', 'tags are not in normalized form (trimmed, unique, sorted)')
      }
      const times: Record<string, string | undefined> = {}
      for (const k of ['validFrom', 'validUntil', 'firstSeen', 'lastSeen'] as const) {
        if (raw[k] !== undefined) times[k] = canonicalTime(raw, k)
      }
      const description = canonicalText(raw, 'description', LIMITS.DESCRIPTION_MAX, textRule)
      return markCanonical(makeIndicatorItem({ type, value, confidence: confidenceOf(raw.confidence, 'confidence'), tags, description, ...times }))
    }
    case 'revoke': {
      checkKeys(raw, REVOKE_KEYS, '')
      if (!isIndicatorId(raw.id)) throw new ValidationError('id', 'id must be 32 lower-case hex characters')
      const item: RevokeItem = { kind: 'revoke', id: raw.id }
      const reason = canonicalText(raw, 'reason', LIMITS.REASON_MAX, textRule)
      if (reason !== undefined) item.reason = reason
      return item
    }
    case 'sighting': {
      checkKeys(raw, SIGHTING_KEYS, '')
      const type = typeOf(raw.type, 'type')
      const value = canonicalValue(raw, type)
      if (typeof raw.count !== 'number' || !Number.isInteger(raw.count) || raw.count < 1 || raw.count > LIMITS.SIGHTING_COUNT_MAX) {
        throw new ValidationError('count', `count must be an integer from 1 to ${LIMITS.SIGHTING_COUNT_MAX}`)
      }
      const firstSeen = canonicalTime(raw, 'firstSeen')
      const lastSeen = canonicalTime(raw, 'lastSeen')
      if (lastSeen < firstSeen) throw new ValidationError('lastSeen', 'lastSeen must not be before firstSeen')
      if (raw.v !== undefined || raw.action !== undefined) {
        if (raw.v !== SIGHTING_ACTION_VERSION) throw new ValidationError('v', `a sighting with an action is record version ${SIGHTING_ACTION_VERSION}`)
        if (!isSightingAction(raw.action) || raw.action === 'seen') throw new ValidationError('action', `action must be one of ${SIGHTING_ACTIONS.filter(a => a !== 'seen').join(', ')} (seen is a version 1 sighting without one)`)
      }
      const note = canonicalText(raw, 'note', LIMITS.REASON_MAX, textRule)
      return makeSightingItem({ type, value, count: raw.count, firstSeen, lastSeen, ...(note !== undefined ? { note } : {}), ...(isSightingAction(raw.action) ? { action: raw.action } : {}) })
    }
    case 'relabel': {
      checkKeys(raw, RELABEL_KEYS, '')
      if (!isIndicatorId(raw.id)) throw new ValidationError('id', 'id must be 32 lower-case hex characters')
      if (!isTlp(raw.tlp)) throw new ValidationError('tlp', 'tlp must be a TLP 2.0 label')
      return { kind: 'relabel', id: raw.id, tlp: raw.tlp }
    }
    case 'circle': {
      checkKeys(raw, CIRCLE_KEYS, '')
      const name = canonicalText(raw, 'name', CIRCLE_LIMITS.NAME_MAX, nameRule)
      if (name === undefined) throw new ValidationError('name', 'a circle needs a name')
      return { kind: 'circle', name }
    }
    case 'member': {
      checkKeys(raw, MEMBER_KEYS, '')
      if (raw.op !== 'add' && raw.op !== 'remove' && raw.op !== 'role') throw new ValidationError('op', 'op must be add, remove or role')
      if (typeof raw.key !== 'string' || !HEX64_RE.test(raw.key)) throw new ValidationError('key', 'key must be a public key: 64 lower-case hex characters')
      const item: MemberItem = { kind: 'member', op: raw.op, key: raw.key }
      if (raw.op !== 'remove') {
        if (raw.role !== 'admin' && raw.role !== 'member') throw new ValidationError('role', 'role must be admin or member')
        item.role = raw.role
      } else if (raw.role !== undefined) throw new ValidationError('role', 'a remove has no role')
      const org = canonicalText(raw, 'org', CIRCLE_LIMITS.ORG_MAX, nameRule)
      if (org !== undefined) {
        if (raw.op !== 'add') throw new ValidationError('org', 'only an add names the org')
        item.org = org
      }
      if (raw.upTo !== undefined) {
        if (raw.op !== 'remove') throw new ValidationError('upTo', 'only a remove has upTo')
        if (typeof raw.upTo !== 'number' || !Number.isSafeInteger(raw.upTo) || raw.upTo < 0) throw new ValidationError('upTo', 'upTo must be a seq (integer ≥ 0)')
        item.upTo = raw.upTo
      }
      return item
    }
    case 'key': {
      checkKeys(raw, KEY_KEYS, '')
      if (typeof raw.epoch !== 'number' || !Number.isSafeInteger(raw.epoch) || raw.epoch < 1) throw new ValidationError('epoch', 'epoch must be an integer ≥ 1')
      if (!isObject(raw.sealed)) throw new ValidationError('sealed', 'sealed must be an object of public key → sealed key')
      const sealed: Record<string, string> = {}
      const keys = Object.keys(raw.sealed)
      if (keys.length === 0 || keys.length > CIRCLE_LIMITS.MEMBERS_MAX) throw new ValidationError('sealed', `sealed holds 1 to ${CIRCLE_LIMITS.MEMBERS_MAX} members`)
      for (const k of keys.sort()) {
        const v = (raw.sealed as Record<string, unknown>)[k]
        if (!HEX64_RE.test(k)) throw new ValidationError('sealed', 'sealed is keyed by public keys (64 lower-case hex characters)')
        if (typeof v !== 'string' || !SEALED_RE.test(v)) throw new ValidationError(`sealed.${k.slice(0, 8)}`, 'a sealed key is base64 (nonce and box)')
        sealed[k] = v
      }
      return { kind: 'key', epoch: raw.epoch, sealed }
    }
    case 'address': {
      checkKeys(raw, ADDRESS_KEYS, '')
      if (!Array.isArray(raw.addrs) || raw.addrs.length > CIRCLE_LIMITS.ADDRS_MAX) throw new ValidationError('addrs', `addrs must be an array of at most ${CIRCLE_LIMITS.ADDRS_MAX} multiaddrs`)
      const addrs = raw.addrs.map((a, i) => {
        if (typeof a !== 'string' || !a.startsWith('/') || a.length > CIRCLE_LIMITS.ADDR_MAX || CONTROL_RE.test(a) || !a.isWellFormed()) throw new ValidationError(`addrs[${i}]`, 'an address is a multiaddr string')
        return a
      })
      return { kind: 'address', addrs }
    }
    case 'leave': {
      checkKeys(raw, LEAVE_KEYS, '')
      if (typeof raw.upTo !== 'number' || !Number.isSafeInteger(raw.upTo) || raw.upTo < 0) throw new ValidationError('upTo', 'upTo must be a seq (integer ≥ 0)')
      return { kind: 'leave', upTo: raw.upTo }
    }
    case 'rename': {
      checkKeys(raw, RENAME_KEYS, '')
      if (typeof raw.key !== 'string' || !HEX64_RE.test(raw.key)) throw new ValidationError('key', 'key must be a public key: 64 lower-case hex characters')
      // the same rule as the org an add names (hostile names: no control, bidirectional or invisible character)
      const org = canonicalText(raw, 'org', CIRCLE_LIMITS.ORG_MAX, nameRule)
      if (org === undefined) throw new ValidationError('org', 'a rename names the org')
      return { kind: 'rename', key: raw.key, org }
    }
    case 'advisory': {
      checkKeys(raw, ADVISORY_KEYS, '')
      if (!isAdvisoryNonce(raw.nonce)) throw new ValidationError('nonce', 'nonce must be 32 lower-case hex characters')
      const title = canonicalText(raw, 'title', ADVISORY_LIMITS.TITLE_MAX, nameRule)
      if (title === undefined) throw new ValidationError('title', 'an advisory has a title')
      const body = canonicalText(raw, 'text', ADVISORY_LIMITS.TEXT_MAX, textRule)
      if (body === undefined) throw new ValidationError('text', 'an advisory has a text')
      const item: AdvisoryItem = { kind: 'advisory', nonce: raw.nonce, title, text: body }
      if (raw.severity !== undefined) {
        if (!isAdvisorySeverity(raw.severity)) throw new ValidationError('severity', `severity must be one of ${ADVISORY_SEVERITIES.join(', ')}`)
        item.severity = raw.severity
      }
      if (raw.cves !== undefined) {
        const cves = normalizeCves(raw.cves, 'cves')
        if (cves.length === 0 || !sameList(cves, raw.cves)) throw new ValidationError('cves', 'cves are not in canonical form (upper-case, unique, sorted, not empty)')
        item.cves = cves
      }
      if (raw.indicators !== undefined) {
        const ids = normalizeIds(raw.indicators, 'indicators', ADVISORY_LIMITS.INDICATORS_MAX)
        if (ids.length === 0 || !sameList(ids, raw.indicators)) throw new ValidationError('indicators', 'indicators are not in canonical form (unique, sorted, not empty)')
        item.indicators = ids
      }
      return item
    }
    case 'report': {
      if (!isAdvisoryNonce(raw.nonce)) throw new ValidationError('nonce', 'nonce must be 32 lower-case hex characters')
      if (raw.revoked !== undefined) {
        checkKeys(raw, REPORT_REVOKE_KEYS, '')
        if (raw.revoked !== true) throw new ValidationError('revoked', 'revoked is true or absent')
        const reason = canonicalText(raw, 'reason', REPORT_LIMITS.REASON_MAX, textRule)
        return { kind: 'report', nonce: raw.nonce, revoked: true, ...(reason !== undefined ? { reason } : {}) }
      }
      checkKeys(raw, REPORT_KEYS, '')
      if (raw.published !== undefined) canonicalTime(raw, 'published')
      const item = makeReportItem(raw.nonce, raw, opts)
      // what every node derives must be what its author signed: the record is in canonical form
      if (canonicalJson(item) !== canonicalJson(raw)) throw new ValidationError('', 'a report is not in canonical form (trimmed text; lists sorted, unique, not empty)')
      return item
    }
    case 'ack': {
      checkKeys(raw, ACK_KEYS, '')
      if (!isIndicatorId(raw.advisory)) throw new ValidationError('advisory', 'advisory must be an advisory id: 32 lower-case hex characters')
      return { kind: 'ack', advisory: raw.advisory }
    }
    default:
      throw new ValidationError('kind', `unknown record kind ${quoteInput(raw.kind)}; expected indicator, revoke, sighting, relabel, advisory, ack, report, circle, member, key, address, leave or rename`)
  }
}

/** the record kinds this code reads (DESIGN §3 Versions: others are kept for sync, not read) */
export const KNOWN_KINDS: ReadonlySet<string> = new Set(['indicator', 'revoke', 'sighting', 'relabel', 'advisory', 'ack', 'report', ...CONTROL_KINDS])
/** the version of every record kind this code reads: a record without `v` is version 1 */
export const RECORD_VERSION = 1
/** kinds whose records this code reads at a later version than RECORD_VERSION */
const KIND_VERSION: Readonly<Record<string, number>> = { sighting: SIGHTING_ACTION_VERSION }
/**
 * What this code reads, as one string (its record kinds and their versions): a store that
 * recorded another re-reads the entries it kept unread (store/ingest/reread.ts).
 */
export const READ_SIGNATURE = JSON.stringify({ kinds: [...KNOWN_KINDS].sort(), versions: KIND_VERSION })
/** a record kind a later version may add: lower-case, short */
const KIND_RE = /^[a-z][a-z0-9-]{0,31}$/
/** a later version number (entries and records): an integer above ours, bounded */
export function isLaterVersion (v: unknown, ours: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > ours && v <= 1_000_000
}

/**
 * Why a record is one this code does not know — a kind of a later version, or a known kind
 * at a later version (`v` above RECORD_VERSION) — or undefined when it should be read (and
 * validated) as usual. Such a record is kept as signed, never read.
 */
export function unknownRecord (raw: unknown): string | undefined {
  if (!isObject(raw) || typeof raw.kind !== 'string') return undefined
  if (!KNOWN_KINDS.has(raw.kind)) return KIND_RE.test(raw.kind) ? `record kind "${raw.kind}"` : undefined
  return isLaterVersion(raw.v, KIND_VERSION[raw.kind] ?? RECORD_VERSION) ? `"${raw.kind}" record version ${raw.v}` : undefined
}

export function validateItems (raw: unknown, opts: ItemCheckOptions = {}): Item[] {
  if (!Array.isArray(raw)) throw new ValidationError('items', 'items must be an array')
  return raw.map((it, i) => {
    try { return validateItem(it, opts) } catch (err) { throw withFieldPrefix(err, `items[${i}]`) }
  })
}

export { confidenceOf, typeOf, checkKeys, isObject }
