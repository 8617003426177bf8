/**
 * The framing every request/response protocol shares (join, control, entries, RED): one
 * length-prefixed JSON frame each way on a fresh stream.
 *
 * Guarantees: a request frame is at most MAX_REQUEST_FRAME bytes and a reply at most
 * MAX_FRAME, each side gives up after REQUEST_TIMEOUT_MS; a refusal travels as
 * `{error: {code, message}}` and comes back as a PhalanxError with that code (PX_ERR_PEER
 * when the code is not one of ERROR_CODES); any failure aborts the stream, and the caller sees a
 * PhalanxError (PX_ERR_PEER unless the peer named a code). A handler's own error reaches the
 * peer as its code and message; an unexpected one as PX_ERR_INTERNAL with no detail.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { ERROR_CODES, PhalanxError, type ErrorCode } from '../../errors.js'
import { publicKeyOfPeer } from '../host.js'

/** a reply at most (entries replies stop adding entries at half of it) */
export const MAX_FRAME = 8 * 1024 * 1024
/** a request at most: requests name a circle, a range, or carry one sealed entry (≤ 64 KiB) */
export const MAX_REQUEST_FRAME = 64 * 1024
/** the longest a request waits for its stream, its reply, or a server for the request */
export const REQUEST_TIMEOUT_MS = 15_000

/** serve one request of the org `key`; throw a PhalanxError to refuse it */
export type RequestHandler = (req: any, key: string) => Promise<unknown>

/**
 * Send `body` as the request on `stream` and read the reply: the parsed reply, or a
 * PhalanxError (the peer's code when it refused with one of ours, else PX_ERR_PEER).
 */
export async function exchange (stream: Stream, body: unknown, signal: AbortSignal): Promise<any> {
  try {
    // the read buffer holds a whole frame (its default, 4 MiB, is below MAX_FRAME)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME, maxBufferSize: MAX_FRAME + 16 })
    await lp.write(Buffer.from(JSON.stringify(body)), { signal })
    const reply = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
    await stream.close().catch(() => {})
    if (reply?.error !== undefined) {
      // only a code of our table: one made up (`PX_ERR_` and anything) has no status or exit code
      const code: ErrorCode = typeof reply.error?.code === 'string' && Object.hasOwn(ERROR_CODES, reply.error.code) ? reply.error.code : 'PX_ERR_PEER'
      const message: unknown = reply.error?.message
      throw new PhalanxError(code, `the peer refused: ${typeof message === 'string' ? message.slice(0, 1000) : 'no reason given'}`)
    }
    return reply
  } catch (err) {
    stream.abort(err as Error)
    if (err instanceof PhalanxError) throw err
    throw new PhalanxError('PX_ERR_PEER', `the peer did not answer: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Serve one request on an inbound stream: read the request, answer with what `handle`
 * returns, or with `{error}` when it throws. A peer whose key is not an Ed25519 org key, a
 * request over MAX_REQUEST_FRAME, one that is not JSON or that does not come in time ends
 * the stream (aborted) without a reply.
 */
export async function serveRequest (stream: Stream, conn: Pick<Connection, 'remotePeer'>, what: string, log: Logger, handle: RequestHandler): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_FRAME })
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  try {
    const key = publicKeyOfPeer(conn.remotePeer)
    if (key === null) throw new PhalanxError('PX_ERR_PEER', 'peer key is not Ed25519')
    const req = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
    let reply: unknown
    try {
      reply = await handle(req, key)
    } catch (err) {
      const e = err instanceof PhalanxError ? err : new PhalanxError('PX_ERR_INTERNAL', 'internal error')
      if (!(err instanceof PhalanxError)) log.error({ err, what }, 'request handler failed')
      log.warn({ what, peer: conn.remotePeer.toString(), code: e.code, message: e.message }, 'request refused')
      reply = { error: { code: e.code, message: e.message } }
    }
    await lp.write(Buffer.from(JSON.stringify(reply)), { signal })
    await stream.close()
  } catch (err) {
    log.warn({ what, err: (err as Error).message }, 'request stream failed')
    stream.abort(err as Error)
  }
}
