/**
 * The TLP policy (DESIGN §2): every decision about who may receive a record, as pure functions.
 * No other module compares TLP ranks; they ask here.
 */
import { tlpRank, type Tlp } from './index.js'

/** the strictest of some labels; undefined for none */
export function strictest (labels: Iterable<Tlp | undefined>): Tlp | undefined {
  let out: Tlp | undefined
  for (const t of labels) if (t !== undefined && (out === undefined || tlpRank(t) > tlpRank(out))) out = t
  return out
}

/** may a reader whose ceiling is `max` (undefined: no ceiling) read a record at `tlp`? */
export function withinCeiling (tlp: Tlp, max: Tlp | undefined): boolean {
  return max === undefined || tlpRank(tlp) <= tlpRank(max)
}

/** is an entry at `tlp` sealed with the circle key in transit? everything but CLEAR is */
export function isSealedInTransit (tlp: Tlp): boolean {
  return tlp !== 'CLEAR'
}

/** may a record at `tlp` be put in a blocklist? RED only when the caller asks for it */
export function mayBlocklist (tlp: Tlp, includeRed: boolean): boolean {
  return tlp !== 'RED' || includeRed
}
