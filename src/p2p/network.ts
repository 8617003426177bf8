/**
 * libp2p inside the node: TCP + noise + yamux, identify, ping and gossipsub, with the
 * org's own key as PeerId. Carries circle entries on one gossip topic per circle (validated
 * before accept or relay, then handed to the one ingest path), runs the join and
 * control-log protocols, keeps connections to circle members (dial with backoff) and
 * refuses everyone else at the connection gater.
 */
import '../polyfill.js'
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { lpStream } from '@libp2p/utils'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { PhalanxError } from '../errors.js'
import { fingerprint, libp2pPrivateKeyFromSeed, type BoxKey, type Identity } from '../identity/index.js'
import { canonicalJson, isRedLog, recipientOfRedLog, redLogOf, LOCAL_CIRCLE, type Entry } from '../records/index.js'
import type { Ingest, LevelStore, StoredEntry } from '../store/index.js'
import { circleOfLog, isMembershipLog, parseInvite, type CircleManager, type CircleState } from '../circles/index.js'
import { Sync, SYNC_PROTOCOL, type SyncOutcome, type SyncStats } from './sync.js'
import { BATCH_ENVELOPE_VERSION, MAX_BATCH_ENTRIES, batchHash, decodeEnvelope, encodeEntries, openBody, MAX_ENVELOPE_BYTES } from './envelope.js'

export const JOIN_PROTOCOL = '/phalanx/join/1.0.0'
export const CONTROL_PROTOCOL = '/phalanx/control/1.0.0'
/** a TLP:RED entry sealed (NaCl box) to its one recipient, acknowledged by it */
export const RED_PROTOCOL = '/phalanx/red/1.0.0'
/** entries of one (circle, origin) log by seq range: fills a gap seen in gossip */
export const ENTRIES_PROTOCOL = '/phalanx/entries/1.0.0'
const MAX_ENTRIES_PER_REQUEST = 256
const MAX_FRAME = 8 * 1024 * 1024
const REQUEST_TIMEOUT_MS = 15_000
/** a connected peer that is in none of our circles is hung up after this (join window) */
const NON_MEMBER_GRACE_MS = 15_000
/** out-of-order entries kept per (circle, origin) until their gap fills */
const MAX_PENDING_PER_LOG = 2048
/** wait this long before fetching a gap: reordering between relays closes most by then */
const GAP_FILL_DELAY_MS = 250
/** sync with a member this long after connecting to it (identify and gossip settle first) */
const CONNECT_SYNC_DELAY_MS = 300
/** sync back from a peer seen to hold more this long after (gossip in flight lands first) */
const BEHIND_SYNC_DELAY_MS = 1000
/** the longest wait between two RED delivery attempts to one recipient */
const RED_MAX_BACKOFF_MS = 5 * 60_000

export interface OutboxItem {
  recipient: string
  seq: number
  hash: string
  /** failed delivery attempts to this recipient since the last success (this process) */
  attempts: number
  /** when the next attempt is due (null: at the next tick) */
  nextAttempt: string | null
}

export interface NetworkOptions {
  host: string
  port: number
  /** how often to dial members we are not connected to (ms) */
  dialIntervalMs: number
  /** how often to run anti-entropy sync with one member of one circle, round robin (ms) */
  syncIntervalMs: number
  /** circles to fetch from a member's address until known (config p2p.connect) */
  connect?: ReadonlyArray<{ circle: string, addr: string }>
}

export interface NetworkComponents {
  identity: Identity
  circles: CircleManager
  ingest: Ingest
  store: LevelStore
  box: BoxKey
  log: Logger
}

export interface PeerView {
  peerId: string
  publicKey: string
  fingerprint: string
  org: string | null
  circles: string[]
  addrs: string[]
  latencyMs: number | null
}

export interface JoinOutcome {
  circle: { id: string, name: string }
  inviter: { publicKey: string, org: string, fingerprint: string }
}

/** runtime methods the exported GossipSub type leaves out (see ../shared/STACK.md) */
type GossipSubRuntime = GossipSub & {
  publish: (topic: string, data: Uint8Array, opts?: { ignoreDuplicatePublishError?: boolean }) => Promise<unknown>
  score: { params: { topics: Record<string, ReturnType<typeof createTopicScoreParams>> } }
  getScore: (peerId: string) => number
}

export function topicOf (circle: string): string { return `/phalanx/circle/${circle}/1` }

export function publicKeyOfPeer (peer: PeerId): string | null {
  const raw = peer.publicKey?.raw
  return raw !== undefined && raw.length === 32 && peer.type === 'Ed25519' ? Buffer.from(raw).toString('hex') : null
}

const PEER_ID_CACHE = new Map<string, string>()

/** the PeerId of an org key (cached: the dial loop and the gater ask for it every tick) */
export function peerIdOfKey (publicKeyHex: string): string {
  let id = PEER_ID_CACHE.get(publicKeyHex)
  if (id === undefined) {
    id = peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(publicKeyHex, 'hex'))).toString()
    if (PEER_ID_CACHE.size >= 4096) PEER_ID_CACHE.clear()
    PEER_ID_CACHE.set(publicKeyHex, id)
  }
  return id
}

export class Network {
  readonly #o: NetworkOptions
  readonly #c: NetworkComponents
  readonly #log: Logger
  #p2p!: Libp2p<{ pubsub: GossipSub, ping: { ping: (peer: PeerId) => Promise<number> }, identify: unknown }>
  /** peer ids allowed to connect: every member of every circle we are in */
  #allowed = new Set<string>()
  readonly #subscribed = new Set<string>()
  readonly #backoff = new Map<string, { next: number, delay: number }>()
  readonly #pending = new Map<string, Map<number, unknown>>()
  readonly #latency = new Map<string, number>()
  /** public key → when this node last had a connection to it (since this process started) */
  readonly #lastSeen = new Map<string, string>()
  #dialTimer: NodeJS.Timeout | undefined
  #syncTimer: NodeJS.Timeout | undefined
  #sync!: Sync
  #stopped = false
  /** gossip messages judged since start, by verdict (rejected ones cost their sender score) */
  readonly gossipCounts = { accepted: 0, ignored: 0, rejected: 0 }
  #offChange: (() => void) | undefined

