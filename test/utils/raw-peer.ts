/**
 * Test helper: a hostile organization built test-side. A raw libp2p peer with the node's own
 * stack (TCP, noise, yamux, identify, gossipsub with StrictNoSign) and its own Ed25519 org
 * key, but none of a node's rules: it subscribes to any topic, publishes any bytes, speaks
 * the request/response protocols (join, control, entries, sync, RED) with whatever body a
 * test gives, serves sync with whatever entries a test gives, and records every gossip
 * message it receives. Production classes need no test hooks for any of this.
 */
import '../../src/polyfill.js'
import { createHash, randomBytes } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Stream } from '@libp2p/interface'
import { BoxKey, OrgKey, libp2pPrivateKeyFromSeed, SECRETBOX_NONCE_BYTES, secretOpen } from '../../src/identity/index.js'
import { applyControlEntry, circleOfLog, parseInvite, type CircleState } from '../../src/circles/index.js'
import { decodeEnvelope, topicOf, peerIdOfKey } from '../../src/p2p/index.js'
import type { Entry } from '../../src/records/index.js'

export const PROTOCOLS = {
  join: '/phalanx/join/1.0.0',
  control: '/phalanx/control/1.0.0',
  entries: '/phalanx/entries/1.0.0',
  red: '/phalanx/red/1.0.0',
  sync: '/phalanx/sync/1.0.0'
} as const

export interface Received {
  topic: string
  data: Uint8Array
  /** the peer that sent it to us (its origin or a relay) */
  from: string
}

/** anything with a node's libp2p addresses (a TestNode's node, or a multiaddr string) */
export type Target = { node: { network?: { multiaddrs: () => string[] } } } | string

function addrOf (t: Target): string {
  if (typeof t === 'string') return t
  const a = t.node.network?.multiaddrs()[0]
  if (a === undefined) throw new Error('the target node has no p2p address')
  return a
}

type GossipRuntime = GossipSub & { publish: (topic: string, data: Uint8Array, opts?: { ignoreDuplicatePublishError?: boolean }) => Promise<unknown> }

export class RawPeer {
  readonly key: OrgKey
  readonly box: BoxKey
  readonly received: Received[] = []
  /** circle → the membership state folded from the control entries it was given */
  readonly circles = new Map<string, CircleState>()
  readonly #p2p: Libp2p<{ pubsub: GossipSub, identify: unknown }>

  private constructor (seed: Uint8Array, p2p: Libp2p<{ pubsub: GossipSub, identify: unknown }>) {
    this.key = OrgKey.fromSeed(seed)
    this.box = BoxKey.fromSeed(seed)
    this.#p2p = p2p
  }

