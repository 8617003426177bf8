/**
 * Entries: the signed unit that travels, is stored and is synced (DESIGN §1).
 *   {v, circle, origin, seq, prev, tlp, created, items, sig}
 * `sig` = Ed25519 over the signing bytes: PURPOSE.ENTRY_SIG + RFC 8785 JSON of the entry
 * without `sig`; `hash` = SHA-256 over PURPOSE.ENTRY_HASH, the raw signature and the signing
 * bytes (so the canonical form is built once per entry, not once per use). `prev` is the
 * hash of the origin's previous entry in the same circle (null for seq 1). Like OrbitDB's
 * oplog entries, the signed field list is explicit and versioned; verify rebuilds it exactly.
 */
import { PhalanxError, ValidationError, withFieldPrefix } from '../errors.js'
import { type OrgKey, verifySignature, isPublicKeyHex } from '../identity/keys.js'
import { createHash } from 'node:crypto'
import { canonicalBytes, canonicalJson, PURPOSE } from './canonical.js'
import { validateItems, isObject, isLaterVersion, unknownRecord, type Item } from './items.js'
import type { ItemCheckOptions } from './fields.js'
import { isTlp, type Tlp } from '../tlp/index.js'

export const ENTRY_VERSION = 1
/** the largest canonical entry we build or accept (gossip messages stay below peers' limits) */
export const MAX_ENTRY_BYTES = 64 * 1024
/** records per bulk entry: one signature check covers them all (DESIGN §1) */
export const MAX_ENTRY_ITEMS = 1000
/** the org's private scope until circles exist: entries in it never leave the node */
export const LOCAL_CIRCLE = 'local'
/**
 * TLP:RED goes to named recipients only: an origin's RED entries to one recipient form their
 * own log, `red:<recipient public key>`, delivered directly (never gossiped, never relayed).
 */
export const RED_PREFIX = 'red:'
export function redLogOf (recipient: string): string { return RED_PREFIX + recipient }
export function isRedLog (circle: string): boolean { return circle.startsWith(RED_PREFIX) }
export function recipientOfRedLog (circle: string): string { return circle.slice(RED_PREFIX.length) }
/** a circle's log (its data or its membership): gossiped and synced between members; not the private scope, not RED */
export function isCircleLog (log: string): boolean { return log !== LOCAL_CIRCLE && !isRedLog(log) }

const CIRCLE_RE = /^[a-z0-9][a-z0-9._:-]{0,127}$/
const HASH_RE = /^[0-9a-f]{64}$/
const SIG_RE = /^[0-9a-f]{128}$/
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const ENTRY_KEYS = new Set(['v', 'circle', 'origin', 'seq', 'prev', 'tlp', 'created', 'items', 'sig'])

export interface UnsignedEntry {
  v: number
  circle: string
  /** hex Ed25519 public key of the signing organization */
  origin: string
  seq: number
  prev: string | null
  tlp: Tlp
  created: string
  items: Item[]
}

export interface Entry extends UnsignedEntry {
  /** hex Ed25519 signature */
  sig: string
}

export function isCircleId (s: unknown): s is string {
  return typeof s === 'string' && CIRCLE_RE.test(s)
}

function unsignedOf (e: UnsignedEntry): UnsignedEntry {
  return { v: e.v, circle: e.circle, origin: e.origin, seq: e.seq, prev: e.prev, tlp: e.tlp, created: e.created, items: e.items }
}

const SIG_TAG_BYTES = Buffer.byteLength(`${PURPOSE.ENTRY_SIG}\n`)
/** `,"sig":"<128 hex>"` in the canonical JSON of a signed entry */
const SIG_FIELD_BYTES = 137

export function signingBytes (e: UnsignedEntry): Buffer {
  return canonicalBytes(PURPOSE.ENTRY_SIG, unsignedOf(e))
}

/** an entry with the figures derived from its canonical bytes, computed once */
export interface SealedEntry {
  entry: Entry
  hash: string
  /** bytes of the canonical JSON of the whole entry (what size limits are about) */
  size: number
  /** a JSON text of the whole entry (fields in canonical order, then sig), for storage */
  json: string
}

function hashOf (sig: Buffer, bytes: Buffer): string {
  return createHash('sha256').update(`${PURPOSE.ENTRY_HASH}\n`).update(sig).update(bytes).digest('hex')
}

