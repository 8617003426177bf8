/**
 * Dead connections are found with a ping at the muxer: every `intervalMs` each open connection
 * gets a yamux PING frame, and a connection whose answer does not come within `timeoutMs` is
 * aborted (libp2p then emits peer:disconnect, and the dial loop reconnects the member).
 *
 * libp2p's own connection monitor pings on a new stream instead (`/ipfs/ping/1.0.0`): a yamux
 * stream opened and closed, multistream-select's negotiation, and at both ends the peer store
 * re-reading and re-encoding the peer's record to note the protocol, for 32 bytes each way;
 * every 30 s to every peer, from both ends. With this module in its place, a quiet circle of
 * 25 nodes on one machine used 0.73× the CPU (README, Performance). A yamux ping is one 12-byte
 * frame each way on the connection that is already there, answered by @libp2p/yamux itself.
 * Its own keep-alive sends the same frame but never acts on a missing answer: it is off
 * (host.ts), and libp2p's monitor too.
 *
 * Guarantees: one ping in flight per connection; a connection that does not answer within
 * `timeoutMs` is aborted; a connection whose muxer has no ping (another muxer, a later
 * @libp2p/yamux) is pinged on a stream as before (`streamPing`); `stop()` ends the timer.
 */
import type { Connection } from '@libp2p/interface'
import type { Logger } from 'pino'

/** how often each connected peer is pinged to find dead connections */
export const CONNECTION_PING_INTERVAL_MS = 30_000
/** a ping not answered within this long marks its connection dead */
export const CONNECTION_PING_TIMEOUT_MS = 10_000

interface MuxerPing { ping: (options?: { signal?: AbortSignal }) => Promise<number> }

/** the muxer's own ping where the connection has one (@libp2p/yamux 8: `muxer.ping`) */
function muxerOf (conn: Connection): MuxerPing | undefined {
  const m = (conn as unknown as { muxer?: Partial<MuxerPing> }).muxer
  return typeof m?.ping === 'function' ? m as MuxerPing : undefined
}

export interface LivenessComponents {
  /** the host's open connections */
  getConnections: () => Connection[]
  /** a ping on a stream (libp2p's ping service), for a connection whose muxer has none */
  streamPing: (conn: Connection, options: { signal: AbortSignal }) => Promise<number>
  log: Logger
}

export interface LivenessOptions {
  intervalMs: number
  timeoutMs: number
}

export class Liveness {
  readonly #c: LivenessComponents
  readonly #o: LivenessOptions
  readonly #inFlight = new WeakSet<Connection>()
  #timer: NodeJS.Timeout | undefined

  constructor (c: LivenessComponents, o: LivenessOptions = { intervalMs: CONNECTION_PING_INTERVAL_MS, timeoutMs: CONNECTION_PING_TIMEOUT_MS }) {
    this.#c = c
    this.#o = o
  }

  start (): void {
    this.#timer ??= setInterval(() => { void this.pingAll() }, this.#o.intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** ping every open connection once; resolves when each answered or was aborted */
  async pingAll (): Promise<void> {
    await Promise.all(this.#c.getConnections().map(async conn => { await this.#ping(conn) }))
  }

  async #ping (conn: Connection): Promise<void> {
    if (conn.status !== 'open' || this.#inFlight.has(conn)) return
    this.#inFlight.add(conn)
    const signal = AbortSignal.timeout(this.#o.timeoutMs)
    try {
      const muxer = muxerOf(conn)
      conn.rtt = muxer !== undefined ? await muxer.ping({ signal }) : await this.#c.streamPing(conn, { signal })
    } catch (err) {
      // a peer that does not serve the ping protocol answered the negotiation: it is there
      if ((err as Error).name === 'UnsupportedProtocolError') return
      if (conn.status === 'open') {
        this.#c.log.info({ peer: conn.remotePeer.toString(), err: (err as Error).message }, 'connection did not answer a ping; closing it')
        conn.abort(err as Error)
      }
    } finally {
      this.#inFlight.delete(conn)
    }
  }
}
