/**
 * Reports (issue 16, part 1): an organization shares an incident or an analysis with a circle —
 * title, Markdown body, ATT&CK techniques, actors, malware, campaigns, sectors, references and
 * the indicators it links there. Every member gets it by gossip or sync; its author updates or
 * revokes it like an indicator (the latest version is the report). The TLP policy decides its
 * label (`reportLabelFor`, `reportLabelViolation`): never looser than the strictest indicator
 * it links in that circle, and never RED in a circle.
 *
 * ATT&CK technique names come from an ATT&CK bundle the operator imported (`import --format
 * attack`): local reference data, never shared; without it, a technique is shown by its id.
 */
import { randomUUID } from 'node:crypto'
import { PhalanxError, ValidationError, withFieldPrefix } from '../errors.js'
import {
  LOCAL_CIRCLE, REPORT_LIMITS, REPORT_NAME_LISTS, REPORT_TYPES, detectType, isAdvisoryNonce, isAttackId, isInLog, isIndicatorId, isIndicatorType, isObject,
  canonicalJson, makeReportItem, normalizeValue, optionalName, optionalText, reportId, type IndicatorType, type ReportContent, type ReportItem, type ReportType
} from '../records/index.js'
import { parseTlp, refuse, reportLabelFor, reportLabelViolation, type Tlp } from '../tlp/index.js'
import type { CircleManager } from '../circles/index.js'
import {
  attackTechnique, attackTechniqueCount, reportOf, reportsIn, reportsLinking,
  type AttackTechnique, type EntryReceipt, type Ingest, type LevelStore, type StoredReport
} from '../store/index.js'
import { bodyWith, orgNameOf, resolveCircle } from './input.js'
import type { ExportReport } from '../interop/index.js'
import { stanceCounts } from './sighting-view.js'
import type { SightingAction } from '../records/index.js'

export interface ReportComponents {
  store: LevelStore
  ingest: Pick<Ingest, 'publish' | 'putAttackTechniques'>
  circles: Pick<CircleManager, 'mine' | 'get' | 'formerError'>
  identity: { publicKey: string, org: string }
}

/** an ATT&CK technique as the views show it: its name when the operator imported ATT&CK */
export interface TechniqueView {
  id: string
  name: string | null
  tactics: string[]
  url: string
}

/** an indicator a report links, as far as this node holds it */
export interface LinkedIndicatorView {
  id: string
  /** this node holds it (a member may link an indicator this node has not received yet) */
  held: boolean
  type?: IndicatorType
  value?: string
  tlp?: Tlp
  publicKey?: string
  org?: string | null
  revoked?: boolean
  /** who sighted its value, per stance; absent when nobody did */
  sighted?: { orgs: number, byAction: Record<SightingAction, number> }
}

/** a report as the API answers it */
export interface ReportView {
  id: string
  circle: string
  circleName: string | null
  publicKey: string
  org: string | null
  /** this node wrote it */
  mine: boolean
  tlp: Tlp
  /** incident or analysis (absent when revoked) */
  type?: ReportType
  title?: string
  body?: string
  techniques: TechniqueView[]
  actors: string[]
  malware: string[]
  campaigns: string[]
  sectors: string[]
  references: string[]
  indicators: LinkedIndicatorView[]
  published?: string
  /** its latest version's time */
  updated: string
  received: string
  revoked?: { at: string, reason?: string }
}

/** a report in a list: its body and links left out, counted */
export type ReportSummary = Omit<ReportView, 'body' | 'indicators' | 'references'> & { indicatorCount: number }

/** a report a lookup names: the value is one of its linked indicators */
export interface ReportMention {
  id: string
  title: string
  type: ReportType
  tlp: Tlp
  circle: string
  circleName: string | null
  publicKey: string
  org: string | null
}

/** the body of a create or an update */
const CONTENT_FIELDS = ['kind', 'type', 'title', 'body', 'attack', 'actors', 'malware', 'campaigns', 'sectors', 'references', 'indicators', 'values', 'published'] as const
const CREATE_FIELDS = new Set<string>([...CONTENT_FIELDS, 'circle', 'tlp', 'nonce', 'skipMissing'])
const UPDATE_FIELDS = new Set<string>([...CONTENT_FIELDS, 'tlp', 'skipMissing'])