/** sign an entry: the canonical bytes are built once for the signature, hash and size */
export function sealEntry (e: UnsignedEntry, key: OrgKey): SealedEntry {
  if (e.origin !== key.publicKeyHex) throw new PhalanxError('PX_ERR_BAD_ENTRY', 'entry origin is not the signing key')
  const text = canonicalJson(unsignedOf(e))
  const bytes = Buffer.from(`${PURPOSE.ENTRY_SIG}\n${text}`, 'utf8')
  const sig = key.sign(bytes)
  const sigHex = sig.toString('hex')
  return {
    entry: { ...unsignedOf(e), sig: sigHex },
    hash: hashOf(sig, bytes),
    size: bytes.length - SIG_TAG_BYTES + SIG_FIELD_BYTES,
    json: `${text.slice(0, -1)},"sig":"${sigHex}"}`
  }
}

export function signEntry (e: UnsignedEntry, key: OrgKey): Entry {
  return sealEntry(e, key).entry
}

/** verify an entry's signature; on success, its hash and size (null when it does not verify) */
export function openEntry (e: Entry): { hash: string, size: number } | null {
  const d = describeEntry(e)
  return d.verify() ? { hash: d.hash, size: d.size } : null
}

/**
 * An entry's hash and size from its canonical bytes, and a verify() that reuses them: a
 * caller can tell a stored duplicate by its hash before paying for the signature check.
 */
export function describeEntry (e: Entry, text?: string): { hash: string, size: number, json: string, verify: () => boolean } {
  const t = text ?? canonicalJson(unsignedOf(e))
  const bytes = Buffer.from(`${PURPOSE.ENTRY_SIG}\n${t}`, 'utf8')
  const sig = Buffer.from(e.sig, 'hex')
  return {
    hash: hashOf(sig, bytes),
    size: bytes.length - SIG_TAG_BYTES + SIG_FIELD_BYTES,
    // the whole entry as stored: canonical fields, then sig (as sealEntry writes it)
    json: `${t.slice(0, -1)},"sig":"${e.sig}"}`,
    verify: () => verifySignature(e.origin, bytes, sig)
  }
}

export function verifyEntrySignature (e: Entry): boolean {
  return verifySignature(e.origin, signingBytes(e), Buffer.from(e.sig, 'hex'))
}

export function entryHash (e: Entry): string {
  return hashOf(Buffer.from(e.sig, 'hex'), signingBytes(e))
}

/** size of the canonical JSON of the whole entry, the size limits are about */
export function entrySize (e: Entry): number {
  return signingBytes(e).length - SIG_TAG_BYTES + SIG_FIELD_BYTES
}

/**
 * Check the shape of an entry received from outside (network, sync, file): every field
 * present, typed and canonical, items valid, size within limits. Does not verify the
 * signature (see verifyEntrySignature) nor the log position (the store's ingest does).
 */
export function validateEntry (raw: unknown, opts: ItemCheckOptions = {}): Entry {
  return checkEntry(raw, opts).entry
}

/**
 * A received entry, validated, with the canonical JSON of its unsigned part (computed once
 * for the size check; the hash, the signature check and storage reuse it).
 */
export function checkEntry (raw: unknown, opts: ItemCheckOptions = {}): { entry: Entry, text: string, unknown?: string } {
  if (!isObject(raw)) throw new PhalanxError('PX_ERR_BAD_ENTRY', 'an entry must be a JSON object')
  try {
    for (const k of Object.keys(raw)) if (!ENTRY_KEYS.has(k)) throw new ValidationError(k, `unknown entry field "${k}"`)
    /** why this code cannot read the entry (a later entry version, a record it does not know) */
    let unknown: string | undefined
    if (raw.v !== ENTRY_VERSION) {
      if (!isLaterVersion(raw.v, ENTRY_VERSION)) throw new ValidationError('v', `unsupported entry version ${typeof raw.v === 'object' && raw.v !== null ? 'of type object' : String(JSON.stringify(raw.v)).slice(0, 40)}`)
      unknown = `entry version ${raw.v}`
    }
    if (!isCircleId(raw.circle)) throw new ValidationError('circle', 'circle must be a circle id')
    if (!isPublicKeyHex(raw.origin)) throw new ValidationError('origin', 'origin must be a 64-hex-character public key')
    if (typeof raw.seq !== 'number' || !Number.isSafeInteger(raw.seq) || raw.seq < 1) throw new ValidationError('seq', 'seq must be an integer ≥ 1')
    if (raw.seq === 1 ? raw.prev !== null : (typeof raw.prev !== 'string' || !HASH_RE.test(raw.prev))) {
      throw new ValidationError('prev', raw.seq === 1 ? 'prev must be null for seq 1' : 'prev must be the 64-hex-character hash of the previous entry')
    }
    if (!isTlp(raw.tlp)) throw new ValidationError('tlp', 'tlp must be a TLP 2.0 label')
    if (typeof raw.created !== 'string' || !ISO_RE.test(raw.created)) throw new ValidationError('created', 'created must be an ISO 8601 UTC timestamp')
    if (typeof raw.sig !== 'string' || !SIG_RE.test(raw.sig)) throw new ValidationError('sig', 'sig must be 128 hex characters')
    if (!Array.isArray(raw.items) || raw.items.length === 0 || raw.items.length > MAX_ENTRY_ITEMS) {
      throw new ValidationError('items', `items must hold 1 to ${MAX_ENTRY_ITEMS} records`)
    }
    unknown ??= raw.items.map(unknownRecord).find(u => u !== undefined)
    // an entry this code cannot read is kept as signed (for sync), its records never read: only
    // their envelope is checked (objects with a kind); one it can read is validated record by record
    const items = unknown === undefined ? validateItems(raw.items, opts) : opaqueItems(raw.items)
    const entry: Entry = {
      v: raw.v as number, circle: raw.circle, origin: raw.origin, seq: raw.seq, prev: raw.prev as string | null,
      tlp: raw.tlp, created: raw.created, items, sig: raw.sig
    }
    let text: string
    // a record kept unread may hold what canonical JSON cannot carry (a lone surrogate)
    try { text = canonicalJson(unsignedOf(entry)) } catch (err) { throw new ValidationError('items', `no canonical form: ${(err as Error).message}`) }
    const size = Buffer.byteLength(text) + SIG_FIELD_BYTES
    if (size > MAX_ENTRY_BYTES) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `entry is ${size} bytes; the limit is ${MAX_ENTRY_BYTES}`)
    return unknown === undefined ? { entry, text } : { entry, text, unknown }
  } catch (err) {
    const e = withFieldPrefix(err, 'entry')
    if (e instanceof PhalanxError && e.code === 'PX_ERR_VALIDATION') {
      throw new PhalanxError('PX_ERR_BAD_ENTRY', `malformed entry: ${e.field ?? ''}: ${e.message}`, { field: e.field })
    }
    throw e
  }
}

