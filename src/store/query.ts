/**
 * Reads over the derived indicators: lookups of one value and of what is related to it through
 * a host (synchronous, microseconds) and filtered queries paged along the change feed. Pages
 * follow the cursor order in which the node stored each version, so a client paging while new
 * records arrive sees every record that existed when it started exactly once, and the new ones
 * after them.
 */
import type { IndicatorType, StoredIndicator } from '../records/index.js'
import { containingCidrs, ipFamily, isInLog } from '../records/index.js'
import type { Tlp } from '../tlp/index.js'
import { hostOf, isIpHost, parentDomains } from './hosts.js'
import { HIGH, cursorFromTime, originKey, postingPrefix } from './keys.js'
import type { LevelStore, SightingSummary } from './level-store.js'
import { scanPostings, type PostingBucket, type PostingRange } from './postings.js'

export interface VisibilityOptions {
  /** include indicators their origin revoked */
  includeRevoked?: boolean
  /** include indicators past their validUntil */
  includeExpired?: boolean
}

export interface QueryFilter extends VisibilityOptions {
  type?: IndicatorType
  /** normalized value (requires type) */
  value?: string
  tag?: string
  tlp?: Tlp[]
  origin?: string
  circle?: string
  /** ISO time: versions stored at or after */
  since?: string
  /** ISO time: versions stored at or before */
  until?: string
  /** page size, 1..1000 */
  limit: number
  /** opaque cursor from a previous page: continue after it */
  cursor?: string
}

export interface QueryPage {
  indicators: StoredIndicator[]
  /** pass as `cursor` for the next page; null when the feed is exhausted */
  nextCursor: string | null
}

/** stop a page after scanning this many index keys that did not match (a slow filter) */
const MAX_SCAN_PER_PAGE = 50_000

export function isVisible (ind: StoredIndicator, f: VisibilityOptions, now?: string): boolean {
  if (ind.revoked !== undefined && f.includeRevoked !== true) return false
  if (ind.validUntil !== undefined && f.includeExpired !== true && ind.validUntil < (now ?? new Date().toISOString())) return false
  return true
}

function matches (ind: StoredIndicator, f: QueryFilter, now: string): boolean {
  if (!isVisible(ind, f, now)) return false
  if (f.type !== undefined && ind.type !== f.type) return false
  if (f.value !== undefined && ind.value !== f.value) return false
  if (f.origin !== undefined && ind.origin !== f.origin) return false
  if (f.circle !== undefined && !isInLog(ind, f.circle)) return false
  if (f.tlp !== undefined && f.tlp.length > 0 && !f.tlp.includes(ind.tlp)) return false
  if (f.tag !== undefined) {
    const t = f.tag.toLowerCase()
    if (!ind.tags.some(x => x.toLowerCase() === t)) return false
  }
  return true
}

function untilCursor (until: string): string {
  // inclusive: everything stored up to the end of that millisecond
  return cursorFromTime(Date.parse(until) + 1)
}

export async function queryIndicators (store: LevelStore, f: QueryFilter): Promise<QueryPage> {
  store.assertOpen()
  const now = new Date().toISOString()
  if (f.value !== undefined && f.type !== undefined) {
    // a value has few versions (one per origin): read them all, page in cursor order
    const lower = f.cursor ?? ''
    const lo = f.since !== undefined ? cursorFromTime(f.since) : ''
    const hi = f.until !== undefined ? untilCursor(f.until) : HIGH
    const found = store.getIndicators(store.idsByValue(f.type, f.value))
      .filter((x): x is StoredIndicator => x !== undefined && x.cursor > lower && x.cursor >= lo && x.cursor < hi && matches(x, f, now))
      .sort((a, b) => a.cursor < b.cursor ? -1 : 1)
    const page = found.slice(0, f.limit)
    return { indicators: page, nextCursor: found.length > f.limit ? page[page.length - 1].cursor : null }
  }

  let bucket: PostingBucket = 'changes'
  let prefix = ''
  if (f.tag !== undefined) { bucket = 'byTag'; prefix = postingPrefix(f.tag.toLowerCase()) } else if (f.origin !== undefined) { bucket = 'byOrigin'; prefix = postingPrefix(originKey(f.origin)) } else if (f.type !== undefined) { bucket = 'byType'; prefix = postingPrefix(f.type) }

  const range: PostingRange = {}
  if (f.cursor !== undefined) range.after = f.cursor
  if (f.since !== undefined) range.from = cursorFromTime(f.since)
  if (f.until !== undefined) range.before = untilCursor(f.until)

  const out: StoredIndicator[] = []
  let lastCursor: string | undefined
  let scanned = 0
  for await (const [cursor, id] of scanPostings(store, bucket, prefix, range)) {
    lastCursor = cursor
    scanned++
    // a pair of an older version is stale: the indicator has moved to a later cursor
    const ind = store.scanIndicator(id)
    if (ind !== undefined && ind.cursor === cursor && matches(ind, f, now)) {
      out.push(ind)
      if (out.length >= f.limit) return { indicators: out, nextCursor: cursor }
    }
    if (scanned >= MAX_SCAN_PER_PAGE) return { indicators: out, nextCursor: lastCursor }
  }
  return { indicators: out, nextCursor: null }
}

