/**
 * `/phalanx/control/1.0.0`: a circle's membership log, from a member. An org added by key
 * takes it once (`connect`), and every node pulls it round robin from connected members
 * (membership logs are small) so that a join, an address or a key rotation whose gossip was
 * lost still arrives.
 *
 * Guarantees (server): only for a current member of a circle this node is in. (Client): a log
 * taken at join or connect is ingested entry by entry; one that does not verify, holds an
 * entry of another circle, or does not end with this node a member is refused (PX_ERR_PEER).
 * A pull ingests the entries in order and stops at the first one of another circle or refused.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { PhalanxError } from '../../errors.js'
import { fingerprint } from '../../identity/index.js'
import { circleOfLog, type CircleManager, type CircleState } from '../../circles/index.js'
import type { Ingest } from '../../store/index.js'
import { publicKeyOfPeer } from '../host.js'
import type { GossipVerdict } from '../gossip/validator.js'
import { circleForMember } from './authorize.js'
import type { RequestHandler } from './framing.js'
import type { Requester } from './request.js'

export const CONTROL_PROTOCOL = '/phalanx/control/1.0.0'
/** concurrent inbound streams of this protocol per connection */
export const CONTROL_MAX_INBOUND_STREAMS = 8

/**
 * A request `{circle, have?}` is answered with the circle's membership log, or `{same: true}`
 * when `have` is the digest of what this node holds (CircleManager.controlDigest): a periodic
 * pull then costs two small messages instead of the whole log both ways, and joins and
 * connects (which send no `have`) take the log as before.
 */
export function controlHandler (circles: Pick<CircleManager, 'get' | 'mine' | 'controlEntries' | 'controlDigest'>): RequestHandler {
  return async (req, key) => {
    const s = circleForMember(circles, req?.circle, key)
    const have = (req as { have?: unknown } | undefined)?.have
    if (typeof have === 'string' && have === await circles.controlDigest(s.id)) return { same: true }
    return { entries: await circles.controlEntries(s.id) }
  }
}

export interface ControlLogComponents {
  circles: Pick<CircleManager, 'expect' | 'get' | 'mine'>
  ingest: Pick<Ingest, 'ingest'>
}

/** ingest a circle's membership log taken from a peer (join, connect); it must make this node a member */
export async function takeControlLog (c: ControlLogComponents, circle: string, entries: unknown): Promise<void> {
  if (!Array.isArray(entries) || entries.length === 0) throw new PhalanxError('PX_ERR_PEER', 'the peer sent no circle log')
  c.circles.expect(circle)
  // entries this node already folded (a membership pull may be taking the same log right
  // now) can be refused by the policy of the newer state: go on, and judge by the outcome
  let refused: Error | undefined
  for (const e of entries) {
    const ec = (e as { circle?: unknown })?.circle
    if (typeof ec !== 'string' || circleOfLog(ec) !== circle) throw new PhalanxError('PX_ERR_PEER', 'the peer sent an entry of another circle')
    try {
      await c.ingest.ingest(e, 'join')
    } catch (err) {
      if (err instanceof PhalanxError && (err.code === 'PX_ERR_BAD_SIGNATURE' || err.code === 'PX_ERR_BAD_ENTRY')) {
        throw new PhalanxError('PX_ERR_PEER', `the peer's circle log does not verify: ${err.message}`, { cause: err })
      }
      refused ??= err as Error
    }
  }
  if (c.circles.get(circle) === undefined || !c.circles.mine().some(s => s.id === circle)) {
    throw new PhalanxError('PX_ERR_PEER', `the circle log does not make this node a member${refused !== undefined ? ` (${refused.message})` : ''}`)
  }
}

/** a member added by key fetches the circle's log from a member at `addr` (ending /p2p/<peer id>) */
export async function connectAt (c: ControlLogComponents & { requester: Pick<Requester, 'toAddrs'> }, circle: string, addr: string): Promise<{ peer: { publicKey: string, org: string, fingerprint: string } }> {
  let ma
  try { ma = multiaddr(addr) } catch { throw new PhalanxError('PX_ERR_VALIDATION', 'not a multiaddr (e.g. /ip4/192.0.2.1/tcp/7400/p2p/12D3Koo…)', { field: 'addr' }) }
  const peer = ma.getComponents().find(x => x.name === 'p2p')?.value
  if (peer === undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'the address must end with /p2p/<peer id> so the peer\'s key is known', { field: 'addr' })
  const key = publicKeyOfPeer(peerIdFromString(peer))
  if (key === null) throw new PhalanxError('PX_ERR_VALIDATION', 'the peer id is not an Ed25519 key', { field: 'addr' })
  const base = addr.replace(/\/p2p\/[^/]+$/, '')
  const reply = await c.requester.toAddrs(key, [base], CONTROL_PROTOCOL, { circle })
  await takeControlLog(c, circle, reply.entries)
  const m = c.circles.get(circle)?.members.get(key)
  return { peer: { publicKey: key, org: m?.org ?? '', fingerprint: fingerprint(key) } }
}

export interface ControlPullComponents {
  requester: Pick<Requester, 'toPeer'>
  /** round robin: one of our circles and one of its members connected now */
  pickMember: (turn: number) => { circle: CircleState, peer: PeerId } | undefined
  /** ingest one entry as a remote one (the gossip verdict) */
  judge: (raw: unknown, source: string) => Promise<GossipVerdict>
  /** the digest of the membership log this node holds (CircleManager.controlDigest) */
  digest: (circle: string) => Promise<string>
  log: Logger
  signal: AbortSignal
}

/**
 * Membership logs converge without waiting for sync: each tick, take one circle's
 * membership log from one connected member (they are small) and ingest what is new; the
 * request names the digest of the log held, and a member holding the same answers `same`.
 * Gossip of a join, an address or a rotation may be lost; this repairs it.
 */
export class ControlPull {
  readonly #c: ControlPullComponents
  #pulling = false
  #turn = 0

  constructor (c: ControlPullComponents) {
    this.#c = c
  }

  /** one pull (none while the last one runs) */
  async pull (): Promise<void> {
    if (this.#pulling || this.#c.signal.aborted) return
    this.#pulling = true
    try {
      const pick = this.#c.pickMember(this.#turn++)
      if (pick === undefined) return
      const { circle: s, peer } = pick
      const reply = await this.#c.requester.toPeer(peer, CONTROL_PROTOCOL, { circle: s.id, have: await this.#c.digest(s.id) })
      if (reply.same === true || !Array.isArray(reply.entries)) return
      for (const e of reply.entries) {
        const c = (e as { circle?: unknown })?.circle
        if (typeof c !== 'string' || circleOfLog(c) !== s.id) return
        const r = await this.#c.judge(e, 'control')
        if (r.result === TopicValidatorResult.Reject) return
      }
    } catch (err) {
      this.#c.log.debug({ err: (err as Error).message }, 'membership log pull failed')
    } finally {
      this.#pulling = false
    }
  }
}
