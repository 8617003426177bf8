/**
 * What STIX in and out share: the TLP marking definitions (2.0, and 1.0 read), the patterns an
 * indicator of each of our types has (and the values a simple pattern compares), and the values
 * of observables (SCOs).
 */
import type { Tlp } from '../tlp/index.js'

/** TLP 2.0 marking definitions (the ids FIRST/OASIS publish) */
export const TLP2_MARKINGS: Record<Tlp, string> = {
  CLEAR: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  GREEN: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  AMBER: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'AMBER+STRICT': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  RED: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'
}

/** TLP 1.0 marking definitions (STIX 2.1 spec §7.2.1.4) */
const TLP1_MARKINGS: Record<string, Tlp> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'CLEAR',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'GREEN',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'AMBER',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'RED'
}

export const MARKING_TLP: Record<string, Tlp> = {
  ...TLP1_MARKINGS,
  ...Object.fromEntries(Object.entries(TLP2_MARKINGS).map(([tlp, id]) => [id, tlp as Tlp]))
}

/** the TLP 2.0 marking-definition objects (extension form of the published definitions) */
export function tlpMarkingObject (tlp: Tlp): Record<string, unknown> {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: TLP2_MARKINGS[tlp],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${tlp}`,
    extensions: {
      'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: tlp.toLowerCase() }
    }
  }
}

// ---- patterns ---------------------------------------------------------------------------

/** observable path → our type ('ip' is ipv4/ipv6/cidr by the value) */
const PATHS: Record<string, string> = {
  'ipv4-addr:value': 'ip',
  'ipv6-addr:value': 'ip',
  'domain-name:value': 'domain',
  'url:value': 'url',
  'email-addr:value': 'email',
  'autonomous-system:number': 'asn',
  "file:hashes.'sha-256'": 'sha256', 'file:hashes.sha256': 'sha256',
  "file:hashes.'sha-1'": 'sha1', 'file:hashes.sha1': 'sha1',
  "file:hashes.'sha-512'": 'sha512', 'file:hashes.sha512': 'sha512',
  "file:hashes.'md5'": 'md5', 'file:hashes.md5': 'md5'
}

// the lookbehind lets a path start only where a word starts: without it a long run of word
// characters is tried from each of its positions (quadratic: 16 KiB took 270 ms)
const COMPARISON = /(?<![a-z0-9-])([a-z0-9-]+:[a-z0-9_.'*[\]-]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\d+))/gi

/**
 * The values of a pattern that is a comparison `path = 'value'` of a supported observable, or
 * an OR of such comparisons (within one observation or across observations); null otherwise.
 */
export function patternValues (pattern: string): Array<{ type: string, value: string }> | null {
  const out: Array<{ type: string, value: string }> = []
  const skeleton = pattern.replace(COMPARISON, (_m, path: string, quoted: string | undefined, num: string | undefined) => {
    const t = PATHS[path.toLowerCase()]
    if (t === undefined) return ' UNSUPPORTED '
    const v = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : `AS${num as string}`
    const type = t === 'ip' ? (v.includes('/') ? 'cidr' : v.includes(':') ? 'ipv6' : 'ipv4') : t
    out.push({ type, value: t === 'asn' && !/^AS/i.test(v) ? `AS${v}` : v })
    return ' C '
  })
  // what is left may only join the comparisons with OR, in brackets
  if (!/^[\s[\]]*C[\s[\]]*((?:OR)[\s[\]]*C[\s[\]]*)*$/.test(skeleton) || out.length === 0) return null
  return out
}

function escapeValue (v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")
}

/** the STIX pattern of one of our indicators (null for a type STIX patterns do not cover) */
export function patternOf (type: string, value: string): string | null {
  const v = escapeValue(value)
  switch (type) {
    case 'ipv4': return `[ipv4-addr:value = '${v}']`
    case 'ipv6': return `[ipv6-addr:value = '${v}']`
    case 'cidr': return value.includes(':') ? `[ipv6-addr:value = '${v}']` : `[ipv4-addr:value = '${v}']`
    case 'domain': return `[domain-name:value = '${v}']`
    case 'url': return `[url:value = '${v}']`
    case 'email': return `[email-addr:value = '${v}']`
    case 'md5': return `[file:hashes.MD5 = '${v}']`
    case 'sha1': return `[file:hashes.'SHA-1' = '${v}']`
    case 'sha256': return `[file:hashes.'SHA-256' = '${v}']`
    case 'sha512': return `[file:hashes.'SHA-512' = '${v}']`
    case 'asn': return `[autonomous-system:number = ${value.replace(/^AS/i, '')}]`
    default: return null
  }
}

// ---- import ------------------------------------------------------------------------------

/** a file's hash names, lower-cased without quotes → our type */
const HASHES: Record<string, string> = { md5: 'md5', 'sha-1': 'sha1', sha1: 'sha1', 'sha-256': 'sha256', sha256: 'sha256', 'sha-512': 'sha512', sha512: 'sha512' }

/**
 * The values of a STIX cyber observable (SCO: ipv4-addr, ipv6-addr, domain-name, url,
 * email-addr, autonomous-system, a file's hashes) in our types; [] for any other object. A
 * bundle of observables without indicators imports them as indicators.
 */
export function observableValues (o: Record<string, any>): Array<{ type: string, value: string }> {
  switch (o.type) {
    case 'ipv4-addr':
    case 'ipv6-addr':
      return typeof o.value === 'string' ? [{ type: o.value.includes('/') ? 'cidr' : o.value.includes(':') ? 'ipv6' : 'ipv4', value: o.value }] : []
    case 'domain-name': return typeof o.value === 'string' ? [{ type: 'domain', value: o.value }] : []
    case 'url': return typeof o.value === 'string' ? [{ type: 'url', value: o.value }] : []
    case 'email-addr': return typeof o.value === 'string' ? [{ type: 'email', value: o.value }] : []
    case 'autonomous-system': return Number.isSafeInteger(o.number) ? [{ type: 'asn', value: `AS${o.number as number}` }] : []
    case 'file': {
      if (o.hashes === null || typeof o.hashes !== 'object') return []
      const out: Array<{ type: string, value: string }> = []
      for (const [k, v] of Object.entries(o.hashes as Record<string, unknown>)) {
        const type = HASHES[k.toLowerCase().replace(/'/g, '')]
        if (type !== undefined && typeof v === 'string') out.push({ type, value: v })
      }
      return out
    }
    default: return []
  }
}

