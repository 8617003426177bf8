/**
 * The gossip message that carries entries on a circle's topic:
 *
 *     version (1) ‖ flags (1) ‖ key epoch (u32 BE) ‖ hash (32) ‖ body
 *
 * Version 1 carries one entry: `hash` is the entry hash and the body its JSON. Version 2
 * carries the entries one write group of the origin stored together (a burst of single
 * publishes): `hash` is SHA-256 of their entry hashes concatenated, and the body a JSON array
 * of the entries, in log order. One message instead of many: every hop pays its transport
 * costs once.
 *
 * flags bit 0 set: the body is sealed with the circle key of that epoch (NaCl secretbox,
 * nonce = the first 24 bytes of `hash`: the same entries always give the same bytes, so
 * relays and duplicates share one gossip message id). Clear: TLP CLEAR only. The receiver
 * checks that the hash it computes from the opened entries is the one in the header.
 *
 * flags bit 1 set (DIRECT): the origin flooded this message to every current member of the
 * circle itself; a member that receives it straight from the origin does not relay it
 * (gossip/direct.ts). Only an origin sends it, and only to members that announced they know it.
 */
import { createHash } from 'node:crypto'
import { SECRETBOX_NONCE_BYTES, secretOpen, secretSeal } from '../identity/index.js'

export const ENVELOPE_VERSION = 1
export const BATCH_ENVELOPE_VERSION = 2
/** entries in one batch message at most */
export const MAX_BATCH_ENTRIES = 256
const HEADER = 1 + 1 + 4 + 32
const FLAG_SEALED = 1
const FLAG_DIRECT = 2
/** an entry is at most 64 KiB of JSON; the box adds 16 bytes */
export const MAX_ENVELOPE_BYTES = HEADER + 64 * 1024 + 16

export interface OpenedEnvelope {
  version: number
  epoch: number
  hash: string
  sealed: boolean
  /** the origin flooded it to every member (DIRECT): not relayed when it comes from the origin */
  direct: boolean
  body: Uint8Array
}

export function encodeEnvelope (entryJson: string, hash: string, circleKey: { epoch: number, key: Uint8Array } | null, version = ENVELOPE_VERSION): Uint8Array {
  const hashBytes = Buffer.from(hash, 'hex')
  const json = Buffer.from(entryJson, 'utf8')
  const body = circleKey === null ? json : secretSeal(circleKey.key, hashBytes.subarray(0, SECRETBOX_NONCE_BYTES), json)
  const out = Buffer.allocUnsafe(HEADER + body.length)
  out[0] = version
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
  if (data[0] !== ENVELOPE_VERSION && data[0] !== BATCH_ENVELOPE_VERSION) throw new Error(`unknown envelope version ${data[0]}`)
  if ((data[1] & ~(FLAG_SEALED | FLAG_DIRECT)) !== 0) throw new Error('unknown envelope flags')
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return { version: data[0], sealed: (data[1] & FLAG_SEALED) !== 0, direct: (data[1] & FLAG_DIRECT) !== 0, epoch: buf.readUInt32BE(2), hash: buf.subarray(6, HEADER).toString('hex'), body: data.subarray(HEADER) }
}

/** a copy of a message with the DIRECT flag set (gossip/direct.ts) */
export function markDirect (data: Uint8Array): Uint8Array {
  const out = Uint8Array.from(data)
  out[1] |= FLAG_DIRECT
  return out
}

/** the entry JSON of a sealed body; null when the key does not open it */
export function openBody (env: OpenedEnvelope, key: Uint8Array): string | null {
  const nonce = Buffer.from(env.hash, 'hex').subarray(0, SECRETBOX_NONCE_BYTES)
  const out = secretOpen(key, nonce, env.body)
  return out === null ? null : Buffer.from(out).toString('utf8')
}

/** the header hash of a batch: SHA-256 of the entry hashes (hex-decoded) concatenated */
export function batchHash (hashes: string[]): string {
  const h = createHash('sha256')
  for (const x of hashes) h.update(Buffer.from(x, 'hex'))
  return h.digest('hex')
}

/**
 * Gossip messages for entries stored together, in order: runs of entries packed into batch
 * messages of at most `maxBody` bytes of JSON (one entry alone keeps version 1).
 */
export function encodeEntries (entries: Array<{ json: string, hash: string }>, circleKey: { epoch: number, key: Uint8Array } | null, maxBody = 64 * 1024): Uint8Array[] {
  const out: Uint8Array[] = []
  let run: Array<{ json: string, hash: string }> = []
  let size = 2
  const flush = (): void => {
    if (run.length === 1) out.push(encodeEnvelope(run[0].json, run[0].hash, circleKey))
    else if (run.length > 1) out.push(encodeEnvelope(`[${run.map(e => e.json).join(',')}]`, batchHash(run.map(e => e.hash)), circleKey, BATCH_ENVELOPE_VERSION))
    run = []
    size = 2
  }
  for (const e of entries) {
    const len = Buffer.byteLength(e.json) + 1
    if (run.length > 0 && (size + len > maxBody || run.length >= MAX_BATCH_ENTRIES)) flush()
    run.push(e)
    size += len
  }
  flush()
  return out
}
