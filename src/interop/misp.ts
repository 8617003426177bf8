/**
 * MISP event JSON, in and out.
 *
 * In: one event (`{"Event": …}` or the bare event), a list of them, or an API answer
 * `{"response": [{"Event": …}, …]}` → indicator rows; attributes of the event and of its
 * objects. MISP types map to ours (composite ones like `domain|ip` give both values); `tlp:*`
 * tags (the attribute's, else the event's; the strictest when several; an unknown one skips
 * the attribute) give the TLP; other tags are kept; `to_ids` gives the confidence (80, else
 * 30) unless the import sets one; a `deleted` attribute becomes a revoke of the indicator it was.
 * A titled event is also a report row (issue 16): its info, type, TLP, galaxies (ATT&CK ids,
 * actors, malware, campaigns, sectors), body (its MISP event reports, else a summary line, and
 * its text attributes), references (link attributes) and the values of its attributes; a value
 * an earlier event of the file gave is imported once. Phalanx's own indicator export is no report.
 *
 * Out: indicators → a MISP event (the JSON MISP imports with "Add event from MISP JSON" or
 * `/events/add`, and that the import above reads back): one attribute per indicator with its
 * MISP type and category, `to_ids` from the confidence, the TLP and the tags as attribute
 * tags, the description as the comment, a revoked indicator as a deleted attribute. The event
 * carries the strictest TLP of its attributes and the exporter as `Orgc`. When reports are
 * asked for (`reports`), the export is MISP's multi-event JSON (`{"response": [{"Event": …}, …]}`): the
 * indicators' event, then an event per report (its nonce's UUID, Orgc, TLP, type and galaxy
 * tags, the linked indicators it wrote, links, the body as an event report). Written in pieces
 * (head, attributes, reports, tail) so that an export of any size is streamed.
 */
import type { ExportSighting } from './sighting.js'
import { randomUUID } from 'node:crypto'
import { PhalanxError } from '../errors.js'
import { lastChangeOf, type IndicatorType, type StoredIndicator } from '../records/index.js'
import { REPORT_LIMITS } from '../records/report.js'
import { parseTlp, type Tlp } from '../tlp/index.js'
import { strictest } from '../tlp/policy.js'
import type { ReportRowInput, Row } from './row.js'
import { nonceOfUuid, uuidOfNonce, type ExportReport } from './report.js'
import { stableUuid, stixIndicatorId } from './stix-export.js'

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

/** the title of Phalanx's own indicator export (exportTitle): a container of indicators, not a report */
const EXPORT_TITLE_RE = /^Phalanx export(?: \(.*\))?$/

/** `misp-galaxy:<galaxy>="<value>"` */
const GALAXY_TAG_RE = /^misp-galaxy:([^=]+)="(.*)"$/s
/** an ATT&CK technique id at the end of a cluster's value (`Spearphishing Link - T1566.002`) */
const TRAILING_ATTACK_RE = /(?:^|[\s-])(T\d{4}(?:\.\d{3})?)$/
/** an ATT&CK id at the end of a name (`APT28 - G0007`, `BlackEnergy - S0089`, `C0010`): left out of the name */
const TRAILING_MITRE_ID_RE = /\s+-\s+[GSC]\d{4}$/

/** the galaxies whose clusters fill a report's lists (any other galaxy stays a tag only) */
const GALAXY_LISTS: Record<string, 'attack' | 'actors' | 'malware' | 'campaigns' | 'sectors'> = {
  'mitre-attack-pattern': 'attack',
  'mitre-enterprise-attack-attack-pattern': 'attack',
  'mitre-mobile-attack-attack-pattern': 'attack',
  'mitre-ics-techniques': 'attack',
  'threat-actor': 'actors',
  'mitre-intrusion-set': 'actors',
  'mitre-enterprise-attack-intrusion-set': 'actors',
  'mitre-mobile-attack-intrusion-set': 'actors',
  'microsoft-activity-group': 'actors',
  'mitre-malware': 'malware',
  'mitre-enterprise-attack-malware': 'malware',
  'mitre-mobile-attack-malware': 'malware',
  'mitre-tool': 'malware',
  'mitre-enterprise-attack-tool': 'malware',
  malpedia: 'malware',
  tool: 'malware',
  ransomware: 'malware',
  rat: 'malware',
  banker: 'malware',
  botnet: 'malware',
  backdoor: 'malware',
  stealer: 'malware',
  android: 'malware',
  'mitre-campaign': 'campaigns',
  sector: 'sectors'
}

