/**
 * `/phalanx/join/1.0.0`: redeem an invite code. The joiner dials the inviter at the
 * addresses in the code, proves the invite secret, and takes the circle's membership log,
 * which now names it.
 *
 * Guarantees: an expired code, or this node's own, is refused before anything is dialled
 * (PX_ERR_INVITE); the inviter admits the joiner only through `redeemInvite` (one-time secret,
 * checked there); the log taken must make the joiner a member (control.ts `takeControlLog`).
 * A joiner's org name that is not display-safe (records/text.ts: a control, bidirectional or
 * invisible character) is refused before the invite is used (PX_ERR_INVITE, field `org`): it
 * would be signed into the membership log and printed next to a fingerprint.
 */
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import { fingerprint, type Identity } from '../../identity/index.js'
import { parseInvite } from '../../circles/index.js'
import { CIRCLE_LIMITS, isDisplaySafeName, optionalName, type Entry } from '../../records/index.js'
import { takeControlLog, type ControlLogComponents } from './control.js'
import type { RequestHandler } from './framing.js'
import type { Requester } from './request.js'

export const JOIN_PROTOCOL = '/phalanx/join/1.0.0'
/** concurrent inbound streams of this protocol per connection */
export const JOIN_MAX_INBOUND_STREAMS = 8

export interface JoinOutcome {
  circle: { id: string, name: string }
  inviter: { publicKey: string, org: string, fingerprint: string }
}

/** what the join server asks of the circle admin (src/operations/circle-admin.ts) */
export interface InviteRedeemer {
  /** mark the invite used, add the joiner, return the circle's control entries */
  redeemInvite: (circle: string, secret: string, joiner: string, org: string) => Promise<Entry[]>
}

export interface JoinServerComponents {
  admin: InviteRedeemer
  /** this node's org name is sent back to the joiner */
  identity: Pick<Identity, 'org'>
  log: Logger
}

export function joinHandler (c: JoinServerComponents): RequestHandler {
  return async (req, key) => {
    if (typeof req?.circle !== 'string' || typeof req?.secret !== 'string') throw new PhalanxError('PX_ERR_INVITE', 'a join names the circle and the invite secret')
    const org = joinerOrg(req.org)
    const entries = await c.admin.redeemInvite(req.circle, req.secret, key, org)
    c.log.info({ circle: req.circle, joiner: fingerprint(key), org }, 'an org joined with an invite')
    return { org: c.identity.org, entries }
  }
}

/** the org name a joiner sends: cut to CIRCLE_LIMITS.ORG_MAX characters, trimmed, display-safe */
function joinerOrg (raw: unknown): string {
  if (typeof raw !== 'string') return ''
  try {
    return optionalName(raw.slice(0, CIRCLE_LIMITS.ORG_MAX).toWellFormed(), 'org', CIRCLE_LIMITS.ORG_MAX) ?? ''
  } catch (err) {
    throw new PhalanxError('PX_ERR_INVITE', `the join was refused: the joining organization's name is not acceptable (${(err as Error).message}); the invite was not used`, { field: 'org' })
  }
}

export interface JoinClientComponents extends ControlLogComponents {
  requester: Pick<Requester, 'toAddrs'>
  /** this node's org key */
  self: string
}

/** redeem an invite code: dial the inviter, prove the secret, take the circle's log */
export async function joinWithInvite (c: JoinClientComponents, code: string, org: string): Promise<JoinOutcome> {
  const invite = parseInvite(code)
  if (invite.expires <= new Date().toISOString()) throw new PhalanxError('PX_ERR_INVITE', `this invite expired at ${invite.expires}`, { field: 'code' })
  if (invite.inviter === c.self) throw new PhalanxError('PX_ERR_INVITE', 'this is our own invite: give it to the org that joins', { field: 'code' })
  let reply
  try {
    reply = await c.requester.toAddrs(invite.inviter, invite.addrs, JOIN_PROTOCOL, { circle: invite.circle, secret: invite.secret, org })
  } catch (err) {
    // the inviter's node answered but let us in no more: it opens its door only while an invite is open
    if (err instanceof PhalanxError && err.code === 'PX_ERR_PEER' && err.meta?.refused === true) {
      throw new PhalanxError('PX_ERR_INVITE', `the inviter's node (${fingerprint(invite.inviter).slice(0, 9)}…) answered but refused this node: the invite was most likely used already, or it was revoked, or its expiry (${invite.expires}) passed by the inviter's clock. Ask the inviter for a new code.`, { field: 'code', cause: err })
    }
    throw err
  }
  await takeControlLog(c, invite.circle, reply.entries)
  return {
    circle: { id: invite.circle, name: invite.name },
    // the inviter's name as it answers, unless it is not one to print (the code's, checked, then)
    inviter: { publicKey: invite.inviter, org: typeof reply.org === 'string' && reply.org.length <= CIRCLE_LIMITS.ORG_MAX && isDisplaySafeName(reply.org) ? reply.org : invite.org, fingerprint: fingerprint(invite.inviter) }
  }
}
