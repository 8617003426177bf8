/**
 * MISP event JSON, in and out.
 *
 * In: one event (`{"Event": …}` or the bare event), a list of them, or an API answer
 * `{"response": [{"Event": …}, …]}` → indicator rows; attributes of the event and of its
 * objects. MISP types map to ours (composite ones like `domain|ip` give both values); `tlp:*`
 * tags (the attribute's, else the event's; the strictest when several; an unknown one skips
 * the attribute) give the TLP; other tags are kept; `to_ids` gives the confidence (80, else
 * 30) unless the import sets one; a `deleted` attribute becomes a revoke of the indicator it was.
 *
 * Out: indicators → a MISP event (the JSON MISP imports with "Add event from MISP JSON" or
 * `/events/add`, and that the import above reads back): one attribute per indicator with its
 * MISP type and category, `to_ids` from the confidence, the TLP and the tags as attribute
 * tags, the description as the comment, a revoked indicator as a deleted attribute. The event
 * carries the strictest TLP of its attributes. Written in pieces (head, attributes, tail) so
 * that an export of any size is streamed.
 */
import type { ExportSighting } from './sighting.js'
import { randomUUID } from 'node:crypto'
import { PhalanxError } from '../errors.js'
import { lastChangeOf, type IndicatorType, type StoredIndicator } from '../records/index.js'
import { parseTlp, type Tlp } from '../tlp/index.js'
import { strictest } from '../tlp/policy.js'
import type { Row } from './row.js'
import { stixIndicatorId } from './stix.js'

// ---- import ------------------------------------------------------------------------------

/** MISP attribute type → ours, per part of a composite value ('' leaves that part out) */
const TYPE_MAP: Record<string, string[]> = {
  'ip-src': ['ip'], 'ip-dst': ['ip'], 'ip-src|port': ['ip', ''], 'ip-dst|port': ['ip', ''],
  domain: ['domain'], hostname: ['domain'], 'domain|ip': ['domain', 'ip'], 'hostname|port': ['domain', ''],
  url: ['url'],
  md5: ['md5'], sha1: ['sha1'], sha256: ['sha256'], sha512: ['sha512'],
  'filename|md5': ['', 'md5'], 'filename|sha1': ['', 'sha1'], 'filename|sha256': ['', 'sha256'], 'filename|sha512': ['', 'sha512'],
  'email-src': ['email'], 'email-dst': ['email'], email: ['email'], 'email-reply-to': ['email'],
  vulnerability: ['cve'],
  AS: ['asn'],
  'ja3-fingerprint-md5': ['ja3']
}

type Json = Record<string, any>

function eventsOf (doc: unknown): Json[] {
  if (Array.isArray(doc)) return doc.flatMap(eventsOf)
  if (doc === null || typeof doc !== 'object') return []
  const d = doc as Json
  if (Array.isArray(d.response)) return d.response.flatMap(eventsOf)
  if (d.Event !== undefined) return [d.Event]
  if (Array.isArray(d.Attribute) || Array.isArray(d.Object)) return [d]
  return []
}

function tagNames (x: Json | undefined): string[] {
  return Array.isArray(x?.Tag) ? x.Tag.map((t: Json) => t?.name).filter((n: unknown): n is string => typeof n === 'string') : []
}

/** the strictest `tlp:*` tag; UNREADABLE when one of them is not a TLP we know (never guessed) */
function tlpOf (tags: string[]): Tlp | typeof UNREADABLE | undefined {
  const labels: Tlp[] = []
  for (const n of tags) {
    // tlp:ex:* are extensions of MISP's TLP tag set (e.g. ex:chr), not levels: kept as tags
    if (!/^tlp:/i.test(n) || /^tlp:ex:/i.test(n)) continue
    try { labels.push(parseTlp(n.slice(4))) } catch { return UNREADABLE }
  }
  return strictest(labels)
}
const UNREADABLE = Symbol('unreadable TLP tag')
/** a `tlp:<level>` tag (read as the TLP, not kept as a tag); `tlp:ex:*` extensions are kept */
const isTlpLevelTag = (t: string): boolean => /^tlp:/i.test(t) && !/^tlp:ex:/i.test(t)

