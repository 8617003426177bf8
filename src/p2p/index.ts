/**
 * The network: libp2p with the org's key, gossip of circle entries, join and control-log
 * protocols, member connections.
 */
export { Network, topicOf, peerIdOfKey, publicKeyOfPeer, JOIN_PROTOCOL, CONTROL_PROTOCOL } from './network.js'
export { SYNC_PROTOCOL } from './sync.js'
export type { SyncStats, SyncOutcome, PeerSync } from './sync.js'
export type { NetworkOptions, NetworkComponents, PeerView, JoinOutcome, OutboxItem } from './network.js'
export { encodeEnvelope, decodeEnvelope, openBody, MAX_ENVELOPE_BYTES } from './envelope.js'