/**
 * How a record matched a lookup: the value itself (`exact`), a stored CIDR containing the IP
 * (`cidr`), or a record related through a host (docs/API.md, "GET /v1/lookup"):
 * - a domain or IP lookup: a URL on that host (`url-host`), an email at that domain
 *   (`email-domain`); a domain lookup also a URL or email on a host up to HOST_DEPTH labels
 *   below it (`subdomain-url`, `subdomain-email`), a stored domain below it (`subdomain`) and a
 *   stored domain above it (`parent-domain`);
 * - a url or email lookup: the stored domain or IP its host is (`host-domain`, `host-ip`), a
 *   stored CIDR containing its IP host (`host-cidr`), a stored domain above its host
 *   (`parent-domain`).
 */
export const MATCH_KINDS = [
  'exact', 'cidr', 'url-host', 'email-domain', 'subdomain-url', 'subdomain-email', 'subdomain', 'parent-domain',
  'host-domain', 'host-ip', 'host-cidr'
] as const

export type MatchKind = typeof MATCH_KINDS[number]

export interface LookupMatch extends StoredIndicator {
  /** how the record matched: the value itself, an IP in a stored CIDR, or a related record */
  match: MatchKind
  /** a `subdomain…` match: how many labels below the looked-up domain its host is */
  below?: number
}

export interface LookupResult {
  type: IndicatorType
  value: string
  /** whether anything matched: the value, a containing CIDR or a related record (see `match`) */
  found: boolean
  /** exact and CIDR matches first, then related ones: on the host and below it, then parent domains (each nearest first) */
  matches: LookupMatch[]
  sightings: SightingSummary | null
  /**
   * Records of the value left out because they are revoked or expired (what `include_revoked`
   * / `include_expired` would show), so "not found" can say why; absent when none
   */
  hidden?: HiddenMatch[]
  /**
   * true when related records were left out: more than RELATED_MAX, or more on one host than
   * its index record lists (HOST_LIST_MAX); absent otherwise
   */
  truncated?: true
}

/** a record a lookup left out: revoked (when, why) or expired (since when) */
export interface HiddenMatch {
  id: string
  origin: string
  /** the record's type and value when it is a related record (its match is not `exact`) */
  type?: IndicatorType
  value?: string
  match: MatchKind
  why: 'revoked' | 'expired'
  /** when it was revoked, or its validUntil */
  at: string
  reason?: string
}

/** related records (matches and hidden ones) a lookup returns at most: a Phalanx choice that bounds the answer */
export const RELATED_MAX = 100

function hiddenOf (ind: StoredIndicator, match: MatchKind): HiddenMatch {
  const what = match === 'exact' || match === 'cidr' ? {} : { type: ind.type, value: ind.value }
  return ind.revoked !== undefined
    ? { id: ind.id, origin: ind.origin, ...what, match, why: 'revoked', at: ind.revoked.at, ...(ind.revoked.reason !== undefined ? { reason: ind.revoked.reason } : {}) }
    : { id: ind.id, origin: ind.origin, ...what, match, why: 'expired', at: ind.validUntil ?? '' }
}

/** the kind of a value filed under the looked-up host */
function onHostKind (type: IndicatorType, below: number): MatchKind {
  if (type === 'domain') return 'subdomain'
  if (below === 0) return type === 'url' ? 'url-host' : 'email-domain'
  return type === 'url' ? 'subdomain-url' : 'subdomain-email'
}

