/**
 * TAXII 2.1 use cases (docs/API.md, "TAXII 2.1"): the collections a caller may read (one per
 * circle this node is in, plus the private scope), a page of a collection's objects (STIX
 * indicators, then the circle's reports with their objects: attack patterns, threat actors,
 * malware, campaigns, relationships, the author's identity) with `added_after`, `match[id]`,
 * `match[type]`, `match[version]`, `limit` and `next`, one object by id, and adding objects:
 * the STIX objects of an envelope become indicators (and reports) of the collection's circle,
 * read the way `phalanx import --format stix` reads a bundle (the same rows), and a status
 * resource tells, object by object, what was stored and why anything was not. A caller is the API token (every collection, no TLP cap, adds) or a
 * read token (the collections it names, up to its TLP ceiling, reads only). A node keeps the
 * current version of each indicator; `date_added` is when this node stored it (its change-feed
 * cursor). The resources are src/interop/taxii.ts; the HTTP side is src/api/routes/taxii.ts.
 */
import type { Logger } from 'pino'
import { PhalanxError, ValidationError } from '../errors.js'
import type { Identity } from '../identity/index.js'
import type { CircleManager } from '../circles/index.js'
import { LOCAL_CIRCLE, indicatorId, isInLog, isIndicatorType, normalizeValue, parseIndicatorInput, type StoredIndicator } from '../records/index.js'
import { CURSOR_RE, cursorFromMicros, type LevelStore } from '../store/index.js'
import {
  collectionOf, discoveryResource, idCandidatesOfStixId, microsOfTaxiiTime, patternOf, statusResource, stixIndicatorId, stixRows,
  taxiiTimeOfMicros, toStixIndicator, toStixReportObjects, type AddOutcome, type TaxiiCollection, type TaxiiStatus
} from '../interop/index.js'
import { mayEnterCircle, withinCeiling, type Tlp } from '../tlp/index.js'
import { MAX_BULK_INDICATORS, type Indicators } from './indicators.js'
import type { Reports } from './reports.js'

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000
/** records one listing request reads at most before it answers with what it has (and `more`) */
const MAX_EXAMINED = 100_000
/** ids in one match[id] (a URL of 16 KiB, Node's limit, holds ~350 anyway) */
const MAX_MATCH_IDS = 350

/** who asks: the API token (neither field) or a read token (both) */
export interface TaxiiCaller {
  /** a read token's collections (circle ids; LOCAL_CIRCLE is the private scope); undefined: every one */
  scope?: ReadonlySet<string> | undefined
  /** a read token's ceiling, the strictest TLP it reads; undefined: no cap */
  maxTlp?: Tlp | undefined
}

/** the query string of a listing, as parsed (a parameter given more than once is an array) */
export type TaxiiQuery = Readonly<Record<string, string | string[] | undefined>>

/** one object of a listing: the STIX indicator and when this node stored it (a TAXII timestamp) */
export interface TaxiiItem { stix: Record<string, unknown>, dateAdded: string }

/** a page of a listing; `next` continues it (null: nothing more) */
export interface TaxiiPage { items: TaxiiItem[], next: string | null }

export interface TaxiiComponents {
  store: Pick<LevelStore, 'getIndicator' | 'scanIndicator'>
  indicators: Pick<Indicators, 'query' | 'publishIndicators' | 'revoke'>
  circles: Pick<CircleManager, 'mine'>
  identity: Pick<Identity, 'org' | 'publicKey'>
  publish: { defaultTlp: Tlp, defaultConfidence: number }
  log: Logger
  /**
   * the circle's reports (listed after its indicators, with their objects) and the report use
   * case (an added STIX report becomes one); absent: indicators only, and an added report is
   * counted as context
   */
  reports?: Pick<Reports, 'forExport' | 'create'>
}

/** `next` in the reports part of a listing: `r` and how many report objects came before */
const REPORT_NEXT_RE = /^r\d{1,9}$/