  constructor (o: NetworkOptions, c: NetworkComponents) {
    this.#o = o
    this.#c = c
    this.#log = c.log
  }

  get peerId (): string { return this.#p2p.peerId.toString() }

  multiaddrs (): string[] { return this.#p2p.getMultiaddrs().map(String) }

  async start (): Promise<void> {
    const privateKey = await libp2pPrivateKeyFromSeed(this.#c.identity.seed)
    this.#refreshAllowed()
    const allowed = (peer: PeerId): boolean => this.#allowed.has(peer.toString()) && !this.#blocked.has(peer.toString())
    this.#p2p = await createLibp2p({
      privateKey,
      addresses: { listen: [`/ip4/${this.#o.host}/tcp/${this.#o.port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // partners may share one address (NAT, or every node on one host in tests): libp2p's
      // default of 5 inbound connections per second per host refuses them in bursts
      connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
      connectionGater: {
        denyDialPeer: (peer) => !allowed(peer) && !this.#dialingOutsider.has(peer.toString()),
        // while an invite is open, an unknown org may connect to redeem it (hung up after a grace)
        denyInboundEncryptedConnection: (peer) => !allowed(peer) && (this.#blocked.has(peer.toString()) || !this.#c.circles.hasOpenInvites()),
        denyOutboundEncryptedConnection: (peer) => !allowed(peer) && !this.#dialingOutsider.has(peer.toString())
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: 'StrictNoSign',
          msgIdFn: (m) => createHash('sha256').update(m.data).digest(),
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          maxInboundDataLength: MAX_ENVELOPE_BYTES + 64 * 1024,
          // a single-record entry is ~1 KiB: announcing IDONTWANT for it to every mesh peer
          // costs about what the duplicate would; keep it for bulk entries
          idontwantMinDataSize: 16 * 1024,
          // circles are tens of orgs, and the origin floods its own messages to every peer:
          // a smaller mesh means fewer duplicate copies for every node to decrypt and drop
          D: 4,
          Dlo: 3,
          Dhi: 8,
          Dout: 2
        })
      }
    }) as any
    await this.#p2p.handle(JOIN_PROTOCOL, (stream, conn) => { void this.#serveJoin(stream, conn) }, { maxInboundStreams: 8 })
    await this.#p2p.handle(CONTROL_PROTOCOL, (stream, conn) => { void this.#serveControl(stream, conn) }, { maxInboundStreams: 8 })
    await this.#p2p.handle(ENTRIES_PROTOCOL, (stream, conn) => { void this.#serveEntries(stream, conn) }, { maxInboundStreams: 16 })
    await this.#p2p.handle(RED_PROTOCOL, (stream, conn) => { void this.#serveRed(stream, conn) }, { maxInboundStreams: 16 })
    this.#sync = new Sync({
      store: this.#c.store,
      ingest: this.#c.ingest,
      log: this.#log.child({ component: 'sync' }),
      open: async (peer, protocol, signal) => await this.#p2p.dialProtocol(peer, protocol, { signal }),
      authorize: (circle, key) => this.#circleForMember(circle, key).id,
      keyOf: publicKeyOfPeer,
      fetchEntry: async (peer, circle, origin, seq) => {
        const reply = await this.#requestPeer(peer, ENTRIES_PROTOCOL, { circle, origin, from: seq, to: seq })
        const e = Array.isArray(reply.entries) ? reply.entries[0] : undefined
        if (e?.circle !== circle || e?.origin !== origin || e?.seq !== seq) throw new PhalanxError('PX_ERR_PEER', 'the peer answered with another entry')
        return e
      }
    })
    // a peer that holds more than we do: what gossip is still carrying arrives within moments
    this.#sync.onBehind = (circle, peer) => { this.#scheduleSync(circle, peer, 'behind', BEHIND_SYNC_DELAY_MS) }
    await this.#p2p.handle(SYNC_PROTOCOL, (stream, conn) => { void this.#sync.serve(stream, conn) }, { maxInboundStreams: 16 })
    this.#p2p.addEventListener('peer:disconnect', (evt) => {
      const key = publicKeyOfPeer(evt.detail)
      if (key !== null) this.#lastSeen.set(key, new Date().toISOString())
    })
    this.#p2p.addEventListener('peer:connect', (evt) => {
      const id = evt.detail.toString()
      const key = publicKeyOfPeer(evt.detail)
      if (key !== null) this.#lastSeen.set(key, new Date().toISOString())
      this.#backoff.delete(id)
      // anti-entropy on connect: every circle shared with the peer
      if (key !== null) {
        // a recipient that comes back gets its waiting RED entries now, not after its backoff;
        // the count of failures stays (a recipient that takes our connection and refuses the
        // delivery is retried at each reconnection, and still backs off)
        const b = this.#redBackoff.get(key)
        if (b !== undefined) { b.next = 0; void this.deliverRed() }
        for (const c of this.#c.circles.mine()) {
          const m = c.members.get(key)
          if (m !== undefined && m.removed === undefined) this.#scheduleSync(c.id, evt.detail, 'connect', CONNECT_SYNC_DELAY_MS)
        }
      }
      if (!this.#allowed.has(id)) {
        setTimeout(() => { if (!this.#stopped && !this.#allowed.has(id)) void this.#p2p.hangUp(evt.detail).catch(() => {}) }, NON_MEMBER_GRACE_MS).unref()
      }
    })
    for (const s of this.#c.circles.mine()) this.#subscribe(s.id)
    this.#offChange = this.#c.circles.onChange((s) => { this.#onCircleChange(s) })
    this.#log.info({ peerId: this.peerId, addrs: this.multiaddrs() }, 'p2p started')
    for (const s of this.#c.circles.mine()) await this.#announce(s.id)
    let ticks = 0
    this.#dialTimer = setInterval(() => {
      if (ticks++ % 10 === 0) void this.#connectConfigured()
      void this.#dialMembers()
      void this.deliverRed()
      void this.#pullControl()
    }, this.#o.dialIntervalMs)
    this.#dialTimer.unref()
    this.#syncTimer = setInterval(() => { void this.#syncTick() }, this.#o.syncIntervalMs)
    this.#syncTimer.unref()
    void this.#dialMembers()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#dialTimer !== undefined) clearInterval(this.#dialTimer)
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer)
    this.#sync?.stop()
    this.#offChange?.()
    await this.#p2p?.stop()
  }

  /** ingest's onStored (after the circles fold): gossip this node's own entries */
  noteStored (stored: StoredEntry[]): void {
    let red = false
    /** own entries to gossip, per circle and in log order: one write group, few messages */
    const own = new Map<string, StoredEntry[]>()
    for (const s of stored) {
      if (s.entry.circle === LOCAL_CIRCLE) continue
      if (isRedLog(s.entry.circle)) { red ||= s.source === 'local'; continue }
      if (s.source === 'local') {
        const c = circleOfLog(s.entry.circle)
        const list = own.get(c)
        if (list === undefined) own.set(c, [s])
        else list.push(s)
      }
      this.#drainPending(s.entry)
    }
    for (const [circle, list] of own) void this.#gossip(circle, list)
    if (red) void this.deliverRed()
  }

  // ---- gossip --------------------------------------------------------------------------

  #subscribe (circle: string): void {
    if (this.#subscribed.has(circle)) return
    const topic = topicOf(circle)
    this.#subscribed.add(circle)
    // a rejected message costs its sender score (graylisted after a few); circles are quiet,
    // so a mesh peer is never penalized for delivering little
    ;(this.#p2p.services.pubsub as GossipSubRuntime).score.params.topics[topic] = createTopicScoreParams({
      topicWeight: 1,
      invalidMessageDeliveriesWeight: -10,
      invalidMessageDeliveriesDecay: 0.9,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      timeInMeshWeight: 0.01,
      firstMessageDeliveriesWeight: 1,
      firstMessageDeliveriesCap: 100
    })
    this.#p2p.services.pubsub.topicValidators.set(topic, async (from, msg) => {
      const verdict = await this.#validate(circle, msg.data, from)
      this.gossipCounts[verdict === TopicValidatorResult.Accept ? 'accepted' : verdict === TopicValidatorResult.Reject ? 'rejected' : 'ignored']++
      return verdict
    })
    this.#p2p.services.pubsub.subscribe(topic)
  }

  #unsubscribe (circle: string): void {
    if (!this.#subscribed.delete(circle)) return
    const topic = topicOf(circle)
    this.#p2p.services.pubsub.unsubscribe(topic)
    this.#p2p.services.pubsub.topicValidators.delete(topic)
  }

  async #gossip (circle: string, list: StoredEntry[]): Promise<void> {
    if (this.#stopped || !this.#subscribed.has(circle)) return
    // CLEAR travels in the clear, everything else sealed; a key rotation (a removal with its
    // new key) is sealed with the key it replaces: members need it to read the new key
    const groups = new Map<string, { key: { epoch: number, key: Uint8Array } | null, entries: Array<{ json: string, hash: string }> }>()
    for (const { entry, hash } of list) {
      const rotation = entry.items.find(i => i.kind === 'key' && entry.items.some(r => r.kind === 'member' && r.op === 'remove'))
      const epoch = rotation?.kind === 'key' ? rotation.epoch - 1 : undefined
      const key = entry.tlp === 'CLEAR' ? null : this.#c.circles.circleKey(circle, epoch)
      if (entry.tlp !== 'CLEAR' && key === null) { this.#log.error({ circle }, 'no circle key to seal an entry with; not gossiped'); continue }
      // membership records go one per message: each is judged against the state before it
      const k = isMembershipLog(entry.circle) ? `m${hash}` : key === null ? 'clear' : String(key.epoch)
      let g = groups.get(k)
      if (g === undefined) groups.set(k, g = { key, entries: [] })
      g.entries.push({ json: canonicalJson(entry), hash })
    }
    for (const g of groups.values()) {
      for (const data of encodeEntries(g.entries, g.key)) {
        try {
          await (this.#p2p.services.pubsub as GossipSubRuntime).publish(topicOf(circle), data, { ignoreDuplicatePublishError: true })
        } catch (err) {
          this.#log.warn({ err, circle }, 'gossip publish failed')
        }
      }
    }
  }

  async #validate (circle: string, data: Uint8Array, from: PeerId): Promise<TopicValidatorResult> {
    if (this.#dropRate > 0 && Math.random() < this.#dropRate) return TopicValidatorResult.Ignore
    const reject = (why: string, extra: Record<string, unknown> = {}): TopicValidatorResult => {
      this.#log.warn({ circle, why, ...extra }, 'gossip message rejected')
      return TopicValidatorResult.Reject
    }
    let env
    try { env = decodeEnvelope(data) } catch (err) { return reject((err as Error).message) }
    let json: string
    if (env.sealed) {
      const key = this.#c.circles.circleKey(circle, env.epoch)
      if (key === null) {
        this.#log.info({ circle, epoch: env.epoch }, 'gossip message sealed with a circle key this node does not hold; ignored')
        return TopicValidatorResult.Ignore
      }
      const opened = openBody(env, key.key)
      if (opened === null) return reject('sealed body does not open with the circle key')
      json = opened
    } else {
      json = Buffer.from(env.body).toString('utf8')
    }
    let body: any
    try { body = JSON.parse(json) } catch { return reject('body is not JSON') }
    const batch = env.version === BATCH_ENVELOPE_VERSION
    if (batch && (!Array.isArray(body) || body.length < 2 || body.length > MAX_BATCH_ENTRIES)) return reject(`a batch holds 2 to ${MAX_BATCH_ENTRIES} entries`)
    const raws: any[] = batch ? body : [body]
    for (const raw of raws) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return reject('body is not an entry')
      if (typeof raw.circle !== 'string' || circleOfLog(raw.circle) !== circle) return reject('entry of another circle on this topic', { entryCircle: String(raw.circle).slice(0, 140) })
      if (!env.sealed && raw.tlp !== 'CLEAR') return reject(`a ${String(raw.tlp).slice(0, 16)} entry sent in the clear`)
    }
    if (!batch) return await this.#ingestRemote(raws[0], 'gossip', env.hash, from)
    // a batch: queue every entry (in order, one write group), then judge the message by them
    const results = await Promise.all(raws.map(async raw => await this.#ingestOne(raw, 'gossip', undefined, from)))
    if (results.some(r => r.result === TopicValidatorResult.Reject)) return TopicValidatorResult.Reject
    if (results.every(r => r.hash !== undefined) && batchHash(results.map(r => r.hash!)) !== env.hash) return reject('batch header names other entries')
    return results.some(r => r.result === TopicValidatorResult.Accept) ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
  }

  async #ingestRemote (raw: any, source: string, claimedHash?: string, from?: PeerId): Promise<TopicValidatorResult> {
    return (await this.#ingestOne(raw, source, claimedHash, from)).result
  }

  /** ingest one remote entry; the gossip verdict, and its hash when it was stored or known */
  async #ingestOne (raw: any, source: string, claimedHash?: string, from?: PeerId): Promise<{ result: TopicValidatorResult, hash?: string }> {
    const verdict = (result: TopicValidatorResult): { result: TopicValidatorResult } => ({ result })
    try {
      const r = await this.#c.ingest.ingest(raw, source, { durable: false })
      if (claimedHash !== undefined && r.hash !== claimedHash) {
        this.#log.warn({ circle: r.circle, seq: r.seq }, 'gossip header names another entry hash')
        return verdict(TopicValidatorResult.Reject)
      }
      // an entry of a later version is kept for sync but not relayed; its sender is not at fault
      return { result: r.status === 'stored' && r.unknown === undefined ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore, hash: r.hash }
    } catch (err) {
      const code = err instanceof PhalanxError ? err.code : 'PX_ERR_INTERNAL'
      if (code === 'PX_ERR_SEQ_GAP') {
        // signed by a member, just early: keep it for when the gap fills, ask the peer that
        // relayed it for the missing entries, and relay it
        this.#hold(raw)
        const meta = (err as PhalanxError).meta as { have?: number, got?: number } | undefined
        // most gaps are reordering between relays and close within milliseconds: ask only
        // for what is still missing a moment later
        if (from !== undefined && typeof meta?.have === 'number' && typeof meta.got === 'number') {
          const circle = raw.circle as string
          const origin = raw.origin as string
          const got = meta.got
          setTimeout(() => {
            const have = this.#c.store.head(circle, origin)?.seq ?? 0
            if (have >= got - 1) return
            // a data log syncs (every origin the peer holds more of); a membership log is small
            if (isMembershipLog(circle)) void this.#fillGap(circle, origin, have + 1, got - 1, from)
            else void this.#sync.sync(circle, from, 'gap', { [origin]: got - 1 })
          }, GAP_FILL_DELAY_MS).unref()
        }
        return verdict(TopicValidatorResult.Accept)
      }
      // a fork is the origin's fault, not the relaying peer's (it may hold the other branch):
      // the evidence is kept (ingest), the entry is not relayed, the peer keeps its score
      if (code === 'PX_ERR_CLOSED' || code === 'PX_ERR_FORK') return verdict(TopicValidatorResult.Ignore)
      if (code === 'PX_ERR_INTERNAL' || code === 'PX_ERR_STORE') {
        this.#log.error({ err, source }, 'remote entry could not be stored')
        return verdict(TopicValidatorResult.Ignore)
      }
      this.#log.warn({ code, message: (err as Error).message, source, circle: String(raw?.circle).slice(0, 140), origin: String(raw?.origin).slice(0, 16), seq: raw?.seq }, 'remote entry rejected')
      return verdict(TopicValidatorResult.Reject)
    }
  }

  readonly #filling = new Set<string>()

  /** fetch seq `from`..`to` of a log from `peer` and ingest them in order */
  async #fillGap (circle: string, origin: string, from: number, to: number, peer: PeerId): Promise<void> {
    const k = `${circle}\0${origin}`
    if (this.#filling.has(k) || this.#stopped) return
    this.#filling.add(k)
    try {
      let next = from
      while (next <= to && !this.#stopped) {
        const key = publicKeyOfPeer(peer)
        if (key === null) return
        const reply = await this.#requestPeer(peer, ENTRIES_PROTOCOL, { circle, origin, from: next, to: Math.min(to, next + MAX_ENTRIES_PER_REQUEST - 1) })
        const entries = Array.isArray(reply.entries) ? reply.entries : []
        if (entries.length === 0) break
        for (const e of entries) {
          if (e?.circle !== circle || e?.origin !== origin || e?.seq !== next) throw new PhalanxError('PX_ERR_PEER', 'the peer answered with entries out of range')
          const r = await this.#ingestRemote(e, 'gap')
          if (r === TopicValidatorResult.Reject) return
          next++
        }
      }
      this.#log.debug({ circle, origin: origin.slice(0, 16), from, to: next - 1 }, 'gap filled')
    } catch (err) {
      this.#log.warn({ circle, origin: origin.slice(0, 16), err: (err as Error).message }, 'could not fill a gap; sync will')
    } finally {
      this.#filling.delete(k)
    }
  }

  #hold (raw: any): void {
    const k = `${raw.circle as string}\0${raw.origin as string}`
    let m = this.#pending.get(k)
    if (m === undefined) this.#pending.set(k, m = new Map())
    if (m.size < MAX_PENDING_PER_LOG) m.set(raw.seq as number, raw)
  }

  #drainPending (entry: Entry): void {
    const k = `${entry.circle}\0${entry.origin}`
    const m = this.#pending.get(k)
    if (m === undefined) return
    // queue the whole run that now follows, in order (one write group, not one per entry)
    const run: unknown[] = []
    for (let seq = entry.seq + 1; m.has(seq); seq++) run.push(m.get(seq))
    for (const seq of m.keys()) if (seq <= entry.seq + run.length) m.delete(seq)
    if (m.size === 0) this.#pending.delete(k)
    for (const raw of run) void this.#ingestRemote(raw, 'gossip')
  }

  // ---- membership and connections --------------------------------------------------------

  readonly #dialingOutsider = new Set<string>()
  /** peers refused whatever their membership (operator block; tests build topologies with it) */
  readonly #blocked = new Set<string>()

  /** refuse and hang up the org with this key until unblocked */
  block (publicKeyHex: string): void {
    const id = peerIdOfKey(publicKeyHex)
    this.#blocked.add(id)
    for (const conn of this.#p2p.getConnections()) if (conn.remotePeer.toString() === id) void conn.close().catch(() => {})
  }

  unblock (publicKeyHex: string): void {
    this.#blocked.delete(peerIdOfKey(publicKeyHex))
    this.#backoff.delete(peerIdOfKey(publicKeyHex))
    void this.#dialMembers()
  }

  #dropRate = 0

  /** drop this fraction of incoming gossip messages unseen (tests of loss repair) */
  setGossipDropRateForTest (rate: number): void { this.#dropRate = rate }

  /** publish raw bytes on a circle's topic, bypassing every check (tests of what receivers refuse) */
  async publishRawForTest (circle: string, data: Uint8Array): Promise<void> {
    await (this.#p2p.services.pubsub as GossipSubRuntime).publish(topicOf(circle), data, { ignoreDuplicatePublishError: true })
  }

  /** gossipsub's score of the org with this key (negative after invalid messages) */
  peerScore (key: string): number {
    return (this.#p2p.services.pubsub as GossipSubRuntime).getScore(peerIdOfKey(key))
  }

  /** peers subscribed to a circle's topic, as gossipsub sees them */
  topicPeers (circle: string): number {
    return this.#p2p.services.pubsub.getSubscribers(topicOf(circle)).length
  }

  #refreshAllowed (): void {
    const next = new Set<string>()
    for (const k of this.#c.circles.peerKeys()) next.add(peerIdOfKey(k))
    this.#allowed = next
  }

  #onCircleChange (s: CircleState): void {
    this.#refreshAllowed()
    const me = this.#c.identity.publicKey
    const m = s.members.get(me)
    if (m !== undefined && m.removed === undefined) {
      const fresh = !this.#subscribed.has(s.id)
      this.#subscribe(s.id)
      if (fresh) void this.#announce(s.id)
    } else {
      this.#unsubscribe(s.id)
    }
    // hang up members removed from this circle that share no other circle with us (an
    // unknown org in the middle of a join is left to its grace timer)
    const removed = new Set([...s.members.values()].filter(m => m.removed !== undefined).map(m => peerIdOfKey(m.key)))
    const meRemoved = m?.removed !== undefined
    for (const conn of this.#p2p.getConnections()) {
      const id = conn.remotePeer.toString()
      const wasMember = removed.has(id) || (meRemoved && s.members.has(publicKeyOfPeer(conn.remotePeer) ?? ''))
      if (wasMember && !this.#allowed.has(id)) void conn.close().catch(() => {})
    }
    void this.#dialMembers()
  }

  async #announce (circle: string): Promise<void> {
    const addrs = this.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, ''))
    try { await this.#c.circles.announceAddresses(circle, addrs) } catch (err) { this.#log.warn({ err, circle }, 'could not announce addresses') }
  }

  async #dialMembers (): Promise<void> {
    if (this.#stopped) return
    const connected = new Set(this.#p2p.getConnections().map(c => c.remotePeer.toString()))
    const now = Date.now()
    for (const s of this.#c.circles.mine()) {
      for (const m of s.members.values()) {
        if (m.removed !== undefined || m.key === this.#c.identity.publicKey || m.addrs.length === 0) continue
        const id = peerIdOfKey(m.key)
        if (connected.has(id) || this.#blocked.has(id)) continue
        const b = this.#backoff.get(id)
        if (b !== undefined && b.next > now) continue
        connected.add(id)
        const delay = Math.min((b?.delay ?? 1000) * 2, 60_000)
        this.#backoff.set(id, { next: now + delay, delay })
        const addrs = m.addrs.map(a => multiaddr(`${a}/p2p/${id}`))
        this.#p2p.dial(addrs).catch((err: Error) => { this.#log.debug({ peer: id, err: err.message }, 'dial failed; backing off') })
      }
    }
  }

  /** when this node last saw the org with this key connected: now if it is, else the last disconnect */
  lastSeen (key: string): string | null {
    if (this.connectedKeys().includes(key)) return new Date().toISOString()
    return this.#lastSeen.get(key) ?? null
  }

  /** public keys of the peers connected now */
  connectedKeys (): string[] {
    const out = new Set<string>()
    for (const c of this.#p2p.getConnections()) {
      const k = publicKeyOfPeer(c.remotePeer)
      if (k !== null) out.add(k)
    }
    return [...out]
  }

  #pulling = false
  #pullTurn = 0

  /** round robin: one of our circles, and one of its members connected now */
  #pickMember (turn: number): { circle: CircleState, peer: PeerId } | undefined {
    const mine = this.#c.circles.mine()
    if (mine.length === 0) return undefined
    const s = mine[turn % mine.length]
    const connected = new Set(this.connectedKeys())
    const peers = [...s.members.values()].filter(m => m.removed === undefined && connected.has(m.key))
    if (peers.length === 0) return undefined
    return { circle: s, peer: peerIdFromString(peerIdOfKey(peers[Math.floor(turn / mine.length) % peers.length].key)) }
  }

  /** a circle's state for a request from `key`: this node and `key` must both be current members */
  #circleForMember (circle: unknown, key: string): CircleState {
    const s = typeof circle === 'string' ? this.#c.circles.get(circleOfLog(circle)) : undefined
    if (s === undefined || !this.#c.circles.mine().includes(s)) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', 'no such circle here')
    const m = s.members.get(key)
    if (m === undefined || m.removed !== undefined) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'you are not a member of this circle')
    return s
  }

  /**
   * Membership logs converge without waiting for sync: each tick, take one circle's
   * membership log from one connected member (they are small) and ingest what is new.
   * Gossip of a join, an address or a rotation may be lost; this repairs it.
   */
  async #pullControl (): Promise<void> {
    if (this.#pulling || this.#stopped) return
    this.#pulling = true
    try {
      const pick = this.#pickMember(this.#pullTurn++)
      if (pick === undefined) return
      const { circle: s, peer } = pick
      const reply = await this.#requestPeer(peer, CONTROL_PROTOCOL, { circle: s.id })
      if (!Array.isArray(reply.entries)) return
      for (const e of reply.entries) {
        const c = (e as { circle?: unknown })?.circle
        if (typeof c !== 'string' || circleOfLog(c) !== s.id) return
        const r = await this.#ingestRemote(e, 'control')
        if (r === TopicValidatorResult.Reject) return
      }
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'membership log pull failed')
    } finally {
      this.#pulling = false
    }
  }

  /** fetch the circles listed in config p2p.connect that this node does not know yet */
  async #connectConfigured (): Promise<void> {
    for (const { circle, addr } of this.#o.connect ?? []) {
      if (this.#stopped || this.#c.circles.mine().some(s => s.id === circle)) continue
      try {
        const r = await this.connect(circle, addr)
        this.#log.info({ circle, peer: r.peer.fingerprint }, 'joined a configured circle')
      } catch (err) {
        this.#log.warn({ circle, addr, err: (err as Error).message }, 'configured circle not reachable yet; retrying')
      }
    }
  }

  #syncTurn = 0

  /** periodic anti-entropy: one connected member of one circle per tick, round robin */
  async #syncTick (): Promise<void> {
    if (this.#stopped) return
    const pick = this.#pickMember(this.#syncTurn++)
    if (pick !== undefined) await this.#sync.sync(pick.circle.id, pick.peer, 'periodic')
  }

  #scheduleSync (circle: string, peer: PeerId, reason: string, delayMs: number): void {
    const run = (): void => { if (!this.#stopped) void this.#sync.sync(circle, peer, reason) }
    if (delayMs === 0) run()
    else setTimeout(run, delayMs).unref()
  }

  /** sync `circle` with the member `key` now (API, tests); null when it is not reachable */
  async syncNow (circle: string, key: string): Promise<SyncOutcome | null> {
    return await this.#sync.sync(circle, peerIdFromString(peerIdOfKey(key)), 'request')
  }

  /** per circle: last sync and the members it agreed with; totals of every sync */
  syncState (circle: string): ReturnType<Sync['state']> { return this.#sync.state(circle) }
  get syncStats (): SyncStats { return this.#sync.stats }

  async peers (): Promise<PeerView[]> {
    const out: PeerView[] = []
    const seen = new Set<string>()
    for (const conn of this.#p2p.getConnections()) {
      const id = conn.remotePeer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      const key = publicKeyOfPeer(conn.remotePeer)
      let org: string | null = null
      const circles: string[] = []
      if (key !== null) {
        for (const s of this.#c.circles.mine()) {
          const m = s.members.get(key)
          if (m !== undefined && m.removed === undefined) { circles.push(s.id); org = m.org }
        }
      }
      let latencyMs: number | null = this.#latency.get(id) ?? null
      try {
        latencyMs = Math.round(await this.#p2p.services.ping.ping(conn.remotePeer) * 100) / 100
        this.#latency.set(id, latencyMs)
      } catch { /* keep the last figure */ }
      out.push({ peerId: id, publicKey: key ?? '', fingerprint: key !== null ? fingerprint(key) : '', org, circles, addrs: [conn.remoteAddr.toString()], latencyMs })
    }
    return out
  }

  // ---- TLP:RED direct delivery ---------------------------------------------------------------

  #delivering: Promise<void> | undefined
  #deliverAgain = false

  /** deliver what waits in the outbox, per recipient in seq order; runs one pass at a time */
  async deliverRed (): Promise<void> {
    if (this.#delivering !== undefined) { this.#deliverAgain = true; return await this.#delivering }
    this.#delivering = (async () => {
      do {
        this.#deliverAgain = false
        await this.#deliverPass()
      } while (this.#deliverAgain && !this.#stopped)
    })().finally(() => { this.#delivering = undefined })
    return await this.#delivering
  }

  /** RED entries still waiting for their recipient's acknowledgement, with the retry state */
  async outbox (): Promise<OutboxItem[]> {
    const out: OutboxItem[] = []
    for (const { log, seq, hash } of await this.#c.store.outbox()) {
      const recipient = recipientOfRedLog(log)
      const b = this.#redBackoff.get(recipient)
      out.push({ recipient, seq, hash, attempts: b?.attempts ?? 0, nextAttempt: b === undefined ? null : new Date(b.next).toISOString() })
    }
    return out
  }

  /**
   * Per recipient: failed attempts and when to try again. The delay doubles from
   * p2p.dialIntervalMs up to RED_MAX_BACKOFF_MS; a new connection to the recipient makes the
   * next attempt due at once (the failure count, and so the next wait, stays until a success).
   * Kept in memory: after a restart every waiting entry is tried at once.
   */
  readonly #redBackoff = new Map<string, { attempts: number, next: number }>()

  #redFailed (recipient: string): void {
    const attempts = (this.#redBackoff.get(recipient)?.attempts ?? 0) + 1
    const delay = Math.min(RED_MAX_BACKOFF_MS, this.#o.dialIntervalMs * 2 ** Math.min(attempts - 1, 20))
    // ±20% jitter: recipients that failed together do not retry together
    this.#redBackoff.set(recipient, { attempts, next: Date.now() + Math.round(delay * (0.8 + 0.4 * Math.random())) })
  }

  async #deliverPass (): Promise<void> {
    if (this.#stopped) return
    const failed = new Set<string>()
    const now = Date.now()
    for (const item of await this.outbox()) {
      if (this.#stopped || failed.has(item.recipient)) continue
      if ((this.#redBackoff.get(item.recipient)?.next ?? 0) > now) continue
      const log = redLogOf(item.recipient)
      const entry = this.#c.store.getEntry(log, this.#c.identity.publicKey, item.seq)
      if (entry === undefined) { this.#log.error({ seq: item.seq }, 'outbox names a RED entry that is not stored'); continue }
      try {
        const reply = await this.#requestMember(item.recipient, RED_PROTOCOL, { sealed: this.#c.box.seal(item.recipient, Buffer.from(canonicalJson(entry))) })
        if (reply.ack !== item.hash) throw new PhalanxError('PX_ERR_PEER', 'the recipient acknowledged another entry')
        await this.#c.ingest.removeFromOutbox(log, item.seq)
        this.#redBackoff.delete(item.recipient)
        this.#log.info({ recipient: fingerprint(item.recipient), seq: item.seq }, 'RED entry delivered and acknowledged')
      } catch (err) {
        failed.add(item.recipient)
        this.#redFailed(item.recipient)
        this.#log.debug({ recipient: fingerprint(item.recipient), err: (err as Error).message }, 'RED delivery failed; it stays in the outbox')
      }
    }
  }

  /** a request to a member: over an open connection, or dialled at its announced addresses */
  async #requestMember (key: string, protocol: string, body: unknown): Promise<any> {
    const id = peerIdOfKey(key)
    if (this.#p2p.getConnections().some(c => c.remotePeer.toString() === id)) {
      return await this.#requestPeer(peerIdFromString(id), protocol, body)
    }
    const addrs = new Set<string>()
    for (const s of this.#c.circles.mine()) for (const a of s.members.get(key)?.addrs ?? []) addrs.add(a)
    if (addrs.size === 0) throw new PhalanxError('PX_ERR_PEER', 'no known address for the recipient')
    return await this.#request(key, [...addrs], protocol, body)
  }

  async #serveRed (stream: Stream, conn: Connection): Promise<void> {
    await this.#serve(stream, conn, 'red', async (req, key) => {
      if (typeof req?.sealed !== 'string' || req.sealed.length > 200_000) throw new PhalanxError('PX_ERR_VALIDATION', 'a RED delivery is {sealed}')
      const opened = this.#c.box.open(key, req.sealed)
      if (opened === null) throw new PhalanxError('PX_ERR_BAD_ENTRY', 'the box does not open: not sealed by this peer to this node')
      let raw: any
      try { raw = JSON.parse(Buffer.from(opened).toString('utf8')) } catch { throw new PhalanxError('PX_ERR_BAD_ENTRY', 'the sealed body is not JSON') }
      // RED is never relayed: the peer that delivers it is its origin, and it is for us
      if (raw?.origin !== key) throw new PhalanxError('PX_ERR_TLP_VIOLATION', 'a RED entry comes from its origin only, never relayed')
      if (raw?.circle !== redLogOf(this.#c.identity.publicKey)) throw new PhalanxError('PX_ERR_TLP_VIOLATION', 'this RED entry is for another recipient')
      const r = await this.#c.ingest.ingest(raw, 'red')
      return { ack: r.hash }
    })
  }

  // ---- join and control-log protocols ------------------------------------------------------

  /** redeem an invite code: dial the inviter, prove the secret, take the circle's log */
  async join (code: string, org: string): Promise<JoinOutcome> {
    const invite = parseInvite(code)
    if (invite.expires <= new Date().toISOString()) throw new PhalanxError('PX_ERR_INVITE', `this invite expired at ${invite.expires}`, { field: 'code' })
    if (invite.inviter === this.#c.identity.publicKey) throw new PhalanxError('PX_ERR_INVITE', 'this is our own invite: give it to the org that joins', { field: 'code' })
    const reply = await this.#request(invite.inviter, invite.addrs, JOIN_PROTOCOL, { circle: invite.circle, secret: invite.secret, org })
    await this.#takeControlLog(invite.circle, reply.entries)
    return {
      circle: { id: invite.circle, name: invite.name },
      inviter: { publicKey: invite.inviter, org: typeof reply.org === 'string' ? reply.org : invite.org, fingerprint: fingerprint(invite.inviter) }
    }
  }

  /** a member added by key fetches the circle's log from a member at `addr` */
  async connect (circle: string, addr: string): Promise<{ peer: { publicKey: string, org: string, fingerprint: string } }> {
    let ma
    try { ma = multiaddr(addr) } catch { throw new PhalanxError('PX_ERR_VALIDATION', 'not a multiaddr (e.g. /ip4/192.0.2.1/tcp/7400/p2p/12D3Koo…)', { field: 'addr' }) }
    const peer = ma.getComponents().find(c => c.name === 'p2p')?.value
    if (peer === undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'the address must end with /p2p/<peer id> so the peer\'s key is known', { field: 'addr' })
    const key = publicKeyOfPeer(peerIdFromString(peer))
    if (key === null) throw new PhalanxError('PX_ERR_VALIDATION', 'the peer id is not an Ed25519 key', { field: 'addr' })
    const base = addr.replace(/\/p2p\/[^/]+$/, '')
    const reply = await this.#request(key, [base], CONTROL_PROTOCOL, { circle })
    await this.#takeControlLog(circle, reply.entries)
    const m = this.#c.circles.get(circle)?.members.get(key)
    return { peer: { publicKey: key, org: m?.org ?? '', fingerprint: fingerprint(key) } }
  }

  async #takeControlLog (circle: string, entries: unknown): Promise<void> {
    if (!Array.isArray(entries) || entries.length === 0) throw new PhalanxError('PX_ERR_PEER', 'the peer sent no circle log')
    this.#c.circles.expect(circle)
    // entries this node already folded (a membership pull may be taking the same log right
    // now) can be refused by the policy of the newer state: go on, and judge by the outcome
    let refused: Error | undefined
    for (const e of entries) {
      const c = (e as { circle?: unknown })?.circle
      if (typeof c !== 'string' || circleOfLog(c) !== circle) throw new PhalanxError('PX_ERR_PEER', 'the peer sent an entry of another circle')
      try {
        await this.#c.ingest.ingest(e, 'join')
      } catch (err) {
        if (err instanceof PhalanxError && (err.code === 'PX_ERR_BAD_SIGNATURE' || err.code === 'PX_ERR_BAD_ENTRY')) {
          throw new PhalanxError('PX_ERR_PEER', `the peer's circle log does not verify: ${err.message}`, { cause: err })
        }
        refused ??= err as Error
      }
    }
    if (this.#c.circles.get(circle) === undefined || !this.#c.circles.mine().some(s => s.id === circle)) {
      throw new PhalanxError('PX_ERR_PEER', `the circle log does not make this node a member${refused !== undefined ? ` (${refused.message})` : ''}`)
    }
  }

  /**
   * A request to an org at `addrs`. Tried twice: a connection that is closing (a membership
   * change hangs peers up) may be handed to the first attempt and end the stream early.
   */
  async #request (key: string, addrs: string[], protocol: string, body: unknown): Promise<any> {
    try {
      return await this.#requestOnce(key, addrs, protocol, body)
    } catch (err) {
      if (!(err instanceof PhalanxError) || err.code !== 'PX_ERR_PEER' || this.#stopped) throw err
      await new Promise(resolve => setTimeout(resolve, 200))
      return await this.#requestOnce(key, addrs, protocol, body)
    }
  }

  async #requestOnce (key: string, addrs: string[], protocol: string, body: unknown): Promise<any> {
    const id = peerIdOfKey(key)
    this.#dialingOutsider.add(id)
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    let stream: Stream
    try {
      stream = await this.#p2p.dialProtocol(addrs.map(a => multiaddr(`${a}/p2p/${id}`)), protocol, { signal })
    } catch (err) {
      throw new PhalanxError('PX_ERR_PEER', `could not reach ${fingerprint(key).slice(0, 9)}… at ${addrs.join(', ')} (offline, or it refuses us: an invite that is used or expired no longer opens its door): ${(err as Error).message}`, { cause: err })
    } finally {
      this.#dialingOutsider.delete(id)
    }
    return await this.#exchange(stream, body, signal)
  }

  async #requestPeer (peer: PeerId, protocol: string, body: unknown): Promise<any> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    let stream: Stream
    try {
      stream = await this.#p2p.dialProtocol(peer, protocol, { signal })
    } catch (err) {
      throw new PhalanxError('PX_ERR_PEER', `could not open ${protocol} to ${peer.toString()}: ${(err as Error).message}`, { cause: err })
    }
    return await this.#exchange(stream, body, signal)
  }

