/**
 * TLP 2.0 labels and their order (DESIGN §2): parsing and ranking. The rules that say what may
 * go where are in policy.ts. TLP 1.0's WHITE is accepted on input and stored as CLEAR.
 */
import { ValidationError } from '../errors.js'

export const TLP_LEVELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as const
export type Tlp = typeof TLP_LEVELS[number]

/** rank: higher is stricter */
const RANK: Record<Tlp, number> = { CLEAR: 0, GREEN: 1, AMBER: 2, 'AMBER+STRICT': 3, RED: 4 }

export function isTlp (s: unknown): s is Tlp {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(RANK, s)
}

/**
 * Parse a user-given label: case-insensitive, optional `TLP:` prefix, WHITE → CLEAR,
 * `AMBER STRICT`/`AMBER_STRICT` → AMBER+STRICT. Throws a ValidationError naming `field`.
 */
export function parseTlp (raw: unknown, field = 'tlp'): Tlp {
  if (typeof raw !== 'string') throw new ValidationError(field, `${field} must be a string, one of ${TLP_LEVELS.join(', ')}`)
  // no TLP name is long: a long string is refused before any pattern reads it
  if (raw.length > 64) throw new ValidationError(field, `unknown TLP "${raw.slice(0, 40)}…"; expected one of ${TLP_LEVELS.join(', ')}`)
  let s = raw.trim().toUpperCase()
  if (s.startsWith('TLP:') || s.startsWith('TLP ')) s = s.slice(4).trim()
  // (the lookbehind keeps a long run of separators from being scanned from each position)
  s = s.replace(/(?<![\s_-])[\s_-]+STRICT$/, '+STRICT')
  if (s === 'WHITE') return 'CLEAR'
  if (isTlp(s)) return s
  throw new ValidationError(field, `unknown TLP "${raw}"; expected one of ${TLP_LEVELS.join(', ')} (WHITE is read as CLEAR)`)
}

/** rank: higher is stricter; for policy.ts (no other module compares ranks) */
export function tlpRank (t: Tlp): number { return RANK[t] }

/** the TLPs at or below `max` (e.g. what a client/customer export may contain) */
export function tlpsUpTo (max: Tlp): Tlp[] { return TLP_LEVELS.filter(t => RANK[t] <= RANK[max]) }