/** the one value of a query parameter (a ValidationError naming it when it is given twice) */
function single (q: TaxiiQuery, name: string): string | undefined {
  const v = q[name]
  if (Array.isArray(v)) {
    if (v.length > 1) throw new ValidationError(name, `${name} is given more than once`)
    return v[0]
  }
  return v
}

/** a cursor (µs since the epoch, hex) as a TAXII timestamp with microseconds */
function timeOfCursor (cursor: string): string {
  return taxiiTimeOfMicros(parseInt(cursor, 16))
}

/** the reason of a refused value, without the value itself */
function reasonOf (err: unknown): string {
  if (!(err instanceof PhalanxError)) return 'invalid indicator'
  return err.field !== undefined && err.field !== '' ? `${err.field}: ${err.message}` : err.message
}

/** the stable code of an error about the node, for a status message */
function codeOf (err: unknown): string {
  return err instanceof PhalanxError ? err.code : 'internal error'
}

/** an error about the object (4xx), not about the node: it fails that object only */
function isObjectError (err: unknown): boolean {
  return err instanceof PhalanxError && err.status < 500 && err.code !== 'PX_ERR_RATE_LIMITED'
}

export class Taxii {
  readonly #c: TaxiiComponents

  constructor (components: TaxiiComponents) {
    this.#c = components
  }