/** techniques per POST /v1/attack */
export const MAX_ATTACK_TECHNIQUES = 5000

export class Reports {
  readonly #c: ReportComponents

  constructor (components: ReportComponents) {
    this.#c = components
  }

  /**
   * POST /v1/reports: share a report with a circle (absent: keep it in the private scope).
   * `indicators` names linked indicators by id, `values` by value (a record of it held in the
   * circle: this node's own first); with `skipMissing` a value or id not held there is left out
   * and named in `missing` instead of refusing the report (imports). `nonce` (32 hex
   * characters, e.g. a STIX report's UUID) makes the id deterministic: the same nonce again is
   * a new version of the same report — or, when nothing changed, nothing new (`unchanged`).
   */
  async create (raw: unknown): Promise<{ id: string, entry: EntryReceipt, report: ReportView, missing?: string[], unchanged?: true }> {
    bodyWith(raw, CREATE_FIELDS)
    const circle = resolveCircle(this.#c.circles, raw.circle, 'circle')
    let nonce: string
    // a random UUID's hex: a STIX export gives the report this UUID as its id (stixReportId)
    if (raw.nonce === undefined) nonce = randomUUID().replace(/-/g, '')
    else if (isAdvisoryNonce(raw.nonce)) nonce = raw.nonce
    else throw new ValidationError('nonce', 'nonce must be 32 lower-case hex characters')
    const id = reportId(this.#c.identity.publicKey, nonce)
    const prev = reportOf(this.#c.store, id)
    if (prev !== undefined && prev.circle !== circle) {
      throw new PhalanxError('PX_ERR_CONFLICT', `report ${id} (this nonce) is already in ${this.#circleLabel(prev.circle)}: a report stays in its circle`, { field: 'circle' })
    }
    return await this.#publish(id, nonce, circle, { type: raw.type ?? raw.kind ?? 'analysis', ...pick(raw) }, raw.tlp, raw.skipMissing === true)
  }

  /**
   * PATCH /v1/reports/:id: a new version of this node's own report; the fields given replace
   * the current ones (`null` clears a list or the body), the others stay.
   */
  async update (id: string, raw: unknown): Promise<{ id: string, entry: EntryReceipt, report: ReportView, missing?: string[], unchanged?: true }> {
    bodyWith(raw, UPDATE_FIELDS)
    const r = this.#requireOwn(id, 'updated')
    if (r.revoked !== undefined) throw new PhalanxError('PX_ERR_CONFLICT', `report ${id} was revoked (${r.revoked.at}); share a new report instead`, { field: 'id' })
    const current: Record<string, unknown> = { ...contentOf(r) }
    const next = { ...current, ...pick(raw) }
    if (raw.kind !== undefined && raw.type === undefined) next.type = raw.kind
    // a list given anew replaces the current one: the values given are resolved, the ids kept only when given
    if (raw.values !== undefined && raw.indicators === undefined) delete next.indicators
    return await this.#publish(id, r.nonce, r.circle, next, raw.tlp ?? r.tlp, raw.skipMissing === true)
  }

  /** DELETE /v1/reports/:id: revoke this node's own report everywhere it went */
  async revoke (id: string, raw: unknown = {}): Promise<{ id: string, entry: EntryReceipt }> {
    bodyWith(raw ?? {}, new Set(['reason']))
    const reason = optionalText((raw as Record<string, unknown> | undefined)?.reason, 'reason', REPORT_LIMITS.REASON_MAX)
    const r = this.#requireOwn(id, 'revoked')
    if (r.revoked !== undefined) throw new PhalanxError('PX_ERR_CONFLICT', `report ${id} is already revoked (${r.revoked.at})`, { field: 'id' })
    const item: ReportItem = { kind: 'report', nonce: r.nonce, revoked: true, ...(reason !== undefined ? { reason } : {}) }
    const res = await this.#c.ingest.publish([{ circle: r.circle, tlp: r.tlp, items: [item], after: r.created }])
    return { id, entry: res.entries[0] }
  }

  /** GET /v1/reports: the reports this node holds, newest first; filters by circle, technique, actor; revoked ones on request */
  async list (f: { circle?: string, attack?: string, actor?: string, includeRevoked?: boolean } = {}): Promise<{ reports: ReportSummary[] }> {
    const circle = f.circle === undefined ? undefined : resolveCircle(this.#c.circles, f.circle, 'circle')
    let attack: string | undefined
    if (f.attack !== undefined) {
      attack = f.attack.trim().toUpperCase()
      if (!isAttackId(attack)) throw new ValidationError('attack', 'an ATT&CK technique id is T and four digits, with a sub-technique\'s .NNN (e.g. T1566 or T1566.002)')
    }
    const actor = f.actor?.trim().toLowerCase()
    const out: ReportSummary[] = []
    for (const r of await reportsIn(this.#c.store, circle)) {
      if (r.revoked !== undefined && f.includeRevoked !== true) continue
      if (attack !== undefined && (r.revoked !== undefined || !(r.attack ?? []).some(t => t === attack || t.startsWith(`${attack}.`)))) continue
      if (actor !== undefined && (r.revoked !== undefined || !(r.actors ?? []).some(a => a.toLowerCase() === actor))) continue
      const summary = this.summary(r.id)
      if (summary !== undefined) out.push(summary)
    }
    return { reports: out }
  }

  /** GET /v1/reports/:id: one report, its techniques named, its linked indicators with their sightings */
  get (id: string): ReportView {
    return this.#view(this.#require(id), true)
  }

  /** a report in a list's form (the stream tells it), or undefined when this node holds none of that id */
  summary (id: string): ReportSummary | undefined {
    const r = reportOf(this.#c.store, id)
    if (r === undefined) return undefined
    const { body: _b, indicators: _i, references: _r, ...rest } = this.#view(r, false)
    return { ...rest, indicatorCount: r.revoked === undefined ? r.indicators?.length ?? 0 : 0 }
  }

  /** the live reports linking any of the indicators `ids` (a lookup's exact matches), newest first */
  mentioning (ids: readonly string[]): ReportMention[] {
    const seen = new Set<string>()
    const out: Array<ReportMention & { at: string }> = []
    for (const ind of ids) {
      for (const rid of reportsLinking(this.#c.store, ind)) {
        if (seen.has(rid)) continue
        seen.add(rid)
        const r = reportOf(this.#c.store, rid)
        if (r === undefined || r.revoked !== undefined) continue
        out.push({ id: r.id, title: r.title, type: r.type, tlp: r.tlp, circle: r.circle, circleName: this.#circleName(r.circle), publicKey: r.origin, org: this.#orgOf(r.origin, r.circle), at: r.created })
      }
    }
    return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).map(({ at: _at, ...m }) => m)
  }

  /** the live reports this node holds (of one circle: its id), as the export writers take them, newest first */
  async forExport (circle?: string): Promise<ExportReport[]> {
    const out: ExportReport[] = []
    for (const r of await reportsIn(this.#c.store, circle)) {
      if (r.revoked !== undefined) continue
      const org = this.#orgOf(r.origin, r.circle)
      out.push({
        id: r.id,
        nonce: r.nonce,
        origin: r.origin,
        ...(org !== null ? { org } : {}),
        circle: r.circle,
        tlp: r.tlp,
        type: r.type,
        title: r.title,
        ...(r.body !== undefined ? { body: r.body } : {}),
        attack: (r.attack ?? []).map(id => {
          const name = attackTechnique(this.#c.store, id)?.name
          return name !== undefined ? { id, name } : { id }
        }),
        actors: r.actors ?? [],
        malware: r.malware ?? [],
        campaigns: r.campaigns ?? [],
        sectors: r.sectors ?? [],
        references: r.references ?? [],
        indicators: r.indicators ?? [],
        ...(r.published !== undefined ? { published: r.published } : {}),
        modified: r.created,
        received: r.received
      })
    }
    return out
  }

  /** POST /v1/attack: keep ATT&CK technique names (from the operator's ATT&CK bundle, parsed by the CLI) */
  async putAttack (raw: unknown): Promise<{ stored: number, total: number }> {
    bodyWith(raw, new Set(['techniques']))
    if (!Array.isArray(raw.techniques)) throw new ValidationError('techniques', 'techniques must be an array of { id, name, tactics?, deprecated? }')
    if (raw.techniques.length > MAX_ATTACK_TECHNIQUES) throw new ValidationError('techniques', `at most ${MAX_ATTACK_TECHNIQUES} techniques per request`)
    const list = raw.techniques.map((t: unknown, i: number) => {
      try {
        return parseTechnique(t)
      } catch (err) {
        throw withFieldPrefix(err, `techniques[${i}]`)
      }
    })
    await this.#c.ingest.putAttackTechniques(list)
    return { stored: list.length, total: await attackTechniqueCount(this.#c.store) }
  }

  /** GET /v1/attack: how many technique names this node holds, and one technique when `id` is given */
  async attackInfo (id?: string): Promise<{ total: number, technique?: TechniqueView }> {
    const total = await attackTechniqueCount(this.#c.store)
    if (id === undefined) return { total }
    const t = id.trim().toUpperCase()
    if (!isAttackId(t)) throw new ValidationError('id', 'an ATT&CK technique id is T and four digits, with a sub-technique\'s .NNN (e.g. T1566.002)')
    return { total, technique: this.#technique(t) }
  }

  async #publish (id: string, nonce: string, circle: string, fields: Record<string, unknown>, rawTlp: unknown, skipMissing: boolean): Promise<{ id: string, entry: EntryReceipt, report: ReportView, missing?: string[], unchanged?: true }> {
    const missing: string[] = []
    const linked = new Map<string, Tlp>()
    const ids = fields.indicators === undefined || fields.indicators === null ? [] : fields.indicators
    if (!Array.isArray(ids)) throw new ValidationError('indicators', 'indicators must be an array of indicator ids')
    if (ids.length > REPORT_LIMITS.INDICATORS_MAX) throw new ValidationError('indicators', `a report links at most ${REPORT_LIMITS.INDICATORS_MAX} indicators`)
    ids.forEach((x, i) => {
      const field = `indicators[${i}]`
      if (!isIndicatorId(x)) throw new ValidationError(field, 'an indicator id is 32 lower-case hex characters')
      const ind = this.#c.store.getIndicator(x)
      // a report links what its circle holds: a member can look each one up
      if (ind === undefined || !isInLog(ind, circle) || ind.revoked !== undefined) {
        if (skipMissing) { missing.push(x); return }
        throw new ValidationError(field, `indicator ${x} is not held (live) in ${this.#circleLabel(circle)}: a report links indicators of its own circle`)
      }
      linked.set(x, ind.tlp)
    })
    const values = fields.values === undefined || fields.values === null ? [] : fields.values
    if (!Array.isArray(values)) throw new ValidationError('values', 'values must be an array of values (or { type, value })')
    if (values.length > REPORT_LIMITS.INDICATORS_MAX) throw new ValidationError('values', `a report links at most ${REPORT_LIMITS.INDICATORS_MAX} indicators`)
    values.forEach((v, i) => {
      const field = `values[${i}]`
      const { type, value } = valueOf(v, field)
      const found = this.#heldRecord(type, value, circle)
      if (found === undefined) {
        if (skipMissing) { missing.push(`${type}:${value}`); return }
        throw new ValidationError(field, `no live indicator of ${type} ${value} is held in ${this.#circleLabel(circle)}: publish it there first`)
      }
      linked.set(found.id, found.tlp)
    })
    if (linked.size > REPORT_LIMITS.INDICATORS_MAX) throw new ValidationError('indicators', `a report links at most ${REPORT_LIMITS.INDICATORS_MAX} indicators`)
    const to = circle === LOCAL_CIRCLE ? 'local' : 'circle'
    const tlp = rawTlp === undefined ? reportLabelFor([...linked.values()]) : parseTlp(rawTlp)
    refuse(reportLabelViolation(tlp, [...linked.values()], to))
    const { values: _v, kind: _k, ...content } = fields
    const item = makeReportItem(nonce, { ...content, indicators: [...linked.keys()] })
    const prev = reportOf(this.#c.store, id)
    // the same report again (a re-import of an unchanged file): nothing to sign, nobody to tell
    if (prev !== undefined && prev.revoked === undefined && prev.circle === circle && prev.tlp === tlp && canonicalJson({ kind: 'report', nonce, ...contentOf(prev) }) === canonicalJson(item)) {
      return { id, entry: { hash: prev.entry.hash, circle, origin: prev.origin, seq: prev.entry.seq, items: 1 }, report: this.get(id), unchanged: true, ...(missing.length > 0 ? { missing } : {}) }
    }
    // a new version is later than the one it replaces, even in the same millisecond
    const res = await this.#c.ingest.publish([{ circle, tlp, items: [item], ...(prev !== undefined ? { after: prev.created } : {}) }])
    return { id, entry: res.entries[0], report: this.get(id), ...(missing.length > 0 ? { missing } : {}) }
  }

  /** a live record of (type, value) held in `circle`: this node's own first */
  #heldRecord (type: IndicatorType, value: string, circle: string): { id: string, tlp: Tlp } | undefined {
    let found: { id: string, tlp: Tlp } | undefined
    for (const id of this.#c.store.idsByValue(type, value)) {
      const ind = this.#c.store.getIndicator(id)
      if (ind === undefined || ind.revoked !== undefined || !isInLog(ind, circle)) continue
      if (ind.origin === this.#c.identity.publicKey) return { id, tlp: ind.tlp }
      found ??= { id, tlp: ind.tlp }
    }
    return found
  }

  #require (id: string): StoredReport {
    if (!isIndicatorId(id)) throw new ValidationError('id', 'a report id is 32 lower-case hex characters')
    const r = reportOf(this.#c.store, id)
    if (r === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no report ${id} here`, { field: 'id' })
    return r
  }

  #requireOwn (id: string, what: string): StoredReport {
    const r = this.#require(id)
    if (r.origin !== this.#c.identity.publicKey) throw new PhalanxError('PX_ERR_FORBIDDEN', `report ${id} is another organization's: only its author's node can have it ${what}`, { field: 'id' })
    return r
  }

  #circleName (circle: string): string | null {
    return this.#c.circles.get(circle)?.name ?? null
  }

  #circleLabel (circle: string): string {
    return circle === LOCAL_CIRCLE ? 'the private scope' : `circle ${this.#circleName(circle) ?? circle}`
  }

  #orgOf (key: string, circle: string): string | null {
    return this.#c.circles.get(circle)?.members.get(key)?.org ?? orgNameOf(this.#c.circles, this.#c.identity, key) ?? null
  }

  #technique (id: string): TechniqueView {
    const t: AttackTechnique | undefined = attackTechnique(this.#c.store, id)
    return { id, name: t?.name ?? null, tactics: t?.tactics ?? [], url: attackUrl(id) }
  }

  #view (r: StoredReport, withLinks: boolean): ReportView {
    const base = {
      id: r.id,
      circle: r.circle,
      circleName: this.#circleName(r.circle),
      publicKey: r.origin,
      org: this.#orgOf(r.origin, r.circle),
      mine: r.origin === this.#c.identity.publicKey,
      tlp: r.tlp,
      updated: r.created,
      received: r.received
    }
    if (r.revoked !== undefined) {
      return { ...base, techniques: [], actors: [], malware: [], campaigns: [], sectors: [], references: [], indicators: [], revoked: r.revoked }
    }
    return {
      ...base,
      type: r.type,
      title: r.title,
      ...(r.body !== undefined ? { body: r.body } : {}),
      techniques: (r.attack ?? []).map(t => this.#technique(t)),
      actors: r.actors ?? [],
      malware: r.malware ?? [],
      campaigns: r.campaigns ?? [],
      sectors: r.sectors ?? [],
      references: r.references ?? [],
      indicators: withLinks ? (r.indicators ?? []).map(id => this.#linked(id)) : [],
      ...(r.published !== undefined ? { published: r.published } : {})
    }
  }

  #linked (id: string): LinkedIndicatorView {
    const ind = this.#c.store.getIndicator(id)
    if (ind === undefined) return { id, held: false }
    const s = this.#c.store.sightings(ind.type, ind.value)
    return {
      id,
      held: true,
      type: ind.type,
      value: ind.value,
      tlp: ind.tlp,
      publicKey: ind.origin,
      org: this.#orgOf(ind.origin, ind.circle),
      ...(ind.revoked !== undefined ? { revoked: true } : {}),
      ...(s !== undefined ? { sighted: { orgs: Object.keys(s.origins).length, byAction: stanceCounts(s) } } : {})
    }
  }
}

/** the ATT&CK page of a technique (T1566.002 → techniques/T1566/002/) */
export function attackUrl (id: string): string {
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`
}

/** the content fields of a create or update body (what makeReportItem reads, plus `values`) */
function pick (raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of CONTENT_FIELDS) if (k !== 'kind' && raw[k] !== undefined) out[k] = raw[k]
  return out
}

/** a stored report's content, as a create body would give it */
function contentOf (r: StoredReport & { revoked?: undefined }): ReportContent {
  const out: ReportContent = { type: r.type, title: r.title }
  if (r.body !== undefined) out.body = r.body
  if (r.attack !== undefined) out.attack = r.attack
  for (const k of REPORT_NAME_LISTS) if (r[k] !== undefined) out[k] = r[k]
  if (r.references !== undefined) out.references = r.references
  if (r.indicators !== undefined) out.indicators = r.indicators
  if (r.published !== undefined) out.published = r.published
  return out
}

/** a linked value as a request names it: "evil.example" (its type detected) or { type, value } */
function valueOf (v: unknown, field: string): { type: IndicatorType, value: string } {
  let rawType: unknown
  let rawValue: unknown = v
  if (isObject(v)) { rawType = v.type; rawValue = v.value }
  if (typeof rawValue !== 'string' || rawValue.trim() === '') throw new ValidationError(field, 'a value is a string, or { type, value }')
  let type: IndicatorType | undefined
  if (rawType === undefined) type = detectType(rawValue)
  else if (isIndicatorType(rawType)) type = rawType
  else throw new ValidationError(`${field}.type`, 'unknown indicator type')
  if (type === undefined) throw new ValidationError(field, `cannot tell what kind of indicator "${rawValue.slice(0, 100)}" is; give { type, value }`)
  try {
    return { type, value: normalizeValue(type, rawValue) }
  } catch (err) {
    throw withFieldPrefix(err, field)
  }
}

const TACTIC_RE = /^[a-z][a-z0-9-]{0,63}$/

/** one technique of a POST /v1/attack body */
function parseTechnique (t: unknown): { id: string } & AttackTechnique {
  if (!isObject(t)) throw new ValidationError('', 'a technique is { id, name, tactics?, deprecated? }')
  const id = typeof t.id === 'string' ? t.id.trim().toUpperCase() : ''
  if (!isAttackId(id)) throw new ValidationError('id', 'an ATT&CK technique id is T and four digits, with a sub-technique\'s .NNN (e.g. T1566.002)')
  const name = optionalName(t.name, 'name', REPORT_LIMITS.NAME_MAX)
  if (name === undefined) throw new ValidationError('name', 'a technique has a name')
  const out: { id: string } & AttackTechnique = { id, name }
  if (t.tactics !== undefined) {
    if (!Array.isArray(t.tactics) || t.tactics.length > 20 || !t.tactics.every(x => typeof x === 'string' && TACTIC_RE.test(x))) {
      throw new ValidationError('tactics', 'tactics is a list of at most 20 ATT&CK tactic names (e.g. initial-access)')
    }
    if (t.tactics.length > 0) out.tactics = [...new Set(t.tactics as string[])]
  }
  if (t.deprecated === true) out.deprecated = true
  return out
}

export { REPORT_TYPES }
