/**
 * What the sightings of a value say, for people and for blocklists (issue 15, part 2): how many
 * organizations sighted it and what each did (its stance: the action of its latest sighting),
 * and the indicator's effective confidence once false positives are counted.
 *
 * The formula (docs/API.md "Sightings"): with C the indicator's confidence, f the organizations
 * whose stance is `false-positive` and c those whose stance is anything else (seen, blocked,
 * investigating, mitigated),
 *
 *     effective = round(C × (1 + c) / (1 + c + 2f))
 *
 * The publisher counts as one confirmation; each false positive weighs as two. One false
 * positive and nothing else takes 80 to 27; two orgs that blocked it against one false positive
 * keep it at 48; no false positive leaves C as it is.
 */
import { SIGHTING_ACTIONS, type SightingAction } from '../records/index.js'
import type { OriginSightings, SightingSummary } from '../store/index.js'

/** how much one false-positive report weighs against one confirmation */
export const FALSE_POSITIVE_WEIGHT = 2

/** one organization's sightings of a value, as lookups show them */
export interface OrgSighting {
  publicKey: string
  /** its name as this node's circles recorded it; null when this node does not know it */
  org: string | null
  action: SightingAction
  count: number
  firstSeen: string
  lastSeen: string
  note?: string
}

/** the sightings of a value, by organization and by stance */
export interface SightedView {
  /** organizations that sighted it */
  orgs: number
  /** organizations per stance (every action is listed, 0 when none) */
  byAction: Record<SightingAction, number>
  /** sightings counted in all */
  count: number
  lastSeen: string
  /** newest first */
  perOrg: OrgSighting[]
}

/** an origin's stance (a summary written before actions: seen) */
export function stanceOf (o: OriginSightings): SightingAction {
  return o.action ?? 'seen'
}

/** organizations per stance */
export function stanceCounts (s: SightingSummary | undefined): Record<SightingAction, number> {
  const out = Object.fromEntries(SIGHTING_ACTIONS.map(a => [a, 0])) as Record<SightingAction, number>
  if (s !== undefined) for (const o of Object.values(s.origins)) out[stanceOf(o)]++
  return out
}

/** does any organization hold this value for a false positive? */
export function hasFalsePositive (s: SightingSummary | undefined): boolean {
  return s !== undefined && Object.values(s.origins).some(o => stanceOf(o) === 'false-positive')
}

/** the confidence once false positives are counted (the formula above) */
export function effectiveConfidence (confidence: number, s: SightingSummary | undefined): number {
  if (s === undefined) return confidence
  const by = stanceCounts(s)
  const f = by['false-positive']
  if (f === 0) return confidence
  const c = Object.values(s.origins).length - f
  return Math.round(confidence * (1 + c) / (1 + c + FALSE_POSITIVE_WEIGHT * f))
}

/** the sightings of a value by organization (names from `nameOf`), or null when there are none */
export function sightedView (s: SightingSummary | undefined, nameOf: (publicKey: string) => string | undefined): SightedView | null {
  if (s === undefined) return null
  const perOrg: OrgSighting[] = Object.entries(s.origins).map(([publicKey, o]) => ({
    publicKey,
    org: nameOf(publicKey) ?? null,
    action: stanceOf(o),
    count: o.count,
    firstSeen: o.firstSeen,
    lastSeen: o.lastSeen,
    ...(o.note !== undefined ? { note: o.note } : {})
  }))
  perOrg.sort((a, b) => (a.lastSeen === b.lastSeen ? (a.publicKey < b.publicKey ? -1 : 1) : a.lastSeen > b.lastSeen ? -1 : 1))
  return { orgs: perOrg.length, byAction: stanceCounts(s), count: s.count, lastSeen: s.lastSeen, perOrg }
}
