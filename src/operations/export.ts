/**
 * The export use cases: a blocklist, and an export of indicators in one of the interop
 * formats, each read page by page from the store's query (the one component they ask for)
 * and rendered by src/interop as it is read: an export of any size is streamed.
 * What goes in is decided here: live indicators, the caller's filters, and TLP:RED only when
 * asked for (src/tlp/policy.ts).
 */
import { effectiveConfidence, hasFalsePositive, sightedView } from './sighting-view.js'
import type { IndicatorType, StoredIndicator } from '../records/index.js'
import { cursorFromMicros, type QueryFilter, type QueryPage, type SightingSummary } from '../store/index.js'
import { TLP_LEVELS, bulkExportLabels, mayBlocklist } from '../tlp/index.js'
import { blocklistLines as renderBlocklist, checkBlocklistType, exportWriter, type BlocklistFormat, type ExportFormat, type ExportReport } from '../interop/index.js'

export interface ExportComponents {
  /** one page of the store's indicators that pass a filter (queryIndicators) */
  query: (filter: QueryFilter) => Promise<QueryPage>
  /** the sightings of values (blocklists leave out false positives): whether there are any, and of one value */
  sightings?: { any: () => boolean, of: (type: string, value: string) => SightingSummary | undefined }
  /** organization names by public key (this node's own, then its circles'): STIX identities */
  orgNames?: () => ReadonlyMap<string, string>
  /** the live reports this node holds (of one circle), as the writers take them */
  reports?: (circle?: string) => Promise<ExportReport[]>
  /** this node's organization (the exporter: a MISP event's `Orgc`) */
  own?: () => { publicKey: string, org: string }
}

/** indicators read per page */
const PAGE_SIZE = 1000

/** every indicator that passes `filter`, in store order, a page at a time */
async function * pages (c: ExportComponents, filter: QueryFilter): AsyncGenerator<StoredIndicator[]> {
  let cursor = filter.cursor
  do {
    const page = await c.query({ ...filter, limit: PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) })
    yield page.indicators
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
}

export interface BlocklistOptions {
  type: IndicatorType
  format: BlocklistFormat
  minConfidence?: number
  tag?: string
  circle?: string
  /** first Suricata sid (rules are numbered from it) */
  sidBase?: number
  /** RED indicators too (left out unless asked for: RED is never in a bulk export by default) */
  includeRed?: boolean
  /**
   * values an organization reported as a false positive too (left out unless asked for); the
   * confidence compared with minConfidence is the effective one (sighting-view.ts)
   */
  includeFalsePositives?: boolean
}

/**
 * A blocklist (src/interop/blocklist.ts) of the live indicators (not revoked, not expired) of
 * `o.type` that pass the filters, streamed in chunks of whole lines.
 */
export function blocklistLines (c: ExportComponents, o: BlocklistOptions): AsyncGenerator<string> {
  checkBlocklistType(o.format, o.type)
  const includeRed = o.includeRed === true
  const source = async function * (type: IndicatorType): AsyncGenerator<StoredIndicator> {
    const f: QueryFilter = { type, limit: PAGE_SIZE, ...(o.tag !== undefined ? { tag: o.tag } : {}), ...(o.circle !== undefined ? { circle: o.circle } : {}) }
    for await (const page of pages(c, f)) {
      // sightings matter only once there are any (one read per value then)
      const sighted = c.sightings?.any() === true ? c.sightings : undefined
      for (const ind of page) {
        if (!mayBlocklist(ind.tlp, includeRed)) continue
        const s = sighted?.of(ind.type, ind.value)
        if (s !== undefined && o.includeFalsePositives !== true && hasFalsePositive(s)) continue
        if (effectiveConfidence(ind.confidence, s) >= (o.minConfidence ?? 0)) yield ind
      }
    }
  }
  return renderBlocklist({ type: o.type, format: o.format, ...(o.sidBase !== undefined ? { sidBase: o.sidBase } : {}) }, source)
}