/** printable ASCII but `"` and `\\`: JSON writes such a string as is, between quotes */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

function jsonStringBytes (s: string): number {
  return PLAIN_JSON_STRING.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s))
}

/**
 * Bytes of a record's JSON text, or a few more (never fewer): records hold strings, numbers
 * and lists of strings. Cheaper than serializing every record of a bulk publish to measure it.
 */
export function itemSizeBound (item: Item): number {
  let n = 2
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue
    n += k.length + 4 // "k": and a comma
    if (typeof v === 'string') n += jsonStringBytes(v)
    else if (typeof v === 'number') n += String(v).length
    else if (Array.isArray(v)) { n += 2; for (const x of v as string[]) n += jsonStringBytes(x) + 1 } else n += Buffer.byteLength(JSON.stringify(v))
  }
  return n
}

/**
 * Split records into entry-sized groups: at most MAX_ENTRY_ITEMS records and about
 * `maxBytes` of canonical JSON each (the fixed fields and signature take < 1 KiB).
 */
export function packItems<T extends Item> (items: T[], maxItems = MAX_ENTRY_ITEMS, maxBytes = MAX_ENTRY_BYTES - 1024): T[][] {
  if (items.length === 1) return [items]
  const groups: T[][] = []
  let cur: T[] = []
  let bytes = 0
  for (const it of items) {
    const size = itemSizeBound(it) + 1
    if (cur.length > 0 && (cur.length >= maxItems || bytes + size > maxBytes)) {
      groups.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(it)
    bytes += size
  }
  if (cur.length > 0) groups.push(cur)
  return groups
}

/**
 * How deep a record this code cannot read may nest (objects and arrays, the record itself
 * being 1): far more than any record needs, far less than a recursive reader's stack holds
 * (canonical JSON of ~5,000 levels overflows it; a 64 KiB entry can nest 32,000 deep).
 */
export const MAX_OPAQUE_DEPTH = 64

/** whether a JSON value nests deeper than `max` (walked without recursion) */
function nestsDeeper (v: unknown, max: number): boolean {
  const todo: Array<[unknown, number]> = [[v, 1]]
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [x, depth] = next
    if (x === null || typeof x !== 'object') continue
    if (depth > max) return true
    for (const c of Array.isArray(x) ? x : Object.values(x)) todo.push([c, depth + 1])
  }
  return false
}

/** the records of an entry this code cannot read: objects with a kind, kept as they are */
function opaqueItems (raw: unknown[]): Item[] {
  raw.forEach((it, i) => {
    if (!isObject(it) || typeof it.kind !== 'string') throw new ValidationError(`items[${i}]`, 'a record is an object with a kind')
    if (nestsDeeper(it, MAX_OPAQUE_DEPTH)) throw new ValidationError(`items[${i}]`, `a record nests at most ${MAX_OPAQUE_DEPTH} levels deep`)
  })
  return raw as Item[]
}
