/**
 * The TLP policy (DESIGN §2): every decision about who may receive a record, as pure functions
 * over labels, logs and records. No other module compares TLP ranks or names a label in a
 * rule; they ask here. Decisions come back as booleans or as a `Violation` (the field to blame
 * and a message a user can act on); callers turn a violation into `PX_ERR_TLP_VIOLATION`.
 *
 * The table, with the function that decides each cell:
 *
 * | TLP          | circle log (gossip) | named recipients | pass on to another circle | exports                |
 * |--------------|---------------------|------------------|---------------------------|------------------------|
 * | CLEAR        | yes, in the clear   | no               | yes                       | every export           |
 * | GREEN        | yes, sealed         | no               | by an explicit re-share   | authenticated only     |
 * | AMBER        | yes, sealed         | no               | never                     | authenticated only     |
 * | AMBER+STRICT | yes, sealed         | no               | never                     | not for clients        |
 * | RED          | never               | yes, direct      | never                     | never in bulk exports  |
 *
 * `mayEnterCircle`, `goesToRecipients`, `isSealedInTransit`, `mayPassOn` / `passOnViolation`,
 * `withinCeiling` / `mayBulkExport` / `mayBlocklist`. A log's label: `entryLabelViolation`,
 * `entryLabelFor`. Direct delivery: `directDeliveryViolation` (the handover), `redDeliveryViolation`
 * (what the store accepts). Relabel: `relabelViolation` (the
 * origin asks), `relabelApplies` (a receiver folds). Revoke and relabel reach: `reachOf`.
 * Anything derived from records (a sighting) is never looser: `looserThanViolation`; a
 * sighting's label: `sightingLabelFor`, `sightingLabelViolation`. Advisories and their acks:
 * `advisoryLabelViolation`, `ackLabelFor`. Reports: `reportLabelViolation`.
 */
import { PhalanxError } from '../errors.js'
import { TLP_LEVELS, tlpRank, type Tlp } from './labels.js'

/** why a route is refused: the input field to blame and what to do instead */
export interface Violation {
  field: string
  message: string
}

/** throw a violation as PX_ERR_TLP_VIOLATION naming its field; nothing when there is none */
export function refuse (v: Violation | null): void {
  if (v !== null) throw new PhalanxError('PX_ERR_TLP_VIOLATION', v.message, { field: v.field })
}

/** the label of every entry of a circle's membership log (members, keys, addresses) */
export const MEMBERSHIP_LOG_LABEL: Tlp = 'AMBER'

/** the kinds of log an entry can be in (src/records names them, src/circles the membership log) */
export type LogKind = 'circle' | 'membership' | 'red' | 'local'

/** the strictest of some labels; undefined for none */
export function strictest (labels: Iterable<Tlp | undefined>): Tlp | undefined {
  let out: Tlp | undefined
  for (const t of labels) if (t !== undefined && (out === undefined || tlpRank(t) > tlpRank(out))) out = t
  return out
}

/** is `to` strictly looser than `from`? */
export function isLooser (to: Tlp, from: Tlp): boolean {
  return tlpRank(to) < tlpRank(from)
}

// --- where a label may travel -------------------------------------------------------------

/** may a record at `tlp` be published into a circle's log (gossiped and synced to its members)? */
export function mayEnterCircle (tlp: Tlp): boolean {
  return tlp !== 'RED'
}

/** does a record at `tlp` go to named recipients, sealed to each and delivered directly? only RED */
export function goesToRecipients (tlp: Tlp): boolean {
  return tlp === 'RED'
}

/** is an entry at `tlp` sealed with the circle key in transit? everything but CLEAR is */
export function isSealedInTransit (tlp: Tlp): boolean {
  return tlp !== 'CLEAR'
}

/**
 * A user's publish of a record at `tlp`: to a circle (or the private scope), or to named
 * recipients (`to`). `circleNamed`: the input also named a circle.
 */
