/**
 * Blocklists for firewalls, resolvers and IDSs, streamed from the store: one value per line
 * (plain), a DNS response-policy zone (rpz) or Suricata/Snort rules (suricata). Only live
 * indicators: not revoked, not expired; RED only when asked for (`includeRed`). CIDR-aware: an IPv4 or IPv6 list also carries the
 * stored networks of that family, and leaves out addresses those networks already cover.
 */
import { PhalanxError } from '../errors.js'
import { containingCidrs, type IndicatorType, type StoredIndicator } from '../records/index.js'
import { queryIndicators, type LevelStore, type QueryFilter } from '../store/index.js'

export const BLOCKLIST_FORMATS = ['plain', 'rpz', 'suricata'] as const
export type BlocklistFormat = typeof BLOCKLIST_FORMATS[number]

/** the types each format can express */
const FORMAT_TYPES: Record<BlocklistFormat, readonly IndicatorType[]> = {
  plain: ['ipv4', 'ipv6', 'cidr', 'domain', 'url', 'email', 'md5', 'sha1', 'sha256', 'sha512', 'cve', 'asn', 'ja3'],
  rpz: ['domain'],
  suricata: ['ipv4', 'ipv6', 'cidr', 'domain']
}

export interface BlocklistOptions {
  type: IndicatorType
  format: BlocklistFormat
  minConfidence?: number
  tag?: string
  circle?: string
  /** first Suricata sid (rules are numbered from it) */
  sidBase?: number
  /** RED indicators too (left out unless asked for: RED is never in a bulk export by default) */
  includeRed?: boolean
}

export function checkBlocklistType (format: BlocklistFormat, type: IndicatorType): void {
  if (!FORMAT_TYPES[format].includes(type)) {
    throw new PhalanxError('PX_ERR_VALIDATION', `format ${format} carries ${FORMAT_TYPES[format].join(', ')}; not ${type}`, { field: 'type' })
  }
}

/** every live indicator of `type` that passes the filters, in store order */
async function * live (store: LevelStore, type: IndicatorType, o: BlocklistOptions): AsyncGenerator<StoredIndicator> {
  let cursor: string | undefined
  do {
    const f: QueryFilter = { type, limit: 1000, ...(o.tag !== undefined ? { tag: o.tag } : {}), ...(o.circle !== undefined ? { circle: o.circle } : {}), ...(cursor !== undefined ? { cursor } : {}) }
    const page = await queryIndicators(store, f)
    for (const ind of page.indicators) if (ind.confidence >= (o.minConfidence ?? 0) && (ind.tlp !== 'RED' || o.includeRed === true)) yield ind
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
}

/** the values of the list, deduplicated (each value once, whatever the number of origins) */
async function * values (store: LevelStore, o: BlocklistOptions): AsyncGenerator<{ value: string, ind: StoredIndicator }> {
  const seen = new Set<string>()
  const family = o.type === 'ipv4' ? 4 : o.type === 'ipv6' ? 6 : undefined
  if (family === undefined) {
    for await (const ind of live(store, o.type, o)) {
      if (seen.has(ind.value)) continue
      seen.add(ind.value)
      yield { value: ind.value, ind }
    }
    return
  }
  // networks of the family first; then the addresses no exported network covers
  const lengths = new Set<number>()
  for await (const ind of live(store, 'cidr', o)) {
    if ((ind.value.includes(':') ? 6 : 4) !== family || seen.has(ind.value)) continue
    seen.add(ind.value)
    lengths.add(Number(ind.value.slice(ind.value.indexOf('/') + 1)))
    yield { value: ind.value, ind }
  }
  for await (const ind of live(store, o.type, o)) {
    if (seen.has(ind.value)) continue
    if (lengths.size > 0 && containingCidrs(ind.value, family, lengths).some(c => seen.has(c))) continue
    seen.add(ind.value)
    yield { value: ind.value, ind }
  }
}

function rpzName (domain: string): string {
  return domain.endsWith('.') ? domain : `${domain}.`
}

/** the list as text (each line ends with \n), streamed in chunks of whole lines */
export async function * blocklistLines (store: LevelStore, o: BlocklistOptions): AsyncGenerator<string> {
  checkBlocklistType(o.format, o.type)
  const generated = new Date().toISOString()
  if (o.format === 'rpz') {
    yield `; Phalanx blocklist (RPZ), ${generated}\n$TTL 300\n@ SOA localhost. root.localhost. ${Math.floor(Date.now() / 1000)} 3600 600 86400 300\n  NS localhost.\n`
  } else {
    yield `# Phalanx blocklist: ${o.type}, ${o.format}, ${generated}\n`
  }
  let sid = o.sidBase ?? 9_100_000
  // lines are gathered into chunks of ~64 KiB: a write per line costs more than the line
  let chunk = ''
  for await (const { value } of values(store, o)) {
    switch (o.format) {
      case 'plain': chunk += `${value}\n`; break
      case 'rpz': chunk += `${rpzName(value)} CNAME .\n*.${rpzName(value)} CNAME .\n`; break
      case 'suricata':
        chunk += o.type === 'domain'
          ? `alert dns any any -> any any (msg:"Phalanx blocklist domain ${value}"; dns.query; content:"${value}"; nocase; endswith; sid:${sid++}; rev:1;)\n`
          : `alert ip [${value}] any -> $HOME_NET any (msg:"Phalanx blocklist ${value}"; sid:${sid++}; rev:1;)\n`
        break
    }
    if (chunk.length >= CHUNK_CHARS) { yield chunk; chunk = '' }
  }
  if (chunk !== '') yield chunk
}

/** characters gathered before a chunk of the list is sent */
const CHUNK_CHARS = 64 * 1024
