import { describe, it, expect } from 'vitest'
import nacl from 'tweetnacl'
import { createHash } from 'node:crypto'
import { PhalanxError } from '../../../src/errors.js'
import { OrgKey, verifySignature } from '../../../src/identity/keys.js'
import {
  ENTRY_VERSION, MAX_ENTRY_BYTES, MAX_ENTRY_ITEMS, canonicalJson, entryHash, entrySize, indicatorId,
  packItems, signEntry, signingBytes, validateEntry, verifyEntrySignature, type Entry, type IndicatorItem,
  type Item, type UnsignedEntry
} from '../../../src/records/index.js'
import { prng } from '../../utils/prng.mjs'

const SEED_A = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')
const SEED_B = Buffer.alloc(32, 0xab)
const keyA = OrgKey.fromSeed(SEED_A)
const keyB = OrgKey.fromSeed(SEED_B)
const HASH = 'a'.repeat(64)

function indicator (value: string, extra: Partial<IndicatorItem> = {}): IndicatorItem {
  return { kind: 'indicator', type: 'domain', value, confidence: 80, tags: [], ...extra }
}

const ITEMS: Item[] = [
  { kind: 'indicator', type: 'ipv4', value: '192.0.2.1', confidence: 75, tags: ['T1071', 'c2'], description: 'beacon — seen 3×', validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-06-01T00:00:00.000Z' },
  { kind: 'indicator', type: 'url', value: 'http://evil.example/a?b=c', confidence: 0, tags: [] },
  { kind: 'revoke', id: '0123456789abcdef0123456789abcdef', reason: 'false positive' },
  { kind: 'sighting', type: 'domain', value: 'evil.example', count: 12, firstSeen: '2026-01-02T03:04:05.006Z', lastSeen: '2026-01-03T00:00:00.000Z' },
  { kind: 'relabel', id: 'fedcba9876543210fedcba9876543210', tlp: 'CLEAR' }
]

function unsigned (over: Partial<UnsignedEntry> = {}): UnsignedEntry {
  return {
    v: ENTRY_VERSION,
    circle: 'local',
    origin: keyA.publicKeyHex,
    seq: 1,
    prev: null,
    tlp: 'AMBER',
    created: '2026-02-01T10:20:30.400Z',
    items: [indicator('evil.example')],
    ...over
  }
}

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof PhalanxError ? err.code : `non-phalanx: ${String(err)}`
  }
  return undefined
}

function errorOf (fn: () => unknown): PhalanxError {
  try {
    fn()
  } catch (err) {
    if (err instanceof PhalanxError) return err
    throw err
  }
  throw new Error('expected a PhalanxError, nothing was thrown')
}

/** JSON with keys sorted at every level, written independently of the code under test */
function sortedJson (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  const o = v as Record<string, unknown>
  return `{${Object.keys(o).sort().map(k => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(',')}}`
}

describe('signEntry / verifyEntrySignature', () => {
  it('round-trips, for single and multi-record entries', () => {
    for (const e of [signEntry(unsigned(), keyA), signEntry(unsigned({ seq: 7, prev: HASH, items: ITEMS, tlp: 'RED' }), keyA)]) {
      expect(e.sig).toMatch(/^[0-9a-f]{128}$/)
      expect(verifyEntrySignature(e)).toBe(true)
      expect(validateEntry(JSON.parse(JSON.stringify(e)))).toStrictEqual(e)
    }
  })

  it('is deterministic (Ed25519) and signs the fields only, not extra properties', () => {
    const u = unsigned({ items: ITEMS })
    const e1 = signEntry(u, keyA)
    const e2 = signEntry({ ...u, extra: 'ignored' } as unknown as UnsignedEntry, keyA)
    expect(e2).toStrictEqual(e1)
    expect(Object.keys(e1).sort()).toEqual(['circle', 'created', 'items', 'origin', 'prev', 'seq', 'sig', 'tlp', 'v'])
  })

  it('refuses to sign for another origin', () => {
    expect(codeOf(() => signEntry(unsigned({ origin: keyB.publicKeyHex }), keyA))).toBe('PX_ERR_BAD_ENTRY')
  })

  it('rejects a signature by another key, and a changed field', () => {
    const e = signEntry(unsigned(), keyA)
    const forged = { ...signEntry(unsigned({ origin: keyB.publicKeyHex }), keyB), origin: keyA.publicKeyHex }
    expect(verifyEntrySignature(forged)).toBe(false)
    expect(verifyEntrySignature({ ...e, seq: 2, prev: HASH })).toBe(false)
    expect(verifyEntrySignature({ ...e, tlp: 'CLEAR' })).toBe(false)
    expect(verifyEntrySignature({ ...e, circle: 'other' })).toBe(false)
    expect(verifyEntrySignature({ ...e, items: [indicator('evil2.example')] })).toBe(false)
    expect(verifyEntrySignature({ ...e, sig: e.sig.slice(0, 126) })).toBe(false)
    expect(verifyEntrySignature({ ...e, sig: 'zz' + e.sig.slice(2) })).toBe(false)
    expect(verifyEntrySignature({ ...e, origin: 'not a key' })).toBe(false)
  })

  it('signs purpose tag + canonical JSON of the entry without sig', () => {
    const u = unsigned({ items: ITEMS, seq: 3, prev: HASH })
    const expected = Buffer.from(`phalanx/entry-sig/v1\n${sortedJson(u)}`, 'utf8')
    expect(signingBytes(u).equals(expected)).toBe(true)
  })
})

