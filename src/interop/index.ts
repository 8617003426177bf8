/**
 * Interop: every format Phalanx reads or writes, each a pure module (parse and/or render; no
 * store, no LevelDB, no libp2p, no HTTP server, no files): STIX 2.1, MISP, CSV, text, NDJSON,
 * blocklists (plain, RPZ, Suricata), TAXII 2.1 resources, and a TAXII client (fetch only).
 * Running an import or an export against a node is src/operations' work.
 */
export type { Row, ReportRowInput } from './row.js'
export { uuidOfNonce, nonceOfUuid } from './report.js'
export { attackTechniques, attackIdOf } from './attack.js'
export type { AttackTechniqueRow } from './attack.js'
export type { ExportReport } from './report.js'
export { IMPORT_FORMATS, rowsOf, readJsonDocument } from './import-formats.js'
export type { ImportFormat } from './import-formats.js'
export { EXPORT_FORMATS, EXPORT_MEDIA_TYPES, exportTitle, exportWriter } from './export-formats.js'
export type { ExportFormat, ExportWriterOptions, IndicatorWriter } from './export-formats.js'
export { textRows, textLine, ndjsonLine } from './text.js'
export { csvRows, csvCell, csvHeader, csvLine, CSV_FIELDS } from './csv.js'
export { mispRows, MispEventWriter, MISP_TO_IDS_CONFIDENCE, toMispAttribute } from './misp.js'
export { StixPages, stixRows, streamStixRows } from './stix.js'
export { TLP2_MARKINGS, patternOf, patternValues, tlpMarkingObject } from './stix-patterns.js'
export { StixBundleWriter, idCandidatesOfStixId, stableUuid, stixIndicatorId, stixReportId, toStixIndicator, toStixReportObjects } from './stix-export.js'
export type { StixIndex } from './stix.js'
export { streamObjects } from './stix-stream.js'
export { BLOCKLIST_FORMATS, DEFAULT_SID_BASES, SID_RANGE, defaultSidBase, blocklistEntry, blocklistHeader, blocklistLines, checkBlocklistType } from './blocklist.js'
export type { BlocklistFormat, BlocklistRenderOptions, BlocklistSource } from './blocklist.js'
export {
  MAX_ADD_OBJECTS, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, acceptsTaxii, apiRootResource, collectionOf, collectionResource,
  discoveryResource, envelopeObjects, isTaxiiContentType, manifestEnvelope, microsOfTaxiiTime, objectsEnvelope,
  statusResource, taxiiErrorMessage, taxiiTimeOfMicros, versionsEnvelope
} from './taxii.js'
export type { AddOutcome, TaxiiCollection, TaxiiStatus } from './taxii.js'
export { collectionUrl, taxiiRows } from './taxii-client.js'
export type { TaxiiProgress, TaxiiSource } from './taxii-client.js'
