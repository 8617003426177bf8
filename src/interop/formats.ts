/**
 * The names of the file formats interop reads and writes: constants only, so that a caller
 * that lists them (the CLI's options and help) does not load the parsers and writers.
 */

/** what `import` reads from a file */
export const IMPORT_FORMATS = ['text', 'csv', 'misp', 'stix'] as const
export type ImportFormat = typeof IMPORT_FORMATS[number]

/** what `export` writes, whole records */
export const EXPORT_FORMATS = ['csv', 'text', 'ndjson', 'stix', 'misp'] as const
export type ExportFormat = typeof EXPORT_FORMATS[number]

/** blocklists: values only, for firewalls, resolvers and IDSs */
export const BLOCKLIST_FORMATS = ['plain', 'rpz', 'suricata'] as const
export type BlocklistFormat = typeof BLOCKLIST_FORMATS[number]