describe('compatibility with tweetnacl', () => {
  it('gives the same public key for the same seed', () => {
    for (const seed of [SEED_A, SEED_B, Buffer.alloc(32)]) {
      const kp = nacl.sign.keyPair.fromSeed(new Uint8Array(seed))
      expect(OrgKey.fromSeed(seed).publicKeyHex).toBe(Buffer.from(kp.publicKey).toString('hex'))
    }
  })

  it('signatures cross-verify in both directions', () => {
    const kp = nacl.sign.keyPair.fromSeed(new Uint8Array(SEED_A))
    const e = signEntry(unsigned({ items: ITEMS }), keyA)
    const msg = Buffer.from(`phalanx/entry-sig/v1\n${sortedJson(unsigned({ items: ITEMS }))}`, 'utf8')
    // ours → tweetnacl
    expect(nacl.sign.detached.verify(new Uint8Array(msg), new Uint8Array(Buffer.from(e.sig, 'hex')), kp.publicKey)).toBe(true)
    // Ed25519 is deterministic: tweetnacl makes the same signature
    const naclSig = nacl.sign.detached(new Uint8Array(msg), kp.secretKey)
    expect(Buffer.from(naclSig).toString('hex')).toBe(e.sig)
    // tweetnacl → ours, for a different message
    const other = Buffer.from('hello, phalanx')
    expect(verifySignature(keyA.publicKeyHex, other, nacl.sign.detached(new Uint8Array(other), kp.secretKey))).toBe(true)
    expect(verifySignature(keyB.publicKeyHex, other, nacl.sign.detached(new Uint8Array(other), kp.secretKey))).toBe(false)
    // tamper: tweetnacl rejects too
    const bad = Buffer.from(msg)
    bad[bad.length - 2] ^= 1
    expect(nacl.sign.detached.verify(new Uint8Array(bad), new Uint8Array(Buffer.from(e.sig, 'hex')), kp.publicKey)).toBe(false)
  })
})


/** a "near" replacement, the kind most likely to keep the JSON valid and the field well-formed */
function nearChar (c: string): string {
  if (/[0-8]/.test(c)) return String.fromCharCode(c.charCodeAt(0) + 1)
  if (c === '9') return '0'
  if (/[a-e]/.test(c)) return String.fromCharCode(c.charCodeAt(0) + 1)
  if (c === 'f') return '0'
  if (/[a-z]/.test(c)) return c.toUpperCase()
  if (/[A-Z]/.test(c)) return c.toLowerCase()
  if (c === '"') return '\''
  return c === ' ' ? '_' : ' '
}

type Outcome = 'json' | 'validate' | 'signature' | 'accepted-identical' | 'ACCEPTED-DIFFERENT'

function judge (text: string, original: Entry): Outcome {
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { return 'json' }
  let e: Entry
  try { e = validateEntry(parsed) } catch { return 'validate' }
  if (!verifyEntrySignature(e)) return 'signature'
  return entryHash(e) === entryHash(original) && canonicalJson(e) === canonicalJson(original) ? 'accepted-identical' : 'ACCEPTED-DIFFERENT'
}

