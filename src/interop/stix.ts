/**
 * STIX 2.1 in. What both ways share (the TLP marking definitions, patterns, observables) is
 * stix-patterns.ts; the way out is stix-export.ts.
 *
 * In: a bundle (or one object, or a list) → rows. An indicator whose pattern is a simple
 * comparison of a supported observable, or an OR of them, gives one row per value; its TLP
 * comes from object_marking_refs (TLP 2.0 and TLP 1.0 marking ids, and marking definitions
 * in the bundle); valid_from/valid_until, confidence, labels and kill chain phases (as tags)
 * are kept. A `report` becomes a report row (its indicators' values, the ATT&CK techniques of
 * its attack patterns, its threat actors / intrusion sets, malware and campaigns, and those one
 * relationship away); threat actors, intrusion sets, malware, campaigns and attack patterns
 * related to indicators that no report of the bundle covers become one report made for the
 * bundle. Other objects a relationship links to an indicator (a tool, a vulnerability…) become
 * context tags of it (`tool:Name`); anything else is skipped with the reason.
 */
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { REPORT_LIMITS, parseAttackId } from '../records/index.js'
import { parseTlp, type Tlp } from '../tlp/index.js'
import { strictest } from '../tlp/policy.js'
import type { ReportRowInput, Row } from './row.js'
import { nonceOfUuid } from './report.js'
import { streamObjects } from './stix-stream.js'
import { MARKING_TLP, observableValues, patternValues } from './stix-patterns.js'

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

/** a context object's tag: its type and name (`tool:Mimikatz`) */
function contextTag (o: Obj): string | undefined {
  const name = typeof o.name === 'string' ? o.name : undefined
  return name === undefined ? undefined : `${o.type as string}:${name}`.slice(0, 128)
}

// ---- reports (issue 16) -------------------------------------------------------------------

/** the report list each of these kinds of STIX object goes in: never an indicator's tag */
const REPORT_LISTS = { 'threat-actor': 'actors', 'intrusion-set': 'actors', malware: 'malware', campaign: 'campaigns', 'attack-pattern': 'attack' } as const
type ReportList = typeof REPORT_LISTS[keyof typeof REPORT_LISTS]

function reportListOf (type: unknown): ReportList | undefined {
  return typeof type === 'string' && Object.hasOwn(REPORT_LISTS, type) ? REPORT_LISTS[type as keyof typeof REPORT_LISTS] : undefined
}

/** ids a report refers to that are kept, at most (a report links 500 indicators; the rest is context) */
const MAX_REPORT_REFS = 100_000
/** context objects (threat actors, malware…) remembered from one bundle or page, at most */
const MAX_REPORT_CONTEXT = 100_000

/** ATT&CK's external reference source names (Enterprise, Mobile, ICS) */
const ATTACK_SOURCE_RE = /^mitre-(?:mobile-|ics-)?attack$/i

/**
 * The ATT&CK technique id of an attack pattern: its `mitre-attack` external reference's
 * external_id (or OpenCTI's `x_mitre_id`) when that is a technique (T1566, T1566.002); a
 * tactic (TA0001) or any other id is not one
 */
export function techniqueOfAttackPattern (o: Obj): string | undefined {
  const refs: unknown[] = Array.isArray(o.external_references) ? o.external_references : []
  for (const r of refs) {
    if (r === null || typeof r !== 'object') continue
    const { source_name: source, external_id: id } = r as Obj
    if (typeof source === 'string' && ATTACK_SOURCE_RE.test(source) && typeof id === 'string') {
      const t = parseAttackId(id)
      if (t !== undefined) return t
    }
  }
  return typeof o.x_mitre_id === 'string' ? parseAttackId(o.x_mitre_id) : undefined
}

