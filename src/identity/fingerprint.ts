/**
 * Fingerprint: a short, human-comparable rendering of a public key, read aloud over the
 * phone when keys are exchanged. SHA-256 over a purpose tag and the raw key, the first
 * 160 bits in RFC 4648 base32, in 8 groups of 4 (`ABCD-EFGH-…`).
 */
import { createHash } from 'node:crypto'
import { PURPOSE } from '../records/canonical.js'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
/** 160 bits: second-preimage resistant for human comparison, still short enough to read out */
const FINGERPRINT_BYTES = 20

export function base32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let acc = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31]
  return out
}

export function fingerprint (publicKeyHex: string): string {
  const digest = createHash('sha256').update(`${PURPOSE.FINGERPRINT}\n`).update(Buffer.from(publicKeyHex, 'hex')).digest()
  const s = base32(digest.subarray(0, FINGERPRINT_BYTES))
  return s.match(/.{4}/g)!.join('-')
}
