/**
 * NaCl boxes between organizations, keyed by the same Ed25519 identity: the X25519 key of
 * an org is the standard conversion of its Ed25519 key (libsodium's
 * crypto_sign_ed25519_{sk,pk}_to_curve25519), so an admin can seal a circle key to a member
 * it knows only by public key. The secret half never leaves this module's instances.
 */
import { createHash, randomBytes } from 'node:crypto'
import nacl from 'tweetnacl'
import { ValidationError } from '../errors.js'

const P = (1n << 255n) - 19n

function modPow (b: bigint, e: bigint): bigint {
  let r = 1n
  b %= P
  while (e > 0n) {
    if ((e & 1n) === 1n) r = (r * b) % P
    b = (b * b) % P
    e >>= 1n
  }
  return r
}

const X25519_CACHE = new Map<string, Uint8Array>()

/** the X25519 public key of an Ed25519 public key (hex): u = (1 + y) / (1 − y) mod p */
export function x25519FromEd25519Public (publicKeyHex: string): Uint8Array {
  const hit = X25519_CACHE.get(publicKeyHex)
  if (hit !== undefined) return hit
  const bytes = Buffer.from(publicKeyHex, 'hex')
  if (bytes.length !== 32) throw new ValidationError('key', 'a public key is 32 bytes')
  bytes[31] &= 0x7f
  const y = BigInt('0x' + Buffer.from(bytes).reverse().toString('hex'))
  if (y >= P || y === 1n) throw new ValidationError('key', 'not a usable Ed25519 public key')
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P
  const out = new Uint8Array(Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse())
  if (X25519_CACHE.size > 4096) X25519_CACHE.clear()
  X25519_CACHE.set(publicKeyHex, out)
  return out
}

export class BoxKey {
  readonly #secret: Uint8Array
  readonly publicKey: Uint8Array

  private constructor (seed: Uint8Array) {
    // the X25519 scalar is the first half of SHA-512(seed), as Ed25519 itself uses it
    this.#secret = new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32))
    this.publicKey = nacl.box.keyPair.fromSecretKey(this.#secret).publicKey
  }

  static fromSeed (seed: Uint8Array): BoxKey { return new BoxKey(seed) }

  /** box `message` to the org with Ed25519 public key `to`: base64(nonce ‖ box) */
  seal (to: string, message: Uint8Array): string {
    const nonce = randomBytes(nacl.box.nonceLength)
    const box = nacl.box(message, nonce, x25519FromEd25519Public(to), this.#secret)
    return Buffer.concat([nonce, box]).toString('base64')
  }

  /** open a box from the org `from`; null when it does not open (not for us, or tampered) */
  open (from: string, sealed: string): Uint8Array | null {
    const raw = Buffer.from(sealed, 'base64')
    if (raw.length < nacl.box.nonceLength + nacl.box.overheadLength) return null
    const out = nacl.box.open(raw.subarray(nacl.box.nonceLength), raw.subarray(0, nacl.box.nonceLength), x25519FromEd25519Public(from), this.#secret)
    return out ?? null
  }

  toJSON (): { publicKey: string } { return { publicKey: Buffer.from(this.publicKey).toString('hex') } }
  [Symbol.for('nodejs.util.inspect.custom')] (): string { return 'BoxKey(…)' }
}

/** symmetric encryption with a circle key (NaCl secretbox); the nonce is given */
export function secretSeal (key: Uint8Array, nonce: Uint8Array, message: Uint8Array): Uint8Array {
  return nacl.secretbox(message, nonce, key)
}

export function secretOpen (key: Uint8Array, nonce: Uint8Array, box: Uint8Array): Uint8Array | null {
  return nacl.secretbox.open(box, nonce, key) ?? null
}

export const SECRETBOX_NONCE_BYTES = nacl.secretbox.nonceLength
export const SECRETBOX_KEY_BYTES = nacl.secretbox.keyLength
