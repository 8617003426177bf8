/**
 * Indicators → a MISP event (the JSON MISP imports with "Add event from MISP JSON" or
 * `/events/add`, and that `phalanx import --format misp` reads back): one attribute per
 * indicator with its MISP type and category, `to_ids` from the confidence, the TLP and the
 * tags as attribute tags, the description as the comment, a revoked indicator as a deleted
 * attribute. The event carries the strictest TLP of its attributes. Written in pieces (head,
 * attributes, tail) so that an export of any size is streamed.
 */
import { randomUUID } from 'node:crypto'
import type { IndicatorType, StoredIndicator } from '../records/index.js'
import { stixIndicatorId } from '../stix/index.js'
import { tlpRank, type Tlp } from '../tlp/index.js'

/** our type → MISP attribute type and category */
const MISP_TYPE: Record<IndicatorType, [string, string]> = {
  ipv4: ['ip-dst', 'Network activity'],
  ipv6: ['ip-dst', 'Network activity'],
  cidr: ['ip-dst', 'Network activity'],
  domain: ['domain', 'Network activity'],
  url: ['url', 'Network activity'],
  email: ['email-src', 'Payload delivery'],
  md5: ['md5', 'Payload delivery'],
  sha1: ['sha1', 'Payload delivery'],
  sha256: ['sha256', 'Payload delivery'],
  sha512: ['sha512', 'Payload delivery'],
  cve: ['vulnerability', 'External analysis'],
  asn: ['AS', 'Network activity'],
  ja3: ['ja3-fingerprint-md5', 'Network activity']
}

/** at or above this confidence an attribute is marked for detection (`to_ids`) */
export const MISP_TO_IDS_CONFIDENCE = 50

/** the MISP TLP tag (TLP 2.0 names, as the MISP tlp taxonomy has them) */
function tlpTag (tlp: Tlp): { name: string } {
  return { name: `tlp:${tlp.toLowerCase()}` }
}

const seconds = (iso: string): string => String(Math.floor(Date.parse(iso) / 1000))

/** one indicator as a MISP attribute */
export function toMispAttribute (ind: StoredIndicator): Record<string, unknown> {
  const [type, category] = MISP_TYPE[ind.type]
  const a: Record<string, unknown> = {
    // the STIX id's UUID: the same indicator keeps it across exports and versions
    uuid: stixIndicatorId(ind.id).slice('indicator--'.length),
    type,
    category,
    value: ind.value,
    to_ids: ind.confidence >= MISP_TO_IDS_CONFIDENCE,
    timestamp: seconds(ind.created),
    Tag: [tlpTag(ind.tlp), ...ind.tags.map(name => ({ name }))]
  }
  if (ind.description !== undefined) a.comment = ind.description
  if (ind.firstSeen !== undefined) a.first_seen = ind.firstSeen
  if (ind.lastSeen !== undefined) a.last_seen = ind.lastSeen
  if (ind.revoked !== undefined) a.deleted = true
  return a
}

/** A streamed MISP event: `head()`, then `attribute()` per indicator, then `tail()`. */
export class MispEventWriter {
  #strictest: Tlp | undefined
  #count = 0

  constructor (readonly info: string, readonly now = new Date()) {}

  head (): string {
    const event = {
      uuid: randomUUID(),
      info: this.info,
      date: this.now.toISOString().slice(0, 10),
      timestamp: seconds(this.now.toISOString()),
      // 4: undefined threat level; 2: analysis complete; 0: this organization only (the
      // receiving MISP decides how far it shares, from the TLP tags)
      threat_level_id: '4',
      analysis: '2',
      distribution: '0',
      published: false
    }
    const json = JSON.stringify({ Event: event })
    // leave the event open for its attributes
    return `${json.slice(0, -2)},"Attribute":[\n`
  }

  /** an attribute, with the comma it needs */
  attribute (ind: StoredIndicator): string {
    if (this.#strictest === undefined || tlpRank(ind.tlp) > tlpRank(this.#strictest)) this.#strictest = ind.tlp
    return `${this.#count++ === 0 ? '' : ',\n'}${JSON.stringify(toMispAttribute(ind))}`
  }

  tail (): string {
    const tags = this.#strictest === undefined ? [] : [tlpTag(this.#strictest)]
    return `\n],"Tag":${JSON.stringify(tags)}}}\n`
  }
}
