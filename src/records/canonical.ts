/**
 * Canonical bytes for everything hashed or signed: a purpose tag (domain separation, as in
 * Hypercore) followed by the RFC 8785 (JCS) JSON of the value. The tag ends in a newline,
 * which JSON text never starts with, so no two (tag, value) pairs share bytes.
 */
import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'

/** purpose tags; a version bump changes the tag, never the meaning of an old one */
export const PURPOSE = {
  ENTRY_SIG: 'phalanx/entry-sig/v1',
  ENTRY_HASH: 'phalanx/entry-hash/v1',
  INDICATOR_ID: 'phalanx/indicator-id/v1',
  FINGERPRINT: 'phalanx/fingerprint/v1'
} as const

export type Purpose = typeof PURPOSE[keyof typeof PURPOSE]

/** RFC 8785 canonical JSON text of `value` (throws on values JSON cannot carry) */
export function canonicalJson (value: unknown): string {
  const s = canonicalize(value)
  if (s === undefined) throw new TypeError('value has no canonical JSON form')
  return s
}

export function canonicalBytes (purpose: Purpose, value: unknown): Buffer {
  return Buffer.from(`${purpose}\n${canonicalJson(value)}`, 'utf8')
}

export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}
