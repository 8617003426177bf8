/**
 * One organization's sightings of an exported value, as the exports take them (what
 * operations/sighting-view.ts calls an OrgSighting): STIX writes a `sighting`, MISP an
 * attribute's `Sighting`.
 */
export interface ExportSighting {
  publicKey: string
  /** its name as the exporting node knows it */
  org: string | null
  /** seen, blocked, false-positive, investigating, mitigated */
  action: string
  count: number
  firstSeen: string
  lastSeen: string
  note?: string
}
