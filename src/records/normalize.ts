/**
 * Indicator value normalization (DESIGN §1): one canonical string per observable, so that
 * the same IP, domain or hash published by two origins (or looked up later) compares equal.
 * Pure: no I/O. Every rejection is a ValidationError on field `value` with a human reason.
 * docs/INDICATORS.md lists the accepted forms and the normalized output per type.
 *
 * Over 500 lines on purpose: one short normalizer per indicator type and the refanging they
 * share; kept in one file so the forms stay consistent with each other and with that table.
 */
import { domainToASCII } from 'node:url'
import ipaddr from 'ipaddr.js'
import { ValidationError } from '../errors.js'
import type { IndicatorType } from './indicator-types.js'

/** Longest value we accept or store: a Phalanx limit (not from an RFC) that also bounds the work per value. */
export const MAX_VALUE_LENGTH = 2048

/** RFC 1035 §2.3.4: a label is at most 63 octets, a name at most 255 (253 as text without the root dot). */
const MAX_LABEL_LENGTH = 63
const MAX_DOMAIN_LENGTH = 253
/** RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
const MAX_LOCAL_PART_LENGTH = 64
/** RFC 6793: 4-byte AS numbers. */
const MAX_ASN = 4294967295

/** hex length of each digest type */
const HASH_LENGTHS = { md5: 32, sha1: 40, sha256: 64, sha512: 128, ja3: 32 } as const
const HASH_BY_LENGTH: ReadonlyMap<number, 'md5' | 'sha1' | 'sha256' | 'sha512'> =
  new Map([[32, 'md5'], [40, 'sha1'], [64, 'sha256'], [128, 'sha512']])

/** schemes a url indicator may have (after refang mapped hxxp and friends) */
const URL_SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ftps:', 'ws:', 'wss:'])

// ---- refang -------------------------------------------------------------------------------

