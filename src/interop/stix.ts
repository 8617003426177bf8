/**
 * STIX 2.1: indicators in and out.
 *
 * In: a bundle (or one object, or a list) → rows. An indicator whose pattern is a simple
 * comparison of a supported observable, or an OR of them, gives one row per value; its TLP
 * comes from object_marking_refs (TLP 2.0 and TLP 1.0 marking ids, and marking definitions
 * in the bundle); valid_from/valid_until, confidence, labels and kill chain phases (as tags)
 * are kept. A malware, threat actor, campaign… that a relationship links to an indicator
 * becomes a context tag of it (`malware:Name`); other objects are skipped with the reason.
 *
 * Out: an indicator object per stored indicator, with a stable id (derived from ours: the
 * same indicator keeps its STIX id, and `modified` tells its versions apart) and the TLP 2.0
 * marking definitions it uses; a bundle written in pieces ({@link StixBundleWriter}) so that
 * an export of any size is streamed.
 */
import type { ExportSighting } from './sighting.js'
import { createHash, randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { lastChangeOf, type StoredIndicator } from '../records/index.js'
import { parseTlp, TLP_LEVELS, type Tlp } from '../tlp/index.js'
import { strictest } from '../tlp/policy.js'
import type { Row } from './row.js'
import { streamObjects } from './stix-stream.js'

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

const MARKING_TLP: Record<string, Tlp> = {
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

type Obj = Record<string, any>

function objectsOf (doc: unknown): Obj[] {
  if (Array.isArray(doc)) return doc.filter(o => o !== null && typeof o === 'object')
  if (doc === null || typeof doc !== 'object') return []
  const d = doc as Obj
  if (d.type === 'bundle') return Array.isArray(d.objects) ? d.objects.filter((o: unknown) => o !== null && typeof o === 'object') : []
  return typeof d.type === 'string' ? [d] : []
}

/** context tags kept per indicator (an indicator has at most 64 tags in all) */
const MAX_CONTEXT_TAGS = 64

/** a context object's tag: its type and name (`malware:Poison Ivy`) */
function contextTag (o: Obj): string | undefined {
  const name = typeof o.name === 'string' ? o.name : undefined
  return name === undefined ? undefined : `${o.type as string}:${name}`.slice(0, 128)
}

/** what rows need from the whole bundle: TLP markings, and which objects are context of which indicators */
export interface StixIndex {
  markingTlp: Map<string, Tlp>
  /** marking definitions in the bundle that are not TLP (statements and others) */
  otherMarkings: Set<string>
  context: Map<string, string[]>
  usedRel: Set<string>
  usedCtx: Set<string>
  /** the bundle (or, over TAXII, any page so far) holds an indicator: its observables are not imported */
  hasIndicators: boolean
}

/** builds a StixIndex from the objects, seen once each in any order */
class IndexBuilder {
  readonly markingTlp = new Map<string, Tlp>(Object.entries(MARKING_TLP))
  readonly otherMarkings = new Set<string>()
  readonly importable = new Set<string>()
  readonly names = new Map<string, string>()
  readonly rels: Array<[string, string, string]> = []
  /** identities an importable indicator names as its creator (created_by_ref): context, not skipped */
  readonly creators = new Set<string>()
  hasIndicators = false

  add (o: Obj): void {
    if (o.type === 'marking-definition' && typeof o.id === 'string') {
      // the TLP 1.0 / 2.0 ids mean what the standard says, whatever a bundle claims of them
      if (Object.hasOwn(MARKING_TLP, o.id)) return
      const declared: unknown = o.definition?.tlp ?? o.extensions?.['extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d']?.tlp_2_0
      const name = typeof o.name === 'string' ? o.name : undefined
      // a TLP marking: declared so, or named like one
      const isTlpMarking = o.definition_type === 'tlp' || declared !== undefined || (name !== undefined && /^\s*tlp\b/i.test(name))
      let tlp: Tlp | undefined
      try { tlp = parseTlp(declared ?? name) } catch { tlp = undefined }
      if (tlp !== undefined) this.markingTlp.set(o.id, tlp)
      // a TLP marking we cannot read is in neither set: its indicators are skipped, never guessed
      else if (!isTlpMarking) this.otherMarkings.add(o.id)
    } else if (o.type === 'indicator') {
      this.hasIndicators = true
      if (typeof o.id === 'string' && typeof o.pattern === 'string' && (o.pattern_type === undefined || o.pattern_type === 'stix') && patternValues(o.pattern) !== null) {
        this.importable.add(o.id)
        if (typeof o.created_by_ref === 'string') this.creators.add(o.created_by_ref)
      }
    } else if (o.type === 'relationship') {
      if (typeof o.id === 'string' && typeof o.source_ref === 'string' && typeof o.target_ref === 'string') this.rels.push([o.id, o.source_ref, o.target_ref])
    } else if (typeof o.id === 'string') {
      const tag = contextTag(o)
      if (tag !== undefined) this.names.set(o.id, tag)
    }
  }

  finish (): StixIndex {
    const context = new Map<string, string[]>()
    const usedRel = new Set<string>()
    const usedCtx = new Set<string>(this.creators)
    for (const [id, src, tgt] of this.rels) {
      const [ind, other] = this.importable.has(src) ? [src, tgt] : this.importable.has(tgt) ? [tgt, src] : [undefined, undefined]
      if (ind === undefined || other === undefined) continue
      usedRel.add(id)
      const tag = this.names.get(other)
      if (tag === undefined) continue
      usedCtx.add(other)
      const tags = context.get(ind)
      if (tags === undefined) context.set(ind, [tag])
      else if (tags.length < MAX_CONTEXT_TAGS) tags.push(tag)
    }
    return { markingTlp: this.markingTlp, otherMarkings: this.otherMarkings, context, usedRel, usedCtx, hasIndicators: this.hasIndicators }
  }
}

const UNREADABLE_MARKING = 'marking definition neither TLP 1.0/2.0 nor defined in the bundle (its TLP cannot be told)'

/**
 * An object's TLP from its markings: the strictest when it carries several, undefined when none
 * is a TLP; UNREADABLE_MARKING when one cannot be read (it may be a TLP stricter than any
 * default: never guessed)
 */
function tlpOfMarkings (o: Obj, index: StixIndex): Tlp | undefined | typeof UNREADABLE_MARKING {
  const refs: unknown[] = Array.isArray(o.object_marking_refs) ? o.object_marking_refs : []
  if (refs.some(m => typeof m !== 'string' || (!index.markingTlp.has(m) && !index.otherMarkings.has(m)))) return UNREADABLE_MARKING
  return strictest((refs as string[]).map(m => index.markingTlp.get(m)))
}

/** the rows of one STIX object, given the bundle's index */
function * rowsOfObject (o: Obj, line: number, index: StixIndex): Generator<Row> {
  const type = typeof o.type === 'string' ? o.type : '?'
  if (type === 'indicator') {
    if (typeof o.pattern !== 'string') { yield { line, skip: 'indicator without a pattern' }; return }
    if (o.pattern_type !== undefined && o.pattern_type !== 'stix') { yield { line, skip: `unsupported pattern type: ${String(o.pattern_type).slice(0, 30)}` }; return }
    const values = patternValues(o.pattern)
    if (values === null) { yield { line, skip: 'unsupported STIX pattern (only comparisons of ipv4/ipv6/domain/url/email/hashes/AS, OR-ed)' }; return }
    const tlp = tlpOfMarkings(o, index)
    if (tlp === UNREADABLE_MARKING) { yield { line, skip: UNREADABLE_MARKING }; return }
    const tags = [
      ...(Array.isArray(o.labels) ? o.labels : []),
      ...(Array.isArray(o.kill_chain_phases) ? o.kill_chain_phases.map((k: Obj) => `${String(k.kill_chain_name)}:${String(k.phase_name)}`) : []),
      ...(index.context.get(o.id) ?? [])
    ].filter((t: unknown): t is string => typeof t === 'string' && t.trim() !== '').slice(0, 64)
    // the description; else the name, unless it is just the value (as Phalanx exports it)
    const description = typeof o.description === 'string' && o.description !== '' ? o.description.slice(0, 4096) : typeof o.name === 'string' && !values.some(v => v.value === o.name) ? o.name.slice(0, 4096) : ''
    for (const v of values) {
      const input: Record<string, unknown> = { type: v.type, value: v.value }
      if (tlp !== undefined) input.tlp = tlp
      if (typeof o.confidence === 'number') input.confidence = o.confidence
      if (tags.length > 0) input.tags = tags
      if (description !== '') input.description = description
      if (typeof o.valid_from === 'string') input.validFrom = o.valid_from
      if (typeof o.valid_until === 'string') input.validUntil = o.valid_until
      if (o.revoked === true) { yield { line, revoke: { type: v.type, value: v.value } }; continue }
      yield { line, input }
    }
    return
  }
  // a bundle of observables only (no indicator): each observable's values are indicators
  const observed = index.hasIndicators ? [] : observableValues(o)
  if (observed.length > 0) {
    const tlp = tlpOfMarkings(o, index)
    if (tlp === UNREADABLE_MARKING) { yield { line, skip: UNREADABLE_MARKING }; return }
    for (const v of observed) yield { line, input: { type: v.type, value: v.value, ...(tlp !== undefined ? { tlp } : {}) } }
    return
  }
  if (type === 'relationship' && index.usedRel.has(o.id)) { yield { line, context: 'relationship' }; return }
  if (index.usedCtx.has(o.id)) { yield { line, context: type }; return }
  if (type === 'marking-definition') { yield { line, context: 'marking-definition' }; return }
  yield { line, skip: `${type}: not an indicator, and not linked to an imported one` }
}

/** rows of a STIX document held in memory (a bundle, a list of objects, or one object) */
export function stixRows (doc: unknown): Generator<Row> {
  // one page holding everything
  return new StixPages().rows(objectsOf(doc))
}

/** marking definitions a {@link StixPages} remembers from earlier pages, at most */
const MAX_CARRIED_MARKINGS = 10_000

/**
 * Rows of STIX objects that arrive page by page (a TAXII collection): marking definitions of
 * earlier pages still give their TLP on later ones; relationships link the objects of one
 * page. Lines count objects across all pages.
 */
export class StixPages {
  readonly #markingTlp = new Map<string, Tlp>()
  readonly #otherMarkings = new Set<string>()
  #line = 0
  /** an earlier page held an indicator: the collection is not observables only */
  #sawIndicators = false

  /** the rows of one page's objects */
  rows (objects: unknown[]): Generator<Row> {
    return this.#rows(objects)
  }

  * #rows (objects: unknown[]): Generator<Row> {
    const page = objectsOf({ type: 'bundle', objects })
    const b = new IndexBuilder()
    for (const [id, tlp] of this.#markingTlp) b.markingTlp.set(id, tlp)
    for (const id of this.#otherMarkings) b.otherMarkings.add(id)
    for (const o of page) b.add(o)
    b.hasIndicators ||= this.#sawIndicators
    const index = b.finish()
    this.#sawIndicators = index.hasIndicators
    for (const [id, tlp] of index.markingTlp) if (this.#markingTlp.size < MAX_CARRIED_MARKINGS && !Object.hasOwn(MARKING_TLP, id)) this.#markingTlp.set(id, tlp)
    for (const id of index.otherMarkings) if (this.#otherMarkings.size < MAX_CARRIED_MARKINGS) this.#otherMarkings.add(id)
    for (const o of page) yield * rowsOfObject(o, ++this.#line, index)
  }
}

/**
 * Rows of a STIX bundle read twice from a stream (`open` opens it again): first the index
 * (markings, relationships, names; the importable indicator ids), then the rows. Memory
 * holds the index, not the objects. A malformed file fails in the first pass, before any row.
 */
export async function * streamStixRows (open: () => Readable): AsyncGenerator<Row> {
  const b = new IndexBuilder()
  for await (const o of streamObjects(open())) b.add(o)
  const index = b.finish()
  let line = 0
  for await (const o of streamObjects(open())) yield * rowsOfObject(o, ++line, index)
}

// ---- export ------------------------------------------------------------------------------

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

/**
 * A streamed STIX 2.1 bundle: `head()` (the bundle and the five TLP 2.0 marking
 * definitions), then `indicator()` per stored indicator (nothing for a type STIX patterns do
 * not cover), then `tail()`.
 */
export class StixBundleWriter {
  constructor (readonly id = `bundle--${randomUUID()}`, readonly orgName?: (publicKey: string) => string | undefined) {}

  head (): string {
    return `{"type":"bundle","id":"${this.id}","objects":[\n` + TLP_LEVELS.map(t => JSON.stringify(tlpMarkingObject(t))).join(',\n')
  }

  /** organizations whose identity is already in the bundle */
  #identities = new Set<string>()

  /**
   * an indicator, with the comma it needs ('' for a type STIX patterns do not cover), and a
   * `sighting` per organization that sighted its value (after that organization's `identity`)
   */
  indicator (ind: StoredIndicator, sightings: readonly ExportSighting[] = []): string {
    const o = toStixIndicator(ind)
    // the marking definitions come first: every indicator follows an object
    if (o === null) return ''
    // its origin's identity (once per bundle) before it: created_by_ref names it
    let text = ''
    const identityOf = (publicKey: string, org: string | null): string => {
      const identity = toStixIdentity(publicKey, org)
      if (!this.#identities.has(identity.id as string)) {
        this.#identities.add(identity.id as string)
        text += `,\n${JSON.stringify(identity)}`
      }
      return identity.id as string
    }
    o.created_by_ref = identityOf(ind.origin, this.orgName?.(ind.origin) ?? null)
    text += `,\n${JSON.stringify(o)}`
    for (const s of sightings) {
      const id = identityOf(s.publicKey, s.org)
      text += `,\n${JSON.stringify(toStixSighting(ind, s, id))}`
    }
    return text
  }

  tail (): string {
    return '\n]}\n'
  }
}