export interface ExportOptions {
  format: ExportFormat
  /** the store filter (its limit is ignored: the export holds every match) */
  filter: QueryFilter
  /** TLP:RED too when the filter names no TLP */
  includeRed?: boolean
  /** the filters as the caller gave them (name, value), named in a MISP event's title */
  given?: Array<[string, string]>
  /**
   * reports too (after the indicators): default for STIX (a bundle holds any object), asked for
   * MISP (then the document is MISP's list of events, `{"response": […]}`, whatever it holds; without,
   * one event as ever). Other formats carry no report.
   */
  includeReports?: boolean
}

/** every indicator that passes the filter, written in `o.format`, streamed a page per chunk */
export async function * exportIndicators (c: ExportComponents, o: ExportOptions): AsyncGenerator<string> {
  const filter: QueryFilter = { ...o.filter }
  if (filter.tlp === undefined) {
    // RED is for named recipients, never in a bulk export unless asked for (tlp/policy)
    const tlps = bulkExportLabels(o.includeRed === true)
    if (tlps.length < TLP_LEVELS.length) filter.tlp = tlps
  }
  const names = c.orgNames?.()
  // the reports whose label the export allows (the same labels as its indicators); asked for,
  // a MISP export is a list of events (its shape follows the request, never the data)
  const withReports = (o.includeReports ?? o.format === 'stix') && c.reports !== undefined
  const reports = !withReports ? [] : (await c.reports!(filter.circle)).filter(r => filter.tlp === undefined || filter.tlp.includes(r.tlp))
  const own = c.own?.()
  const w = exportWriter(o.format, { filters: o.given ?? [], orgName: k => names?.get(k), reports: withReports, ...(own !== undefined ? { own } : {}) })
  const head = w.head()
  if (head !== '') yield head
  /** ids of the indicators written (a report goes in when it links one of them) */
  const written = w.report !== undefined && withReports ? new Set<string>() : undefined
  for await (const page of pages(c, filter)) {
    // sightings matter only once there are any (one read per value then)
    const sighted = c.sightings?.any() === true ? c.sightings : undefined
    let text = ''
    for (const ind of page) {
      const s = sighted?.of(ind.type, ind.value)
      text += w.indicator(ind, s === undefined ? undefined : sightedView(s, k => names?.get(k))?.perOrg)
      written?.add(ind.id)
    }
    if (text !== '') yield text
  }
  if (written !== undefined && w.report !== undefined) {
    // the reports that link an indicator the export holds; with no filter on the indicators,
    // every one (the ones linking none too)
    const unfiltered = filter.type === undefined && filter.value === undefined && filter.tag === undefined && filter.origin === undefined && filter.since === undefined && filter.until === undefined
    let text = ''
    for (const r of reports) {
      if (!unfiltered && !r.indicators.some(id => written.has(id))) continue
      text += w.report(r)
    }
    if (text !== '') yield text
  }
  const tail = w.tail()
  if (tail !== '') yield tail
}

export interface ExportsComponents extends ExportComponents {
  /** the cursor (microseconds) of the newest version stored: a stream starts after it */
  lastCursor: () => number
}

/** one page of a stream of new versions */
export interface StreamPage {
  indicators: StoredIndicator[]
  /** where the next page starts, or null when this page reached what is stored */
  nextCursor: string | null
}

/** versions read per page of a stream */
const STREAM_PAGE = 500

/**
 * The export use cases as the API routes call them (node.ops.exports): blocklists, exports of
 * indicators, and the pages of the live stream of new versions (`GET /v1/stream`).
 */
export class Exports {
  readonly #c: ExportsComponents

  constructor (components: ExportsComponents) {
    this.#c = components
  }

  blocklist (o: BlocklistOptions): AsyncGenerator<string> {
    return blocklistLines(this.#c, o)
  }

  indicators (o: ExportOptions): AsyncGenerator<string> {
    return exportIndicators(this.#c, o)
  }

  /** the store's cursor now: every version at or before it is readable */
  lastCursor (): string {
    return cursorFromMicros(this.#c.lastCursor())
  }

  /**
   * The versions after `cursor` that pass `filter` (revoked ones too unless the filter says
   * otherwise: a revocation is news), in store order, one page.
   */
  async changes (filter: QueryFilter, cursor: string): Promise<StreamPage> {
    const page = await this.#c.query({ ...filter, limit: STREAM_PAGE, cursor })
    return { indicators: page.indicators, nextCursor: page.nextCursor }
  }
}