/** cheap pre-check: does the string contain anything refang could change? */
const MAY_BE_DEFANGED_RE = /[[({\\]|^(?:hxxp|hxtp|fxp|meow)/i
/**
 * `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `{dot}` (also with the IDNA dots 。．｡), with any spaces
 * around them. A match starts only where a run of spaces starts (the lookbehind): otherwise a
 * long run of spaces is scanned from each of its positions (quadratic).
 */
const DOT_RE = /(?<!\s)\s*(?:\[(?:[.。．｡]|dot)\]|\((?:[.。．｡]|dot)\)|\{(?:[.。．｡]|dot)\})\s*/gi
/** `[@]`, `(@)`, `{@}`, `[at]`, `(at)`, `{at}`, with any spaces around them (linear, as DOT_RE) */
const AT_RE = /(?<!\s)\s*(?:\[(?:@|at)\]|\((?:@|at)\)|\{(?:@|at)\})\s*/gi
const COLON_SLASHES_RE = /\[:\/\/\]/g
const COLON_RE = /\[:\]/g
const SLASH_RE = /\[\/\]/g
const ESCAPED_DOT_RE = /\\\./g
const HTTP_SCHEME_RE = /^(?:hxxp|hxtp|meow)(s?)(?=:\/\/)/i
const FTP_SCHEME_RE = /^fxp(s?)(?=:\/\/)/i

const toHttp = (_: string, secure: string): string => secure === '' ? 'http' : 'https'
const toFtp = (_: string, secure: string): string => secure === '' ? 'ftp' : 'ftps'

function refangOnce (s: string): string {
  return s
    .replace(DOT_RE, '.')
    .replace(AT_RE, '@')
    .replace(COLON_SLASHES_RE, '://')
    .replace(COLON_RE, ':')
    .replace(SLASH_RE, '/')
    .replace(ESCAPED_DOT_RE, '.')
    .trim()
    .replace(HTTP_SCHEME_RE, toHttp)
    .replace(FTP_SCHEME_RE, toFtp)
}

/** passes of refang at most: nesting deeper than this is left as it is (and fails validation) */
export const REFANG_MAX_PASSES = 8

/**
 * Trim and undo common defanging: `evil[.]com`, `hxxps[://]x`, `user[at]x`, `a\.b`, `x[/]y`…
 * Repeated until nothing changes, so it is idempotent for nested forms like `[[.]]`, up to
 * {@link REFANG_MAX_PASSES} levels: each pass is linear, and an unbounded number of them made
 * a 2 KiB value of a thousand levels cost tens of milliseconds. Square brackets around an
 * IPv6 address are left alone.
 */
export function refang (raw: string): string {
  let s = raw.trim()
  if (!MAY_BE_DEFANGED_RE.test(s)) return s
  // each pass either shortens the string or rewrites a scheme that then no longer matches
  for (let pass = 0; pass < REFANG_MAX_PASSES; pass++) {
    const next = refangOnce(s)
    if (next === s) return s
    s = next
  }
  return s
}

// ---- shared helpers -----------------------------------------------------------------------

function invalid (message: string): ValidationError {
  return new ValidationError('value', message)
}

/** a short, printable rendering of a bad character for messages */
function showChar (c: string): string {
  const code = c.codePointAt(0) ?? 0
  return code < 0x20 || code === 0x7f || WHITESPACE_RE.test(c) ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`
}

// ---- IP addresses -------------------------------------------------------------------------

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const DIGITS_RE = /^\d+$/
const LOOKS_IPV4ISH_RE = /^[0-9a-fx.]+$/i

/** strict dotted-decimal IPv4 → octets (leading zeros are decimal), or a reason string */
function parseIPv4Octets (s: string): number[] | string {
  const m = IPV4_RE.exec(s)
  if (m === null) {
    if (LOOKS_IPV4ISH_RE.test(s)) {
      return 'not a dotted-decimal IPv4 address: exactly four decimal parts are required (hex, octal and short forms like 1.2.3 are not accepted)'
    }
    return 'not an IPv4 address: expected four decimal parts like 192.0.2.1'
  }
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]
  for (const o of octets) {
    if (o > 255) return `not an IPv4 address: part ${o} is over 255`
  }
  return octets
}

function normalizeIPv4 (s: string): string {
  const octets = parseIPv4Octets(s)
  if (typeof octets === 'string') {
    if (s.includes('/')) throw invalid('looks like a CIDR network, not an IPv4 address; use type cidr')
    if (s.includes(':')) throw invalid('looks like an IPv6 address (or has a port); use type ipv6 for IPv6')
    throw invalid(octets)
  }
  return new ipaddr.IPv4(octets).toString()
}

/** strip one pair of surrounding brackets: `[2001:db8::1]` → `2001:db8::1` */
function unbracket (s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 0x5b && s.charCodeAt(s.length - 1) === 0x5d ? s.slice(1, -1) : s
}

/** parse an IPv6 address strictly (no zone id; an embedded IPv4 tail must be dotted decimal) */
function parseIPv6 (s: string): ipaddr.IPv6 | string {
  if (s.includes('%')) return 'IPv6 zone ids (like %eth0) are not allowed: they are local to one host'
  let addr: ipaddr.IPv6
  try {
    addr = ipaddr.IPv6.parse(s)
  } catch {
    if (typeof parseIPv4Octets(s) !== 'string') return 'looks like an IPv4 address, not IPv6; use type ipv4'
    if (s.includes('/')) return 'looks like a CIDR network, not an IPv6 address; use type cidr'
    return 'not an IPv6 address'
  }
  // ipaddr.js reads an embedded IPv4 tail leniently (hex, octal); hold it to the ipv4 rules
  if (s.includes('.') && typeof parseIPv4Octets(s.slice(s.lastIndexOf(':') + 1)) === 'string') {
    return 'not an IPv6 address: the embedded IPv4 part must be four decimal parts'
  }
  return addr
}

function normalizeIPv6 (s: string): string {
  const addr = parseIPv6(unbracket(s))
  if (typeof addr === 'string') throw invalid(addr)
  return addr.toRFC5952String()
}

function ipv4String (octets: readonly number[]): string {
  return `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3]}`
}

/** zero all but the first `len` bits of `words` (each `bits` wide), in place */
function maskInPlace (words: number[], bits: number, len: number): void {
  for (let i = 0; i < words.length; i++) {
    const start = i * bits
    if (start >= len) words[i] = 0
    else if (start + bits > len) {
      const keep = len - start
      words[i] = words[i] & (((1 << keep) - 1) << (bits - keep))
    }
  }
}

const PREFIX_RE = /^\d{1,3}$/

function normalizeCidr (s: string): string {
  const slash = s.indexOf('/')
  if (slash === -1) throw invalid('missing prefix length: a CIDR network looks like 10.0.0.0/8 or 2001:db8::/32')
  if (slash !== s.lastIndexOf('/')) throw invalid('not a CIDR network: more than one /')
  const addrPart = s.slice(0, slash)
  const lenPart = s.slice(slash + 1)
  if (lenPart === '') throw invalid('missing prefix length after /')
  if (!PREFIX_RE.test(lenPart)) throw invalid(`invalid prefix length '${lenPart.slice(0, 20)}': expected a decimal number`)
  const len = Number(lenPart)
  if (addrPart.includes(':')) {
    if (len > 128) throw invalid(`invalid prefix length ${len}: an IPv6 prefix length is 0–128`)
    const addr = parseIPv6(unbracket(addrPart))
    if (typeof addr === 'string') throw invalid(`invalid CIDR network address: ${addr}`)
    const parts = addr.parts.slice()
    maskInPlace(parts, 16, len)
    return `${new ipaddr.IPv6(parts).toRFC5952String()}/${len}`
  }
  if (len > 32) throw invalid(`invalid prefix length ${len}: an IPv4 prefix length is 0–32`)
  const octets = parseIPv4Octets(addrPart)
  if (typeof octets === 'string') throw invalid(`invalid CIDR network address: ${octets}`)
  maskInPlace(octets, 8, len)
  return `${ipv4String(octets)}/${len}`
}

// ---- domains ------------------------------------------------------------------------------

/** ASCII characters a domain may contain before IDN conversion (anything non-ASCII goes to UTS 46) */
const DOMAIN_ASCII_BAD_RE = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]/
const NON_ASCII_RE = /[^\x00-\x7f]/
const LABEL_RE = /^[a-z0-9_-]+$/
const LABEL_BAD_CHAR_RE = /[^a-z0-9_-]/
/** WHATWG URL "ends in a number": such a name would be parsed as an IPv4 address */
const NUMERIC_TLD_RE = /^(?:\d+|0x[0-9a-f]*)$/

/** lower-case, IDN → punycode, strip one trailing dot, check labels; returns the name or a reason */
function domainOrReason (input: string): string | { reason: string } {
  let s = input.toLowerCase()
  if (s === '') return { reason: 'domain is empty' }
  const bad = DOMAIN_ASCII_BAD_RE.exec(s)
  if (bad !== null) {
    const c = bad[0]
    if (c === '/' || c === ':') {
      if (s.includes('://')) return { reason: 'looks like a URL, not a domain; use type url' }
      if (c === ':' && ipaddr.IPv6.isValid(unbracket(s))) return { reason: 'looks like an IPv6 address, not a domain; use type ipv6' }
    }
    if (c === '@') return { reason: 'looks like an email address, not a domain; use type email' }
    return { reason: `invalid character ${showChar(c)} in domain` }
  }
  if (NON_ASCII_RE.test(s) || s.includes('xn--')) {
    const ascii = domainToASCII(s)
    if (ascii === '') return { reason: 'not a valid internationalized domain name (IDNA conversion failed)' }
    s = ascii
  }
  if (s.endsWith('.')) s = s.slice(0, -1)
  if (s.length > MAX_DOMAIN_LENGTH) return { reason: `domain is ${s.length} characters long; the limit is ${MAX_DOMAIN_LENGTH}` }
  const labels = s.split('.')
  if (labels.length < 2) return { reason: 'a domain needs at least two labels (like example.com)' }
  for (const label of labels) {
    if (label === '') return { reason: 'domain has an empty label (two dots in a row, or a leading dot)' }
    if (label.length > MAX_LABEL_LENGTH) return { reason: `domain label '${label.slice(0, 16)}…' is ${label.length} characters long; the limit is ${MAX_LABEL_LENGTH}` }
    if (!LABEL_RE.test(label)) {
      const c = LABEL_BAD_CHAR_RE.exec(label)?.[0] ?? '?'
      return { reason: `invalid character ${showChar(c)} in domain label '${label}'` }
    }
    if (label.startsWith('-') || label.endsWith('-')) return { reason: `domain label '${label}' starts or ends with a hyphen` }
  }
  if (NUMERIC_TLD_RE.test(labels[labels.length - 1])) {
    return { reason: 'looks like an IP address, not a domain: the top-level label is numeric; use type ipv4' }
  }
  return s
}

function normalizeDomain (s: string): string {
  const out = domainOrReason(s)
  if (typeof out !== 'string') throw invalid(out.reason)
  return out
}

// ---- URLs ---------------------------------------------------------------------------------

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):/i
const URL_IGNORED_RE = /[\t\n\r]/g
const HOST_EMPTY_LABEL_RE = /^\.|\.\./
/** ftps is not a WHATWG "special" scheme, so its host and port need our help; RFC 4217 implicit FTPS port */
const FTPS_DEFAULT_PORT = '990'

function normalizeUrl (s: string): string {
  let text = s
  const scheme = SCHEME_RE.exec(text)
  if (scheme === null || (!text.startsWith('//', scheme[0].length) && DIGITS_RE.test(text.charAt(scheme[0].length)))) {
    // no scheme (`evil.example/path`, `host:8080/x`, `//host/x`): assume http
    text = text.startsWith('//') ? `http:${text}` : `http://${text}`
  } else if (!URL_SCHEMES.has(scheme[1].toLowerCase() + ':')) {
    throw invalid(`URL scheme '${scheme[1].toLowerCase().slice(0, 20)}' is not allowed; use http, https, ftp, ftps, ws or wss`)
  } else if (!text.startsWith('//', scheme[0].length)) {
    throw invalid(`not a URL: expected '//' after '${scheme[0].toLowerCase()}'`)
  }
  let href = parseUrl(text)
  // parsing can reveal defanging (IDNA maps `(。)` in a host to `(.)`): refang and parse until
  // stable, so that normalizing the output again gives the output
  for (let i = 0; ; i++) {
    const again = refang(href)
    if (again === href) break
    if (i === 2) throw invalid('URL still looks defanged after normalization')
    href = parseUrl(again)
  }
  if (href.length > MAX_VALUE_LENGTH) throw invalid(`normalized URL is ${href.length} characters long; the limit is ${MAX_VALUE_LENGTH}`)
  return href
}

