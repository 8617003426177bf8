/**
 * Parsing of user input shared by the operations: request bodies and circle names. Each
 * refusal names its field (PX_ERR_VALIDATION, PX_ERR_UNKNOWN_CIRCLE).
 */
import { PhalanxError, ValidationError } from '../errors.js'
import { LOCAL_CIRCLE, checkKeys, isObject } from '../records/index.js'
import type { CircleManager } from '../circles/index.js'

/** a request body: a JSON object with only the named fields (asserts the type for the caller) */
export function bodyWith (raw: unknown, keys: ReadonlySet<string>): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw new ValidationError('', 'the body must be a JSON object')
  checkKeys(raw, keys, '')
}

/** a circle this node is in, by id; absent or `local`: the private scope */
export function resolveCircle (circles: Pick<CircleManager, 'mine'>, circle: unknown, field: string): string {
  if (circle === undefined || circle === LOCAL_CIRCLE) return LOCAL_CIRCLE
  if (typeof circle !== 'string') throw new ValidationError(field, 'circle must be a string')
  if (circles.mine().some(s => s.id === circle)) return circle
  throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `this node is not in circle "${circle.slice(0, 140)}" (its circles: ${circles.mine().map(s => s.id).join(', ') || 'none'}; "${LOCAL_CIRCLE}" is the private scope)`, { field })
}
