/**
 * STIX 2.1 out: an indicator object per stored indicator, with a stable id (derived from ours:
 * the same indicator keeps its STIX id, and `modified` tells its versions apart) and the TLP
 * 2.0 marking definitions it uses; the identity of each origin, its sightings; a report with
 * its attack patterns, threat actors, malware, campaigns and relationships; a bundle written
 * in pieces ({@link StixBundleWriter}) so that an export of any size is streamed. The way in
 * is stix.ts.
 */
import type { ExportSighting } from './sighting.js'
import { createHash, randomUUID } from 'node:crypto'
import { lastChangeOf, type StoredIndicator } from '../records/index.js'
import { TLP_LEVELS } from '../tlp/index.js'
import { uuidOfNonce, type ExportReport } from './report.js'
import { TLP2_MARKINGS, patternOf, tlpMarkingObject } from './stix-patterns.js'

/** 32 hex digits in UUID form, with the version (5: name-based) and variant bits set */
function uuidOfHex (h: string): string {
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** a stable UUID (RFC 4122 form, version 5 bits) derived from a name */
export function stableUuid (name: string): string {
  return uuidOfHex(createHash('sha256').update(name).digest('hex'))
}

/**
 * The STIX id of one of our indicators: its id (128 bits of SHA-256 already, hex) in UUID
 * form. The same for every version of the indicator, and it leads back to the indicator:
 * see {@link idCandidatesOfStixId}.
 */
export function stixIndicatorId (id: string): string {
  return `indicator--${uuidOfHex(id)}`
}

const OUR_STIX_ID_RE = /^indicator--([0-9a-f]{8})-([0-9a-f]{4})-5([0-9a-f]{3})-([89ab])([0-9a-f]{3})-([0-9a-f]{12})$/

/**
 * The indicator ids a STIX id of ours may come from, or null when it is not in our form. The
 * UUID form overwrites 6 of the id's 128 bits (digit 12 and the top 2 bits of digit 16), so
 * there are exactly 64; the one stored whose {@link stixIndicatorId} is equal is the indicator.
 */
export function idCandidatesOfStixId (stixId: string): string[] | null {
  const m = OUR_STIX_ID_RE.exec(stixId)
  if (m === null) return null
  const low2 = parseInt(m[4], 16) & 0x3
  const out: string[] = []
  for (let d12 = 0; d12 < 16; d12++) {
    for (let top2 = 0; top2 < 4; top2++) {
      out.push(`${m[1]}${m[2]}${d12.toString(16)}${m[3]}${((top2 << 2) | low2).toString(16)}${m[5]}${m[6]}`)
    }
  }
  return out
}

/** a STIX timestamp: RFC 3339 with milliseconds, UTC */
function ts (iso: string): string {
  // stored times are already in this form (normalized on input): skip the Date round trip
  return ISO_MS_UTC.test(iso) ? iso : new Date(iso).toISOString()
}

const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** our indicator as a STIX 2.1 indicator (null for a type STIX patterns do not cover) */
export function toStixIndicator (ind: StoredIndicator): Record<string, unknown> | null {
  const pattern = patternOf(ind.type, ind.value)
  if (pattern === null) return null
  const validFrom = ts(ind.validFrom ?? ind.created)
  const o: Record<string, unknown> = {
    type: 'indicator',
    spec_version: '2.1',
    id: stixIndicatorId(ind.id),
    created: ts(ind.created),
    modified: ts(lastChangeOf(ind)),
    name: ind.value,
    pattern,
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: validFrom,
    confidence: ind.confidence,
    object_marking_refs: [TLP2_MARKINGS[ind.tlp]]
  }
  if (ind.description !== undefined) o.description = ind.description
  if (ind.validUntil !== undefined && ts(ind.validUntil) > validFrom) o.valid_until = ts(ind.validUntil)
  if (ind.tags.length > 0) o.labels = ind.tags
  if (ind.revoked !== undefined) o.revoked = true
  return o
}

/** the STIX identity of an organization: a stable id from its public key, its name as this node knows it */
export function toStixIdentity (publicKey: string, org: string | null): Record<string, unknown> {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: `identity--${stableUuid(`phalanx-org:${publicKey}`)}`,
    created: EPOCH,
    modified: EPOCH,
    name: org ?? `org ${publicKey.slice(0, 16)}`,
    identity_class: 'organization',
    x_phalanx_public_key: publicKey
  }
}

/** the identities' timestamps: an identity here is a name for a key, not a dated statement */
const EPOCH = '1970-01-01T00:00:00.000Z'

/**
 * One organization's sightings of an indicator's value as a STIX sighting: `where_sighted_refs`
 * its identity, the count and times; what it did in `x_phalanx_action` (STIX has no field for
 * it), its note as the description. The same id for the same indicator and organization.
 */
