/**
 * `/phalanx/entries/1.0.0`: entries of one (circle, origin) log by seq range, from a member
 * that holds them. Fills a gap seen in gossip of a membership log, and fetches the other side
 * of a fork during sync.
 *
 * Guarantees (server): only for a current member of a circle this node is in; at most
 * MAX_ENTRIES_PER_REQUEST entries, contiguous from `from`, stopping at the first one this
 * node lacks or once half a reply frame is filled. (Client): an entry outside the asked range
 * is refused with PX_ERR_PEER.
 */
import type { PeerId } from '@libp2p/interface'
import { PhalanxError } from '../../errors.js'
import type { Entry } from '../../records/index.js'
import type { CircleManager } from '../../circles/index.js'
import type { LevelStore } from '../../store/index.js'
import { circleForMember } from './authorize.js'
import { MAX_FRAME, type RequestHandler } from './framing.js'
import type { Requester } from './request.js'

export const ENTRIES_PROTOCOL = '/phalanx/entries/1.0.0'
/** entries in one reply at most */
export const MAX_ENTRIES_PER_REQUEST = 256
/** concurrent inbound streams of this protocol per connection */
export const ENTRIES_MAX_INBOUND_STREAMS = 16

export interface EntriesServerComponents {
  circles: Pick<CircleManager, 'get' | 'mine'>
  store: Pick<LevelStore, 'getEntry'>
}

export function entriesHandler (c: EntriesServerComponents): RequestHandler {
  return async (req, key) => {
    circleForMember(c.circles, req?.circle, key)
    const circle = req.circle as string
    if (typeof req.origin !== 'string' || !Number.isSafeInteger(req.from) || !Number.isSafeInteger(req.to) || req.from < 1 || req.to < req.from) {
      throw new PhalanxError('PX_ERR_VALIDATION', 'an entries request names circle, origin, from and to (seqs)')
    }
    const entries: Entry[] = []
    const last = Math.min(req.to, req.from + MAX_ENTRIES_PER_REQUEST - 1)
    let bytes = 0
    for (let seq = req.from; seq <= last && bytes < MAX_FRAME / 2; seq++) {
      const e = c.store.getEntry(circle, req.origin, seq)
      if (e === undefined) break
      bytes += JSON.stringify(e).length
      entries.push(e)
    }
    return { entries }
  }
}

/** entries `from`..`to` (at most MAX_ENTRIES_PER_REQUEST) of a log, as `peer` sent them (unchecked) */
export async function fetchEntries (requester: Pick<Requester, 'toPeer'>, peer: PeerId, circle: string, origin: string, from: number, to: number): Promise<unknown[]> {
  const reply = await requester.toPeer(peer, ENTRIES_PROTOCOL, { circle, origin, from, to })
  return Array.isArray(reply.entries) ? reply.entries : []
}

/** the entry at `seq` of a log from `peer`; PX_ERR_PEER when it answers with another */
export async function fetchEntry (requester: Pick<Requester, 'toPeer'>, peer: PeerId, circle: string, origin: string, seq: number): Promise<unknown> {
  const e = (await fetchEntries(requester, peer, circle, origin, seq, seq))[0] as any
  if (e?.circle !== circle || e?.origin !== origin || e?.seq !== seq) throw new PhalanxError('PX_ERR_PEER', 'the peer answered with another entry')
  return e
}