describe('tamper detection', () => {
  const cases: Array<[string, Entry]> = [
    ['a single-record seq-1 entry', signEntry(unsigned(), keyA)],
    ['a multi-record entry later in its log', signEntry(unsigned({ seq: 42, prev: 'c0ffee'.padEnd(64, '0'), tlp: 'AMBER+STRICT', items: ITEMS }), keyA)]
  ]

  it.each(cases)('no one-character change of %s passes validation and signature check', (_name, entry) => {
    const text = canonicalJson(entry)
    expect(judge(text, entry)).toBe('accepted-identical')
    const rnd = prng(0x5eed)
    const tally: Record<Outcome, number> = { json: 0, validate: 0, signature: 0, 'accepted-identical': 0, 'ACCEPTED-DIFFERENT': 0 }
    const accepted: string[] = []
    for (let i = 0; i < text.length; i++) {
      const c = text[i]
      const candidates = new Set<string>([nearChar(c)])
      while (candidates.size < 3) {
        const r = String.fromCharCode(32 + Math.floor(rnd() * 95))
        if (r !== c) candidates.add(r)
      }
      for (const r of candidates) {
        expect(r).not.toBe(c)
        const mutated = text.slice(0, i) + r + text.slice(i + 1)
        const out = judge(mutated, entry)
        tally[out]++
        if (out === 'ACCEPTED-DIFFERENT') accepted.push(`pos ${i}: ${JSON.stringify(c)} → ${JSON.stringify(r)}`)
      }
    }
    expect(accepted).toEqual([])
    // a change of a character never leaves the entry identical (no insignificant bytes in canonical JSON)
    expect(tally['accepted-identical']).toBe(0)
    // every stage of the check was exercised
    expect(tally.json).toBeGreaterThan(0)
    expect(tally.validate).toBeGreaterThan(0)
    expect(tally.signature).toBeGreaterThan(text.length / 2)
    expect(tally.json + tally.validate + tally.signature).toBe(text.length * 3)
  })
})

