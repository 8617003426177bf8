/**
 * What every import parser yields: a row per value read, an indicator input as
 * POST /v1/indicators takes it, or a skip with its reason, a withdrawal, or an object kept as
 * context, or a report. The importer (src/operations/import.ts) validates and counts them.
 */
import type { ReportContent } from '../records/index.js'

export type Row =
  | { line: number, input: Record<string, unknown> }
  | { line: number, skip: string }
  /** the source withdrew this value (a MISP attribute marked deleted, a revoked STIX indicator) */
  | { line: number, revoke: { type: string, value: string } }
  /** an object kept as context of the indicators it is linked to (STIX), of this kind */
  | { line: number, context: string }
  /**
   * a report (a STIX report, a MISP event with its galaxies) linking values of the same file;
   * `made`: the parser made it for the file (a STIX bundle's context objects that no report
   * covers), it is no row of the file: not counted as read
   */
  | { line: number, report: ReportRowInput, made?: true }

/**
 * A report as an import gives it: POST /v1/reports's body without the circle (the import's
 * target) — its linked indicators by value (imported from the same file, so held where the
 * import sends them), its `nonce` from the source's UUID (a re-import is a new version of the
 * same report, not a second one), its TLP when the source marks one.
 */
export type ReportRowInput = Omit<ReportContent, 'indicators'> & {
  /** 32 lower-case hex characters: the source object's UUID without its dashes */
  nonce?: string
  tlp?: string
  values: Array<{ type: string, value: string }>
}