  /** the discovery resource of this server, its API root under `base` */
  discovery (base: string): Record<string, unknown> {
    return discoveryResource(this.#c.identity.org, base)
  }

  /** the collections the caller may read: all for the API token, the named ones for a read token */
  collections (caller: TaxiiCaller): TaxiiCollection[] {
    const scope = caller.scope
    return [
      collectionOf(LOCAL_CIRCLE, 'Private scope', 'this organization\'s own indicators, never shared'),
      ...this.#c.circles.mine().map(c => collectionOf(c.id, c.name, `trust circle ${c.id}`))
    ].filter(c => scope === undefined || scope.has(c.circle))
  }

  /** a collection the caller may read; any other is "no such collection" (its existence is not told) */
  collection (caller: TaxiiCaller, id: string): TaxiiCollection {
    const c = this.collections(caller).find(x => x.id === id)
    if (c === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no collection ${id.slice(0, 80)}`, { field: 'id' })
    return c
  }

  /** a read token only reads; the API token also adds objects */
  mayAdd (caller: TaxiiCaller): boolean {
    return caller.scope === undefined
  }

  /** the collection the caller adds objects to: one it reads, and only with the API token */
  addTarget (caller: TaxiiCaller, id: string): TaxiiCollection {
    const c = this.collection(caller, id)
    if (!this.mayAdd(caller)) throw new PhalanxError('PX_ERR_FORBIDDEN', 'a read token reads; adding objects takes the API token', { field: 'authorization' })
    return c
  }

  /** a page of a collection's objects, as the query asks, up to the caller's TLP ceiling */
  async objects (caller: TaxiiCaller, collectionId: string, q: TaxiiQuery): Promise<TaxiiPage> {
    return await this.#page(this.collection(caller, collectionId), q, caller.maxTlp)
  }

  /** object `objectId` of the collection (its current version), or PX_ERR_NOT_FOUND */
  async object (caller: TaxiiCaller, collectionId: string, objectId: string): Promise<TaxiiItem[]> {
    if (objectId.includes(',')) throw new ValidationError('objectId', 'one object id, not a list (match[id] takes a list)')
    const { items } = await this.#page(this.collection(caller, collectionId), { 'match[id]': objectId, limit: '1' }, caller.maxTlp)
    if (items.length === 0) throw new PhalanxError('PX_ERR_NOT_FOUND', `no object ${objectId.slice(0, 80)} in this collection`, { field: 'objectId' })
    return items
  }

  /** one page of a collection's indicators after the filters */
  async #page (c: TaxiiCollection, q: TaxiiQuery, maxTlp?: Tlp): Promise<TaxiiPage> {
    const limitRaw = single(q, 'limit')
    const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw)
    if (limitRaw !== undefined && (!/^\d+$/.test(limitRaw) || limit < 1)) throw new ValidationError('limit', 'limit must be a positive integer')
    const next = single(q, 'next')
    if (next !== undefined && !CURSOR_RE.test(next) && !REPORT_NEXT_RE.test(next)) throw new ValidationError('next', 'next must be a value this server returned')
    const after = single(q, 'added_after')
    const afterMicros = after !== undefined ? microsOfTaxiiTime(after, 'added_after') : undefined
    let cursor = next ?? (afterMicros !== undefined ? cursorFromMicros(afterMicros) : undefined)
    const types = single(q, 'match[type]')?.split(',').map(s => s.trim())
    const ids = single(q, 'match[id]')?.split(',').map(s => s.trim())
    const version = single(q, 'match[version]')
    if (version !== undefined && !version.split(',').every(v => ['last', 'first', 'all'].includes(v.trim()) || /^\d{4}-\d{2}-\d{2}T/.test(v.trim()))) {
      throw new ValidationError('match[version]', 'match[version] is last, first, all or timestamps, comma-separated')
    }
    const versions = version?.split(',').map(s => s.trim()).filter(v => /^\d{4}-/.test(v))
    const items: TaxiiItem[] = []
    const want = Math.min(limit, MAX_LIMIT)
    // the reports part: its objects after every indicator (`next` r<n> continues it)
    const reportsFrom = async (offset: number): Promise<TaxiiPage> => {
      const all = await this.#reportItems(c, maxTlp, afterMicros, types, versions, ids)
      const room = want - items.length
      items.push(...all.slice(offset, offset + room))
      return { items, next: offset + room < all.length ? `r${offset + room}` : null }
    }
    if (next !== undefined && REPORT_NEXT_RE.test(next)) return await reportsFrom(Number(next.slice(1)))
    if (types !== undefined && !types.includes('indicator')) return await reportsFrom(0)
    /** add what passes the TLP cap and the version filter; true when the page is full */
    const take = (ind: StoredIndicator): boolean => {
      if (!withinCeiling(ind.tlp, maxTlp)) return false
      const stix = toStixIndicator(ind)
      if (stix === null || (versions !== undefined && versions.length > 0 && !versions.includes(stix.modified as string))) return false
      items.push({ stix, dateAdded: timeOfCursor(ind.cursor) })
      return items.length >= want
    }
    if (ids !== undefined) {
      // each STIX id leads to its indicator (stixIndicatorId): no scan of the collection
      if (ids.length > MAX_MATCH_IDS) throw new ValidationError('match[id]', `match[id] takes at most ${MAX_MATCH_IDS} ids`)
      const rest = this.#byStixIds(c, ids).filter(ind => cursor === undefined || ind.cursor > cursor)
      for (const [i, ind] of rest.entries()) {
        if (take(ind)) return i === rest.length - 1 ? await this.#thenReports(items, reportsFrom) : { items, next: ind.cursor }
      }
      return await reportsFrom(0)
    }
    // a request reads at most this many records: a capped token over a collection of mostly
    // stricter records gets a short (even empty) page with `more`, not a scan of everything
    let budget = MAX_EXAMINED
    for (;;) {
      const p = await this.#c.indicators.query({ circle: c.circle, limit: Math.min(1000, want - items.length + 50), includeRevoked: true, includeExpired: true, ...(cursor !== undefined ? { cursor } : {}) })
      for (const ind of p.indicators) {
        cursor = ind.cursor
        if (take(ind)) return p.nextCursor === null && ind === p.indicators[p.indicators.length - 1] ? await this.#thenReports(items, reportsFrom) : { items, next: ind.cursor }
      }
      if (p.nextCursor === null) return await reportsFrom(0)
      cursor = p.nextCursor
      budget -= Math.max(p.indicators.length, 1)
      if (budget <= 0) return { items, next: cursor }
    }
  }

  /** a page the indicators filled: `next` leads to the reports part when it holds anything */
  async #thenReports (items: TaxiiItem[], reportsFrom: (offset: number) => Promise<TaxiiPage>): Promise<TaxiiPage> {
    const full = items.length
    const more = await reportsFrom(0)
    // reportsFrom had no room: it tells whether the reports part holds anything
    return { items: more.items.slice(0, full), next: more.next === null ? null : 'r0' }
  }

  /**
   * The reports part of a collection: the live reports of its circle the caller may read (its
   * TLP ceiling), received after `afterMicros`, in the order received, each with its objects
   * (ids from names and nonces: an object two reports share is listed once, with the first);
   * its `date_added` is when this node received the report's latest version
   */
  async #reportItems (c: TaxiiCollection, maxTlp: Tlp | undefined, afterMicros: number | undefined, types: string[] | undefined, versions: string[] | undefined, ids: string[] | undefined): Promise<TaxiiItem[]> {
    if (this.#c.reports === undefined) return []
    const received = (iso: string | undefined): number => (iso === undefined ? 0 : Date.parse(iso) * 1000)
    const reports = (await this.#c.reports.forExport(c.circle))
      .filter(r => withinCeiling(r.tlp, maxTlp) && (afterMicros === undefined || received(r.received) > afterMicros))
      .sort((a, b) => received(a.received) - received(b.received) || (a.id < b.id ? -1 : 1))
    const wanted = ids === undefined ? undefined : new Set(ids.map(id => id.toLowerCase()))
    const seen = new Set<string>()
    const out: TaxiiItem[] = []
    for (const r of reports) {
      // the indicators it links that this collection lists (a STIX pattern, in its circle)
      const indicators = r.indicators.flatMap(id => {
        const ind = this.#c.store.getIndicator(id)
        return ind !== undefined && isInLog(ind, c.circle) && withinCeiling(ind.tlp, maxTlp) && patternOf(ind.type, ind.value) !== null ? [stixIndicatorId(id)] : []
      })
      const dateAdded = taxiiTimeOfMicros(received(r.received ?? r.modified))
      for (const stix of toStixReportObjects(r, indicators, r.org ?? null)) {
        const id = stix.id as string
        if (seen.has(id)) continue
        seen.add(id)
        if (types !== undefined && !types.includes(stix.type as string)) continue
        if (wanted !== undefined && !wanted.has(id)) continue
        if (versions !== undefined && versions.length > 0 && !versions.includes(stix.modified as string)) continue
        out.push({ stix, dateAdded })
      }
    }
    return out
  }

  /** the collection's indicators with these STIX ids, in the order they were added */
  #byStixIds (c: TaxiiCollection, ids: string[]): StoredIndicator[] {
    const found = new Map<string, StoredIndicator>()
    for (const raw of ids) {
      const sid = raw.toLowerCase()
      for (const id of idCandidatesOfStixId(sid) ?? []) {
        const ind = this.#c.store.scanIndicator(id)
        if (ind !== undefined && isInLog(ind, c.circle) && stixIndicatorId(ind.id) === sid) found.set(ind.id, ind)
      }
    }
    return [...found.values()].sort((a, b) => a.cursor < b.cursor ? -1 : 1)
  }

  /**
   * Add the STIX `objects` of an envelope to collection `collectionId` (the caller's, see
   * `addTarget`) and return the status. Every value is validated first; the good ones are
   * published in atomic batches of up to 10,000. An object counts as a success when all its
   * values were stored (or it was kept as context of one, or its revocation applied);
   * otherwise it is a failure with reasons.
   */
  async add (caller: TaxiiCaller, collectionId: string, objects: Array<Record<string, unknown>>): Promise<TaxiiStatus> {
    const circle = this.addTarget(caller, collectionId).circle
    const log = this.#c.log
    const requested = new Date().toISOString()
    const outcomes: AddOutcome[] = objects.map(() => ({ stored: 0, context: false, revoked: 0, problems: [] }))
    const defaults = { tlp: this.#c.publish.defaultTlp, confidence: this.#c.publish.defaultConfidence }
    /** valid inputs not yet stored, each with the object it came from */
    let pending: Array<{ input: Record<string, unknown>, at: number }> = []
    /** whether anything was stored or revoked yet (a refusal before that is the request's) */
    let changed = false
    const flush = async (): Promise<void> => {
      for (let i = 0; i < pending.length; i += MAX_BULK_INDICATORS) {
        const chunk = pending.slice(i, i + MAX_BULK_INDICATORS)
        try {
          // a value another organization shared with us (reshareViolation) fails its object alone
          const out = await this.#c.indicators.publishIndicators(chunk.map(c => c.input), { skipTlpViolations: true })
          changed = true
          const left = new Map((out.skipped ?? []).map(x => [x.index, x.message]))
          chunk.forEach((c, k) => { const why = left.get(k); if (why === undefined) outcomes[c.at].stored++; else outcomes[c.at].problems.push(why) })
        } catch (err) {
          // the node is busy, stopping or failing and nothing is stored yet: the request fails
          // (429 / 503 / 500) and the client retries it
          if (!changed && !isObjectError(err)) throw err
          if (!isObjectError(err)) log.error({ err }, 'TAXII add: a batch was not stored')
          // this batch was refused whole (nothing of it stored): its objects fail with the reason
          for (const c of chunk) outcomes[c.at].problems.push(`not stored: ${isObjectError(err) ? reasonOf(err) : `${codeOf(err)}, retry`}`)
        }
      }
      pending = []
    }
    for (const row of stixRows({ type: 'bundle', objects })) {
      const at = row.line - 1
      const out = outcomes[at]
      if ('skip' in row) out.problems.push(row.skip)
      else if ('report' in row && this.#c.reports !== undefined) {
        // a report links values of the envelope: they are stored first
        await flush()
        try {
          await this.#c.reports.create({ ...row.report, ...(circle !== LOCAL_CIRCLE ? { circle } : {}), skipMissing: true })
          out.context = true
          changed = true
        } catch (err) {
          if (!changed && !isObjectError(err)) throw err
          if (!isObjectError(err)) log.error({ err }, 'TAXII add: a report was not shared')
          out.problems.push(`report: ${isObjectError(err) ? reasonOf(err) : `${codeOf(err)}, retry`}`)
        }
      } else if ('context' in row || 'report' in row) out.context = true
      else if ('revoke' in row) {
        // an earlier object of the envelope may be what this withdraws: store those first
        await flush()
        let problem: string | null
        try {
          problem = await this.#revokeValue(circle, row.revoke.type, row.revoke.value)
        } catch (err) {
          if (!changed) throw err
          log.error({ err }, 'TAXII add: a revocation failed')
          problem = `revoke failed: ${codeOf(err)}, retry`
        }
        if (problem === null) { out.revoked++; changed = true } else out.problems.push(problem)
      } else {
        try {
          const p = parseIndicatorInput(row.input, defaults)
          // (publish would refuse the whole batch for this one; other-org values it skips, below)
          if (circle !== LOCAL_CIRCLE && !mayEnterCircle(p.tlp)) throw new PhalanxError('PX_ERR_TLP_VIOLATION', 'TLP:RED never goes to a circle: add it to the private scope\'s collection', { field: 'tlp' })
          pending.push({ input: { ...row.input, circle }, at })
        } catch (err) {
          out.problems.push(reasonOf(err))
        }
      }
    }
    await flush()
    return statusResource(objects, outcomes, requested)
  }

  /** revoke this node's indicator of the value in this circle; null when done, else why not */
  async #revokeValue (circle: string, type: string, value: string): Promise<string | null> {
    if (!isIndicatorType(type)) return `revoked: unknown type ${type.slice(0, 40)}`
    let id: string
    try { id = indicatorId(this.#c.identity.publicKey, type, normalizeValue(type, value)) } catch (err) { return `revoked: ${reasonOf(err)}` }
    const ind = this.#c.store.getIndicator(id)
    if (ind === undefined || !isInLog(ind, circle)) return 'revoked by the source, and not stored in this collection by this node'
    if (ind.revoked !== undefined) return null
    try {
      await this.#c.indicators.revoke(id, 'revoked in STIX (TAXII add objects)')
      return null
    } catch (err) {
      if (!isObjectError(err)) throw err
      return `revoke failed: ${reasonOf(err)}`
    }
  }
}
