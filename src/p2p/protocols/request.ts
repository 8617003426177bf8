/**
 * Sending a request of one of the request/response protocols (framing.ts) to a peer: over
 * a connection, to an org at given addresses (join, connect), or to a member at the
 * addresses it announced (RED delivery).
 *
 * Guarantees: a peer that cannot be reached, or a stream that fails, gives PX_ERR_PEER (with
 * `meta.refused` when the peer answered and hung up: its gater does not let us in); a
 * request to an org at addresses is tried twice (200 ms apart) when the first attempt fails
 * with PX_ERR_PEER; an org dialled at its addresses passes the gater for that dial only.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, Stream } from '@libp2p/interface'
import { PhalanxError } from '../../errors.js'
import { fingerprint } from '../../identity/index.js'
import type { CircleManager } from '../../circles/index.js'
import { peerIdOfKey, type Host } from '../host.js'
import type { Connections } from '../connections.js'
import { exchange, REQUEST_TIMEOUT_MS } from './framing.js'

/**
 * Did the peer answer and then hang up (its gater refused this node after the handshake), as
 * opposed to not answering at all (refused TCP connection, timeout)? libp2p reports the first
 * as the end of the stream while the protocol is negotiated.
 */
export function hungUp (err: unknown): boolean {
  const e = err as { name?: unknown, message?: unknown }
  return e?.name === 'UnexpectedEOFError' || (typeof e?.message === 'string' && /stream closed|connection closed|stream reset/i.test(e.message) && e.name !== 'AbortError' && e.name !== 'TimeoutError')
}

/** the wait before the second attempt of a request to an org at its addresses */
const RETRY_DELAY_MS = 200

export interface RequesterComponents {
  host: Pick<Host, 'dialProtocol'>
  connections: Pick<Connections, 'dialOutsider' | 'isConnected'>
  circles: Pick<CircleManager, 'mine'>
  /** aborted when the network stops (no retry then) */
  signal: AbortSignal
}

export class Requester {
  readonly #c: RequesterComponents

  constructor (c: RequesterComponents) {
    this.#c = c
  }

  /** a request to a connected (or known) peer */
  async toPeer (peer: PeerId, protocol: string, body: unknown): Promise<any> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    let stream: Stream
    try {
      stream = await this.#c.host.dialProtocol(peer, protocol, { signal })
    } catch (err) {
      throw new PhalanxError('PX_ERR_PEER', `could not open ${protocol} to ${peer.toString()}: ${(err as Error).message}`, { cause: err })
    }
    return await exchange(stream, body, signal)
  }

  /**
   * A request to an org at `addrs`. Tried twice: a connection that is closing (a membership
   * change hangs peers up) may be handed to the first attempt and end the stream early.
   */
  async toAddrs (key: string, addrs: string[], protocol: string, body: unknown): Promise<any> {
    try {
      return await this.#toAddrsOnce(key, addrs, protocol, body)
    } catch (err) {
      if (!(err instanceof PhalanxError) || err.code !== 'PX_ERR_PEER' || this.#c.signal.aborted) throw err
      await new Promise(resolve => setTimeout(resolve, RETRY_DELAY_MS))
      return await this.#toAddrsOnce(key, addrs, protocol, body)
    }
  }

  /** a request to a member: over an open connection, or dialled at its announced addresses */
  async toMember (key: string, protocol: string, body: unknown): Promise<any> {
    const id = peerIdOfKey(key)
    if (this.#c.connections.isConnected(id)) {
      return await this.toPeer(peerIdFromString(id), protocol, body)
    }
    const addrs = new Set<string>()
    for (const s of this.#c.circles.mine()) for (const a of s.members.get(key)?.addrs ?? []) addrs.add(a)
    if (addrs.size === 0) throw new PhalanxError('PX_ERR_PEER', 'no known address for the recipient')
    return await this.toAddrs(key, [...addrs], protocol, body)
  }

  async #toAddrsOnce (key: string, addrs: string[], protocol: string, body: unknown): Promise<any> {
    const id = peerIdOfKey(key)
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    let stream: Stream
    try {
      stream = await this.#c.connections.dialOutsider(id, async () => await this.#c.host.dialProtocol(addrs.map(a => multiaddr(`${a}/p2p/${id}`)), protocol, { signal }))
    } catch (err) {
      if (hungUp(err)) {
        throw new PhalanxError('PX_ERR_PEER', `${fingerprint(key).slice(0, 9)}… at ${addrs.join(', ')} answered and closed the connection: it does not let this node in`, { cause: err, meta: { refused: true } })
      }
      throw new PhalanxError('PX_ERR_PEER', `could not reach ${fingerprint(key).slice(0, 9)}… at ${addrs.join(', ')} (offline, or it refuses us: an invite that is used or expired no longer opens its door): ${(err as Error).message}`, { cause: err })
    }
    return await exchange(stream, body, signal)
  }
}