/** MISP's threat levels and analysis states (Event.php), for a report's summary line */
const THREAT_LEVELS: Record<string, string> = { 1: 'high', 2: 'medium', 3: 'low' }
const ANALYSIS_STATES: Record<string, string> = { 0: 'initial', 1: 'ongoing', 2: 'completed' }

/** the `misp:event-type` machine tag (MISP taxonomy "misp") a report's type is written as, and read from */
const EVENT_TYPE_TAG = { incident: 'misp:event-type="incident"', analysis: 'misp:event-type="report"' } as const

/** what an event's galaxies (tags and Galaxy clusters) name, by report list */
function galaxyLists (ev: Json, tags: string[]): Record<'attack' | 'actors' | 'malware' | 'campaigns' | 'sectors', string[]> {
  const out = { attack: new Set<string>(), actors: new Set<string>(), malware: new Set<string>(), campaigns: new Set<string>(), sectors: new Set<string>() }
  const add = (galaxy: string, value: string, externalId?: unknown): void => {
    const list = GALAXY_LISTS[galaxy]
    if (list === undefined) return
    if (list === 'attack') {
      const ids = Array.isArray(externalId) ? externalId : [externalId]
      const id = ids.find((x): x is string => typeof x === 'string' && /^T\d{4}(\.\d{3})?$/i.test(x.trim())) ?? TRAILING_ATTACK_RE.exec(value.trim())?.[1]
      if (id !== undefined) out.attack.add(id.trim().toUpperCase())
      return
    }
    const name = value.replace(TRAILING_MITRE_ID_RE, '').trim()
    if (name !== '' && name.length <= REPORT_LIMITS.NAME_MAX) out[list].add(name)
  }
  for (const t of tags) {
    const m = GALAXY_TAG_RE.exec(t)
    if (m !== null) add(m[1], m[2])
  }
  for (const g of Array.isArray(ev.Galaxy) ? ev.Galaxy : []) {
    for (const c of Array.isArray(g?.GalaxyCluster) ? g.GalaxyCluster : []) {
      if (typeof c?.value !== 'string') continue
      const galaxy = typeof c.type === 'string' ? c.type : typeof g.type === 'string' ? g.type : ''
      add(galaxy, c.value, c.meta?.external_id)
    }
  }
  return {
    attack: [...out.attack].slice(0, REPORT_LIMITS.ATTACK_MAX),
    actors: [...out.actors].slice(0, REPORT_LIMITS.NAMES_MAX),
    malware: [...out.malware].slice(0, REPORT_LIMITS.NAMES_MAX),
    campaigns: [...out.campaigns].slice(0, REPORT_LIMITS.NAMES_MAX),
    sectors: [...out.sectors].slice(0, REPORT_LIMITS.NAMES_MAX)
  }
}

/** an event's report type: its `misp:event-type` tag, else analysis for OSINT (an `osint:` tag or an "OSINT" title), else incident */
function reportTypeOf (ev: Json, tags: string[]): 'incident' | 'analysis' {
  if (tags.includes(EVENT_TYPE_TAG.analysis)) return 'analysis'
  if (tags.includes(EVENT_TYPE_TAG.incident)) return 'incident'
  if (tags.some(t => /^osint:/i.test(t)) || /^osint\b/i.test(typeof ev.info === 'string' ? ev.info : '')) return 'analysis'
  return 'incident'
}

/** seconds since the epoch (MISP's timestamps, "0" for never) as ISO, or undefined */
function isoOfSeconds (s: unknown): string | undefined {
  const n = typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : typeof s === 'number' ? s : NaN
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : undefined
}

/** at most `max` UTF-8 bytes of `text` (cut at a character) */
function utf8Max (text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text
  let out = Buffer.from(text).subarray(0, max).toString('utf8')
  // a cut mid-character leaves U+FFFD
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1)
  return out
}

/**
 * An event's body: its MISP event reports (Markdown already; several under their names), else
 * a summary line (who made it, when, threat level, analysis state); then its own `text` attributes.
 */
