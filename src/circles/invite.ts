/**
 * Invite codes: a copy-pasteable string an admin hands to a joining org out of band.
 *
 *     phx1.<base64url of the canonical JSON {v, circle, name, inviter, org, addrs, secret, expires, sig}>
 *
 * `sig` is the inviter's Ed25519 signature (purpose tag phalanx/invite-sig/v1 ‖ canonical
 * JSON without sig), so a code cannot be altered (e.g. pointed at another address) without
 * detection. The one-time `secret` proves the joiner holds the code; the inviter keeps only
 * its SHA-256, marks it used at the first join, and refuses it after `expires`.
 */
import { randomBytes } from 'node:crypto'
import { PhalanxError } from '../errors.js'
import { verifySignature, type OrgKey } from '../identity/index.js'
import { CIRCLE_LIMITS, PURPOSE, canonicalBytes, isCircleId, sha256Hex, unsafeCharOf, unsafeMessage } from '../records/index.js'

const PREFIX = 'phx1.'
const MAX_CODE = 8192

export interface Invite {
  v: 1
  circle: string
  name: string
  inviter: string
  org: string
  addrs: string[]
  secret: string
  expires: string
}

export interface SignedInvite extends Invite { sig: string }

function invalid (message: string): PhalanxError {
  return new PhalanxError('PX_ERR_INVITE', message, { field: 'code' })
}

export function makeInvite (key: OrgKey, f: Omit<Invite, 'v' | 'secret' | 'inviter'>): { code: string, invite: SignedInvite } {
  const invite: Invite = { v: 1, circle: f.circle, name: f.name, inviter: key.publicKeyHex, org: f.org, addrs: f.addrs, secret: randomBytes(16).toString('hex'), expires: f.expires }
  const sig = key.sign(canonicalBytes(PURPOSE.INVITE_SIG, invite)).toString('hex')
  const signed = { ...invite, sig }
  return { code: PREFIX + Buffer.from(JSON.stringify(signed)).toString('base64url'), invite: signed }
}

/** parse and verify a code (signature and shape; expiry is checked by both sides) */
export function parseInvite (code: unknown): SignedInvite {
  if (typeof code !== 'string' || code.length > MAX_CODE) throw invalid('an invite code is a string of at most 8 KiB')
  const s = code.trim()
  if (!s.startsWith(PREFIX)) throw invalid(`an invite code starts with "${PREFIX}"`)
  let raw: any
  try { raw = JSON.parse(Buffer.from(s.slice(PREFIX.length), 'base64url').toString('utf8')) } catch { throw invalid('the invite code is damaged (not base64url JSON); copy it again') }
  if (raw === null || typeof raw !== 'object' || raw.v !== 1) throw invalid('unknown invite code version')
  const ok = isCircleId(raw.circle) && typeof raw.name === 'string' && typeof raw.inviter === 'string' && /^[0-9a-f]{64}$/.test(raw.inviter) &&
    typeof raw.org === 'string' && Array.isArray(raw.addrs) && raw.addrs.length <= 16 && raw.addrs.every((a: unknown) => typeof a === 'string' && a.startsWith('/')) &&
    typeof raw.secret === 'string' && /^[0-9a-f]{32}$/.test(raw.secret) && typeof raw.expires === 'string' && !Number.isNaN(Date.parse(raw.expires)) &&
    typeof raw.sig === 'string' && /^[0-9a-f]{128}$/.test(raw.sig)
  if (!ok) throw invalid('the invite code is missing a field or has a malformed one')
  // the circle's and the inviter's names are printed next to the inviter's fingerprint
  for (const [field, what, max] of [['name', 'circle name', CIRCLE_LIMITS.NAME_MAX], ['org', 'inviter\'s organization name', CIRCLE_LIMITS.ORG_MAX]] as const) {
    const c = unsafeCharOf(raw[field])
    if (c !== undefined) throw invalid(`the invite code's ${unsafeMessage(what, c)}; do not use it`)
    if (raw[field].length > max) throw invalid(`the invite code's ${what} has more than ${max} characters`)
  }
  const invite: Invite = { v: 1, circle: raw.circle, name: raw.name, inviter: raw.inviter, org: raw.org, addrs: raw.addrs, secret: raw.secret, expires: raw.expires }
  if (!verifySignature(invite.inviter, canonicalBytes(PURPOSE.INVITE_SIG, invite), Buffer.from(raw.sig, 'hex'))) throw invalid('the invite code\'s signature does not verify: it was altered')
  return { ...invite, sig: raw.sig }
}

/**
 * What the inviter keeps of an invite, under the hash of its secret (the store persists it
 * as an InviteRecord: the same fields).
 */
export interface KeptInvite {
  circle: string
  expires: string
  usedBy?: string
  usedAt?: string
}

/** may this kept invite still be used at `now` (ISO time)? */
export function isOpenInvite (inv: KeptInvite, now: string): boolean {
  return inv.usedBy === undefined && inv.expires > now
}

/**
 * Use a kept invite to join `circle`: the invite marked used by `joiner` at `now`, or
 * PX_ERR_INVITE when there is no such invite for that circle, it was used, or it expired.
 */
export function useKeptInvite (inv: KeptInvite | undefined, circle: string, joiner: string, now: string): KeptInvite {
  if (inv === undefined || inv.circle !== circle) throw new PhalanxError('PX_ERR_INVITE', 'no such invite (wrong code or another node\'s)')
  if (inv.usedBy !== undefined) throw new PhalanxError('PX_ERR_INVITE', `this invite was already used (at ${inv.usedAt ?? '?'})`)
  if (inv.expires <= now) throw new PhalanxError('PX_ERR_INVITE', `this invite expired at ${inv.expires}`)
  return { ...inv, usedBy: joiner, usedAt: now }
}

export function inviteSecretHash (secret: string): string {
  return sha256Hex(`phalanx/invite-secret/v1\n${secret}`)
}

/** parse a duration like 30m, 24h, 7d (or seconds as a number) into milliseconds */
export function parseDuration (raw: unknown, field: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) return raw * 1000
  const m = typeof raw === 'string' ? /^(\d+)\s*([smhd])$/.exec(raw.trim()) : null
  if (m === null) throw new PhalanxError('PX_ERR_VALIDATION', `${field} must be a duration such as 30m, 24h or 7d`, { field })
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']
  if (ms <= 0 || ms > 30 * 86_400_000) throw new PhalanxError('PX_ERR_VALIDATION', `${field} must be between 1s and 30d`, { field })
  return ms
}
