/**
 * The organization's Ed25519 key. Signing and verifying go through node:crypto KeyObjects
 * (≈29k signs/s and ≈9.4k verifies/s here, ~80x tweetnacl: ../shared/STACK.md); the
 * signatures are the same as tweetnacl's and libp2p's for the same seed.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { ValidationError } from '../errors.js'

export const SEED_BYTES = 32
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

const HEX_KEY = /^[0-9a-f]{64}$/
/** DER header of a PKCS#8 Ed25519 private key (RFC 8410 §7); the 32-byte seed follows */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export class OrgKey {
  readonly publicKey: Buffer
  /** lower-case hex of the 32-byte public key: the origin id used in entries */
  readonly publicKeyHex: string
  readonly #private: KeyObject

  private constructor (seed: Uint8Array) {
    if (seed.length !== SEED_BYTES) throw new ValidationError('seed', `seed must be ${SEED_BYTES} bytes`)
    // derive the public key from the seed through node:crypto itself
    this.#private = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    const jwk = createPublicKey(this.#private).export({ format: 'jwk' }) as { x: string }
    this.publicKey = Buffer.from(jwk.x, 'base64url')
    this.publicKeyHex = this.publicKey.toString('hex')
  }

  static fromSeed (seed: Uint8Array): OrgKey { return new OrgKey(seed) }

  sign (message: Uint8Array): Buffer { return sign(null, message, this.#private) }

  /** never let the key object leak through JSON or util.inspect */
  toJSON (): { publicKey: string } { return { publicKey: this.publicKeyHex } }
  [Symbol.for('nodejs.util.inspect.custom')] (): string { return `OrgKey(${this.publicKeyHex})` }
}

/** public KeyObjects are cached: building one costs about as much as a verify */
const PUBLIC_KEY_CACHE = new Map<string, KeyObject>()
const PUBLIC_KEY_CACHE_MAX = 4096

export function isPublicKeyHex (s: unknown): s is string {
  return typeof s === 'string' && HEX_KEY.test(s)
}

export function publicKeyObject (publicKeyHex: string): KeyObject {
  let k = PUBLIC_KEY_CACHE.get(publicKeyHex)
  if (k === undefined) {
    if (!isPublicKeyHex(publicKeyHex)) throw new ValidationError('origin', 'public key must be 64 lower-case hex characters')
    k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyHex, 'hex').toString('base64url') }, format: 'jwk' })
    if (PUBLIC_KEY_CACHE.size >= PUBLIC_KEY_CACHE_MAX) PUBLIC_KEY_CACHE.delete(PUBLIC_KEY_CACHE.keys().next().value as string)
    PUBLIC_KEY_CACHE.set(publicKeyHex, k)
  }
  return k
}

/** Ed25519 verify; false (never a throw) for a malformed key or signature */
export function verifySignature (publicKeyHex: string, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false
  try {
    return verify(null, message, publicKeyObject(publicKeyHex), signature)
  } catch {
    return false
  }
}