/** a name on one line (runs of white space as one space), at most `max` characters (cut with …) */
function oneLine (s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim()
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`
}

/** a report's references from its external_references: the URL, else "source_name: external_id" (or its description) */
function referencesOf (o: Obj): string[] {
  const out: string[] = []
  for (const r of Array.isArray(o.external_references) ? o.external_references as unknown[] : []) {
    if (r === null || typeof r !== 'object') continue
    const { url, source_name: source, external_id: id, description } = r as Obj
    const what = typeof id === 'string' && id.trim() !== '' ? id : typeof description === 'string' && description.trim() !== '' ? description : undefined
    const ref = typeof url === 'string' && url.trim() !== '' ? url.trim() : typeof source === 'string' && what !== undefined ? `${source}: ${what}` : undefined
    if (ref === undefined) continue
    const cut = oneLine(ref, REPORT_LIMITS.REFERENCE_MAX)
    if (cut !== '' && !out.includes(cut)) out.push(cut)
    if (out.length >= REPORT_LIMITS.REFERENCES_MAX) break
  }
  return out
}

/** a body of at most BODY_MAX_BYTES (UTF-8), LF line ends; a longer one is cut with a note saying so */
function bodyOf (description: string): string {
  const body = description.replace(/\r\n/g, '\n')
  const size = Buffer.byteLength(body)
  if (size <= REPORT_LIMITS.BODY_MAX_BYTES) return body
  const note = `\n\n[cut on import: the STIX description was ${size} bytes; a report body holds ${REPORT_LIMITS.BODY_MAX_BYTES}]`
  // cut at a byte; a character split there is dropped (its replacement character removed)
  const head = Buffer.from(body).subarray(0, REPORT_LIMITS.BODY_MAX_BYTES - Buffer.byteLength(note)).toString('utf8').replace(/\uFFFD$/, '')
  return head + note
}

/** a context object a report keeps: its list, its name (an attack pattern's technique id; none when it has no technique), its place in the page */
interface ReportContext { list: ReportList, name?: string, at: number }

/**
 * A report being read. The first pass (the index) keeps its fields and the ids it refers to;
 * the second adds the values of the indicators and observables among them, as it meets them.
 */
interface PendingReport {
  /** its place in the page (1-based): the report object's, or (made for the bundle) its first context object's */
  at: number
  /** what the row says when the report cannot be read */
  skip?: string
  /** made for the bundle (no report object of its own): its title names what it keeps */
  made?: true
  fields: Omit<ReportRowInput, 'values' | 'attack' | 'actors' | 'malware' | 'campaigns' | 'tlp'>
  markings?: unknown
  /** the ids it refers to (object_refs, and the ends of the relationships among them) */
  refs: Set<string>
  /** the context objects it keeps (those it refers to, and those one relationship away) */
  context: Set<string>
  values: Map<string, { type: string, value: string }>
}

/** the title of a report made for a bundle without one, from the names it keeps */
const MADE_TITLE = 'STIX context'
const MADE_BODY = 'Made on import from a STIX bundle: the threat actors, intrusion sets, malware, campaigns and attack patterns its relationships link to its indicators, which no report of the bundle covered.'

/** the reports of a bundle (or a TAXII page) as its index holds them */
export interface StixReports {
  /** by the report object's id; a report made for the bundle under MADE_KEY */
  pending: Map<string, PendingReport>
  /** which pending reports refer to an object id (indicators and observables give them values) */
  byRef: Map<string, PendingReport[]>
  context: Map<string, ReportContext>
}

const MADE_KEY = ' made'

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
  reports: StixReports
}

/** builds a StixIndex from the objects, seen once each in any order */
class IndexBuilder {
  readonly markingTlp = new Map<string, Tlp>(Object.entries(MARKING_TLP))
  readonly otherMarkings = new Set<string>()
  readonly importable = new Set<string>()
  readonly names = new Map<string, string>()
  readonly rels: Array<[string, string, string]> = []
  /** identities an importable indicator or a report names as its creator (created_by_ref): context, not skipped */
  readonly creators = new Set<string>()
  readonly reportContext = new Map<string, ReportContext>()
  readonly pending = new Map<string, PendingReport>()
  hasIndicators = false
  /** objects added so far: the place of the next in the page */
  #at = 0

  add (o: Obj): void {
    const at = ++this.#at
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
    } else if (o.type === 'report') {
      if (typeof o.id === 'string') this.pending.set(o.id, this.#report(o, at))
    } else if (typeof o.id === 'string') {
      const list = reportListOf(o.type)
      if (list !== undefined) {
        if (this.reportContext.size < MAX_REPORT_CONTEXT) {
          const name = list === 'attack' ? techniqueOfAttackPattern(o) : typeof o.name === 'string' ? oneLine(o.name, REPORT_LIMITS.NAME_MAX) : undefined
          this.reportContext.set(o.id, { list, ...(name !== undefined && name !== '' ? { name } : {}), at })
        }
        return
      }
      const tag = contextTag(o)
      if (tag !== undefined) this.names.set(o.id, tag)
    }
  }

  /** a STIX report as the index keeps it (its values come in the second pass) */
  #report (o: Obj, at: number): PendingReport {
    const refs = new Set<string>()
    for (const r of Array.isArray(o.object_refs) ? o.object_refs as unknown[] : []) {
      if (typeof r === 'string' && refs.size < MAX_REPORT_REFS) refs.add(r)
    }
    const p: PendingReport = { at, refs, context: new Set(), values: new Map(), fields: { type: 'analysis', title: '' } }
    const title = typeof o.name === 'string' ? oneLine(o.name, REPORT_LIMITS.TITLE_MAX) : ''
    if (title === '') { p.skip = 'report without a name (a report needs a title)'; return p }
    if (typeof o.created_by_ref === 'string') this.creators.add(o.created_by_ref)
    const types: unknown[] = Array.isArray(o.report_types) ? o.report_types : []
    const nonce = typeof o.id === 'string' ? nonceOfUuid(o.id.slice('report--'.length)) : undefined
    const references = referencesOf(o)
    // the sectors a Phalanx export names (STIX has no field of a report for them)
    const sectors = Array.isArray(o.x_phalanx_sectors) ? [...new Set((o.x_phalanx_sectors as unknown[]).filter((x): x is string => typeof x === 'string').map(x => oneLine(x, REPORT_LIMITS.NAME_MAX)).filter(x => x !== ''))].slice(0, REPORT_LIMITS.NAMES_MAX) : []
    p.fields = {
      type: types.some(t => typeof t === 'string' && t.toLowerCase() === 'incident') ? 'incident' : 'analysis',
      title,
      ...(nonce !== undefined ? { nonce } : {}),
      ...(typeof o.description === 'string' && o.description.trim() !== '' ? { body: bodyOf(o.description) } : {}),
      ...(typeof o.published === 'string' ? { published: o.published } : {}),
      ...(references.length > 0 ? { references } : {}),
      ...(sectors.length > 0 ? { sectors } : {})
    }
    if (o.object_marking_refs !== undefined) p.markings = o.object_marking_refs
    return p
  }

  finish (): StixIndex {
    const context = new Map<string, string[]>()
    const usedRel = new Set<string>()
    const usedCtx = new Set<string>(this.creators)
    const reportCtx = this.reportContext
    /** context objects of reports linked to an importable indicator: each with those indicators */
    const linked = new Map<string, Set<string>>()
    for (const [id, src, tgt] of this.rels) {
      const [ind, other] = this.importable.has(src) ? [src, tgt] : this.importable.has(tgt) ? [tgt, src] : [undefined, undefined]
      if (ind === undefined || other === undefined) continue
      usedRel.add(id)
      if (reportCtx.has(other)) {
        // a threat actor, malware… of an indicator: a report keeps it, not a tag
        usedCtx.add(other)
        const inds = linked.get(other)
        if (inds === undefined) linked.set(other, new Set([ind]))
        else if (inds.size < REPORT_LIMITS.INDICATORS_MAX) inds.add(ind)
        continue
      }
      const tag = this.names.get(other)
      if (tag === undefined) continue
      usedCtx.add(other)
      const tags = context.get(ind)
      if (tags === undefined) context.set(ind, [tag])
      else if (tags.length < MAX_CONTEXT_TAGS) tags.push(tag)
    }
    // the reports of the bundle: what they refer to, the relationships among those, and the
    // context objects one relationship away from them
    const byRef = new Map<string, PendingReport[]>()
    const refer = (p: PendingReport, id: string): void => {
      const list = byRef.get(id)
      if (list === undefined) byRef.set(id, [p])
      else if (list[list.length - 1] !== p) list.push(p)
    }
    const readable = [...this.pending.values()].filter(p => p.skip === undefined)
    if (readable.length > 0) {
      for (const p of readable) for (const id of p.refs) refer(p, id)
      // a relationship a report refers to: its two ends are referred to
      for (const [id, src, tgt] of this.rels) {
        const reports = byRef.get(id)
        if (reports === undefined) continue
        usedRel.add(id)
        for (const p of [...reports]) {
          for (const end of [src, tgt]) {
            if (p.refs.has(end) || p.refs.size >= MAX_REPORT_REFS) continue
            p.refs.add(end)
            refer(p, end)
          }
        }
      }
      for (const [id, src, tgt] of this.rels) {
        for (const [from, to] of [[src, tgt], [tgt, src]]) {
          if (!reportCtx.has(to)) continue
          for (const p of byRef.get(from) ?? []) {
            p.context.add(to)
            usedRel.add(id)
          }
        }
      }
      for (const p of readable) {
        for (const id of p.refs) if (reportCtx.has(id)) p.context.add(id)
        for (const id of p.context) usedCtx.add(id)
      }
    }
    // context objects linked to indicators that no report covers: one report made for the bundle
    const covered = new Set(readable.flatMap(p => [...p.context]))
    const left = [...linked.keys()].filter(id => !covered.has(id)).sort()
    if (left.length > 0) {
      const inds = [...new Set(left.flatMap(id => [...linked.get(id) ?? []]))].sort()
      const p: PendingReport = {
        at: Math.min(...left.map(id => reportCtx.get(id)?.at ?? Infinity)),
        made: true,
        refs: new Set(inds),
        context: new Set(left),
        values: new Map(),
        // the same objects and indicators give the same report again (a re-import is a new version of it)
        fields: { type: 'analysis', title: MADE_TITLE, nonce: createHash('sha256').update(`phalanx-stix-context\n${JSON.stringify([left, inds])}`).digest('hex').slice(0, 32), body: MADE_BODY }
      }
      this.pending.set(MADE_KEY, p)
      for (const id of inds) refer(p, id)
    }
    return { markingTlp: this.markingTlp, otherMarkings: this.otherMarkings, context, usedRel, usedCtx, hasIndicators: this.hasIndicators, reports: { pending: this.pending, byRef, context: reportCtx } }
  }
}

/** the values of an indicator or observable that reports refer to, added to them (the second pass) */
function addReportValues (o: Obj, values: Array<{ type: string, value: string }>, index: StixIndex): void {
  const reports = typeof o.id === 'string' ? index.reports.byRef.get(o.id) : undefined
  if (reports === undefined || o.revoked === true) return
  for (const p of reports) {
    for (const v of values) {
      if (p.values.size >= REPORT_LIMITS.INDICATORS_MAX) break
      p.values.set(`${v.type}\n${v.value}`, v)
    }
  }
}

/** the row of a pending report once the second pass has met its indicators */
function reportRow (p: PendingReport, line: number, index: StixIndex): Row {
  if (p.skip !== undefined) return { line, skip: p.skip }
  const tlp = p.markings === undefined ? undefined : tlpOfMarkings({ object_marking_refs: p.markings }, index)
  if (tlp === UNREADABLE_MARKING) return { line, skip: `report: ${UNREADABLE_MARKING}` }
  const lists: Record<ReportList, Map<string, string>> = { actors: new Map(), malware: new Map(), campaigns: new Map(), attack: new Map() }
  for (const id of p.context) {
    const c = index.reports.context.get(id)
    if (c?.name === undefined) continue
    const list = lists[c.list]
    if (list.size < (c.list === 'attack' ? REPORT_LIMITS.ATTACK_MAX : REPORT_LIMITS.NAMES_MAX)) list.set(c.name.toLowerCase(), c.name)
  }
  const named = (l: ReportList): string[] => [...lists[l].values()].sort()
  const input: ReportRowInput = { ...p.fields, values: [...p.values.values()] }
  if (p.made === true) {
    input.title = oneLine(`${MADE_TITLE}: ${[...named('actors'), ...named('campaigns'), ...named('malware'), ...named('attack')].join(', ')}`, REPORT_LIMITS.TITLE_MAX)
  }
  for (const l of ['attack', 'actors', 'malware', 'campaigns'] as const) if (lists[l].size > 0) input[l] = named(l)
  if (tlp !== undefined) input.tlp = tlp
  return p.made === true ? { line, report: input, made: true } : { line, report: input }
}

/** the rows of the reports of a page (after its objects' rows), `base` the line before the page's first object */
function * reportRows (index: StixIndex, base: number): Generator<Row> {
  for (const p of index.reports.pending.values()) yield reportRow(p, base + p.at, index)
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
    addReportValues(o, values, index)
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
  // a report's row comes after every object's (when the values of its indicators are known)
  if (type === 'report' && index.reports.pending.has(o.id)) return
  const values = observableValues(o)
  addReportValues(o, values, index)
  // a bundle of observables only (no indicator): each observable's values are indicators
  const observed = index.hasIndicators ? [] : values
  if (observed.length > 0) {
    const tlp = tlpOfMarkings(o, index)
    if (tlp === UNREADABLE_MARKING) { yield { line, skip: UNREADABLE_MARKING }; return }
    for (const v of observed) yield { line, input: { type: v.type, value: v.value, ...(tlp !== undefined ? { tlp } : {}) } }
    return
  }
  // an observable a report refers to: its values are the report's
  if (values.length > 0 && index.reports.byRef.has(o.id)) { yield { line, context: type }; return }
  if (type === 'relationship' && index.usedRel.has(o.id)) { yield { line, context: 'relationship' }; return }
  if (index.usedCtx.has(o.id)) { yield { line, context: type }; return }
  if (type === 'marking-definition') { yield { line, context: 'marking-definition' }; return }
  yield { line, skip: `${type}: not an indicator, and not linked to an imported one${reportListOf(type) !== undefined ? ' or a report' : ''}` }
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
    const base = this.#line
    for (const o of page) yield * rowsOfObject(o, ++this.#line, index)
    yield * reportRows(index, base)
  }
}

/**
 * Rows of a STIX bundle read twice from a stream (`open` opens it again): first the index
 * (markings, relationships, names; the importable indicator ids; reports with the ids they
 * refer to), then the rows, the reports' last (with the values of their indicators, met on
 * the way). Memory holds the index and at most 500 values per report, not the objects. A malformed file fails in the first pass, before any row.
 */
export async function * streamStixRows (open: () => Readable): AsyncGenerator<Row> {
  const b = new IndexBuilder()
  for await (const o of streamObjects(open())) b.add(o)
  const index = b.finish()
  let line = 0
  for await (const o of streamObjects(open())) yield * rowsOfObject(o, ++line, index)
  yield * reportRows(index, 0)
}
