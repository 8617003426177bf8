/**
 * Connections to circle members: the allow list and the connection gater, dialling members
 * with backoff, hanging up those who left, and the members this node sees online.
 *
 * Guarantees: only current members of this node's circles that are not blocked pass the
 * gater; the exceptions are an org this node dials itself for a join or connect request,
 * and an unknown org dialling in while an invite is open (hung up after NON_MEMBER_GRACE_MS
 * unless it became a member). A member this node is not connected to is dialled at most
 * once per backoff (2 s doubling to 60 s). A member removed from a circle who shares no
 * other circle with this node is hung up.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { fingerprint } from '../identity/index.js'
import type { CircleManager, CircleState } from '../circles/index.js'
import { peerIdOfKey, publicKeyOfPeer, type Host, type HostGater } from './host.js'

/** a connected peer that is in none of our circles is hung up after this (join window) */
const NON_MEMBER_GRACE_MS = 15_000
/** a member's dial wait doubles from twice this (after the first dial) … */
const DIAL_BACKOFF_BASE_MS = 1000
/** … up to this */
const DIAL_BACKOFF_MAX_MS = 60_000

export interface PeerView {
  peerId: string
  publicKey: string
  fingerprint: string
  org: string | null
  circles: string[]
  addrs: string[]
  latencyMs: number | null
}

/** peers suspended for junk at once at most (members: a circle is tens of orgs) */
const MAX_SUSPENDED = 1024

export interface ConnectionsComponents {
  circles: Pick<CircleManager, 'mine' | 'peerKeys' | 'hasOpenInvites'>
  /** this node's org key */
  self: string
  log: Logger
  /** aborted when the network stops */
  signal: AbortSignal
  /** config p2p.onlyPeers: the members this node connects to (empty or absent: every member) */
  onlyPeers?: readonly string[]
}

export class Connections {
  readonly #c: ConnectionsComponents
  #host: Host | undefined
  /** peer ids allowed to connect: every member of every circle we are in (of p2p.onlyPeers, when set) */
  #allowed = new Set<string>()
  /** peers refused whatever their membership (operator block; tests build topologies with it) */
  readonly #blocked = new Set<string>()
  /** orgs this node is dialling for a request (a join): let through though not members */
  readonly #dialingOutsider = new Set<string>()
  readonly #backoff = new Map<string, { next: number, delay: number }>()
  /** peer id → until when (ms) it is refused: it kept sending junk (gossip/junk.ts) */
  readonly #suspended = new Map<string, number>()
  readonly #latency = new Map<string, number>()
  /** public key → when this node last had a connection to it (since this process started) */
  readonly #lastSeen = new Map<string, string>()
  /** public key → member dials started (since this process started) */
  readonly #dials = new Map<string, number>()

  constructor (c: ConnectionsComponents) {
    this.#c = c
    this.refreshAllowed()
  }

  get #p2p (): Host {
    if (this.#host === undefined) throw new Error('connections: no host attached')
    return this.#host
  }

