/**
 * One key for everything: the org's Ed25519 seed also gives its libp2p identity, so the
 * PeerId a node shows on the network is the key that signs its entries.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'

export async function libp2pPrivateKeyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  return await generateKeyPairFromSeed('Ed25519', seed)
}

export async function peerIdFromSeed (seed: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await libp2pPrivateKeyFromSeed(seed)).toString()
}