/** WHATWG-parse an absolute URL with a scheme, check scheme and host, return its href */
function parseUrl (text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalid('not a valid URL (the WHATWG URL parser rejected it)')
  }
  if (!URL_SCHEMES.has(url.protocol)) throw invalid(`URL scheme '${url.protocol.slice(0, -1)}' is not allowed; use http, https, ftp, ftps, ws or wss`)
  if (url.hostname === '') throw invalid('URL has no host')
  if (url.protocol === 'ftps:') normalizeFtpsInPlace(url)
  if (HOST_EMPTY_LABEL_RE.test(url.hostname)) throw invalid('URL host has an empty label (a leading dot or two dots in a row)')
  return url.href
}

/** give an ftps: URL what WHATWG does for special schemes: host lower-case/punycode, default port dropped, path `/` */
function normalizeFtpsInPlace (url: URL): void {
  const host = url.hostname
  if (!host.startsWith('[')) {
    let decoded: string
    try {
      decoded = decodeURIComponent(host)
    } catch {
      throw invalid('URL host is not valid percent-encoding')
    }
    const ascii = domainToASCII(decoded)
    if (ascii === '') throw invalid('URL host is not a valid host name')
    url.hostname = ascii
  }
  if (url.port === FTPS_DEFAULT_PORT) url.port = ''
  if (url.pathname === '') url.pathname = '/'
}

