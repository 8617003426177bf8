/**
 * The formats an export of indicators is written in (`GET /v1/export/indicators`, what
 * `phalanx export` prints): csv, text, ndjson, a STIX 2.1 bundle and a MISP event. Each is a
 * writer of three pieces (head, one per indicator, tail), so an export of any size is streamed.
 */
import type { StoredIndicator } from '../records/index.js'
import { csvHeader, csvLine } from './csv.js'
import { MispEventWriter } from './misp.js'
import { StixBundleWriter } from './stix-export.js'
import type { ExportSighting } from './sighting.js'
import type { ExportReport } from './report.js'

export type { ExportSighting } from './sighting.js'
import { STIX_MEDIA_TYPE } from './taxii.js'
import { ndjsonLine, textLine } from './text.js'

import type { ExportFormat } from './formats.js'
export { EXPORT_FORMATS, type ExportFormat } from './formats.js'

/** the Content-Type of each format */
export const EXPORT_MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  stix: STIX_MEDIA_TYPE,
  misp: 'application/json; charset=utf-8'
}

export interface IndicatorWriter {
  head: () => string
  /**
   * the text of one indicator ('' when the format cannot carry it), with the sightings of its
   * value (STIX: `sighting` objects and the sighters' `identity`; MISP: the attribute's `Sighting`)
   */
  indicator: (ind: StoredIndicator, sightings?: readonly ExportSighting[]) => string
  /**
   * the text of one report, after every indicator ('' or absent when the format cannot carry
   * it): STIX a `report` with its objects, MISP an event of its own
   */
  report?: (r: ExportReport) => string
  tail: () => string
}

export interface ExportWriterOptions {
  /** the filters of the export as given (name, value), named in a MISP event's title */
  filters?: Array<[string, string]>
  /** an organization's name by its public key, where the exporting node knows it (STIX identities) */
  orgName?: (publicKey: string) => string | undefined
  /** reports may follow the indicators (a MISP export is then a list of events) */
  reports?: boolean
  /** the exporting organization (a MISP event's `Orgc`) */
  own?: { publicKey: string, org?: string | null }
}

/** the title of an exported MISP event: `Phalanx export (tag=c2, tlp=AMBER)` */
export function exportTitle (filters: Array<[string, string]> = []): string {
  return `Phalanx export${filters.length > 0 ? ` (${filters.map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`
}

/** a writer of `format` */
export function exportWriter (format: ExportFormat, o: ExportWriterOptions = {}): IndicatorWriter {
  switch (format) {
    case 'csv': return { head: csvHeader, indicator: csvLine, tail: () => '' }
    case 'text': return { head: () => '', indicator: textLine, tail: () => '' }
    case 'ndjson': return { head: () => '', indicator: ndjsonLine, tail: () => '' }
    case 'stix': {
      const w = new StixBundleWriter(undefined, o.orgName)
      return { head: () => w.head(), indicator: (ind, s) => w.indicator(ind, s), report: r => w.report(r), tail: () => w.tail() }
    }
    case 'misp': {
      const w = new MispEventWriter(exportTitle(o.filters), undefined, { reports: o.reports === true, ...(o.own !== undefined ? { own: o.own } : {}) })
      return { head: () => w.head(), indicator: (ind, s) => w.attribute(ind, s), report: r => w.report(r), tail: () => w.tail() }
    }
  }
}
