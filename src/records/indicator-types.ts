/** The indicator types Phalanx understands (DESIGN §1). Order matters only for docs. */
export const INDICATOR_TYPES = [
  'ipv4', 'ipv6', 'cidr', 'domain', 'url', 'email',
  'md5', 'sha1', 'sha256', 'sha512', 'cve', 'asn', 'ja3'
] as const

export type IndicatorType = typeof INDICATOR_TYPES[number]

export function isIndicatorType (s: unknown): s is IndicatorType {
  return typeof s === 'string' && (INDICATOR_TYPES as readonly string[]).includes(s)
}