describe('entryHash', () => {
  const e = signEntry(unsigned({ items: ITEMS }), keyA)

  it('is 64 hex characters, deterministic, and not a hash of the bare JSON', () => {
    expect(entryHash(e)).toMatch(/^[0-9a-f]{64}$/)
    expect(entryHash(e)).toBe(entryHash(e))
    // domain separation: it is not SHA-256 of the entry's canonical JSON alone
    expect(entryHash(e)).not.toBe(createHash('sha256').update(sortedJson(e)).digest('hex'))
  })

  it('is stable across key order, JSON round trips and re-signing', () => {
    const h = entryHash(e)
    const reversed = Object.fromEntries(Object.entries(e).reverse()) as unknown as Entry
    expect(entryHash(reversed)).toBe(h)
    expect(entryHash(JSON.parse(JSON.stringify(e)) as Entry)).toBe(h)
    expect(entryHash(validateEntry(JSON.parse(JSON.stringify(e))))).toBe(h)
    expect(entryHash(signEntry(unsigned({ items: ITEMS }), keyA))).toBe(h)
  })

  it('changes with any field, including the signature', () => {
    const h = entryHash(e)
    const variants: Entry[] = [
      { ...e, sig: e.sig.slice(0, -1) + (e.sig.endsWith('0') ? '1' : '0') },
      { ...e, seq: 2 },
      { ...e, created: '2026-02-01T10:20:30.401Z' },
      { ...e, items: e.items.slice(1) }
    ]
    const hashes = variants.map(entryHash)
    for (const x of hashes) expect(x).not.toBe(h)
    expect(new Set(hashes).size).toBe(variants.length)
    expect(h).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('validateEntry', () => {
  const good = signEntry(unsigned({ items: ITEMS, seq: 2, prev: HASH }), keyA)
  const raw = (): Record<string, unknown> => JSON.parse(JSON.stringify(good)) as Record<string, unknown>

  it('accepts what signEntry makes, in any key order', () => {
    expect(validateEntry(raw())).toStrictEqual(good)
    expect(validateEntry(Object.fromEntries(Object.entries(raw()).reverse()))).toStrictEqual(good)
  })

  it('refuses non-objects', () => {
    for (const x of [null, 1, 'entry', [good], undefined]) expect(codeOf(() => validateEntry(x))).toBe('PX_ERR_BAD_ENTRY')
  })

  it.each(['v', 'circle', 'origin', 'seq', 'prev', 'tlp', 'created', 'items', 'sig'])('names a missing field: %s', (k) => {
    const r = raw()
    delete r[k]
    const err = errorOf(() => validateEntry(r))
    expect(err.code).toBe('PX_ERR_BAD_ENTRY')
    expect(err.field).toBe(`entry.${k}`)
  })

  it('names an extra field', () => {
    const err = errorOf(() => validateEntry({ ...raw(), hash: HASH }))
    expect(err.code).toBe('PX_ERR_BAD_ENTRY')
    expect(err.field).toBe('entry.hash')
  })

  const BAD_FIELDS: Array<[string, Record<string, unknown>, string]> = [
    ['v 0 (a later version, e.g. 2, is kept unread: versions.test.ts)', { v: 0 }, 'entry.v'],
    ['v "1"', { v: '1' }, 'entry.v'],
    ['circle with upper case', { circle: 'Local' }, 'entry.circle'],
    ['circle empty', { circle: '' }, 'entry.circle'],
    ['circle too long', { circle: 'c'.repeat(129) }, 'entry.circle'],
    ['origin upper-case hex', { origin: keyA.publicKeyHex.toUpperCase() }, 'entry.origin'],
    ['origin short', { origin: keyA.publicKeyHex.slice(2) }, 'entry.origin'],
    ['seq 0', { seq: 0 }, 'entry.seq'],
    ['seq -1', { seq: -1 }, 'entry.seq'],
    ['seq 1.5', { seq: 1.5 }, 'entry.seq'],
    ['seq "2"', { seq: '2' }, 'entry.seq'],
    ['seq beyond safe integers', { seq: 2 ** 53 }, 'entry.seq'],
    ['seq 1 with a prev hash', { seq: 1, prev: HASH }, 'entry.prev'],
    ['seq 2 with prev null', { seq: 2, prev: null }, 'entry.prev'],
    ['seq 2 with upper-case prev', { prev: HASH.toUpperCase() }, 'entry.prev'],
    ['seq 2 with short prev', { prev: HASH.slice(1) }, 'entry.prev'],
    ['seq 2 with empty prev', { prev: '' }, 'entry.prev'],
    ['tlp WHITE', { tlp: 'WHITE' }, 'entry.tlp'],
    ['tlp lower-case', { tlp: 'amber' }, 'entry.tlp'],
    ['created without milliseconds', { created: '2026-02-01T10:20:30Z' }, 'entry.created'],
    ['created with an offset', { created: '2026-02-01T10:20:30.400+00:00' }, 'entry.created'],
    ['created as a number', { created: 1_700_000_000_000 }, 'entry.created'],
    ['sig short', { sig: 'ab'.repeat(63) }, 'entry.sig'],
    ['sig upper-case', { sig: good.sig.toUpperCase() }, 'entry.sig'],
    ['items empty', { items: [] }, 'entry.items'],
    ['items not an array', { items: { 0: ITEMS[0] } }, 'entry.items'],
    ['items over the record limit', { items: Array.from({ length: MAX_ENTRY_ITEMS + 1 }, () => ITEMS[1]) }, 'entry.items']
  ]

  it.each(BAD_FIELDS)('refuses %s', (_name, patch, field) => {
    const err = errorOf(() => validateEntry({ ...raw(), ...patch }))
    expect(err.code).toBe('PX_ERR_BAD_ENTRY')
    expect(err.field).toBe(field)
  })

  const BAD_ITEMS: Array<[string, unknown, string]> = [
    ['a value not lower-cased', indicator('EVIL.example'), 'entry.items[0].value'],
    ['a defanged value', indicator('evil[.]example'), 'entry.items[0].value'],
    ['a value with whitespace', indicator(' evil.example'), 'entry.items[0].value'],
    ['a non-canonical IPv6', { ...indicator('x'), type: 'ipv6', value: '2001:0db8::1' }, 'entry.items[0].value'],
    ['unsorted tags', indicator('evil.example', { tags: ['b', 'a'] }), 'entry.items[0].tags'],
    ['duplicate tags (case-insensitive)', indicator('evil.example', { tags: ['APT', 'apt'] }), 'entry.items[0].tags'],
    ['untrimmed tag', indicator('evil.example', { tags: [' a'] }), 'entry.items[0].tags'],
    ['tags missing', { kind: 'indicator', type: 'domain', value: 'evil.example', confidence: 1 }, 'entry.items[0].tags'],
    ['untrimmed description', indicator('evil.example', { description: 'x ' }), 'entry.items[0].description'],
    ['confidence 101', indicator('evil.example', { confidence: 101 }), 'entry.items[0].confidence'],
    ['validFrom date-only', indicator('evil.example', { validFrom: '2026-01-01' }), 'entry.items[0].validFrom'],
    ['unknown item field', { ...indicator('evil.example'), tlp: 'RED' }, 'entry.items[0].tlp'],
    ['a kind that is no kind name (a later kind, e.g. note, is kept unread: versions.test.ts)', { kind: 'No te', text: 'x' }, 'entry.items[0].kind'],
    ['revoke id upper-case', { kind: 'revoke', id: 'ABCDEF0123456789ABCDEF0123456789' }, 'entry.items[0].id'],
    ['sighting count 0', { kind: 'sighting', type: 'domain', value: 'evil.example', count: 0, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z' }, 'entry.items[0].count'],
    ['relabel to WHITE', { kind: 'relabel', id: 'fedcba9876543210fedcba9876543210', tlp: 'WHITE' }, 'entry.items[0].tlp']
  ]

  it.each(BAD_ITEMS)('refuses an item with %s', (_name, item, field) => {
    const err = errorOf(() => validateEntry({ ...raw(), items: [item] }))
    expect(err.code).toBe('PX_ERR_BAD_ENTRY')
    expect(err.field).toBe(field)
  })

  it('names the position of a bad item among good ones', () => {
    const err = errorOf(() => validateEntry({ ...raw(), items: [...ITEMS, indicator('Evil.example')] }))
    expect(err.field).toBe(`entry.items[${ITEMS.length}].value`)
  })

  it('refuses an entry over MAX_ENTRY_BYTES with PX_ERR_PAYLOAD_TOO_LARGE, and accepts one just under', () => {
    const big = (n: number): IndicatorItem[] => Array.from({ length: n }, (_, i) => indicator(`host${i}.evil.example`, { description: 'd'.repeat(4000) }))
    const over = signEntry(unsigned({ items: big(17) }), keyA)
    expect(entrySize(over)).toBeGreaterThan(MAX_ENTRY_BYTES)
    expect(codeOf(() => validateEntry(JSON.parse(JSON.stringify(over))))).toBe('PX_ERR_PAYLOAD_TOO_LARGE')
    const under = signEntry(unsigned({ items: big(15) }), keyA)
    expect(entrySize(under)).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    expect(validateEntry(JSON.parse(JSON.stringify(under)))).toStrictEqual(under)
  })

  it('entrySize is the UTF-8 byte length of the canonical JSON', () => {
    const e = signEntry(unsigned({ items: [indicator('evil.example', { description: 'ünïcödé €' })] }), keyA)
    expect(entrySize(e)).toBe(Buffer.byteLength(sortedJson(e), 'utf8'))
    expect(entrySize(e)).toBeGreaterThan(sortedJson(e).length)
  })
})

describe('packItems', () => {
  const small = (n: number): IndicatorItem[] => Array.from({ length: n }, (_, i) => indicator(`h${i}.evil.example`))

  it('returns no groups for no items', () => {
    expect(packItems([])).toEqual([])
  })

  it('packs at most MAX_ENTRY_ITEMS (1000) records per group, keeping order', () => {
    // revoke records are small enough (~46 bytes) that the record limit binds before the byte limit
    const revokes = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ kind: 'revoke', id: i.toString(16).padStart(32, '0') }))
    const items = revokes(2500)
    const groups = packItems(items)
    expect(groups.map(g => g.length)).toEqual([1000, 1000, 500])
    expect(groups.flat()).toEqual(items)
    expect(packItems(revokes(1000)).map(g => g.length)).toEqual([1000])
    expect(packItems(revokes(1001)).map(g => g.length)).toEqual([1000, 1])
    expect(packItems(small(10), 3).map(g => g.length)).toEqual([3, 3, 3, 1])
    expect(packItems(small(2500), MAX_ENTRY_ITEMS, Number.POSITIVE_INFINITY).map(g => g.length)).toEqual([1000, 1000, 500])
  })

  it('lets the byte limit bind for ordinary indicators (~80 bytes each: fewer than 1000 per entry)', () => {
    const items = small(2500)
    const groups = packItems(items)
    expect(groups.flat()).toEqual(items)
    expect(groups.length).toBeGreaterThan(3)
    for (const g of groups) {
      expect(g.length).toBeLessThan(MAX_ENTRY_ITEMS)
      expect(entrySize(signEntry(unsigned({ items: g, seq: 9, prev: HASH }), keyA))).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    }
  })

  it('splits by byte size, and each group signs into a valid entry within MAX_ENTRY_BYTES', () => {
    const items = Array.from({ length: 100 }, (_, i) => indicator(`h${i}.evil.example`, { description: 'x'.repeat(1000 + (i * 37) % 3000), tags: [`t${i}`] }))
    const groups = packItems(items)
    expect(groups.length).toBeGreaterThan(1)
    expect(groups.flat()).toEqual(items)
    let prev: string | null = null
    groups.forEach((g, i) => {
      const e = signEntry(unsigned({ items: g, seq: i + 1, prev }), keyA)
      expect(entrySize(e)).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
      expect(validateEntry(JSON.parse(JSON.stringify(e)))).toStrictEqual(e)
      // packing is not wasteful: every group but the last is well over half the limit
      if (i < groups.length - 1) expect(entrySize(e)).toBeGreaterThan(MAX_ENTRY_BYTES / 2)
      prev = entryHash(e)
    })
  })

  it.each([1024, 600, 512, 400])('keeps entries within MAX_ENTRY_BYTES in the worst case (records filling MAX_ENTRY_BYTES - %i exactly; longest circle id, large seq, strictest TLP)', (reserve) => {
    const target = MAX_ENTRY_BYTES - reserve
    const sizeOf = (it: Item): number => Buffer.byteLength(JSON.stringify(it)) + 1
    const base = sizeOf(indicator('last0.evil.example', { description: 'z' })) - 1
    const items: IndicatorItem[] = []
    let bytes = 0
    for (let i = 0; ; i++) {
      const it = indicator(`h${i}.evil.example`, { description: 'y'.repeat(4000) })
      if (bytes + sizeOf(it) > target - 2 * (base + 100)) break
      items.push(it)
      bytes += sizeOf(it)
    }
    // two fillers (a description holds at most 4096 characters) land the total exactly on target
    const f1 = indicator('last0.evil.example', { description: 'z'.repeat(Math.floor((target - bytes) / 2) - base) })
    const f2 = indicator('last1.evil.example', { description: 'z'.repeat(target - bytes - sizeOf(f1) - base) })
    items.push(f1, f2)
    expect(bytes + sizeOf(f1) + sizeOf(f2)).toBe(target)
    const groups = packItems(items)
    expect(groups.flat()).toEqual(items)
    let prev = HASH
    groups.forEach((g, i) => {
      const e = signEntry(unsigned({
        circle: 'c'.repeat(128), seq: Number.MAX_SAFE_INTEGER - groups.length + i + 1, prev, tlp: 'AMBER+STRICT', items: g
      }), keyA)
      expect(entrySize(e)).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
      expect(validateEntry(JSON.parse(JSON.stringify(e)))).toStrictEqual(e)
      prev = entryHash(e)
    })
  })

  it('puts an item bigger than the byte budget in a group of its own', () => {
    const items = [indicator('a.example'), indicator('b.example', { description: 'q'.repeat(4000) }), indicator('c.example')]
    expect(packItems(items, 1000, 1000).map(g => g.length)).toEqual([1, 1, 1])
  })
})

describe('indicatorId', () => {
  it('is deterministic, 32 hex characters', () => {
    const id = indicatorId(keyA.publicKeyHex, 'domain', 'evil.example')
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(indicatorId(keyA.publicKeyHex, 'domain', 'evil.example')).toBe(id)
  })

  it('is the first 128 bits of SHA-256 over the purpose tag and [origin, type, value]', () => {
    const want = createHash('sha256').update(`phalanx/indicator-id/v1\n${JSON.stringify([keyA.publicKeyHex, 'domain', 'evil.example'])}`).digest('hex').slice(0, 32)
    expect(indicatorId(keyA.publicKeyHex, 'domain', 'evil.example')).toBe(want)
  })

  it('differs by origin, type and value', () => {
    const ids = [
      indicatorId(keyA.publicKeyHex, 'domain', 'evil.example'),
      indicatorId(keyB.publicKeyHex, 'domain', 'evil.example'),
      indicatorId(keyA.publicKeyHex, 'email', 'evil.example'),
      indicatorId(keyA.publicKeyHex, 'domain', 'evil2.example'),
      // no ambiguity from concatenation
      indicatorId(keyA.publicKeyHex, 'domain', 'evil.exampl'),
      indicatorId(keyA.publicKeyHex + 'domain', 'domain', 'evil.example' as string)
    ]
    expect(new Set(ids).size).toBe(ids.length)
  })
})