export function publishViolation (tlp: Tlp, route: { to: 'circle' | 'local' } | { to: 'recipients', circleNamed: boolean }): Violation | null {
  if (route.to === 'recipients') {
    if (!goesToRecipients(tlp)) return { field: 'to', message: `"to" names the recipients of TLP:RED; a TLP:${tlp} indicator goes to a circle` }
    if (route.circleNamed) return { field: 'circle', message: 'TLP:RED goes to named recipients ("to"), never to a circle' }
    return null
  }
  if (route.to === 'circle' && !mayEnterCircle(tlp)) {
    return { field: 'tlp', message: 'TLP:RED never goes to a circle: name its recipients with "to" (public keys), or publish it without a circle to keep it in the private scope' }
  }
  return null
}

/** the label an entry in a log of `kind` carries must fit the log; null when it does */
export function entryLabelViolation (kind: LogKind, tlp: Tlp): Violation | null {
  switch (kind) {
    case 'membership': return tlp === MEMBERSHIP_LOG_LABEL ? null : { field: 'tlp', message: `a membership log entry is ${MEMBERSHIP_LOG_LABEL}` }
    case 'red': return goesToRecipients(tlp) ? null : { field: 'tlp', message: 'a recipient log carries TLP:RED only' }
    case 'circle': return mayEnterCircle(tlp) ? null : { field: 'tlp', message: 'RED never enters a circle log: it goes to named recipients only' }
    case 'local': return null
  }
}

/** the label of an entry that carries a record at `tlp` (a revoke, a relabel) into a log of `kind` */
export function entryLabelFor (kind: LogKind, tlp: Tlp): Tlp {
  switch (kind) {
    case 'membership': return MEMBERSHIP_LOG_LABEL
    case 'red': return 'RED'
    default: return tlp
  }
}

/**
 * A RED entry of another origin is accepted only delivered directly (`direct`) into this
 * node's own recipient log (`toMe`); never from gossip, sync or a relay.
 */
export function redDeliveryViolation (d: { direct: boolean, toMe: boolean, tlp: Tlp }): Violation | null {
  if (!d.direct || !d.toMe) return { field: 'circle', message: 'a RED entry is accepted only from its origin, delivered directly to its recipient' }
  return entryLabelViolation('red', d.tlp)
}

/**
 * A RED entry handed over by direct delivery: the peer that delivers it must be its origin
 * (`fromOrigin`: RED is never relayed) and it must be for this node (`toMe`).
 */
export function directDeliveryViolation (d: { fromOrigin: boolean, toMe: boolean }): Violation | null {
  if (!d.fromOrigin) return { field: 'origin', message: 'a RED entry comes from its origin only, never relayed' }
  if (!d.toMe) return { field: 'circle', message: 'this RED entry is for another recipient' }
  return null
}

// --- passing on what others shared ----------------------------------------------------------

/** may a record at `tlp`, held from another organization, be passed on to another circle? */
export function mayPassOn (tlp: Tlp, explicit: boolean): boolean {
  return tlp === 'CLEAR' || (tlp === 'GREEN' && explicit)
}

/** a record of another origin that holds the same value, as the publish check sees it */
export interface HeldRecord {
  id: string
  tlp: Tlp
  /** the log it came in (a circle id, a recipient log, the private scope) */
  log: string
  /** every other log the same record came in (its origin re-shared it): it is held from each */
  alsoIn?: readonly string[]
  /** how it reached this node, for messages: e.g. "org ABCD-… in circle isac" */
  from: string
}

/**
 * Why publishing a value at `tlp` to `target` would pass on what another organization shared
 * with this node (`held`), against its label; null when it would not. Never looser than it
 * came, wherever it goes (an update of one's own record included); to another circle or
 * recipient only CLEAR, and GREEN by an explicit re-share (`explicit`). `ownInTarget`: this
 * node already has its own record of the value in `target` (publishing updates it). The
 * private scope (`local`) is this node's: anything held may go there, at its label or stricter.
 */