// ---- email --------------------------------------------------------------------------------

const WHITESPACE_RE = /\s/
const WHITESPACE_G_RE = /\s+/g

function normalizeEmail (s: string): string {
  const lower = s.toLowerCase()
  const at = lower.lastIndexOf('@')
  if (at === -1) throw invalid('not an email address: no @')
  const local = lower.slice(0, at)
  if (local === '') throw invalid('email address has an empty local part (before @)')
  if (local.includes('@')) throw invalid('email address has more than one @')
  if (local.length > MAX_LOCAL_PART_LENGTH) throw invalid(`email local part is ${local.length} characters long; the limit is ${MAX_LOCAL_PART_LENGTH}`)
  if (WHITESPACE_RE.test(local)) throw invalid('email local part contains whitespace')
  const domain = domainOrReason(lower.slice(at + 1))
  if (typeof domain !== 'string') throw invalid(`email domain: ${domain.reason}`)
  return `${local}@${domain}`
}

// ---- digests, CVE, ASN --------------------------------------------------------------------

const HEX_RE = /^[0-9a-f]+$/
const NON_HEX_RE = /[^0-9a-f]/

function normalizeHash (type: keyof typeof HASH_LENGTHS, s: string): string {
  const hex = s.replace(WHITESPACE_G_RE, '').toLowerCase()
  const want = HASH_LENGTHS[type]
  if (!HEX_RE.test(hex)) {
    const c = NON_HEX_RE.exec(hex)?.[0] ?? '?'
    throw invalid(`${type} must be ${want} hex characters; found non-hex character ${showChar(c)}`)
  }
  if (hex.length !== want) {
    const other = HASH_BY_LENGTH.get(hex.length)
    const hint = other !== undefined && other !== type ? ` (did you mean type ${other}?)` : ''
    throw invalid(`${type} must be ${want} hex characters, got ${hex.length}${hint}`)
  }
  return hex
}

