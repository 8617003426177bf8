/**
 * The network: composes the libp2p host (host.ts), member connections (connections.ts),
 * gossip of circle entries (gossip/), the request/response protocols (protocols/) and
 * anti-entropy sync (sync.ts), and runs their timers. It holds no protocol logic itself.
 *
 * Guarantees: what arrives from a peer reaches the store only through ingest; everything is
 * started in dependency order by `start()` and `stop()` ends every loop and timer (an
 * AbortSignal shared by the parts) before the host stops.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { BoxKey, Identity } from '../identity/index.js'
import { isRedLog, LOCAL_CIRCLE } from '../records/index.js'
import type { Ingest, LevelStore, StoredEntry } from '../store/index.js'
import { circleOfLog, type CircleManager, type CircleState } from '../circles/index.js'
import { Sync, SYNC_PROTOCOL, type SyncOutcome, type SyncStats } from './sync.js'
import { createHost, peerIdOfKey, pubsubOf, publicKeyOfPeer, type GossipIdCount, type Host } from './host.js'
import { Connections, type PeerView } from './connections.js'
import { installYamuxWindowRule } from './yamux-window.js'
import { installLengthPrefixRule } from './lp-decoder.js'
import { Liveness } from './liveness.js'
import { DIRECT_PROTOCOL, Gossip, type JunkOptions, type OverQuota, type PeerJunk, type PendingLimits, type QuotaOptions } from './gossip/index.js'
import {
  CONTROL_MAX_INBOUND_STREAMS, CONTROL_PROTOCOL, ControlPull, ENTRIES_MAX_INBOUND_STREAMS, ENTRIES_PROTOCOL, JOIN_MAX_INBOUND_STREAMS, JOIN_PROTOCOL,
  RED_MAX_INBOUND_STREAMS, RED_PROTOCOL, RedDelivery, Requester, circleForMember, connectAt, controlHandler, entriesHandler, fetchEntries, fetchEntry,
  joinHandler, joinWithInvite, redHandler, serveRequest, NOTICE_PROTOCOL, NOTICE_MAX_INBOUND_STREAMS, NoticeDelivery, noticeHandler, type InviteRedeemer, type JoinOutcome, type OutboxItem, type RequestHandler
} from './protocols/index.js'

/** sync with a member this long after connecting to it (identify and gossip settle first) */
const CONNECT_SYNC_DELAY_MS = 300
/** sync back from a peer seen to hold more this long after (gossip in flight lands first) */
const BEHIND_SYNC_DELAY_MS = 1000
/** concurrent inbound sync streams per connection */
const SYNC_MAX_INBOUND_STREAMS = 16
/** configured circles (p2p.connect) are tried every this many dial ticks */
const CONNECT_CONFIGURED_EVERY_TICKS = 10

export interface NetworkOptions {
  host: string
  port: number
  /** how often to dial members we are not connected to (ms) */
  dialIntervalMs: number
  /** how often to run anti-entropy sync with one member of one circle, round robin (ms) */
  syncIntervalMs: number
  /** circles to fetch from a member's address until known (config p2p.connect) */
  connect?: ReadonlyArray<{ circle: string, addr: string }>
  /** bounds of the out-of-order buffer of membership entries (config p2p.pending) */
  pending?: Partial<PendingLimits>
  /** per-member gossip quotas and the gossip queue bound (config p2p.quota) */
  quota?: Partial<QuotaOptions>
  /** what junk costs a peer (config p2p.junk) */
  junk?: Partial<JunkOptions>
  /** the members this node connects to (config p2p.onlyPeers; empty: every member) */
  onlyPeers?: readonly string[]
}

/** the circle admin work the network needs (src/operations/circle-admin.ts) */
export interface NetworkAdmin extends InviteRedeemer {
  /** publish this node's dialable addresses in a circle, when they changed */
  announceAddresses: (circle: string, addrs: string[]) => Promise<void>
}

export interface NetworkComponents {
  identity: Identity
  circles: CircleManager
  admin: NetworkAdmin
  ingest: Ingest
  store: LevelStore
  box: BoxKey
  log: Logger
}

export class Network {
  readonly #o: NetworkOptions
  readonly #c: NetworkComponents
  readonly #log: Logger
  readonly #stop = new AbortController()
  readonly #connections: Connections
  #p2p!: Host
  #requester!: Requester
  #gossip!: Gossip
  /** gossip message ids computed by gossipsub: copies received plus messages published */
  readonly #ids: GossipIdCount = { ids: 0 }
  /** peers whose last identify announced DIRECT_PROTOCOL (gossip/direct.ts) */
  readonly #knowsDirect = new Set<string>()
  #sync!: Sync
  #red!: RedDelivery
  #control!: ControlPull
  #notices!: NoticeDelivery
  #dialTimer: NodeJS.Timeout | undefined
  #syncTimer: NodeJS.Timeout | undefined
  #liveness: Liveness | undefined
  #syncTurn = 0
  #offChange: (() => void) | undefined

