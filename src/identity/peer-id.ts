/**
 * One key for everything: the org's Ed25519 seed also gives its libp2p identity, so the
 * PeerId a node shows on the network is the key that signs its entries.
 */
import type { Ed25519PrivateKey } from '@libp2p/interface'

// libp2p's key and peer-id modules load on first use: a CLI command that only talks to the
// API (most of them) does not pay ~190 ms of module loading for them

export async function libp2pPrivateKeyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  const { generateKeyPairFromSeed } = await import('@libp2p/crypto/keys')
  return await generateKeyPairFromSeed('Ed25519', seed)
}

export async function peerIdFromSeed (seed: Uint8Array): Promise<string> {
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  return peerIdFromPrivateKey(await libp2pPrivateKeyFromSeed(seed)).toString()
}