export function toStixSighting (ind: StoredIndicator, s: ExportSighting, identityId: string): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'sighting',
    spec_version: '2.1',
    id: `sighting--${stableUuid(`phalanx-sighting:${ind.id}:${s.publicKey}`)}`,
    created: ts(s.firstSeen),
    modified: ts(s.lastSeen),
    first_seen: ts(s.firstSeen),
    last_seen: ts(s.lastSeen),
    count: s.count,
    sighting_of_ref: stixIndicatorId(ind.id),
    where_sighted_refs: [identityId],
    object_marking_refs: [TLP2_MARKINGS[ind.tlp]],
    x_phalanx_action: s.action
  }
  if (s.note !== undefined) o.description = s.note
  return o
}

// ---- reports out (issue 16) ---------------------------------------------------------------

/** the form every STIX identifier's UUID must have (the OASIS schemas' identifier.json) */
const STIX_UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * The STIX id of a report: its nonce as the UUID (so a report imported from STIX keeps the
 * source's id, and an export imported back has the same nonce); a nonce that is not a UUID of
 * STIX's form gets the version and variant bits set (stable too, 6 of its bits overwritten)
 */
export function stixReportId (nonce: string): string {
  const uuid = uuidOfNonce(nonce)
  return `report--${STIX_UUID_RE.test(uuid) ? uuid : uuidOfHex(nonce)}`
}

/** the ATT&CK page of a technique (T1566.002 → techniques/T1566/002/) */
function attackTechniqueUrl (id: string): string {
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`
}

/**
 * An ATT&CK technique as a STIX attack-pattern: the same id for the same technique in every
 * bundle of every node, its name when the node knows it (else its id), the `mitre-attack`
 * external reference that tools key on
 */
export function toStixAttackPattern (t: { id: string, name?: string }): Record<string, unknown> {
  return {
    type: 'attack-pattern',
    spec_version: '2.1',
    id: `attack-pattern--${stableUuid(`phalanx-attack:${t.id}`)}`,
    created: EPOCH,
    modified: EPOCH,
    name: t.name ?? t.id,
    external_references: [{ source_name: 'mitre-attack', external_id: t.id, url: attackTechniqueUrl(t.id) }]
  }
}

/** the STIX types of a report's names */
const NAME_TYPES = { actors: 'threat-actor', malware: 'malware', campaigns: 'campaign' } as const

/** a named threat actor, malware family or campaign: the same id for the same name (any case) everywhere */
export function toStixNamed (type: 'threat-actor' | 'malware' | 'campaign', name: string): Record<string, unknown> {
  return {
    type,
    spec_version: '2.1',
    id: `${type}--${stableUuid(`phalanx-${type}:${name.toLowerCase()}`)}`,
    created: EPOCH,
    modified: EPOCH,
    name,
    ...(type === 'malware' ? { is_family: true } : {})
  }
}

/** a report's reference as a STIX external reference: a URL, else "source: what" (our import's form) */
function externalReferenceOf (ref: string): Record<string, string> {
  if (/^https?:\/\/\S+$/i.test(ref)) {
    try { return { source_name: new URL(ref).hostname || 'reference', url: ref } } catch { /* a citation */ }
  }
  const m = /^([^:]{1,100}): (.+)$/s.exec(ref)
  // cve and capec references must carry an id of their form (the schemas' external-reference)
  if (m !== null && !/^(cve|capec)$/.test(m[1])) return { source_name: m[1], description: m[2] }
  return { source_name: 'reference', description: ref }
}

/** relationships one report gives at most (indicators × names can be large) */
const MAX_REPORT_RELATIONSHIPS = 10_000

/**
 * A report as STIX objects: its author's identity, its ATT&CK techniques as attack-patterns,
 * its threat actors, malware and campaigns (ids from their names: the same in every bundle),
 * relationships marked with its TLP (each indicator `indicates` its malware, threat actors and
 * campaigns; threat actors and campaigns `use` its attack patterns and malware), and last the
 * `report` referring to all of them and to `indicators` (the STIX ids of the linked indicators
 * the receiver gets with it)
 */
export function toStixReportObjects (r: ExportReport, indicators: readonly string[], org: string | null): Array<Record<string, unknown>> {
  const marking = [TLP2_MARKINGS[r.tlp]]
  const modified = ts(r.modified)
  const identity = toStixIdentity(r.origin, org)
  const by = identity.id as string
  const techniques = r.attack.map(toStixAttackPattern)
  const actors = r.actors.map(n => toStixNamed(NAME_TYPES.actors, n))
  const malware = r.malware.map(n => toStixNamed(NAME_TYPES.malware, n))
  const campaigns = r.campaigns.map(n => toStixNamed(NAME_TYPES.campaigns, n))
  const idsOf = (objects: Array<Record<string, unknown>>): string[] => objects.map(o => o.id as string)
  const pairs: Array<[string, string, string]> = []
  for (const ind of indicators) for (const target of idsOf([...malware, ...actors, ...campaigns])) pairs.push([ind, 'indicates', target])
  for (const source of idsOf([...actors, ...campaigns])) for (const target of idsOf([...techniques, ...malware])) pairs.push([source, 'uses', target])
  const relationships = pairs.slice(0, MAX_REPORT_RELATIONSHIPS).map(([source, type, target]) => ({
    type: 'relationship',
    spec_version: '2.1',
    // per report: its TLP marks it
    id: `relationship--${stableUuid(`phalanx-relationship:${r.nonce}:${source}:${type}:${target}`)}`,
    created: modified,
    modified,
    relationship_type: type,
    source_ref: source,
    target_ref: target,
    created_by_ref: by,
    object_marking_refs: marking
  }))
  const refs = [...indicators, ...idsOf([...techniques, ...actors, ...malware, ...campaigns, ...relationships])]
  const report: Record<string, unknown> = {
    type: 'report',
    spec_version: '2.1',
    id: stixReportId(r.nonce),
    created_by_ref: by,
    created: modified,
    modified,
    name: r.title,
    ...(r.body !== undefined ? { description: r.body } : {}),
    report_types: r.type === 'incident' ? ['threat-report', 'incident'] : ['threat-report'],
    published: ts(r.published ?? r.modified),
    // a report refers to one object at least: its author when it has nothing else
    object_refs: refs.length > 0 ? refs : [by],
    object_marking_refs: marking
  }
  if (r.references.length > 0) report.external_references = r.references.map(externalReferenceOf)
  if (r.sectors.length > 0) report.x_phalanx_sectors = r.sectors
  return [identity, ...techniques, ...actors, ...malware, ...campaigns, ...relationships, report]
}

/**
 * A streamed STIX 2.1 bundle: `head()` (the bundle and the five TLP 2.0 marking
 * definitions), then `indicator()` per stored indicator (nothing for a type STIX patterns do
 * not cover), then `report()` per report, then `tail()`. It remembers the ids of the
 * indicators it wrote (a report refers to those) and of the objects each given once.
 */
export class StixBundleWriter {
  constructor (readonly id = `bundle--${randomUUID()}`, readonly orgName?: (publicKey: string) => string | undefined) {}

  head (): string {
    return `{"type":"bundle","id":"${this.id}","objects":[\n` + TLP_LEVELS.map(t => JSON.stringify(tlpMarkingObject(t))).join(',\n')
  }

  /** ids of the objects already in the bundle (identities, attack patterns, threat actors, malware, campaigns, relationships) */
  #written = new Set<string>()
  /** ids of our indicators written (a report refers to those) */
  #indicators = new Set<string>()

  /** an object unless the bundle holds it already (its text with the comma it needs, or ''), and its id */
  #once (o: Record<string, unknown>): [string, string] {
    const id = o.id as string
    if (this.#written.has(id)) return ['', id]
    this.#written.add(id)
    return [`,\n${JSON.stringify(o)}`, id]
  }

  /**
   * an indicator, with the comma it needs ('' for a type STIX patterns do not cover), and a
   * `sighting` per organization that sighted its value (after that organization's `identity`)
   */
  indicator (ind: StoredIndicator, sightings: readonly ExportSighting[] = []): string {
    const o = toStixIndicator(ind)
    // the marking definitions come first: every indicator follows an object
    if (o === null) return ''
    this.#indicators.add(ind.id)
    // its origin's identity (once per bundle) before it: created_by_ref names it
    const [identity, by] = this.#once(toStixIdentity(ind.origin, this.orgName?.(ind.origin) ?? null))
    o.created_by_ref = by
    let text = `${identity},\n${JSON.stringify(o)}`
    for (const s of sightings) {
      const [sighter, id] = this.#once(toStixIdentity(s.publicKey, s.org))
      text += `${sighter},\n${JSON.stringify(toStixSighting(ind, s, id))}`
    }
    return text
  }

  /**
   * A report (after the indicators), its objects each once per bundle ({@link toStixReportObjects}),
   * referring to the indicators it links that this bundle holds
   */
  report (r: ExportReport): string {
    const indicators = r.indicators.filter(id => this.#indicators.has(id)).map(stixIndicatorId)
    return toStixReportObjects(r, indicators, r.org ?? this.orgName?.(r.origin) ?? null).map(o => this.#once(o)[0]).join('')
  }

  tail (): string {
    return '\n]}\n'
  }
}
