/**
 * Query-string parsing for the API: each parameter validated, errors naming it.
 */
import { ValidationError } from '../errors.js'
import { isIndicatorType, parseTime, type IndicatorType } from '../records/index.js'
import { parseTlp, type Tlp } from '../tlp/index.js'
import { CURSOR_RE, type QueryFilter } from '../store/index.js'
import { isPublicKeyHex } from '../identity/index.js'

export type Query = Record<string, string | string[] | undefined>

export const QUERY_MAX_LIMIT = 1000
export const QUERY_DEFAULT_LIMIT = 100

export function one (q: Query, name: string): string | undefined {
  const v = q[name]
  if (Array.isArray(v)) {
    if (v.length > 1) throw new ValidationError(name, `${name} is given more than once`)
    return v[0]
  }
  return v
}

export function bool (q: Query, name: string): boolean | undefined {
  const v = one(q, name)
  if (v === undefined) return undefined
  if (v === 'true' || v === '1' || v === '') return true
  if (v === 'false' || v === '0') return false
  throw new ValidationError(name, `${name} must be true or false`)
}

export function checkKnown (q: Query, known: readonly string[]): void {
  for (const k of Object.keys(q)) {
    if (!known.includes(k)) throw new ValidationError(k, `unknown query parameter "${k}"; known: ${known.join(', ')}`)
  }
}

export const QUERY_PARAMS = ['type', 'value', 'tag', 'tlp', 'origin', 'circle', 'since', 'until', 'limit', 'cursor', 'include_revoked', 'include_expired'] as const

/**
 * GET /v1/indicators parameters → a store filter; `normalize` resolves value+type, `circleId`
 * a circle named by its name (ops.circles.idOf)
 */
export function parseQueryFilter (q: Query, normalize: (value: string, type?: string) => { type: IndicatorType, value: string }, circleId: (ref: string) => string = (ref) => ref): QueryFilter {
  checkKnown(q, QUERY_PARAMS)
  const limitRaw = one(q, 'limit')
  let limit = QUERY_DEFAULT_LIMIT
  if (limitRaw !== undefined) {
    limit = Number(limitRaw)
    if (!/^\d+$/.test(limitRaw) || limit < 1 || limit > QUERY_MAX_LIMIT) throw new ValidationError('limit', `limit must be an integer from 1 to ${QUERY_MAX_LIMIT}`)
  }
  const f: QueryFilter = { limit }
  const type = one(q, 'type')
  if (type !== undefined) {
    if (!isIndicatorType(type)) throw new ValidationError('type', `unknown indicator type "${type}"`)
    f.type = type
  }
  const value = one(q, 'value')
  if (value !== undefined) {
    const n = normalize(value, f.type)
    f.type = n.type
    f.value = n.value
  }
  const tag = one(q, 'tag')
  if (tag !== undefined) {
    if (tag.trim() === '') throw new ValidationError('tag', 'tag must not be empty')
    f.tag = tag.trim().replace(/\s+/g, ' ')
  }
  const tlp = one(q, 'tlp')
  if (tlp !== undefined) f.tlp = tlp.split(',').map(t => parseTlp(t, 'tlp')) as Tlp[]
  const origin = one(q, 'origin')
  if (origin !== undefined) {
    if (!isPublicKeyHex(origin)) throw new ValidationError('origin', 'origin must be a 64-hex-character public key')
    f.origin = origin
  }
  const circle = one(q, 'circle')
  if (circle !== undefined) f.circle = circleId(circle)
  const since = one(q, 'since')
  if (since !== undefined) f.since = parseTime(since, 'since')
  const until = one(q, 'until')
  if (until !== undefined) f.until = parseTime(until, 'until')
  if (f.since !== undefined && f.until !== undefined && f.until < f.since) throw new ValidationError('until', 'until must not be before since')
  const cursor = one(q, 'cursor')
  if (cursor !== undefined) {
    if (!CURSOR_RE.test(cursor)) throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor')
    f.cursor = cursor
  }
  const ir = bool(q, 'include_revoked')
  if (ir !== undefined) f.includeRevoked = ir
  const ie = bool(q, 'include_expired')
  if (ie !== undefined) f.includeExpired = ie
  return f
}
