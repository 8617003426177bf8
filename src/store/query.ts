/**
 * Reads over the derived indicators: lookups of one value (synchronous, microseconds) and
 * filtered queries paged along the change feed. Pages follow the cursor order in which the
 * node stored each version, so a client paging while new records arrive sees every record
 * that existed when it started exactly once, and the new ones after them.
 */
import type { IndicatorType, StoredIndicator } from '../records/index.js'
import { containingCidrs, isInLog } from '../records/index.js'
import type { Tlp } from '../tlp/index.js'
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

export interface LookupMatch extends StoredIndicator {
  /** how the value matched: the same value, or an IP inside a stored CIDR */
  match: 'exact' | 'cidr'
}

export interface LookupResult {
  type: IndicatorType
  value: string
  found: boolean
  matches: LookupMatch[]
  sightings: SightingSummary | null
  /**
   * Records of the value left out because they are revoked or expired (what `include_revoked`
   * / `include_expired` would show), so "not found" can say why; absent when none
   */
  hidden?: HiddenMatch[]
}

/** a record a lookup left out: revoked (when, why) or expired (since when) */
export interface HiddenMatch {
  id: string
  origin: string
  match: 'exact' | 'cidr'
  why: 'revoked' | 'expired'
  /** when it was revoked, or its validUntil */
  at: string
  reason?: string
}

function hiddenOf (ind: StoredIndicator, match: 'exact' | 'cidr'): HiddenMatch {
  return ind.revoked !== undefined
    ? { id: ind.id, origin: ind.origin, match, why: 'revoked', at: ind.revoked.at, ...(ind.revoked.reason !== undefined ? { reason: ind.revoked.reason } : {}) }
    : { id: ind.id, origin: ind.origin, match, why: 'expired', at: ind.validUntil ?? '' }
}

/** everything known about one normalized value; an IP also matches stored CIDRs */
export function lookupValue (store: LevelStore, type: IndicatorType, value: string, opts: VisibilityOptions = {}): LookupResult {
  store.assertOpen()
  const matchesOut: LookupMatch[] = []
  const hidden: HiddenMatch[] = []
  const now = new Date().toISOString()
  const rec = store.valueRecord(type, value)
  for (const ind of store.getIndicators(rec?.ids ?? [])) {
    if (ind === undefined) continue
    if (isVisible(ind, opts, now)) matchesOut.push({ ...ind, match: 'exact' })
    else hidden.push(hiddenOf(ind, 'exact'))
  }
  if (type === 'ipv4' || type === 'ipv6') {
    const lens = store.cidrLengths()[type === 'ipv4' ? 'v4' : 'v6']
    if (lens.length > 0) {
      for (const cidr of containingCidrs(value, type === 'ipv4' ? 4 : 6, lens)) {
        for (const ind of store.getIndicators(store.idsByValue('cidr', cidr))) {
          if (ind === undefined) continue
          if (isVisible(ind, opts, now)) matchesOut.push({ ...ind, match: 'cidr' })
          else hidden.push(hiddenOf(ind, 'cidr'))
        }
      }
    }
  }
  return { type, value, found: matchesOut.length > 0, matches: matchesOut, sightings: rec?.sightings ?? null, ...(hidden.length > 0 ? { hidden } : {}) }
}