/** rows of every attribute of every event in a MISP JSON document */
export function * mispRows (doc: unknown, opts: { confidence?: number } = {}): Generator<Row> {
  const events = eventsOf(doc)
  if (events.length === 0) throw new PhalanxError('PX_ERR_VALIDATION', 'not a MISP event: expected {"Event": …}, {"response": [ … ]} or an event with Attribute/Object lists', { field: 'file' })
  let n = 0
  for (const ev of events) {
    // what the event gives every attribute, worked out once per event
    const evTags = tagNames(ev)
    const evTlp = tlpOf(evTags)
    const evOther = [...new Set(evTags.filter(t => !isTlpLevelTag(t)))].slice(0, 64)
    const attrs: Json[] = [
      ...(Array.isArray(ev.Attribute) ? ev.Attribute : []),
      ...(Array.isArray(ev.Object) ? ev.Object.flatMap((o: Json) => Array.isArray(o?.Attribute) ? o.Attribute : []) : [])
    ]
    for (const a of attrs) {
      const line = ++n
      if (a === null || typeof a !== 'object' || typeof a.type !== 'string' || typeof a.value !== 'string') { yield { line, skip: 'MISP attribute without type and value' }; continue }
      const parts = TYPE_MAP[a.type]
      if (parts === undefined) { yield { line, skip: `unsupported MISP type: ${a.type.slice(0, 40)}` }; continue }
      const values = parts.length === 1 ? [a.value] : a.value.split('|')
      const aTags = tagNames(a)
      const aTlp = tlpOf(aTags)
      const tlp = aTlp ?? evTlp
      if (tlp === UNREADABLE) { yield { line, skip: 'a tlp: tag that is not a TLP 1.0/2.0 label (its TLP cannot be told)' }; continue }
      const tags = aTags.length === 0 ? evOther : [...new Set([...evOther, ...aTags.filter(t => !isTlpLevelTag(t))])].slice(0, 64)
      const toIds = a.to_ids === true || a.to_ids === '1' || a.to_ids === 1
      // the attribute's own comment, else the event's title (not both: a Phalanx export read
      // back would gain the title in front of every description, once per round trip)
      const description = (typeof a.comment === 'string' && a.comment.trim() !== '' ? a.comment : typeof ev.info === 'string' ? ev.info : '').slice(0, 4096)
      for (let i = 0; i < parts.length; i++) {
        if (parts[i] === '' || values[i] === undefined || values[i].trim() === '') continue
        const value = values[i].trim()
        const type = parts[i] === 'ip' ? (value.includes('/') ? 'cidr' : value.includes(':') ? 'ipv6' : 'ipv4') : parts[i]
        if (a.deleted === true || a.deleted === '1') { yield { line, revoke: { type, value } }; continue }
        const input: Record<string, unknown> = { type, value, confidence: opts.confidence ?? (toIds ? 80 : 30) }
        if (tlp !== undefined) input.tlp = tlp
        if (tags.length > 0) input.tags = tags
        if (description !== '') input.description = description
        if (typeof a.first_seen === 'string' && a.first_seen !== '') input.firstSeen = a.first_seen
        if (typeof a.last_seen === 'string' && a.last_seen !== '') input.lastSeen = a.last_seen
        yield { line, input }
      }
    }
  }
}

// ---- export ------------------------------------------------------------------------------

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

/** what a MISP sighting takes of an organization's sightings */
export type MispSightingOf = Pick<ExportSighting, 'publicKey' | 'org' | 'action' | 'lastSeen'>

/**
 * An organization's sightings as a MISP sighting: type "1" (false positive) for a false
 * positive, "0" (sighting) for any other action, which goes in `source` (MISP has no field for
 * it); dated at its last sighting, and by organization name.
 */
export function toMispSighting (s: MispSightingOf): Record<string, unknown> {
  const org = s.org ?? `org ${s.publicKey.slice(0, 16)}`
  return { type: s.action === 'false-positive' ? '1' : '0', date_sighting: seconds(s.lastSeen), source: `phalanx:${s.action}`, Organisation: { name: org } }
}

/** one indicator as a MISP attribute (with its value's sightings by organization) */
export function toMispAttribute (ind: StoredIndicator, sightings: readonly MispSightingOf[] = []): Record<string, unknown> {
  const [type, category] = MISP_TYPE[ind.type]
  const a: Record<string, unknown> = {
    // the STIX id's UUID: the same indicator keeps it across exports and versions
    uuid: stixIndicatorId(ind.id).slice('indicator--'.length),
    type,
    category,
    value: ind.value,
    to_ids: ind.confidence >= MISP_TO_IDS_CONFIDENCE,
    timestamp: seconds(lastChangeOf(ind)),
    Tag: [tlpTag(ind.tlp), ...ind.tags.map(name => ({ name }))]
  }
  if (ind.description !== undefined) a.comment = ind.description
  if (ind.firstSeen !== undefined) a.first_seen = ind.firstSeen
  if (ind.lastSeen !== undefined) a.last_seen = ind.lastSeen
  if (ind.revoked !== undefined) a.deleted = true
  if (sightings.length > 0) a.Sighting = sightings.map(toMispSighting)
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
  attribute (ind: StoredIndicator, sightings: readonly MispSightingOf[] = []): string {
    this.#strictest = strictest([this.#strictest, ind.tlp])
    return `${this.#count++ === 0 ? '' : ',\n'}${JSON.stringify(toMispAttribute(ind, sightings))}`
  }

  tail (): string {
    const tags = this.#strictest === undefined ? [] : [tlpTag(this.#strictest)]
    return `\n],"Tag":${JSON.stringify(tags)}}}\n`
  }
}
