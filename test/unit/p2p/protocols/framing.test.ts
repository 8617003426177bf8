/**
 * The one framing of the request/response protocols, over a real in-memory libp2p stream pair
 * (@libp2p/utils streamPair): limits, malformed frames, refusals, timeouts and aborts.
 */
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { lpStream, streamPair } from '@libp2p/utils'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, Stream } from '@libp2p/interface'
import { PhalanxError } from '../../../../src/errors.js'
import { libp2pPrivateKeyFromSeed } from '../../../../src/identity/index.js'
import { MAX_FRAME, MAX_REQUEST_FRAME, exchange, serveRequest, type RequestHandler } from '../../../../src/p2p/protocols/framing.js'
import { publicKeyOfPeer } from '../../../../src/p2p/host.js'

const log = pino({ level: 'silent' })

async function orgPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await libp2pPrivateKeyFromSeed(randomBytes(32)))
}

async function errorOf (p: Promise<unknown>): Promise<PhalanxError> {
  try { await p } catch (err) { if (err instanceof PhalanxError) return err; throw err }
  throw new Error('resolved')
}

/** serve `handle` on one end of a pair as a request from `peer`; the other end and the serving promise */
async function served (handle: RequestHandler, peer?: PeerId): Promise<{ client: Stream, serving: Promise<void>, server: Stream }> {
  const [client, server] = await streamPair()
  const serving = serveRequest(server, { remotePeer: peer ?? await orgPeer() }, 'test', log, handle)
  return { client, serving, server }
}

describe('framing: exchange and serveRequest', () => {
  it('a request and its reply, with the requesting org\'s key handed to the handler', async () => {
    const peer = await orgPeer()
    const keys: string[] = []
    const { client, serving } = await served(async (req, key) => { keys.push(key); return { echo: req.n + 1 } }, peer)
    expect(await exchange(client, { n: 41 }, AbortSignal.timeout(5000))).toEqual({ echo: 42 })
    await serving
    expect(keys).toEqual([publicKeyOfPeer(peer)])
  })

  it('a handler\'s PhalanxError reaches the requester with its code', async () => {
    const { client } = await served(async () => { throw new PhalanxError('PX_ERR_NOT_MEMBER', 'you are not a member') })
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))
    expect(err.code).toBe('PX_ERR_NOT_MEMBER')
    expect(err.message).toBe('the peer refused: you are not a member')
  })

  it('an unexpected handler error reaches the requester as PX_ERR_INTERNAL, without its detail', async () => {
    const { client } = await served(async () => { throw new Error('secret detail') })
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))
    expect(err.code).toBe('PX_ERR_INTERNAL')
    expect(err.message).not.toContain('secret detail')
  })

  it('a refusal with a code that is not ours comes back as PX_ERR_PEER', async () => {
    const [client, server] = await streamPair()
    const lp = lpStream(server)
    void (async () => { await lp.read(); await lp.write(Buffer.from(JSON.stringify({ error: { code: 'EVIL', message: 'x' } }))) })()
    expect((await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))).code).toBe('PX_ERR_PEER')
  })

  it('a request frame over MAX_REQUEST_FRAME: the server aborts without answering', async () => {
    let called = false
    const { client, serving, server } = await served(async () => { called = true; return {} })
    const err = await errorOf(exchange(client, { pad: 'x'.repeat(MAX_REQUEST_FRAME) }, AbortSignal.timeout(5000)))
    await serving
    expect(err.code).toBe('PX_ERR_PEER')
    expect(called).toBe(false)
    expect(server.status).toBe('aborted')
  })

  it('a reply frame under MAX_FRAME but over 4 MiB (@libp2p/utils\' default read buffer) is read whole', async () => {
    // an entries reply may fill half a frame and one more entry: past 4 MiB with big entries
    const big = 'x'.repeat(5 * 1024 * 1024)
    const { client, serving } = await served(async () => ({ big }))
    const reply = await exchange(client, {}, AbortSignal.timeout(10_000))
    expect(reply.big.length).toBe(big.length)
    await serving
  })

  it('a reply frame over MAX_FRAME: the requester gives up with PX_ERR_PEER', async () => {
    const [client, server] = await streamPair()
    const lp = lpStream(server, { maxDataLength: MAX_FRAME * 2 })
    void (async () => { await lp.read(); await lp.write(Buffer.alloc(MAX_FRAME + 1, 0x20)).catch(() => {}) })()
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(10_000)))
    expect(err.code).toBe('PX_ERR_PEER')
    expect(client.status).toBe('aborted')
  })

  it('a request that is not JSON: the server aborts without calling the handler', async () => {
    let called = false
    const { client, serving, server } = await served(async () => { called = true; return {} })
    await lpStream(client).write(Buffer.from('{not json'))
    await serving
    expect(called).toBe(false)
    expect(server.status).toBe('aborted')
  })

  it('a reply that is not JSON: PX_ERR_PEER, stream aborted', async () => {
    const [client, server] = await streamPair()
    const lp = lpStream(server)
    void (async () => { await lp.read(); await lp.write(Buffer.from('<html>')) })()
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))
    expect(err.code).toBe('PX_ERR_PEER')
    expect(err.message).toMatch(/did not answer/)
    expect(client.status).toBe('aborted')
  })

  it('a truncated reply (the length prefix promises more than comes before the stream closes): PX_ERR_PEER', async () => {
    const [client, server] = await streamPair()
    const lp = lpStream(server)
    void (async () => {
      await lp.read()
      // varint 100, then 10 bytes, then end of stream
      server.send(Uint8Array.from([100, ...Buffer.from('{"a":12345')]))
      await server.close()
    })()
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))
    expect(err.code).toBe('PX_ERR_PEER')
  })

  it('a truncated request: the server aborts without calling the handler', async () => {
    let called = false
    const { client, serving, server } = await served(async () => { called = true; return {} })
    client.send(Uint8Array.from([100, ...Buffer.from('{"a":1')]))
    await client.close()
    await serving
    expect(called).toBe(false)
    expect(server.status).toBe('aborted')
  })

  it('a peer that does not answer in time: PX_ERR_PEER when the signal fires, stream aborted', async () => {
    const [client, server] = await streamPair()
    void lpStream(server).read()
    const t0 = Date.now()
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(200)))
    expect(err.code).toBe('PX_ERR_PEER')
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(client.status).toBe('aborted')
  })

  it('a requester that aborts: the server gives up without a reply', async () => {
    let called = false
    const { client, serving, server } = await served(async () => { called = true; return {} })
    client.abort(new Error('gone'))
    await serving
    expect(called).toBe(false)
    expect(['aborted', 'reset']).toContain(server.status)
  })

  it('a peer whose key is not an Ed25519 org key is not served', async () => {
    let called = false
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    const { client, serving, server } = await served(async () => { called = true; return {} }, secp)
    const err = await errorOf(exchange(client, {}, AbortSignal.timeout(5000)))
    await serving
    expect(err.code).toBe('PX_ERR_PEER')
    expect(called).toBe(false)
    expect(server.status).toBe('aborted')
  })
})