  /** the host whose connections these are (created with `gater()`) */
  attach (host: Host): void { this.#host = host }

  /** the connection gater to create the host with */
  gater (): HostGater {
    const allowed = (peer: PeerId): boolean => this.#allowed.has(peer.toString()) && !this.#blocked.has(peer.toString()) && !this.suspended(peer.toString())
    return {
      denyDialPeer: (peer) => !allowed(peer) && !this.#dialingOutsider.has(peer.toString()),
      // while an invite is open, an unknown org may connect to redeem it (hung up after a grace)
      denyInboundEncryptedConnection: (peer) => !allowed(peer) && (this.#blocked.has(peer.toString()) || this.suspended(peer.toString()) || !this.#c.circles.hasOpenInvites()),
      denyOutboundEncryptedConnection: (peer) => !allowed(peer) && !this.#dialingOutsider.has(peer.toString())
    }
  }

  /** rebuild the allow list from the circles (after every membership change) */
  refreshAllowed (): void {
    const next = new Set<string>()
    const only = this.#c.onlyPeers !== undefined && this.#c.onlyPeers.length > 0 ? new Set(this.#c.onlyPeers) : undefined
    for (const k of this.#c.circles.peerKeys()) if (only === undefined || only.has(k)) next.add(peerIdOfKey(k))
    this.#allowed = next
  }

  /** let the org with PeerId `id` through the gater while `dial` runs (a join or connect request) */
  async dialOutsider<T> (id: string, dial: () => Promise<T>): Promise<T> {
    this.#dialingOutsider.add(id)
    try {
      return await dial()
    } finally {
      this.#dialingOutsider.delete(id)
    }
  }

  /** refuse and hang up the org with this key until unblocked */
  block (publicKeyHex: string): void {
    const id = peerIdOfKey(publicKeyHex)
    this.#blocked.add(id)
    for (const conn of this.#p2p.getConnections()) if (conn.remotePeer.toString() === id) void conn.close().catch(() => {})
  }

  /**
   * Close the connections of the peer with PeerId `id` and refuse it (both ways) for `ms`: it
   * kept sending gossip junk (gossip/junk.ts). Its entries still arrive through other members
   * and sync.
   */
  suspend (id: string, ms: number): void {
    const now = Date.now()
    if (!this.#suspended.has(id) && this.#suspended.size >= MAX_SUSPENDED) {
      for (const [k, until] of this.#suspended) if (until <= now) this.#suspended.delete(k)
      if (this.#suspended.size >= MAX_SUSPENDED) this.#suspended.delete(this.#suspended.keys().next().value!)
    }
    this.#suspended.set(id, now + ms)
    for (const conn of this.#p2p.getConnections()) if (conn.remotePeer.toString() === id) void conn.close().catch(() => {})
  }

  /** whether the peer with PeerId `id` is refused for now (junk) */
  suspended (id: string): boolean {
    const until = this.#suspended.get(id)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.#suspended.delete(id)
    return false
  }

  unblock (publicKeyHex: string): void {
    this.#blocked.delete(peerIdOfKey(publicKeyHex))
    this.#backoff.delete(peerIdOfKey(publicKeyHex))
    void this.dialMembers()
  }

  /** a connection opened: the peer is seen, its backoff reset; a non-member gets its grace */
  onConnect (peer: PeerId): void {
    const id = peer.toString()
    const key = publicKeyOfPeer(peer)
    if (key !== null) this.#lastSeen.set(key, new Date().toISOString())
    this.#backoff.delete(id)
    if (!this.#allowed.has(id)) {
      setTimeout(() => { if (!this.#c.signal.aborted && !this.#allowed.has(id)) void this.#p2p.hangUp(peer).catch(() => {}) }, NON_MEMBER_GRACE_MS).unref()
    }
  }

  onDisconnect (peer: PeerId): void {
    const key = publicKeyOfPeer(peer)
    if (key !== null) this.#lastSeen.set(key, new Date().toISOString())
  }

  /**
   * After a change of circle `s`: hang up members removed from it that share no other circle
   * with us (an unknown org in the middle of a join is left to its grace timer).
   */
  hangUpRemoved (s: CircleState): void {
    const removed = new Set([...s.members.values()].filter(m => m.removed !== undefined).map(m => peerIdOfKey(m.key)))
    const meRemoved = s.members.get(this.#c.self)?.removed !== undefined
    for (const conn of this.#p2p.getConnections()) {
      const id = conn.remotePeer.toString()
      const wasMember = removed.has(id) || (meRemoved && s.members.has(publicKeyOfPeer(conn.remotePeer) ?? ''))
      if (wasMember && !this.#allowed.has(id)) void conn.close().catch(() => {})
    }
  }

  /** dial every member with known addresses that is not connected, blocked or backing off */
  async dialMembers (): Promise<void> {
    if (this.#c.signal.aborted) return
    const connected = new Set(this.#p2p.getConnections().map(c => c.remotePeer.toString()))
    const now = Date.now()
    for (const s of this.#c.circles.mine()) {
      for (const m of s.members.values()) {
        if (m.removed !== undefined || m.key === this.#c.self || m.addrs.length === 0) continue
        const id = peerIdOfKey(m.key)
        if (connected.has(id) || !this.#allowed.has(id) || this.#blocked.has(id) || this.suspended(id)) continue
        const b = this.#backoff.get(id)
        if (b !== undefined && b.next > now) continue
        connected.add(id)
        const delay = Math.min((b?.delay ?? DIAL_BACKOFF_BASE_MS) * 2, DIAL_BACKOFF_MAX_MS)
        this.#backoff.set(id, { next: now + delay, delay })
        this.#dials.set(m.key, (this.#dials.get(m.key) ?? 0) + 1)
        const addrs = m.addrs.map(a => multiaddr(`${a}/p2p/${id}`))
        this.#p2p.dial(addrs).catch((err: Error) => { this.#c.log.debug({ peer: id, err: err.message }, 'dial failed; backing off') })
      }
    }
  }

  /**
   * Fetch the circles listed in config p2p.connect that this node does not know yet, with
   * `connect` (the control protocol); retried at later ticks until they are known.
   */
  async connectConfigured (configured: ReadonlyArray<{ circle: string, addr: string }>, connect: (circle: string, addr: string) => Promise<{ peer: { fingerprint: string } }>): Promise<void> {
    for (const { circle, addr } of configured) {
      if (this.#c.signal.aborted || this.#c.circles.mine().some(s => s.id === circle)) continue
      try {
        const r = await connect(circle, addr)
        this.#c.log.info({ circle, peer: r.peer.fingerprint }, 'joined a configured circle')
      } catch (err) {
        this.#c.log.warn({ circle, addr, err: (err as Error).message }, 'configured circle not reachable yet; retrying')
      }
    }
  }

  /** member dials started to the org with this key since this process started */
  dialAttempts (key: string): number { return this.#dials.get(key) ?? 0 }

  /** whether a connection to the org with PeerId `id` is open */
  isConnected (id: string): boolean {
    return this.#p2p.getConnections().some(c => c.remotePeer.toString() === id)
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

  /** round robin: one of our circles, and one of its members connected now */
  pickMember (turn: number): { circle: CircleState, peer: PeerId } | undefined {
    const mine = this.#c.circles.mine()
    if (mine.length === 0) return undefined
    const s = mine[turn % mine.length]
    const connected = new Set(this.connectedKeys())
    const peers = [...s.members.values()].filter(m => m.removed === undefined && connected.has(m.key))
    if (peers.length === 0) return undefined
    return { circle: s, peer: peerIdFromString(peerIdOfKey(peers[Math.floor(turn / mine.length) % peers.length].key)) }
  }

  /** the peers connected now, with their circles and round-trip time (pinged now) */
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
}
