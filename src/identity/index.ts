/**
 * Identity: the org's Ed25519 key (one seed, 0600, never logged), its fingerprint for
 * humans, and the libp2p PeerId derived from the same seed.
 */
export { OrgKey, verifySignature, publicKeyObject, isPublicKeyHex, SEED_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './keys.js'
export { fingerprint, base32 } from './fingerprint.js'
export { initIdentity, loadIdentity, loadToken, hasIdentity, ensureDataDir, checkSecretFileMode, writeFileAtomic, KEY_FILE, IDENTITY_FILE, TOKEN_FILE, API_URL_FILE } from './keystore.js'
export type { Identity, IdentityInfo } from './keystore.js'
export { peerIdFromSeed, libp2pPrivateKeyFromSeed } from './peer-id.js'
export { BoxKey, x25519FromEd25519Public, secretSeal, secretOpen, SECRETBOX_NONCE_BYTES, SECRETBOX_KEY_BYTES } from './box.js'