function bodyOf (ev: Json, texts: string[]): string | undefined {
  const reports = (Array.isArray(ev.EventReport) ? ev.EventReport : [])
    .filter((r: Json) => typeof r?.content === 'string' && r.content.trim() !== '' && r.deleted !== true && r.deleted !== '1')
  const parts: string[] = []
  if (reports.length === 1) parts.push(reports[0].content)
  else if (reports.length > 1) parts.push(...reports.map((r: Json) => `## ${typeof r.name === 'string' ? r.name : 'Report'}\n\n${r.content as string}`))
  else {
    const facts: string[] = []
    const org = typeof ev.Orgc?.name === 'string' ? ev.Orgc.name : undefined
    const date = typeof ev.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(ev.date) ? ev.date : undefined
    const threat = THREAT_LEVELS[String(ev.threat_level_id)]
    const analysis = ANALYSIS_STATES[String(ev.analysis)]
    if (threat !== undefined) facts.push(`threat level ${threat}`)
    if (analysis !== undefined) facts.push(`analysis ${analysis}`)
    if (org !== undefined || date !== undefined || facts.length > 0) {
      parts.push(`MISP event${org !== undefined ? ` by ${org}` : ''}${date !== undefined ? ` of ${date}` : ''}${facts.length > 0 ? `: ${facts.join(', ')}` : ''}.`)
    }
  }
  parts.push(...texts)
  const body = parts.join('\n\n').replace(/\r\n/g, '\n').trim()
  return body === '' ? undefined : utf8Max(body, REPORT_LIMITS.BODY_MAX_BYTES)
}

const isHttpUrl = (s: string): boolean => /^https?:\/\/\S+$/i.test(s) && s.length <= REPORT_LIMITS.REFERENCE_MAX