  static async start (seed: Uint8Array = randomBytes(32)): Promise<RawPeer> {
    const p2p = await createLibp2p({
      privateKey: await libp2pPrivateKeyFromSeed(seed),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (m) => createHash('sha256').update(m.data).digest(),
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          // a hostile peer floods: every message to every topic peer
          floodPublish: true
        })
      }
    }) as unknown as Libp2p<{ pubsub: GossipSub, identify: unknown }>
    return new RawPeer(seed, p2p)
  }

  get publicKey (): string { return this.key.publicKeyHex }

  multiaddrs (): string[] { return this.#p2p.getMultiaddrs().map(String) }

  /** open a connection to a node (its gater decides whether it stays) */
  async dial (t: Target): Promise<Connection> {
    return await this.#p2p.dial(multiaddr(addrOf(t)), { signal: AbortSignal.timeout(10_000) })
  }

  isConnectedTo (publicKey: string): boolean {
    const id = peerIdOfKey(publicKey)
    return this.#p2p.getConnections().some(c => c.remotePeer.toString() === id && c.status === 'open')
  }

  /** streams still open on this peer's connections to the org with this key (protocol ids) */
  openStreams (publicKey: string): string[] {
    const id = peerIdOfKey(publicKey)
    return this.#p2p.getConnections().filter(c => c.remotePeer.toString() === id).flatMap(c => c.streams.filter(s => s.status === 'open').map(s => s.protocol ?? ''))
  }

  /**
   * Subscribe to a circle's topic. Every message is recorded and then ignored: this peer never
   * relays what others sent (its score at the nodes reflects only its own messages).
   */
  subscribe (circle: string): void {
    const topic = topicOf(circle)
    this.#p2p.services.pubsub.topicValidators.set(topic, (from, msg) => {
      this.received.push({ topic, data: msg.data, from: from.toString() })
      return TopicValidatorResult.Ignore
    })
    this.#p2p.services.pubsub.subscribe(topic)
  }

  /** peers gossipsub knows to be subscribed to the circle's topic */
  topicPeers (circle: string): number { return this.#p2p.services.pubsub.getSubscribers(topicOf(circle)).length }

  /** whether gossipsub knows the org with this key to be subscribed to the circle's topic */
  seesOnTopic (circle: string, publicKey: string): boolean {
    const id = peerIdOfKey(publicKey)
    return this.#p2p.services.pubsub.getSubscribers(topicOf(circle)).some(p => p.toString() === id)
  }

  async publish (circle: string, data: Uint8Array): Promise<void> {
    await (this.#p2p.services.pubsub as GossipRuntime).publish(topicOf(circle), data, { ignoreDuplicatePublishError: true })
  }

  /** gossip messages received on a circle's topic */
  messages (circle: string): Uint8Array[] {
    const topic = topicOf(circle)
    return this.received.filter(r => r.topic === topic).map(r => r.data)
  }

  /**
   * One request of a node's request/response protocols (a length-prefixed JSON frame each
   * way): the parsed reply, `{ error: {code, message} }` when refused. Rejects when the node
   * would not even open the stream (the gater refused the connection, say).
   */
  async request (t: Target, protocol: string, body: unknown): Promise<any> {
    const signal = AbortSignal.timeout(15_000)
    const stream = await this.#p2p.dialProtocol(multiaddr(addrOf(t)), protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
      await lp.write(Buffer.from(JSON.stringify(body)), { signal })
      const reply = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
      await stream.close().catch(() => {})
      return reply
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /**
   * Raw bytes on a fresh stream of `protocol` (length-prefixed or not, as the test makes
   * them), then the write side closed: the first frame the node answers, parsed, or null when
   * it answers nothing parsable or aborts the stream. Rejects only when the stream cannot be
   * opened.
   */
  async rawRequest (t: Target, protocol: string, bytes: Uint8Array): Promise<any> {
    const signal = AbortSignal.timeout(15_000)
    const stream = await this.#p2p.dialProtocol(multiaddr(addrOf(t)), protocol, { signal })
    try {
      if (bytes.length > 0) stream.send(bytes)
      await stream.close({ signal })
      const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
      return JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
    } catch (err) {
      stream.abort(err as Error)
      return null
    }
  }

  /** redeem an invite code as a node would; keeps the circle's membership state */
  async join (code: string, org: string): Promise<{ circle: string, entries: Entry[] }> {
    const invite = parseInvite(code)
    const addr = `${invite.addrs[0]}/p2p/${peerIdOfKey(invite.inviter)}`
    const reply = await this.request(addr, PROTOCOLS.join, { circle: invite.circle, secret: invite.secret, org })
    if (reply.error !== undefined) throw new Error(`join refused: ${String(reply.error.message)}`)
    this.takeControl(invite.circle, reply.entries)
    return { circle: invite.circle, entries: reply.entries }
  }

  /** fold a circle's control entries (as a node fetched them) into `circles` */
  takeControl (circle: string, entries: Entry[]): CircleState {
    let s: CircleState | undefined
    for (const e of entries) if (circleOfLog(e.circle) === circle) s = applyControlEntry(s, e)
    if (s === undefined) throw new Error(`no control entries of ${circle}`)
    this.circles.set(circle, s)
    return s
  }

  /** fold one more control entry (read from gossip, say) into a circle's state */
  fold (circle: string, entry: Entry): CircleState {
    const s = applyControlEntry(this.circles.get(circle), entry)
    this.circles.set(circle, s)
    return s
  }

  /** the circle key of `epoch` sealed to this peer, or null when it holds none */
  circleKey (circle: string, epoch: number): { epoch: number, key: Uint8Array } | null {
    const sealed = this.circles.get(circle)?.keys.get(epoch)?.get(this.publicKey)
    if (sealed === undefined) return null
    const key = this.box.open(sealed.by, sealed.sealed)
    return key === null ? null : { epoch, key }
  }

  /**
   * What this peer can read of a gossip message: the body's JSON text when it is in the
   * clear or sealed with a circle key it holds, else null (with the epoch it was sealed at).
   */
  read (circle: string, data: Uint8Array): { sealed: boolean, epoch: number, text: string | null } {
    const env = decodeEnvelope(data)
    if (!env.sealed) return { sealed: false, epoch: 0, text: Buffer.from(env.body).toString('utf8') }
    const key = this.circleKey(circle, env.epoch)
    if (key === null) return { sealed: true, epoch: env.epoch, text: null }
    const opened = secretOpen(key.key, Buffer.from(env.hash, 'hex').subarray(0, SECRETBOX_NONCE_BYTES), env.body)
    return { sealed: true, epoch: env.epoch, text: opened === null ? null : Buffer.from(opened).toString('utf8') }
  }

  /**
   * Serve `/phalanx/sync/1.0.0` as a member would, but with the entries `entriesFor(circle)`
   * gives, whatever the client holds; returns the circles it was asked for.
   */
  async serveSync (entriesFor: (circle: string) => unknown[]): Promise<string[]> {
    const asked: string[] = []
    await this.#p2p.handle(PROTOCOLS.sync, (stream: Stream) => {
      void (async () => {
        const signal = AbortSignal.timeout(15_000)
        const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
        try {
          const req = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
          asked.push(String(req?.circle))
          await lp.write(Buffer.from(JSON.stringify({ entries: entriesFor(String(req?.circle)) })), { signal })
          await lp.read({ signal }) // the client's ack
          await lp.write(Buffer.from(JSON.stringify({ done: true, heads: {} })), { signal })
          await stream.close()
        } catch (err) {
          stream.abort(err as Error)
        }
      })()
    })
    return asked
  }

  async stop (): Promise<void> { await this.#p2p.stop() }
}
