/**
 * Records: the indicator model, value normalization, canonical encoding and signed entries.
 * Pure: no I/O. What `validateEntry` + `verifyEntrySignature` accept is exactly what
 * `signEntry` produces, byte for byte.
 */
export * from './indicator-types.js'
export * from './normalize.js'
export * from './canonical.js'
export * from './fields.js'
export * from './items.js'
export * from './advisory.js'
export * from './report.js'
export * from './entry.js'
export * from './indicator.js'
export * from './text.js'