const CVE_RE = /^CVE-(\d{4})-(\d{4,})$/

function normalizeCve (s: string): string {
  const up = s.toUpperCase()
  const m = CVE_RE.exec(up)
  if (m === null) throw invalid('not a CVE id: expected CVE-YYYY-NNNN (at least four digits), like CVE-2021-44228')
  const year = Number(m[1])
  if (year < 1999 || year > 2100) throw invalid(`CVE year ${year} is out of range 1999–2100`)
  return up
}

const ASN_RE = /^(?:AS\s*)?(\d{1,10})$/i

function normalizeAsn (s: string): string {
  const m = ASN_RE.exec(s)
  if (m === null) throw invalid('not an AS number: expected AS13335, AS 13335 or 13335')
  const n = Number(m[1])
  if (n > MAX_ASN) throw invalid(`AS number ${m[1]} is out of range 0–${MAX_ASN}`)
  return `AS${n}`
}

// ---- public API ---------------------------------------------------------------------------

/**
 * Refang and normalize `raw` as an indicator of `type` (docs/INDICATORS.md).
 * Throws ValidationError('value', reason) when the value is empty, too long or malformed.
 */
export function normalizeValue (type: IndicatorType, raw: string): string {
  if (typeof raw !== 'string') throw invalid('value must be a string')
  // refang never lengthens a string, so checking the raw length first bounds all later work
  if (raw.length > MAX_VALUE_LENGTH && raw.trim().length > MAX_VALUE_LENGTH) {
    throw invalid(`value is too long: over ${MAX_VALUE_LENGTH} characters`)
  }
  // the URL parser drops tabs and newlines anywhere; drop them first so refang sees what it will
  const s = refang(type === 'url' ? raw.replace(URL_IGNORED_RE, '') : raw)
  if (s === '') throw invalid('value is empty')
  switch (type) {
    case 'ipv4': return normalizeIPv4(s)
    case 'ipv6': return normalizeIPv6(s)
    case 'cidr': return normalizeCidr(s)
    case 'domain': return normalizeDomain(s)
    case 'url': return normalizeUrl(s)
    case 'email': return normalizeEmail(s)
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512':
    case 'ja3': return normalizeHash(type, s)
    case 'cve': return normalizeCve(s)
    case 'asn': return normalizeAsn(s)
    default: throw invalid(`unknown indicator type '${String(type)}'`)
  }
}

const HEX_ANY_CASE_RE = /^[0-9a-f]+$/i
const AS_PREFIXED_RE = /^AS\s*\d+$/i

function accepts (type: IndicatorType, s: string): boolean {
  try {
    normalizeValue(type, s)
    return true
  } catch (err) {
    if (err instanceof ValidationError) return false
    throw err
  }
}

/**
 * Guess the type of a bare value (e.g. `phalanx lookup VALUE`), after refang. Tries cidr,
 * ipv4, ipv6, url (needs `://`), email, hashes by hex length, cve, asn (`AS` prefix
 * required), domain; returns undefined when nothing fits.
 */
const IPV4_CHARS_RE = /^[0-9.]+$/
const CVE_PREFIX_RE = /^cve/i