export function passOnViolation (held: readonly HeldRecord[], p: { tlp: Tlp, target: string, local: boolean, explicit: boolean, ownInTarget: boolean }): string | null {
  for (const h of held) {
    if (isLooser(p.tlp, h.tlp)) return `this value reached you as TLP:${h.tlp} from ${h.from}: publish it at TLP:${h.tlp} or stricter`
  }
  if (p.ownInTarget) return null
  for (const h of held) {
    if (p.local || h.log === p.target || (h.alsoIn?.includes(p.target) ?? false)) continue
    if (mayPassOn(h.tlp, p.explicit)) continue
    return h.tlp === 'GREEN'
      ? `this value reached you as TLP:GREEN from ${h.from}: GREEN goes to another circle only by an explicit re-share (phalanx reshare ${h.id} --circle …)`
      : `this value reached you as TLP:${h.tlp} from ${h.from}: TLP:${h.tlp} is never passed on to another circle or recipient`
  }
  return null
}

/** re-sharing a record by id (an explicit operator action): only CLEAR and GREEN move */
export function reshareViolation (tlp: Tlp): Violation | null {
  return mayPassOn(tlp, true) ? null : { field: 'id', message: `TLP:${tlp} is never re-shared to another circle (only CLEAR, and GREEN by an explicit re-share, may be)` }
}

/** the least a sighting is labelled in a circle unless its sighter asks stricter: AMBER (issue 15) */
export const SIGHTING_FLOOR: Tlp = 'AMBER'

/**
 * The label of a sighting sent to a log of `kind`, where this node holds records of the value
 * at `heldThere`: to the origin of a RED record, RED; elsewhere the stricter of AMBER and the
 * strictest record it names there. The sighter may choose stricter (sightingLabelViolation).
 */
export function sightingLabelFor (kind: LogKind, heldThere: readonly Tlp[]): Tlp {
  if (kind === 'red') return 'RED'
  return strictest([SIGHTING_FLOOR, ...heldThere]) ?? SIGHTING_FLOOR
}

/**
 * Why a sighting labelled `tlp` may not go to a log of `kind` holding records of the value at
 * `heldThere`: never looser than the strictest of them there; RED only to the origin of a RED
 * record (its direct log), never into a circle; a direct log takes RED only.
 */
export function sightingLabelViolation (kind: LogKind, heldThere: readonly Tlp[], tlp: Tlp): Violation | null {
  if (kind === 'red') return tlp === 'RED' ? null : { field: 'tlp', message: `a sighting of a RED indicator goes only to its origin, as TLP:RED (not TLP:${tlp})` }
  if (kind === 'circle' && !mayEnterCircle(tlp)) return { field: 'tlp', message: 'TLP:RED never goes to a circle: a sighting of a RED indicator goes to its origin only (leave out circle)' }
  return looserThanViolation(tlp, strictest(heldThere), 'a sighting of this value here')
}

/** a record derived from others (a sighting) is never looser than `floor` */
export function looserThanViolation (tlp: Tlp, floor: Tlp | undefined, what: string): Violation | null {
  return floor !== undefined && isLooser(tlp, floor) ? { field: 'tlp', message: `${what} is never looser than TLP:${floor}` } : null
}

// --- advisories and acks --------------------------------------------------------------------

/** an advisory's label when its author names none (issue 15: alerts within the circle) */
export const ADVISORY_DEFAULT_TLP: Tlp = 'AMBER'

/**
 * Why an advisory labelled `tlp` may not go to a circle whose records it links (the indicators
 * it names, held in that circle) are labelled `linked`: it goes only into a circle (never RED:
 * RED advisories to named recipients are not supported), and is never looser than the
 * strictest indicator it names there.
 */
export function advisoryLabelViolation (tlp: Tlp, linked: readonly Tlp[]): Violation | null {
  if (!mayEnterCircle(tlp)) return { field: 'tlp', message: 'an advisory goes to a circle, and TLP:RED never does (RED advisories to named recipients are not supported): label it AMBER+STRICT or looser' }
  return looserThanViolation(tlp, strictest(linked), 'an advisory naming these indicators')
}

