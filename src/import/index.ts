/**
 * Imports: rows from files (text, CSV, MISP, STIX) and from TAXII 2.1 collections, validated
 * and sent in batches, with a summary.
 */
export { textRows, csvRows, rowsOf, IMPORT_FORMATS } from './rows.js'
export type { Row, ImportFormat } from './rows.js'
export { importRows } from './run.js'
export { mispRows } from './misp.js'
export type { ImportSummary, ImportOptions, ImportDefaults } from './run.js'
export { taxiiRows, collectionUrl } from './taxii.js'
export type { TaxiiSource, TaxiiProgress } from './taxii.js'