export function detectType (raw: string): IndicatorType | undefined {
  if (raw.length > MAX_VALUE_LENGTH) return undefined
  const s = refang(raw)
  if (s === '') return undefined
  if (s.includes('/') && !s.includes('://') && accepts('cidr', s)) return 'cidr'
  // cheap shape checks first: a refused candidate costs an exception (a stack trace)
  if (IPV4_CHARS_RE.test(s) && accepts('ipv4', s)) return 'ipv4'
  if (s.includes(':') && !s.includes('://') && accepts('ipv6', s)) return 'ipv6'
  if (s.includes('://')) return accepts('url', s) ? 'url' : undefined
  if (s.includes('@')) return accepts('email', s) ? 'email' : undefined
  if (HEX_ANY_CASE_RE.test(s)) {
    const hash = HASH_BY_LENGTH.get(s.length)
    if (hash !== undefined) return hash
  }
  if (CVE_PREFIX_RE.test(s) && accepts('cve', s)) return 'cve'
  if (AS_PREFIXED_RE.test(s) && accepts('asn', s)) return 'asn'
  if (accepts('domain', s)) return 'domain'
  return undefined
}

/**
 * For a normalized IP of `family`, the normalized CIDR (as normalizeValue('cidr', …) prints
 * it) of every network of the given prefix lengths that contains it, in the order given;
 * lengths out of range for the family, and repeats, are skipped. The IP is parsed once.
 */
export function containingCidrs (ip: string, family: 4 | 6, prefixLengths: Iterable<number>): string[] {
  const out: string[] = []
  const seen = new Set<number>()
  if (family === 4) {
    const octets = parseIPv4Octets(ip)
    if (typeof octets === 'string') throw invalid(octets)
    for (const len of prefixLengths) {
      if (!Number.isInteger(len) || len < 0 || len > 32 || seen.has(len)) continue
      seen.add(len)
      const net = octets.slice()
      maskInPlace(net, 8, len)
      out.push(`${ipv4String(net)}/${len}`)
    }
    return out
  }
  const addr = parseIPv6(unbracket(ip))
  if (typeof addr === 'string') throw invalid(addr)
  for (const len of prefixLengths) {
    if (!Number.isInteger(len) || len < 0 || len > 128 || seen.has(len)) continue
    seen.add(len)
    const parts = addr.parts.slice()
    maskInPlace(parts, 16, len)
    out.push(`${new ipaddr.IPv6(parts).toRFC5952String()}/${len}`)
  }
  return out
}

/**
 * A normalized (type, value) and the other normalized forms of the same address: an address
 * as a host network (/32, /128) and an IPv4 address as IPv4-mapped IPv6 (::ffff:102:304), and
 * back. Any other value is only itself.
 */
export function sameAddressForms (type: string, value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [[type, value]]
  /** an IPv4 address as the normalized IPv4-mapped IPv6 address (::ffff:102:304) */
  const mappedOf = (v4: string): string => { const [a, b, c, d] = v4.split('.').map(Number); return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}` }
  /** the IPv4 address of a normalized IPv4-mapped IPv6 address, if it is one */
  const v4Of = (v6: string): string | undefined => {
    const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6)
    if (m === null) return undefined
    const hi = parseInt(m[1], 16)
    const lo = parseInt(m[2], 16)
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  if (type === 'ipv4') out.push(['cidr', `${value}/32`], ['ipv6', mappedOf(value)])
  if (type === 'ipv6') {
    out.push(['cidr', `${value}/128`])
    const v4 = v4Of(value)
    if (v4 !== undefined) out.push(['ipv4', v4], ['cidr', `${v4}/32`])
  }
  if (type === 'cidr' && value.endsWith('/32') && !value.includes(':')) { const v4 = value.slice(0, -3); out.push(['ipv4', v4], ['ipv6', mappedOf(v4)]) }
  if (type === 'cidr' && value.endsWith('/128')) { const v6 = value.slice(0, -4); out.push(['ipv6', v6]); const v4 = v4Of(v6); if (v4 !== undefined) out.push(['ipv4', v4]) }
  return out
}

/** the address family of an IP indicator type, or undefined for other types */
export function ipFamily (type: IndicatorType): 4 | 6 | undefined {
  return type === 'ipv4' ? 4 : type === 'ipv6' ? 6 : undefined
}