/** rows of every attribute of every event in a MISP JSON document, and a report row per titled event */
export function * mispRows (doc: unknown, opts: { confidence?: number } = {}): Generator<Row> {
  const events = eventsOf(doc)
  if (events.length === 0) throw new PhalanxError('PX_ERR_VALIDATION', 'not a MISP event: expected {"Event": …}, {"response": [ … ]} or an event with Attribute/Object lists', { field: 'file' })
  let n = 0
  /** the values earlier events of the document gave (a value is imported once, from the first event that holds it) */
  const earlier = new Set<string>()
  for (const ev of events) {
    // what the event gives every attribute, worked out once per event
    const evTags = tagNames(ev)
    const evTlp = tlpOf(evTags)
    const evOther = [...new Set(evTags.filter(t => !isTlpLevelTag(t)))].slice(0, 64)
    // a titled event is a report too (Phalanx's own indicator export is not: a container)
    const isReport = typeof ev.info === 'string' && ev.info.trim() !== '' && !EXPORT_TITLE_RE.test(ev.info.trim())
    const values: Array<{ type: string, value: string }> = []
    const linked = new Set<string>()
    const mine = new Set<string>()
    const references: string[] = []
    const texts: string[] = []
    const ownAttrs: Json[] = Array.isArray(ev.Attribute) ? ev.Attribute : []
    const attrs: Json[] = [
      ...ownAttrs,
      ...(Array.isArray(ev.Object) ? ev.Object.flatMap((o: Json) => Array.isArray(o?.Attribute) ? o.Attribute : []) : [])
    ]
    for (let k = 0; k < attrs.length; k++) {
      const a = attrs[k]
      const line = ++n
      if (a === null || typeof a !== 'object' || typeof a.type !== 'string' || typeof a.value !== 'string') { yield { line, skip: 'MISP attribute without type and value' }; continue }
      const gone = a.deleted === true || a.deleted === '1'
      if (isReport && !gone && (a.type === 'link' || (a.type === 'url' && a.category === 'External analysis')) && isHttpUrl(a.value.trim())) {
        if (!references.includes(a.value.trim()) && references.length < REPORT_LIMITS.REFERENCES_MAX) references.push(a.value.trim())
        // a link is the report's reference, not an indicator; a url stays an indicator too
        if (a.type === 'link') { yield { line, context: 'link' }; continue }
      }
      if (isReport && !gone && a.type === 'text' && k < ownAttrs.length && a.value.trim() !== '') {
        // the event's own text (an analyst's summary) goes in the report's body
        texts.push(a.value.trim())
        yield { line, context: 'text' }
        continue
      }
      const parts = TYPE_MAP[a.type]
      if (parts === undefined) { yield { line, skip: `unsupported MISP type: ${a.type.slice(0, 40)}` }; continue }
      const values0 = parts.length === 1 ? [a.value] : a.value.split('|')
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
        if (parts[i] === '' || values0[i] === undefined || values0[i].trim() === '') continue
        const value = values0[i].trim()
        const type = parts[i] === 'ip' ? (value.includes('/') ? 'cidr' : value.includes(':') ? 'ipv6' : 'ipv4') : parts[i]
        if (gone) { yield { line, revoke: { type, value } }; continue }
        const key = `${type}\n${value}`
        if (!linked.has(key) && values.length < REPORT_LIMITS.INDICATORS_MAX) { linked.add(key); values.push({ type, value }) }
        if (earlier.has(key)) {
          // an earlier event of the file gave this value (a Phalanx export's report events
          // repeat the indicators they link): linked by this event's report, imported once
          yield { line, context: 'value of an earlier event' }
          continue
        }
        mine.add(key)
        const input: Record<string, unknown> = { type, value, confidence: opts.confidence ?? (toIds ? 80 : 30) }
        if (tlp !== undefined) input.tlp = tlp
        if (tags.length > 0) input.tags = tags
        if (description !== '') input.description = description
        if (typeof a.first_seen === 'string' && a.first_seen !== '') input.firstSeen = a.first_seen
        if (typeof a.last_seen === 'string' && a.last_seen !== '') input.lastSeen = a.last_seen
        yield { line, input }
      }
    }
    for (const key of mine) earlier.add(key)
    if (!isReport) continue
    const line = ++n
    if (evTlp === UNREADABLE) { yield { line, skip: 'report: a tlp: tag that is not a TLP 1.0/2.0 label (its TLP cannot be told)' }; continue }
    const lists = galaxyLists(ev, evTags)
    const report: ReportRowInput = { type: reportTypeOf(ev, evTags), title: (ev.info as string).trim().slice(0, REPORT_LIMITS.TITLE_MAX), values }
    const nonce = typeof ev.uuid === 'string' ? nonceOfUuid(ev.uuid) : undefined
    if (nonce !== undefined) report.nonce = nonce
    const body = bodyOf(ev, texts)
    if (body !== undefined) report.body = body
    for (const k of ['attack', 'actors', 'malware', 'campaigns', 'sectors'] as const) if (lists[k].length > 0) report[k] = lists[k]
    if (references.length > 0) report.references = references
    const published = isoOfSeconds(ev.publish_timestamp) ?? (typeof ev.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(ev.date) ? `${ev.date}T00:00:00.000Z` : undefined)
    if (published !== undefined) report.published = published
    if (evTlp !== undefined) report.tlp = evTlp
    yield { line, report }
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

/** a UUID as MISP takes it (CakePHP's `uuid` rule: RFC 4122 version and variant digits) */
const MISP_UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * The UUID of a report's event: its nonce as a UUID when MISP takes that (a nonce from a MISP
 * event or STIX report's UUID: read back, it is the same nonce), else one derived from it
 * (a random nonce's digits are not always an RFC 4122 UUID; MISP refuses those)
 */
export function mispEventUuid (nonce: string): string {
  const u = uuidOfNonce(nonce)
  return MISP_UUID_RE.test(u) ? u : stableUuid(`phalanx:misp:event\n${nonce}`)
}

/** an organization as a MISP `Orgc`: its name (else its key's start) and a UUID stable for its key */
export function mispOrgc (publicKey: string, name?: string | null): { name: string, uuid: string } {
  return { name: name ?? `org ${publicKey.slice(0, 16)}`, uuid: stableUuid(`phalanx:misp:org\n${publicKey}`) }
}

/** a report's lists as MISP galaxy tags (the galaxy whose clusters MISP attaches by that tag) */
export function mispGalaxyTags (r: Pick<ExportReport, 'attack' | 'actors' | 'malware' | 'campaigns' | 'sectors'>): string[] {
  return [
    ...r.attack.map(t => `misp-galaxy:mitre-attack-pattern="${t.name !== undefined ? `${t.name} - ${t.id}` : t.id}"`),
    ...r.actors.map(a => `misp-galaxy:threat-actor="${a}"`),
    ...r.malware.map(m => `misp-galaxy:malpedia="${m}"`),
    ...r.campaigns.map(c => `misp-galaxy:mitre-campaign="${c}"`),
    ...r.sectors.map(s => `misp-galaxy:sector="${s}"`)
  ]
}

export interface MispWriterOptions {
  /**
   * reports may follow the indicators: the export is then a list of events (MISP's own
   * multi-event JSON, `{"response": [{"Event": …}, …]}`), the indicators' event first, a
   * report's each after it; without, one event (`{"Event": …}`, what `POST /events/add` takes)
   */
  reports?: boolean
  /** the exporting organization: the indicators' event's `Orgc` */
  own?: { publicKey: string, org?: string | null }
}

/** what a report's event repeats of an indicator it links: MISP type, category, value, to_ids, TLP */
type AttributeCopy = [string, string, string, boolean, Tlp]

/**
 * A streamed MISP export: `head()`, then `attribute()` per indicator, then `report()` per report
 * (with `reports`), then `tail()`. A report is an event of its own: its nonce's UUID, the title
 * as `info`, the author's organization as `Orgc`, its TLP, type and galaxies as tags, the
 * indicators it links that this export wrote as attributes (a copy: type, value, TLP; MISP
 * correlates them with the first event's), its references as `link` attributes, its body as an
 * event report.
 */
export class MispEventWriter {
  #strictest: Tlp | undefined
  #count = 0
  #closed = false
  /** the attributes written, by indicator id, for the report events that link them (kept only with `reports`) */
  readonly #copies = new Map<string, AttributeCopy>()

  constructor (readonly info: string, readonly now = new Date(), readonly o: MispWriterOptions = {}) {}

  head (): string {
    const event: Record<string, unknown> = {
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
    if (this.o.own !== undefined) event.Orgc = mispOrgc(this.o.own.publicKey, this.o.own.org)
    const json = JSON.stringify({ Event: event })
    // leave the event open for its attributes
    return `${this.o.reports === true ? '{"response":[' : ''}${json.slice(0, -2)},"Attribute":[\n`
  }

  /** an attribute, with the comma it needs */
  attribute (ind: StoredIndicator, sightings: readonly MispSightingOf[] = []): string {
    this.#strictest = strictest([this.#strictest, ind.tlp])
    const a = toMispAttribute(ind, sightings)
    if (this.o.reports === true && ind.revoked === undefined) this.#copies.set(ind.id, [a.type as string, a.category as string, ind.value, a.to_ids as boolean, ind.tlp])
    return `${this.#count++ === 0 ? '' : ',\n'}${JSON.stringify(a)}`
  }

  /** a report as an event of its own ('' without `reports`: a single event cannot carry it) */
  report (r: ExportReport): string {
    if (this.o.reports !== true) return ''
    const attributes: Array<Record<string, unknown>> = []
    for (const id of r.indicators) {
      const c = this.#copies.get(id)
      if (c === undefined) continue
      attributes.push({ uuid: stableUuid(`phalanx:misp:attribute\n${r.nonce}\n${id}`), type: c[0], category: c[1], value: c[2], to_ids: c[3], Tag: [tlpTag(c[4])] })
    }
    for (const ref of r.references) {
      attributes.push({ uuid: stableUuid(`phalanx:misp:link\n${r.nonce}\n${ref}`), type: 'link', category: 'External analysis', value: ref, to_ids: false })
    }
    const when = r.published ?? r.modified
    const event: Record<string, unknown> = {
      uuid: mispEventUuid(r.nonce),
      info: r.title,
      date: when.slice(0, 10),
      timestamp: seconds(r.modified),
      ...(r.published !== undefined ? { publish_timestamp: seconds(r.published) } : {}),
      threat_level_id: '4',
      analysis: '2',
      distribution: '0',
      published: false,
      Orgc: mispOrgc(r.origin, r.org),
      Tag: [tlpTag(r.tlp), { name: EVENT_TYPE_TAG[r.type] }, ...mispGalaxyTags(r).map(name => ({ name }))],
      Attribute: attributes
    }
    if (r.body !== undefined && r.body !== '') {
      event.EventReport = [{ uuid: stableUuid(`phalanx:misp:event-report\n${r.nonce}`), name: r.title, content: r.body, distribution: '5', timestamp: seconds(r.modified) }]
    }
    return `${this.#close()},\n${JSON.stringify({ Event: event })}`
  }

  /** the end of the indicators' event (once) */
  #close (): string {
    if (this.#closed) return ''
    this.#closed = true
    const tags = this.#strictest === undefined ? [] : [tlpTag(this.#strictest)]
    return `\n],"Tag":${JSON.stringify(tags)}}}`
  }

  tail (): string {
    return `${this.#close()}${this.o.reports === true ? ']}' : ''}\n`
  }
}