  async #exchange (stream: Stream, body: unknown, signal: AbortSignal): Promise<any> {
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
      await lp.write(Buffer.from(JSON.stringify(body)), { signal })
      const reply = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
      await stream.close().catch(() => {})
      if (reply?.error !== undefined) {
        const code = typeof reply.error.code === 'string' && reply.error.code.startsWith('PX_ERR_') ? reply.error.code : 'PX_ERR_PEER'
        throw new PhalanxError(code, `the peer refused: ${String(reply.error.message)}`)
      }
      return reply
    } catch (err) {
      stream.abort(err as Error)
      if (err instanceof PhalanxError) throw err
      throw new PhalanxError('PX_ERR_PEER', `the peer did not answer: ${(err as Error).message}`, { cause: err })
    }
  }

  async #serve (stream: Stream, conn: Connection, what: string, handle: (req: any, key: string) => Promise<unknown>): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
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
        if (!(err instanceof PhalanxError)) this.#log.error({ err, what }, 'request handler failed')
        this.#log.warn({ what, peer: conn.remotePeer.toString(), code: e.code, message: e.message }, 'request refused')
        reply = { error: { code: e.code, message: e.message } }
      }
      await lp.write(Buffer.from(JSON.stringify(reply)), { signal })
      await stream.close()
    } catch (err) {
      this.#log.warn({ what, err: (err as Error).message }, 'request stream failed')
      stream.abort(err as Error)
    }
  }

  async #serveJoin (stream: Stream, conn: Connection): Promise<void> {
    await this.#serve(stream, conn, 'join', async (req, key) => {
      if (typeof req?.circle !== 'string' || typeof req?.secret !== 'string') throw new PhalanxError('PX_ERR_INVITE', 'a join names the circle and the invite secret')
      const org = typeof req.org === 'string' ? req.org.slice(0, 200) : ''
      const entries = await this.#c.circles.redeemInvite(req.circle, req.secret, key, org)
      this.#log.info({ circle: req.circle, joiner: fingerprint(key), org }, 'an org joined with an invite')
      return { org: this.#c.identity.org, entries }
    })
  }

  async #serveEntries (stream: Stream, conn: Connection): Promise<void> {
    await this.#serve(stream, conn, 'entries', async (req, key) => {
      this.#circleForMember(req?.circle, key)
      const circle = req.circle as string
      if (typeof req.origin !== 'string' || !Number.isSafeInteger(req.from) || !Number.isSafeInteger(req.to) || req.from < 1 || req.to < req.from) {
        throw new PhalanxError('PX_ERR_VALIDATION', 'an entries request names circle, origin, from and to (seqs)')
      }
      const entries: Entry[] = []
      const last = Math.min(req.to, req.from + MAX_ENTRIES_PER_REQUEST - 1)
      let bytes = 0
      for (let seq = req.from; seq <= last && bytes < MAX_FRAME / 2; seq++) {
        const e = this.#c.store.getEntry(circle, req.origin, seq)
        if (e === undefined) break
        bytes += JSON.stringify(e).length
        entries.push(e)
      }
      return { entries }
    })
  }

  async #serveControl (stream: Stream, conn: Connection): Promise<void> {
    await this.#serve(stream, conn, 'control', async (req, key) => {
      const s = this.#circleForMember(req?.circle, key)
      return { entries: await this.#c.circles.controlEntries(s.id) }
    })
  }
}
