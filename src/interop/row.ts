/**
 * What every import parser yields: a row per value read, an indicator input as
 * POST /v1/indicators takes it, or a skip with its reason, a withdrawal, or an object kept as
 * context. The importer (src/operations/import.ts) validates and counts them.
 */

export type Row =
  | { line: number, input: Record<string, unknown> }
  | { line: number, skip: string }
  /** the source withdrew this value (a MISP attribute marked deleted, a revoked STIX indicator) */
  | { line: number, revoke: { type: string, value: string } }
  /** an object kept as context of the indicators it is linked to (STIX), of this kind */
  | { line: number, context: string }
