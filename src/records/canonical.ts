/**
 * Canonical bytes for everything hashed or signed: a purpose tag (domain separation, as in
 * Hypercore) followed by the RFC 8785 (JCS) JSON of the value. The tag ends in a newline,
 * which JSON text never starts with, so no two (tag, value) pairs share bytes.
 */
import * as nodeCrypto from 'node:crypto'
import { createHash } from 'node:crypto'

const cryptoHash = (nodeCrypto as unknown as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash

/** purpose tags; a version bump changes the tag, never the meaning of an old one */
export const PURPOSE = {
  ENTRY_SIG: 'phalanx/entry-sig/v1',
  ENTRY_HASH: 'phalanx/entry-hash/v1',
  INDICATOR_ID: 'phalanx/indicator-id/v1',
  ADVISORY_ID: 'phalanx/advisory-id/v1',
  REPORT_ID: 'phalanx/report-id/v1',
  FINGERPRINT: 'phalanx/fingerprint/v1',
  INVITE_SIG: 'phalanx/invite-sig/v1'
} as const

export type Purpose = typeof PURPOSE[keyof typeof PURPOSE]

/**
 * RFC 8785 canonical JSON text of `value`: object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers serialized as ECMAScript's JSON.stringify does (which is
 * what RFC 8785 §3.2.2 prescribes). Throws on values JSON cannot carry (NaN, Infinity,
 * lone surrogates, functions). Written here rather than taken from the `canonicalize`
 * package because it runs on every entry on the hot path (~6x faster); a property test
 * checks both agree.
 */
export function canonicalJson (value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError('a string with a lone surrogate has no canonical JSON form')
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} has no JSON form`)
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object': {
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ','
          const v = value[i]
          out += v === undefined || typeof v === 'function' || typeof v === 'symbol' ? 'null' : canonicalJson(v)
        }
        return out + ']'
      }
      const obj = value as Record<string, unknown>
      if (typeof obj.toJSON === 'function') return canonicalJson(obj.toJSON())
      const keys = Object.keys(obj).sort()
      let out = '{'
      let first = true
      for (const k of keys) {
        const v = obj[k]
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue
        if (!first) out += ','
        first = false
        out += canonicalJson(k) + ':' + canonicalJson(v)
      }
      return out + '}'
    }
    default:
      throw new TypeError(`a ${typeof value} has no JSON form`)
  }
}

export function canonicalBytes (purpose: Purpose, value: unknown): Buffer {
  return Buffer.from(`${purpose}\n${canonicalJson(value)}`, 'utf8')
}

/** SHA-256 in hex; the one-shot `crypto.hash` (Node ≥ 20.12) is ~2x faster than createHash */
export function sha256Hex (data: string | Uint8Array): string {
  return typeof cryptoHash === 'function' ? cryptoHash('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex')
}
