/**
 * The network: libp2p with the org's key, gossip of circle entries, join and control-log
 * protocols, member connections.
 */
export { Network } from './network.js'
export { topicOf, ownEntryPaceMs } from './gossip/index.js'
export { peerIdOfKey, publicKeyOfPeer } from './host.js'
export { JOIN_PROTOCOL, CONTROL_PROTOCOL, ENTRIES_PROTOCOL, RED_PROTOCOL } from './protocols/index.js'
export { SYNC_PROTOCOL } from './sync.js'
export type { SyncStats, SyncOutcome, PeerSync } from './sync.js'
export type { NetworkOptions, NetworkComponents } from './network.js'
export type { PeerView } from './connections.js'
export { TokenBucket, MemberQuotas, PeerPenalties, DEFAULT_QUOTA_OPTIONS, DEFAULT_JUNK_OPTIONS } from './gossip/index.js'
export type { OverQuota, QuotaOptions, JunkOptions, PeerJunk } from './gossip/index.js'
export type { JoinOutcome, OutboxItem } from './protocols/index.js'
export { encodeEnvelope, decodeEnvelope, markDirect, openBody, MAX_ENVELOPE_BYTES } from './envelope.js'