/** the label of an ack of an advisory at `advisory`: the advisory's own (it says who read what) */
export function ackLabelFor (advisory: Tlp): Tlp {
  return advisory
}

// --- reports --------------------------------------------------------------------------------

/** a report's label when its author names none: shared with the circle's organizations, need-to-know */
export const REPORT_DEFAULT_TLP: Tlp = 'AMBER'

/** a report's label when its author names none: AMBER, or the strictest indicator it links when that is stricter */
export function reportLabelFor (linked: readonly Tlp[]): Tlp {
  return strictest([REPORT_DEFAULT_TLP, ...linked]) ?? REPORT_DEFAULT_TLP
}

/**
 * Why a report labelled `tlp` may not go where its linked indicators (held there) are labelled
 * `linked`: into a circle never as RED (a RED report to named recipients is not supported; the
 * private scope holds any label), and never looser than the strictest indicator it links there.
 */
export function reportLabelViolation (tlp: Tlp, linked: readonly Tlp[], to: 'circle' | 'local'): Violation | null {
  if (to === 'circle' && !mayEnterCircle(tlp)) return { field: 'tlp', message: 'a report goes to a circle, and TLP:RED never does (RED reports to named recipients are not supported): label it AMBER+STRICT or looser, or keep it in the private scope' }
  return looserThanViolation(tlp, strictest(linked), 'a report linking these indicators')
}

// --- relabel and revoke ---------------------------------------------------------------------

/** the origin's relabel from `from` to `to`: TLP 2.0 lets the source loosen, and only loosen */
export function relabelViolation (from: Tlp, to: Tlp): Violation | null {
  return isLooser(to, from) ? null : { field: 'tlp', message: `a relabel only loosens: ${from} → ${to} is not looser` }
}

/**
 * Does a received relabel to `to` change a record now at `current`? Only when it loosens: a
 * relabel that arrives after a later one (through another circle the record went to) changes
 * nothing, and is kept like any signed entry.
 */
export function relabelApplies (current: Tlp, to: Tlp): boolean {
  return isLooser(to, current)
}

/** a record's reach: the log of its current version, and every other log it was published in */
export interface Reached {
  circle: string
  reach?: readonly string[]
}

/** every log a revoke or relabel of this record must go to: each circle and recipient log it went to */
export function reachOf (r: Reached): string[] {
  return r.reach === undefined ? [r.circle] : [...r.reach]
}

/** the reach once a version went to `log` (sorted); undefined when `log` is already in it */
export function reachWith (r: Reached, log: string): string[] | undefined {
  const now = reachOf(r)
  return now.includes(log) ? undefined : [...now, log].sort()
}

// --- reading and exporting ------------------------------------------------------------------

/** what a read token reads at most unless it says otherwise (AMBER+STRICT stays with the organization) */
export const DEFAULT_TOKEN_CEILING: Tlp = 'AMBER'

/** a read token's ceiling: RED is never in a collection */
export function tokenCeilingViolation (max: Tlp): Violation | null {
  return goesToRecipients(max) ? { field: 'maxTlp', message: 'RED is never in a collection: maxTlp is at most AMBER+STRICT' } : null
}

/** may a reader whose ceiling is `max` (undefined: no ceiling) read a record at `tlp`? */
export function withinCeiling (tlp: Tlp, max: Tlp | undefined): boolean {
  return max === undefined || tlpRank(tlp) <= tlpRank(max)
}

/** may a record at `tlp` be in a bulk export (a file of many records)? RED only when asked for */
export function mayBulkExport (tlp: Tlp, includeRed: boolean): boolean {
  return !goesToRecipients(tlp) || includeRed
}

/** the labels a bulk export holds when its filter names none: every label it may hold */
export function bulkExportLabels (includeRed: boolean): Tlp[] {
  return TLP_LEVELS.filter(t => mayBulkExport(t, includeRed))
}

/** may a record at `tlp` be put in a blocklist? as a bulk export: RED only when asked for */
export function mayBlocklist (tlp: Tlp, includeRed: boolean): boolean {
  return mayBulkExport(tlp, includeRed)
}
