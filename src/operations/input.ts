/**
 * Parsing of user input shared by the operations: request bodies and circles named by id or
 * by name. Each refusal names its field (PX_ERR_VALIDATION, PX_ERR_UNKNOWN_CIRCLE).
 */
import { PhalanxError, ValidationError } from '../errors.js'
import { fingerprint } from '../identity/index.js'
import { LOCAL_CIRCLE, checkKeys, isObject } from '../records/index.js'
import type { CircleManager } from '../circles/index.js'

/** a request body: a JSON object with only the named fields (asserts the type for the caller) */
export function bodyWith (raw: unknown, keys: ReadonlySet<string>): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw new ValidationError('', 'the body must be a JSON object')
  checkKeys(raw, keys, '')
}

/**
 * The id of a circle this node is in, named by its id or by its name (exact, else ignoring
 * case; it must be unique among this node's circles), or undefined when none matches. Two of
 * this node's circles with that name: PX_ERR_VALIDATION on `field`, listing their ids.
 */
export function circleIdOf (circles: Pick<CircleManager, 'mine'>, ref: string, field: string): string | undefined {
  const mine = circles.mine()
  if (mine.some(s => s.id === ref)) return ref
  const wanted = ref.trim()
  for (const same of [(n: string) => n === wanted, (n: string) => n.toLowerCase() === wanted.toLowerCase()]) {
    const named = mine.filter(s => same(s.name))
    if (named.length === 1) return named[0].id
    if (named.length > 1) {
      throw new PhalanxError('PX_ERR_VALIDATION', `${named.length} of this node's circles are named "${wanted.slice(0, 140)}" (${named.map(s => s.id).join(', ')}): give the circle's id`, { field })
    }
  }
  return undefined
}

/** the circles a lookup reads: this node's, and (when given) those it was removed from or left */
type Circles = Pick<CircleManager, 'mine'> & Partial<Pick<CircleManager, 'formerError'>>

/**
 * What a user reads when a circle is not one of this node's: that this node was removed from
 * it or left it (PX_ERR_NOT_MEMBER: when, by whom), else its circles by id and name.
 */
function unknownCircle (circles: Circles, ref: string, field: string): PhalanxError {
  const gone = circles.formerError?.(ref)
  if (gone != null) return new PhalanxError(gone.code, gone.message, { field })
  const list = circles.mine().map(s => `${s.id} "${s.name}"`).join(', ')
  return new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `this node is not in a circle with the id or name "${ref.slice(0, 140)}" (its circles: ${list === '' ? 'none' : list}; "${LOCAL_CIRCLE}" is the private scope)`, { field })
}

/** a circle this node is in, by id or unique name (circleIdOf); absent or `local`: the private scope */
export function resolveCircle (circles: Circles, circle: unknown, field: string): string {
  if (circle === undefined || circle === LOCAL_CIRCLE) return LOCAL_CIRCLE
  if (typeof circle !== 'string') throw new ValidationError(field, 'circle must be a string')
  const id = circleIdOf(circles, circle, field)
  if (id !== undefined) return id
  throw unknownCircle(circles, circle, field)
}

/** a shared circle this node is in, by id or unique name (the private scope is not one) */
export function requireCircle (circles: Circles, ref: string, field: string): string {
  const id = circleIdOf(circles, ref, field)
  if (id !== undefined) return id
  throw unknownCircle(circles, ref, field)
}

const FINGERPRINT_RE = /^[A-Z2-7]{4}(-?[A-Z2-7]{4}){7}$/

/**
 * An organization named by its public key or by its fingerprint (what `circle members` and
 * `peers` print, what people compare by phone): a fingerprint becomes the key of the member of
 * this node's circles that has it; anything else is returned as given, for the caller's own
 * check. A fingerprint no member has: PX_ERR_NOT_MEMBER on `field`.
 */
export function orgKeyOf (circles: Pick<CircleManager, 'mine'>, ref: unknown, field: string): unknown {
  if (typeof ref !== 'string' || !FINGERPRINT_RE.test(ref.trim().toUpperCase())) return ref
  const wanted = ref.trim().toUpperCase().replace(/-/g, '')
  for (const s of circles.mine()) {
    for (const key of s.members.keys()) if (fingerprint(key).replace(/-/g, '') === wanted) return key
  }
  throw new PhalanxError('PX_ERR_NOT_MEMBER', `no member of this node's circles has the fingerprint ${ref.trim().slice(0, 60)} (circle members shows each member's)`, { field })
}

/** `to` (one recipient or a list), each named by key or fingerprint (orgKeyOf) */
export function recipientKeysOf (circles: Pick<CircleManager, 'mine'>, to: unknown, field: string): unknown {
  if (Array.isArray(to)) return to.map((r, i) => orgKeyOf(circles, r, `${field}[${i}]`))
  return orgKeyOf(circles, to, field)
}

/**
 * organization names by public key: this node's own (`own`), then as this node's circles
 * recorded them (the first circle that names one wins)
 */
export function orgNamesOf (circles: Pick<CircleManager, 'mine'>, own?: { publicKey: string, org: string }): Map<string, string> {
  const out = new Map<string, string>()
  if (own !== undefined) out.set(own.publicKey, own.org)
  for (const c of circles.mine()) for (const m of c.members.values()) if (!out.has(m.key)) out.set(m.key, m.org)
  return out
}

/**
 * one organization's name by public key (this node's own, else the first of this node's
 * circles that names it): a lookup names the few orgs that sighted a value without building
 * the map of every member
 */
export function orgNameOf (circles: Pick<CircleManager, 'mine'>, own: { publicKey: string, org: string }, key: string): string | undefined {
  if (key === own.publicKey) return own.org
  for (const c of circles.mine()) {
    const m = c.members.get(key)
    if (m !== undefined) return m.org
  }
  return undefined
}
