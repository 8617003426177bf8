/**
 * Dead connections are found with a ping at the muxer (src/p2p/liveness.ts): two real libp2p
 * hosts as a node builds them (host.ts), connected through a TCP relay on 127.0.0.1 that a
 * test can turn into a black hole (it keeps both sockets open and forwards nothing, as a
 * dropped route or a frozen peer does).
 */
import { randomBytes } from 'node:crypto'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { createHost, type Host, type HostGater } from '../../src/p2p/host.js'
import { Liveness } from '../../src/p2p/liveness.js'
import { silent } from '../utils/p2p.js'
import { until } from '../utils/wait.js'

const open: HostGater = { denyDialPeer: async () => false, denyInboundEncryptedConnection: async () => false, denyOutboundEncryptedConnection: async () => false }

/** a TCP relay to `port`; `blackhole()` stops forwarding without closing anything */
async function relay (port: number): Promise<{ port: number, blackhole: () => void, close: () => Promise<void> }> {
  let holed = false
  const sockets: Socket[] = []
  const server: Server = createServer(inbound => {
    const outbound = createConnection({ host: '127.0.0.1', port })
    sockets.push(inbound, outbound)
    inbound.on('data', d => { if (!holed) outbound.write(d) })
    outbound.on('data', d => { if (!holed) inbound.write(d) })
    inbound.on('error', () => {})
    outbound.on('error', () => {})
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    blackhole: () => { holed = true },
    close: async () => { for (const s of sockets) s.destroy(); await new Promise(resolve => server.close(resolve)) }
  }
}

describe('liveness: a ping at the muxer', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

  async function pair (): Promise<{ a: Host, b: Host, hole: () => void }> {
    const a = await createHost({ host: '127.0.0.1', port: 0 }, randomBytes(32), open)
    const b = await createHost({ host: '127.0.0.1', port: 0 }, randomBytes(32), open)
    cleanup.push(async () => { await a.stop(); await b.stop() })
    const bPort = Number(b.getMultiaddrs()[0].toString().split('/')[4])
    const r = await relay(bPort)
    cleanup.push(r.close)
    await a.dial(multiaddr(`/ip4/127.0.0.1/tcp/${r.port}/p2p/${b.peerId.toString()}`))
    return { a, b, hole: r.blackhole }
  }

  it('a live connection answers on the connection itself: no ping stream, and the peer need not serve the ping protocol', async () => {
    const { a, b } = await pair()
    // with libp2p's stream ping this peer would be unreachable; the muxer's ping does not care
    await b.unhandle('/ipfs/ping/1.0.0')
    const streamPings: string[] = []
    const live = new Liveness({ getConnections: () => a.getConnections(), streamPing: async (conn) => { streamPings.push(conn.remotePeer.toString()); throw new Error('no stream ping expected') }, log: silent }, { intervalMs: 60_000, timeoutMs: 2000 })
    const conn = a.getConnections()[0]
    for (let i = 0; i < 5; i++) await live.pingAll()
    expect(streamPings).toEqual([])
    expect(conn.status).toBe('open')
    expect(conn.rtt).toBeGreaterThanOrEqual(0)
    expect(conn.streams.filter(s => s.protocol === '/ipfs/ping/1.0.0')).toEqual([])
  })

  it('a connection that stops answering is closed within the timeout, and the peer reported gone', async () => {
    const { a, b, hole } = await pair()
    const live = new Liveness({ getConnections: () => a.getConnections(), streamPing: async () => { throw new Error('no stream ping expected') }, log: silent }, { intervalMs: 200, timeoutMs: 500 })
    let gone = false
    a.addEventListener('peer:disconnect', (evt) => { if (evt.detail.equals(b.peerId)) gone = true })
    live.start()
    cleanup.push(async () => { live.stop() })
    // pings go through while the route works
    await new Promise(resolve => setTimeout(resolve, 700))
    expect(a.getConnections(b.peerId).length).toBe(1)
    hole()
    const t0 = Date.now()
    await until('the dead connection to close', () => gone && a.getConnections(b.peerId).length === 0, 5000)
    // one interval to the next ping and its timeout, with slack for a busy machine
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('the host runs neither libp2p\'s stream-ping monitor nor yamux\'s keep-alive (liveness replaces both)', async () => {
    const { a } = await pair()
    const components = (a as unknown as { components: Record<string, unknown> }).components
    expect(() => components.connectionMonitor).toThrow(/connectionMonitor not set/)
    const muxer = (a.getConnections()[0] as unknown as { muxer: { enableKeepAlive: boolean } }).muxer
    expect(muxer.enableKeepAlive).toBe(false)
  })
})
