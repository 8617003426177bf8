/**
 * Blocklists for firewalls, resolvers and IDSs, rendered as text: one value per line (plain),
 * a DNS response-policy zone (rpz) or Suricata/Snort rules (suricata). Each value once,
 * whatever the number of origins. CIDR-aware: an IPv4 or IPv6 list also carries the networks
 * of that family, and leaves out addresses those networks already cover. Which indicators go
 * in (live ones, the filters, TLP) is the caller's choice (src/operations/export.ts): this
 * module reads what its source yields and reads no store.
 */
import { PhalanxError } from '../errors.js'
import { containingCidrs, type IndicatorType, type StoredIndicator } from '../records/index.js'

import type { BlocklistFormat } from './formats.js'
export { BLOCKLIST_FORMATS, type BlocklistFormat } from './formats.js'

/** the types each format can express */
const FORMAT_TYPES: Record<BlocklistFormat, readonly IndicatorType[]> = {
  plain: ['ipv4', 'ipv6', 'cidr', 'domain', 'url', 'email', 'md5', 'sha1', 'sha256', 'sha512', 'cve', 'asn', 'ja3'],
  rpz: ['domain'],
  suricata: ['ipv4', 'ipv6', 'cidr', 'domain']
}

/**
 * Suricata sids when none is given: each list type has its own range of SID_RANGE numbers, so
 * the ipv4, ipv6, cidr and domain rule files can be loaded together without a sid twice.
 */
export const DEFAULT_SID_BASES: Readonly<Record<'ipv4' | 'ipv6' | 'cidr' | 'domain', number>> = {
  ipv4: 10_000_000,
  ipv6: 20_000_000,
  cidr: 30_000_000,
  domain: 40_000_000
}
export const SID_RANGE = 10_000_000

/** the first sid of a list of `type` when none is given */
export function defaultSidBase (type: IndicatorType): number {
  return DEFAULT_SID_BASES[type as keyof typeof DEFAULT_SID_BASES] ?? DEFAULT_SID_BASES.ipv4
}

export interface BlocklistRenderOptions {
  type: IndicatorType
  format: BlocklistFormat
  /** first Suricata sid (rules are numbered from it) */
  sidBase?: number
  /** the time the list names as generated (default: now) */
  now?: Date
}

/** the indicators of one type that go in the list, in the order they should appear */
export type BlocklistSource = (type: IndicatorType) => AsyncIterable<StoredIndicator>

export function checkBlocklistType (format: BlocklistFormat, type: IndicatorType): void {
  if (!FORMAT_TYPES[format].includes(type)) {
    throw new PhalanxError('PX_ERR_VALIDATION', `format ${format} carries ${FORMAT_TYPES[format].join(', ')}; not ${type}`, { field: 'type' })
  }
}

/** the values of the list, deduplicated (each value once, whatever the number of origins) */
async function * values (type: IndicatorType, source: BlocklistSource): AsyncGenerator<string> {
  const seen = new Set<string>()
  const family = type === 'ipv4' ? 4 : type === 'ipv6' ? 6 : undefined
  if (family === undefined) {
    for await (const ind of source(type)) {
      if (seen.has(ind.value)) continue
      seen.add(ind.value)
      yield ind.value
    }
    return
  }
  // networks of the family first; then the addresses no listed network covers
  const lengths = new Set<number>()
  for await (const ind of source('cidr')) {
    if ((ind.value.includes(':') ? 6 : 4) !== family || seen.has(ind.value)) continue
    seen.add(ind.value)
    lengths.add(Number(ind.value.slice(ind.value.indexOf('/') + 1)))
    yield ind.value
  }
  for await (const ind of source(type)) {
    if (seen.has(ind.value)) continue
    if (lengths.size > 0 && containingCidrs(ind.value, family, lengths).some(c => seen.has(c))) continue
    seen.add(ind.value)
    yield ind.value
  }
}

function rpzName (domain: string): string {
  return domain.endsWith('.') ? domain : `${domain}.`
}

/** the header of a list: a comment line (plain, suricata), or the zone's TTL, SOA and NS (rpz) */
export function blocklistHeader (o: BlocklistRenderOptions): string {
  const now = o.now ?? new Date()
  const generated = now.toISOString()
  return o.format === 'rpz'
    ? `; Phalanx blocklist (RPZ), ${generated}\n$TTL 300\n@ SOA localhost. root.localhost. ${Math.floor(now.getTime() / 1000)} 3600 600 86400 300\n  NS localhost.\n`
    : `# Phalanx blocklist: ${o.type}, ${o.format}, ${generated}\n`
}

/** the line(s) of one value; `sid` is the Suricata rule number */
export function blocklistEntry (format: BlocklistFormat, type: IndicatorType, value: string, sid: number): string {
  switch (format) {
    case 'plain': return `${value}\n`
    case 'rpz': return `${rpzName(value)} CNAME .\n*.${rpzName(value)} CNAME .\n`
    case 'suricata':
      return type === 'domain'
        ? `alert dns any any -> any any (msg:"Phalanx blocklist domain ${value}"; dns.query; content:"${value}"; nocase; endswith; sid:${sid}; rev:1;)\n`
        : `alert ip [${value}] any -> $HOME_NET any (msg:"Phalanx blocklist ${value}"; sid:${sid}; rev:1;)\n`
  }
}

/** the list as text (each line ends with \n), in chunks of whole lines */
export async function * blocklistLines (o: BlocklistRenderOptions, source: BlocklistSource): AsyncGenerator<string> {
  checkBlocklistType(o.format, o.type)
  yield blocklistHeader(o)
  const base = o.sidBase ?? defaultSidBase(o.type)
  let sid = base
  // lines are gathered into chunks of ~64 KiB: a write per line costs more than the line
  let chunk = ''
  for await (const value of values(o.type, source)) {
    if (o.format === 'suricata' && o.sidBase === undefined && sid >= base + SID_RANGE) {
      // the next type's range starts here: a sid twice would make Suricata drop rules
      throw new PhalanxError('PX_ERR_VALIDATION', `more than ${SID_RANGE} ${o.type} rules: give sid_base to number them from a range of your own`, { field: 'sid_base' })
    }
    chunk += blocklistEntry(o.format, o.type, value, sid)
    if (o.format === 'suricata') sid++
    if (chunk.length >= CHUNK_CHARS) { yield chunk; chunk = '' }
  }
  if (chunk !== '') yield chunk
}

/** characters gathered before a chunk of the list is sent */
const CHUNK_CHARS = 64 * 1024
