/**
 * A report as the export writers receive it (issue 16): what a STIX `report` (with its
 * attack-patterns, threat actors, malware, campaigns and relationships) or a MISP event (with
 * galaxy tags and Orgc) is written from. Pure data; operations/reports.ts builds it.
 */
import type { Tlp } from '../tlp/index.js'

export interface ExportReport {
  /** the report's id (32 hex) */
  id: string
  /** its nonce (32 hex): the UUID a STIX report or MISP event of it carries */
  nonce: string
  /** its author's public key, and name where the exporting node knows it */
  origin: string
  org?: string
  circle: string
  tlp: Tlp
  type: 'incident' | 'analysis'
  title: string
  body?: string
  /** ATT&CK techniques with their names when the operator imported ATT&CK */
  attack: Array<{ id: string, name?: string }>
  actors: string[]
  malware: string[]
  campaigns: string[]
  sectors: string[]
  references: string[]
  /** ids of the indicators it links (the writers reference those they wrote) */
  indicators: string[]
  published?: string
  /** its latest version's time */
  modified: string
  /** when this node stored its latest version (TAXII's date_added) */
  received?: string
}

/** a report's nonce as a UUID (8-4-4-4-12) */
export function uuidOfNonce (nonce: string): string {
  return `${nonce.slice(0, 8)}-${nonce.slice(8, 12)}-${nonce.slice(12, 16)}-${nonce.slice(16, 20)}-${nonce.slice(20, 32)}`
}

/** a UUID (any case, with or without dashes) as a report nonce, or undefined when it is not one */
export function nonceOfUuid (uuid: string): string | undefined {
  const hex = uuid.replace(/-/g, '').toLowerCase()
  return /^[0-9a-f]{32}$/.test(hex) ? hex : undefined
}