  constructor (o: NetworkOptions, c: NetworkComponents) {
    this.#o = o
    this.#c = c
    this.#log = c.log
    this.#connections = new Connections({ circles: c.circles, self: c.identity.publicKey, log: c.log.child({ component: 'phalanx:p2p:connections' }), signal: this.#stop.signal, ...(o.onlyPeers !== undefined ? { onlyPeers: o.onlyPeers } : {}) })
  }

  get peerId (): string { return this.#p2p.peerId.toString() }

  multiaddrs (): string[] { return this.#p2p.getMultiaddrs().map(String) }

  /** gossip messages judged since start, by verdict (rejected ones cost their sender score) */
  get gossipCounts (): { accepted: number, ignored: number, rejected: number, direct: number } { return this.#gossip.counts }

  /**
   * Gossip messages received since start, every copy: the judged ones and the duplicates
   * gossipsub drops unjudged (copies per entry = the cost of the mesh's redundancy).
   */
  get gossipReceived (): number { return this.#ids.ids - (this.#gossip === undefined ? 0 : this.#gossip.topics.published) }

  async start (): Promise<void> {
    const { identity, circles, ingest, store, box } = this.#c
    const signal = this.#stop.signal
    this.#connections.refreshAllowed()
    if (!installYamuxWindowRule()) this.#log.warn('@libp2p/yamux changed shape: window updates stay one per data frame (yamux-window.ts)')
    if (!installLengthPrefixRule()) this.#log.warn('@libp2p/utils changed shape: each read of a noise connection still builds an error (lp-decoder.ts)')
    this.#p2p = await createHost(this.#o, identity.seed, this.#connections.gater(), (id) => this.#gossip?.appSpecificScore(id) ?? 0, this.#ids)
    this.#connections.attach(this.#p2p)
    // which peers know the DIRECT gossip flag (gossip/direct.ts): each identify says, and this
    // node announces it with a protocol nobody opens, before any connection can be identified
    this.#p2p.addEventListener('peer:identify', (evt) => {
      const id = evt.detail.peerId.toString()
      if (evt.detail.protocols.includes(DIRECT_PROTOCOL)) this.#knowsDirect.add(id)
      else this.#knowsDirect.delete(id)
    })
    this.#p2p.addEventListener('peer:disconnect', (evt) => { this.#knowsDirect.delete(evt.detail.toString()) })
    await this.#p2p.handle(DIRECT_PROTOCOL, (stream) => { stream.abort(new Error('a marker protocol: nothing to serve')) }, { maxInboundStreams: 1 })
    this.#requester = new Requester({ host: this.#p2p, connections: this.#connections, circles, signal })
    await this.#handle(JOIN_PROTOCOL, 'join', JOIN_MAX_INBOUND_STREAMS, joinHandler({ admin: this.#c.admin, identity, log: this.#log }))
    await this.#handle(CONTROL_PROTOCOL, 'control', CONTROL_MAX_INBOUND_STREAMS, controlHandler(circles))
    await this.#handle(ENTRIES_PROTOCOL, 'entries', ENTRIES_MAX_INBOUND_STREAMS, entriesHandler({ circles, store }))
    await this.#handle(RED_PROTOCOL, 'red', RED_MAX_INBOUND_STREAMS, redHandler({ identity, box, ingest }))
    await this.#handle(NOTICE_PROTOCOL, 'notice', NOTICE_MAX_INBOUND_STREAMS, noticeHandler({ circles, ingest, self: identity.publicKey, log: this.#log.child({ component: 'phalanx:p2p:notice' }) }))
    this.#sync = new Sync({
      store,
      ingest,
      log: this.#log.child({ component: 'sync' }),
      open: async (peer, protocol, signal) => await this.#p2p.dialProtocol(peer, protocol, { signal }),
      authorize: (circle, key) => circleForMember(circles, circle, key).id,
      keyOf: publicKeyOfPeer,
      fetchEntry: async (peer, circle, origin, seq) => await fetchEntry(this.#requester, peer, circle, origin, seq)
    })
    // a peer that holds more than we do: what gossip is still carrying arrives within moments
    this.#sync.onBehind = (circle, peer) => { this.#scheduleSync(circle, peer, 'behind', BEHIND_SYNC_DELAY_MS) }
    await this.#p2p.handle(SYNC_PROTOCOL, (stream, conn) => { void this.#sync.serve(stream, conn) }, { maxInboundStreams: SYNC_MAX_INBOUND_STREAMS })
    this.#gossip = new Gossip({
      pubsub: pubsubOf(this.#p2p),
      circles,
      self: identity.publicKey,
      knowsDirect: (id) => this.#knowsDirect.has(id),
      ingest,
      store,
      syncGap: (circle, peer, origin, to) => { void this.#sync.sync(circle, peer, 'gap', { [origin]: to }) },
      fetchEntries: async (peer, circle, origin, from, to) => await fetchEntries(this.#requester, peer, circle, origin, from, to),
      log: this.#log,
      signal,
      ...(this.#o.pending !== undefined ? { pending: this.#o.pending } : {}),
      ...(this.#o.quota !== undefined ? { quota: this.#o.quota } : {}),
      ...(this.#o.junk !== undefined ? { junk: this.#o.junk } : {}),
      hangUp: (id, ms) => { if (!signal.aborted) this.#connections.suspend(id, ms) }
    })
    this.#red = new RedDelivery({ identity, box, store, ingest, requester: this.#requester, log: this.#log.child({ component: 'phalanx:p2p:red' }), signal, baseDelayMs: this.#o.dialIntervalMs })
    this.#notices = new NoticeDelivery({ circles, requester: this.#requester, self: identity.publicKey, log: this.#log.child({ component: 'phalanx:p2p:notice' }), signal })
    this.#control = new ControlPull({ requester: this.#requester, pickMember: (turn) => this.#connections.pickMember(turn), judge: async (raw, source) => await this.#gossip.judge(raw, source), digest: async (circle) => await circles.controlDigest(circle), log: this.#log, signal })
    this.#p2p.addEventListener('peer:disconnect', (evt) => { this.#connections.onDisconnect(evt.detail) })
    this.#p2p.addEventListener('peer:connect', (evt) => { this.#onConnect(evt.detail) })
    for (const s of circles.mine()) this.#gossip.topics.subscribe(s.id)
    this.#offChange = circles.onChange((s) => { this.#onCircleChange(s) })
    this.#log.info({ peerId: this.peerId, addrs: this.multiaddrs() }, 'p2p started')
    for (const s of circles.mine()) await this.#announce(s.id)
    let ticks = 0
    this.#dialTimer = setInterval(() => {
      if (ticks++ % CONNECT_CONFIGURED_EVERY_TICKS === 0) void this.#connections.connectConfigured(this.#o.connect ?? [], async (circle, addr) => await this.connect(circle, addr))
      void this.#connections.dialMembers()
      void this.deliverRed()
      void this.#notices.deliver()
    }, this.#o.dialIntervalMs)
    this.#dialTimer.unref()
    // anti-entropy on its own cadence: one log sync and one membership pull per tick (a
    // dial interval kept short to reconnect fast does not multiply them)
    this.#syncTimer = setInterval(() => { void this.#syncTick(); void this.#control.pull() }, this.#o.syncIntervalMs)
    this.#syncTimer.unref()
    // dead connections: a ping at the muxer to every peer (liveness.ts)
    const p2p = this.#p2p
    this.#liveness = new Liveness({ getConnections: () => p2p.getConnections(), streamPing: async (conn, o) => await p2p.services.ping.ping(conn.remotePeer, o), log: this.#log.child({ component: 'phalanx:p2p:liveness' }) })
    this.#liveness.start()
    void this.#connections.dialMembers()
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    if (this.#dialTimer !== undefined) clearInterval(this.#dialTimer)
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer)
    this.#liveness?.stop()
    this.#sync?.stop()
    this.#offChange?.()
    await this.#p2p?.stop()
  }

  async #handle (protocol: string, what: string, maxInboundStreams: number, handler: RequestHandler): Promise<void> {
    const log = this.#log
    await this.#p2p.handle(protocol, (stream, conn) => { void serveRequest(stream, conn, what, log, handler) }, { maxInboundStreams })
  }

  #onConnect (peer: PeerId): void {
    const key = publicKeyOfPeer(peer)
    this.#connections.onConnect(peer)
    if (key === null) return
    // a recipient that comes back gets its waiting RED entries now, not after its backoff
    this.#red.onConnect(key)
    // anti-entropy on connect: every circle shared with the peer
    for (const c of this.#c.circles.mine()) {
      const m = c.members.get(key)
      if (m !== undefined && m.removed === undefined) this.#scheduleSync(c.id, peer, 'connect', CONNECT_SYNC_DELAY_MS)
    }
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
      this.#gossip.drain(s.entry)
    }
    for (const [circle, list] of own) void this.#gossip.publish(circle, list)
    if (red) void this.deliverRed()
  }

  // ---- connections ---------------------------------------------------------------------------

  /** refuse and hang up the org with this key until unblocked */
  block (publicKeyHex: string): void { this.#connections.block(publicKeyHex) }

  unblock (publicKeyHex: string): void { this.#connections.unblock(publicKeyHex) }

  /** gossipsub's score of the org with this key (negative after invalid messages) */
  peerScore (key: string): number { return this.#gossip.topics.score(peerIdOfKey(key)) }

  /** the member with this key is past its gossip quota now: since when, what was dropped; null if not */
  overQuota (key: string): OverQuota | null { return this.#gossip.overQuota(key) }

  /** every member past its gossip quota now */
  overQuotaAll (): Array<{ origin: string } & OverQuota> { return this.#gossip.quotas.overQuotaAll() }

  /** gossip messages ignored because of a bound (queue full, over quota), and the queue bound */
  get gossipDrops (): { queueFull: number, overQuota: number, maxQueuedItems: number } {
    return { ...this.#gossip.validator.drops, maxQueuedItems: this.#gossip.quotas.options.maxQueuedItems }
  }

  /** what junk (ignored messages no peer is entitled to send) cost the org with this key */
  junkOf (key: string): PeerJunk { return this.#gossip.junkOf(peerIdOfKey(key)) }

  /** peers subscribed to a circle's topic, as gossipsub sees them */
  topicPeers (circle: string): number { return this.#gossip.topics.peers(circle) }
  /** whether this node's flood publish on `circle` reaches every member, each knowing the DIRECT flag (gossip/direct.ts) */
  reachesAll (circle: string): boolean { return this.#gossip.direct.reachesAll(circle) }

  /** when this node last saw the org with this key connected: now if it is, else the last disconnect */
  lastSeen (key: string): string | null { return this.#connections.lastSeen(key) }

  /** public keys of the peers connected now */
  connectedKeys (): string[] { return this.#connections.connectedKeys() }

  /** member dials this node started to the org with this key since it started (its circles' members only) */
  dialAttempts (key: string): number { return this.#connections.dialAttempts(key) }

  async peers (): Promise<PeerView[]> { return await this.#connections.peers() }

  #onCircleChange (s: CircleState): void {
    this.#connections.refreshAllowed()
    const m = s.members.get(this.#c.identity.publicKey)
    if (m !== undefined && m.removed === undefined) {
      if (this.#gossip.topics.subscribe(s.id)) void this.#announce(s.id)
    } else {
      this.#gossip.topics.unsubscribe(s.id)
    }
    this.#connections.hangUpRemoved(s)
    void this.#connections.dialMembers()
    // a removal or a leave: tell the org it is about (notice.ts)
    void this.#notices.deliver()
  }

  async #announce (circle: string): Promise<void> {
    const addrs = this.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, ''))
    try { await this.#c.admin.announceAddresses(circle, addrs) } catch (err) { this.#log.warn({ err, circle }, 'could not announce addresses') }
  }

  // ---- sync ----------------------------------------------------------------------------------

  /** periodic anti-entropy: one connected member of one circle per tick, round robin */
  async #syncTick (): Promise<void> {
    if (this.#stop.signal.aborted) return
    const pick = this.#connections.pickMember(this.#syncTurn++)
    if (pick !== undefined) await this.#sync.sync(pick.circle.id, pick.peer, 'periodic')
  }

  #scheduleSync (circle: string, peer: PeerId, reason: string, delayMs: number): void {
    const run = (): void => { if (!this.#stop.signal.aborted) void this.#sync.sync(circle, peer, reason) }
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

  // ---- TLP:RED direct delivery ---------------------------------------------------------------

  /** deliver what waits in the outbox, per recipient in seq order; runs one pass at a time */
  async deliverRed (): Promise<void> { await this.#red.deliver() }

  /** RED entries still waiting for their recipient's acknowledgement, with the retry state */
  async outbox (): Promise<OutboxItem[]> { return await this.#red.outbox() }

  // ---- join and control-log protocols --------------------------------------------------------

  /** redeem an invite code: dial the inviter, prove the secret, take the circle's log */
  async join (code: string, org: string): Promise<JoinOutcome> {
    return await joinWithInvite({ circles: this.#c.circles, ingest: this.#c.ingest, requester: this.#requester, self: this.#c.identity.publicKey }, code, org)
  }

  /** a member added by key fetches the circle's log from a member at `addr` */
  async connect (circle: string, addr: string): Promise<{ peer: { publicKey: string, org: string, fingerprint: string } }> {
    return await connectAt({ circles: this.#c.circles, ingest: this.#c.ingest, requester: this.#requester }, circle, addr)
  }
}