/** one lookup's answer as it is collected: visible records to `matches`, others to `hidden` */
class Collected {
  readonly matches: LookupMatch[] = []
  readonly hidden: HiddenMatch[] = []
  #related = 0
  truncated = false
  /** the time visibility is judged at, read at the first record found (a miss never needs it: ~0.8 µs) */
  #now: string | undefined

  constructor (readonly store: LevelStore, readonly opts: VisibilityOptions) {}

  /** the records of (type, value), matched as `match`; false once RELATED_MAX related ones are in */
  add (type: string, value: string, match: MatchKind, below?: number): boolean {
    return this.addIds(match === 'cidr' ? this.store.idsByValue(type, value) : this.store.relatedIds(type, value), match, below)
  }

  addIds (ids: string[], match: MatchKind, below?: number): boolean {
    const related = match !== 'exact' && match !== 'cidr'
    for (const ind of this.store.getIndicators(ids)) {
      if (ind === undefined) continue
      if (related && this.#related++ >= RELATED_MAX) { this.truncated = true; return false }
      this.#now ??= new Date().toISOString()
      if (isVisible(ind, this.opts, this.#now)) this.matches.push(below === undefined ? { ...ind, match } : { ...ind, match, below })
      else this.hidden.push(hiddenOf(ind, match))
    }
    return true
  }
}

/** the stored domains above `domain` (nearest first), matched as `parent-domain` */
function addParents (c: Collected, domain: string): void {
  for (const parent of parentDomains(domain)) if (!c.add('domain', parent, 'parent-domain')) return
}

/** the values filed under `host` in the host index (hosts.ts), nearest first */
function addOnHost (c: Collected, host: string): void {
  const rec = c.store.hostRecord(host)
  if (rec === undefined) return
  if (rec.n > rec.v.length) c.truncated = true
  const list = rec.v.length > 1 ? rec.v.slice().sort((a, b) => a[2] - b[2]) : rec.v
  for (const [type, value, below] of list) {
    if (!c.add(type, value, onHostKind(type, below), type === 'domain' || below > 0 ? below : undefined)) return
  }
}

/** a url's or email's host: the stored domain or IP it is (and what contains the IP), the domains above it */
function addHostOf (c: Collected, type: IndicatorType, value: string): void {
  const host = hostOf(type, value)
  if (host === undefined || host === '') return
  if (isIpHost(host)) {
    const family = host.includes(':') ? 6 : 4
    c.add(family === 4 ? 'ipv4' : 'ipv6', host, 'host-ip')
    addCidrs(c, host, family, 'host-cidr')
    return
  }
  c.add('domain', host, 'host-domain')
  addParents(c, host)
}

/** the stored CIDRs that contain an IP */
function addCidrs (c: Collected, ip: string, family: 4 | 6, match: 'cidr' | 'host-cidr'): void {
  const lens = c.store.cidrLengths()[family === 4 ? 'v4' : 'v6']
  if (lens.length === 0) return
  for (const cidr of containingCidrs(ip, family, lens)) if (!c.add('cidr', cidr, match)) return
}

/**
 * Everything known about one normalized value: its records; for an IP the stored CIDRs that
 * contain it; and the records related through a host (MatchKind), all from stored indicators
 * (no DNS). Synchronous: a domain lookup reads one host-index key more, a url or email lookup
 * the value records of its host and parent domains (the value filter answers most of them).
 */
export function lookupValue (store: LevelStore, type: IndicatorType, value: string, opts: VisibilityOptions = {}): LookupResult {
  store.assertOpen()
  const c = new Collected(store, opts)
  const rec = store.valueRecord(type, value)
  c.addIds(rec?.ids ?? [], 'exact')
  const family = ipFamily(type)
  if (family !== undefined) {
    addCidrs(c, value, family, 'cidr')
    addOnHost(c, value)
  } else if (type === 'domain') {
    addOnHost(c, value)
    addParents(c, value)
  } else if (type === 'url' || type === 'email') {
    addHostOf(c, type, value)
  }
  return {
    type,
    value,
    found: c.matches.length > 0,
    matches: c.matches,
    sightings: rec?.sightings ?? null,
    ...(c.hidden.length > 0 ? { hidden: c.hidden } : {}),
    ...(c.truncated ? { truncated: true as const } : {})
  }
}
