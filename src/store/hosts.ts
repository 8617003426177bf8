/**
 * The host index (bucket `byHost`): which stored urls, emails and domains name a host, so that
 * a lookup of a domain (or an IP) finds the URLs on it, the emails at it and what is stored
 * below it, from stored values only (no DNS). One record per host or parent domain:
 *
 *   host → HostRecord { n, v: [[type, value, below], …] }
 *
 * A value is filed under the host it names (`below` 0: a URL's host, an email's domain) and
 * under each parent domain of that host up to HOST_DEPTH labels above it (`below` 1…4), never
 * under a single label (a TLD); a domain value only under its parents (the domain itself is
 * the exact match), an IP host only under itself. A record lists at most HOST_LIST_MAX values,
 * the nearest (smallest `below`) kept when it is full, and counts the others in `n` (past a
 * full and truncated record, in its `hostMore` count: HostMore), so a lookup reads one bounded
 * key (getSync, like the value index) however many URLs a domain has. A value is filed while
 * its value record lists an indicator (ingest/derive.ts) and taken out when the last one is
 * purged (ingest/purge.ts); a revoked one stays, as it stays in the value index (lookups show
 * it as hidden).
 */
import type { IndicatorType } from '../records/index.js'

/** how many labels below a domain a lookup of it reaches: a Phalanx choice (phishing hosts nest ~3–4 deep) */
export const HOST_DEPTH = 4
/** values a host record lists (the rest are counted): bounds the record a lookup reads to ~20 KB */
export const HOST_LIST_MAX = 256

/** a value filed under a host: its type, its normalized value, and how many labels below the host it is */
export type HostValue = [type: IndicatorType, value: string, below: number]

export interface HostRecord {
  /** values filed under this host, listed or not */
  n: number
  /** at most HOST_LIST_MAX of them, the nearest kept when full */
  v: HostValue[]
}

/**
 * The values filed under a host beyond what its full record counts (bucket `hostMore`). Once a
 * record lists HOST_LIST_MAX values and already counts more than it lists, a value that would
 * not be listed (no nearer than the farthest listed, `far`) is counted here: a write of a few
 * bytes instead of the record's (~10 KB at 256 URLs of one host, parsed and rewritten for
 * every new URL on a popular host). The record alone still says a lookup is truncated
 * (`n > v.length`); `n + more` is the count. Present only while its record is full and
 * truncated: a change to the record's list folds `more` back into `n`.
 */
export interface HostMore {
  /** values counted here, not in the record's `n` (≥ 1) */
  more: number
  /** the farthest `below` the record lists: a value this far or farther is not listed */
  far: number
}

/** the farthest `below` of a list (-1 when empty) */
export function farthestBelow (v: HostValue[]): number {
  let far = -1
  for (const x of v) if (x[2] > far) far = x[2]
  return far
}

/** whether a record is full and counts more than it lists (then `hostMore` may count the rest) */
export function isFullAndTruncated (rec: HostRecord): boolean {
  return rec.v.length >= HOST_LIST_MAX && rec.n > rec.v.length
}

/** types whose values name a host */
export function namesHost (type: string): boolean {
  return type === 'url' || type === 'email' || type === 'domain'
}

const IPV4_HOST_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/**
 * The host a normalized url or email names (a domain names itself): lower case as normalized,
 * without a trailing dot or IPv6 brackets; undefined for other types. A URL is read as
 * normalizeValue serializes it (WHATWG): `scheme://[userinfo@]host[:port]/…`, where userinfo
 * has its `@ / ? #` percent-encoded, so the authority ends at the first `/ ? #` and the host
 * starts after its last `@` (a string slice: a URL parse costs microseconds on every lookup).
 */
export function hostOf (type: string, value: string): string | undefined {
  let host: string
  if (type === 'domain') return value
  if (type === 'email') host = value.slice(value.lastIndexOf('@') + 1)
  else if (type === 'url') {
    const start = value.indexOf('://')
    if (start === -1) return undefined
    const end = AUTHORITY_END_RE.exec(value.slice(start + 3))
    const authority = value.slice(start + 3, end === null ? undefined : start + 3 + end.index)
    host = authority.slice(authority.lastIndexOf('@') + 1)
    if (host.startsWith('[')) return host.slice(1, host.indexOf(']'))
    const colon = host.indexOf(':')
    if (colon !== -1) host = host.slice(0, colon)
  } else return undefined
  return host.endsWith('.') ? host.slice(0, -1) : host
}

const AUTHORITY_END_RE = /[/?#]/

/** whether a host is an IP address (as a URL names it: dotted IPv4, or IPv6 without brackets) */
export function isIpHost (host: string): boolean {
  return host.includes(':') || IPV4_HOST_RE.test(host)
}

/**
 * The host-index keys a value is filed under, with how many labels below each key it is: its
 * host (not for a domain) and the parents of a domain host up to HOST_DEPTH, none of one label.
 */
export function hostKeysOf (type: string, value: string): Array<[key: string, below: number]> {
  if (!namesHost(type)) return []
  const host = hostOf(type, value)
  if (host === undefined || host === '') return []
  if (isIpHost(host)) return type === 'url' ? [[host, 0]] : []
  const out: Array<[string, number]> = []
  let at = 0
  for (let below = 0; below <= HOST_DEPTH; below++) {
    // the suffix from label `below` on must keep at least two labels
    if (host.indexOf('.', at) === -1) break
    if (below > 0 || type !== 'domain') out.push([host.slice(at), below])
    at = host.indexOf('.', at) + 1
  }
  return out
}

/** the parent domains of a domain (two labels at least), nearest first */
export function parentDomains (domain: string): string[] {
  const out: string[] = []
  let dot = domain.indexOf('.')
  while (dot !== -1 && domain.indexOf('.', dot + 1) !== -1) {
    out.push(domain.slice(dot + 1))
    dot = domain.indexOf('.', dot + 1)
  }
  return out
}

/** the record with (type, value) filed `below` labels down (a new object; `rec` is left as it is) */
export function withHostValue (rec: HostRecord | undefined, type: IndicatorType, value: string, below: number): HostRecord {
  if (rec === undefined) return { n: 1, v: [[type, value, below]] }
  if (rec.v.some(x => x[1] === value && x[0] === type)) return rec
  if (rec.v.length < HOST_LIST_MAX) return { n: rec.n + 1, v: [...rec.v, [type, value, below]] }
  // full: a nearer value takes the place of the farthest listed one (which is still counted)
  let far = 0
  for (let i = 1; i < rec.v.length; i++) if (rec.v[i][2] > rec.v[far][2]) far = i
  if (rec.v[far][2] <= below) return { n: rec.n + 1, v: rec.v }
  const v = rec.v.slice()
  v[far] = [type, value, below]
  return { n: rec.n + 1, v }
}

/** the record without (type, value); undefined when nothing is left under the host */
export function withoutHostValue (rec: HostRecord, type: string, value: string): HostRecord | undefined {
  if (rec.n <= 1) return undefined
  return { n: rec.n - 1, v: rec.v.filter(x => x[1] !== value || x[0] !== type) }
}
