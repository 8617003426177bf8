/**
 * The libp2p host: TCP + noise + yamux, identify, ping and gossipsub, with the org's own key
 * as PeerId (so a peer's PeerId names its org key, and the other way round).
 *
 * Guarantees: libp2p's own per-message signature is off (`StrictNoSign`, message id =
 * SHA-256 of the message): the origin's signature on each entry is what counts; every
 * connection passes the gater the caller gives (connections.ts); a gossip message is at most
 * one envelope (MAX_ENVELOPE_BYTES) plus protobuf framing.
 */
import '../polyfill.js'
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import type { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { libp2pPrivateKeyFromSeed } from '../identity/index.js'
import { MAX_ENVELOPE_BYTES } from './envelope.js'

export interface HostOptions {
  host: string
  port: number
}

/** what this node thinks of a peer, besides gossipsub's own counters: gossipsub's P5 (weight 1) */
export type AppScore = (peerId: string) => number

export type Host = Libp2p<{ pubsub: GossipSub, ping: { ping: (peer: PeerId, options?: { signal?: AbortSignal }) => Promise<number> }, identify: unknown }>

/** runtime methods the exported GossipSub type leaves out (see ../shared/STACK.md) */
export type GossipSubRuntime = GossipSub & {
  publish: (topic: string, data: Uint8Array, opts?: { ignoreDuplicatePublishError?: boolean }) => Promise<unknown>
  score: { params: { topics: Record<string, ReturnType<typeof createTopicScoreParams>> } }
  getScore: (peerId: string) => number
  /** the score thresholds in force (the flood publish skips peers below `publishThreshold`) */
  opts: { scoreThresholds: { publishThreshold: number } }
}

/** the gater's three decisions (connections.ts makes them) */
export type HostGater = Required<Pick<ConnectionGater, 'denyDialPeer' | 'denyInboundEncryptedConnection' | 'denyOutboundEncryptedConnection'>>

/**
 * Gossip messages whose id gossipsub computed: every copy received (before its seen-cache drops
 * a duplicate unjudged) and every message this node published.
 */
export interface GossipIdCount { ids: number }

/** a started libp2p host with the org key of `seed` as its PeerId, listening on host:port */
export async function createHost (o: HostOptions, seed: Uint8Array, gater: HostGater, appScore: AppScore = () => 0, count: GossipIdCount = { ids: 0 }): Promise<Host> {
  const privateKey = await libp2pPrivateKeyFromSeed(seed)
  return await createLibp2p({
    privateKey,
    addresses: { listen: [`/ip4/${o.host}/tcp/${o.port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // yamux's keep-alive pings but never acts on a missing answer: liveness.ts pings with the
    // same frame and closes a connection that does not answer
    streamMuxers: [yamux({ enableKeepAlive: false })],
    // partners may share one address (NAT, or every node on one host in tests): libp2p's
    // default of 5 inbound connections per second per host refuses them in bursts
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 },
    // libp2p's monitor pings every peer on a new stream (negotiation, peer-store writes at both
    // ends): liveness.ts pings at the muxer instead, started by the network
    connectionMonitor: { enabled: false },
    connectionGater: gater,
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: (m) => { count.ids++; return createHash('sha256').update(m.data).digest() },
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        maxInboundDataLength: MAX_ENVELOPE_BYTES + 64 * 1024,
        // a single-record entry is ~1 KiB: announcing IDONTWANT for it to every mesh peer
        // costs about what the duplicate would; keep it for bulk entries
        idontwantMinDataSize: 16 * 1024,
        // circles are tens of orgs, and the origin floods its own messages to every peer it is
        // connected to: the mesh only relays to members the origin cannot reach, and every copy
        // it brings to the others is one more to decrypt and drop. A mesh of 2 (at least 1;
        // Dout 0, as the spec asks when Dlo is 1) halves the copies each member of a 10-node
        // circle receives (~4-5 -> 2.0 per entry; README, Performance); gossip (IHAVE to Dlazy
        // peers each heartbeat) and anti-entropy sync still cover a relay that is lost
        D: 2,
        Dlo: 1,
        Dhi: 4,
        Dout: 0,
        // junk a peer cannot be entitled to send (gossip/junk.ts) lowers its score one point a
        // message: past -10 it gets no gossip from us, past -80 its messages are dropped unread
        scoreParams: {
          appSpecificScore: appScore,
          appSpecificWeight: 1,
          // gossipsub's default penalizes more than 10 peers from one IP address (-5 × surplus²):
          // the 11th member behind one NAT, or on one host, would graylist every one of them
          // (their messages dropped unread, nothing published to them) and leave delivery to
          // sync. Peers here are circle members the gater admitted by key: an address says
          // nothing about who they are
          IPColocationFactorWeight: 0
        }
      })
    }
  }) as any
}

/** gossipsub with the runtime methods its exported type leaves out */
export function pubsubOf (host: Host): GossipSubRuntime {
  return host.services.pubsub as GossipSubRuntime
}

/** the org key of a peer (hex); null when its PeerId is not an Ed25519 key */
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
