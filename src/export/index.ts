/**
 * Exports for other tools: blocklists for firewalls, resolvers and IDSs (blocklist.ts), and
 * MISP events (misp.ts). STIX export lives with STIX import in src/stix.
 */
export { BLOCKLIST_FORMATS, blocklistLines, checkBlocklistType } from './blocklist.js'
export type { BlocklistFormat, BlocklistOptions } from './blocklist.js'
export { MispEventWriter, MISP_TO_IDS_CONFIDENCE, toMispAttribute } from './misp.js'
