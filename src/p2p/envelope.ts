/**
 * The gossip message that carries one entry on a circle's topic:
 *
 *     version (1) ‖ flags (1) ‖ key epoch (u32 BE) ‖ entry hash (32) ‖ body
 *
 * flags bit 0 set: the body is the entry's JSON sealed with the circle key of that epoch
 * (NaCl secretbox, nonce = the first 24 bytes of the entry hash: the same entry always
 * gives the same bytes, so relays and duplicates share one gossip message id). Clear: the
 * body is the entry's JSON (TLP CLEAR only). The receiver checks that the hash it computes
 * from the opened entry is the one in the header.
 */
import { SECRETBOX_NONCE_BYTES, secretOpen, secretSeal } from '../identity/index.js'

export const ENVELOPE_VERSION = 1
const HEADER = 1 + 1 + 4 + 32
const FLAG_SEALED = 1
/** an entry is at most 64 KiB of JSON; the box adds 16 bytes */
export const MAX_ENVELOPE_BYTES = HEADER + 64 * 1024 + 16

export interface OpenedEnvelope {
  epoch: number
  hash: string
  sealed: boolean
  body: Uint8Array
}

export function encodeEnvelope (entryJson: string, hash: string, circleKey: { epoch: number, key: Uint8Array } | null): Uint8Array {
  const hashBytes = Buffer.from(hash, 'hex')
  const json = Buffer.from(entryJson, 'utf8')
  const body = circleKey === null ? json : secretSeal(circleKey.key, hashBytes.subarray(0, SECRETBOX_NONCE_BYTES), json)
  const out = Buffer.allocUnsafe(HEADER + body.length)
  out[0] = ENVELOPE_VERSION
  out[1] = circleKey === null ? 0 : FLAG_SEALED
  out.writeUInt32BE(circleKey?.epoch ?? 0, 2)
  hashBytes.copy(out, 6)
  out.set(body, HEADER)
  return out
}

/** the header and (still sealed) body; throws on a malformed message */
export function decodeEnvelope (data: Uint8Array): OpenedEnvelope {
  if (data.length > MAX_ENVELOPE_BYTES) throw new Error(`message of ${data.length} bytes is over the ${MAX_ENVELOPE_BYTES}-byte limit`)
  if (data.length <= HEADER) throw new Error('message is too short')
  if (data[0] !== ENVELOPE_VERSION) throw new Error(`unknown envelope version ${data[0]}`)
  if ((data[1] & ~FLAG_SEALED) !== 0) throw new Error('unknown envelope flags')
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return { sealed: (data[1] & FLAG_SEALED) !== 0, epoch: buf.readUInt32BE(2), hash: buf.subarray(6, HEADER).toString('hex'), body: data.subarray(HEADER) }
}

/** the entry JSON of a sealed body; null when the key does not open it */
export function openBody (env: OpenedEnvelope, key: Uint8Array): string | null {
  const nonce = Buffer.from(env.hash, 'hex').subarray(0, SECRETBOX_NONCE_BYTES)
  const out = secretOpen(key, nonce, env.body)
  return out === null ? null : Buffer.from(out).toString('utf8')
}
