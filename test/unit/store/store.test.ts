import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import fc from 'fast-check'
import { PhalanxError } from '../../../src/errors.js'
import {
  entryHash, indicatorId, normalizeTags, packItems, validateEntry, verifyEntrySignature,
  type Entry, type IndicatorItem, type IndicatorType, type Item, type SightingItem, type StoredIndicator
} from '../../../src/records/index.js'
import { checkStore, lookupValue, queryIndicators, verifyStoreAt, type LevelStore, type QueryFilter } from '../../../src/store/index.js'
import { readBucket } from '../../../src/store/level-store.js'
import { postingPrefix } from '../../../src/store/keys.js'
import { MAX_BLOCK_PAIRS, findPosting, pairsOf, scanPostings, type PostingBucket } from '../../../src/store/postings.js'
import { RemoteLog, openStore, randomKey, sleep, type StoreHarness } from '../../utils/store.js'
import { damageStore } from '../../utils/raw-store.js'

function ind (type: IndicatorType, value: string, extra: Partial<IndicatorItem> = {}): IndicatorItem {
  return { kind: 'indicator', type, value, confidence: 70, tags: [], ...extra }
}

function ipv4 (i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return err instanceof PhalanxError ? err.code : `non-phalanx: ${String(err)}`
  }
  return 'resolved'
}

async function expectConsistent (store: LevelStore): Promise<void> {
  const report = await checkStore(store)
  expect(report.problems).toEqual([])
  expect(report.ok).toBe(true)
}

/** every indicator of a query, following cursors page by page */
async function queryAll (store: LevelStore, f: Omit<QueryFilter, 'limit' | 'cursor'>, limit = 100): Promise<StoredIndicator[]> {
  const out: StoredIndicator[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await queryIndicators(store, { ...f, limit, ...(cursor !== undefined ? { cursor } : {}) })
    expect(page.indicators.length).toBeLessThanOrEqual(limit)
    out.push(...page.indicators)
    if (page.nextCursor === null) return out
    cursor = page.nextCursor
  }
  throw new Error('query did not end')
}

const ids = (xs: Array<{ id: string }>): string[] => xs.map(x => x.id).sort()

let h: StoreHarness

beforeEach(async () => {
  h = await openStore({ ingest: { sync: false } })
})

afterEach(async () => {
  vi.useRealTimers()
  await h.close()
})

describe('publish', () => {
  it('stores a single indicator in one signed entry, proven and indexed', async () => {
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'evil.example', { tags: ['Phishing'] })] }])
    const id = indicatorId(h.key.publicKeyHex, 'domain', 'evil.example')
    expect(r.ids).toEqual([id])
    expect(r.entries).toHaveLength(1)
    expect(r.entries[0]).toMatchObject({ circle: 'local', origin: h.key.publicKeyHex, seq: 1, items: 1 })

    const e = h.store.getEntry('local', h.key.publicKeyHex, 1)!
    expect(e.prev).toBeNull()
    expect(validateEntry(JSON.parse(JSON.stringify(e)))).toStrictEqual(e)
    expect(verifyEntrySignature(e)).toBe(true)
    expect(entryHash(e)).toBe(r.entries[0].hash)
    expect(h.store.getEntryByHash(r.entries[0].hash)).toStrictEqual(e)
    expect(h.store.head('local', h.key.publicKeyHex)).toEqual({ seq: 1, records: 1, hash: r.entries[0].hash })

    const stored = h.store.getIndicator(id)!
    expect(stored).toMatchObject({
      id, origin: h.key.publicKeyHex, circle: 'local', type: 'domain', value: 'evil.example', tlp: 'AMBER',
      confidence: 70, tags: ['Phishing'], created: e.created, version: 1, entry: { hash: r.entries[0].hash, seq: 1 }
    })
    expect(stored.revoked).toBeUndefined()
    expect(h.store.counts()).toEqual({ entries: 1, indicators: 1, revoked: 0, sightings: 0 })

    const look = lookupValue(h.store, 'domain', 'evil.example')
    expect(look.found).toBe(true)
    expect(look.matches.map(m => [m.id, m.match])).toEqual([[id, 'exact']])
    expect((await queryIndicators(h.store, { tag: 'phishing', limit: 10 })).indicators.map(x => x.id)).toEqual([id])
    await expectConsistent(h.store)
  })

  it('packs a bulk publish of 2,500 indicators into chained entries (≤ 1,000 records, ≤ 64 KiB each)', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ind('ipv4', ipv4(i)))
    const expected = packItems(items).map(g => g.length)
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items }])
    expect(r.entries.map(e => e.items)).toEqual(expected)
    expect(r.entries.map(e => e.seq)).toEqual(expected.map((_, i) => i + 1))
    expect(r.entries.reduce((n, e) => n + e.items, 0)).toBe(2500)
    expect(r.ids).toHaveLength(2500)
    expect(new Set(r.ids).size).toBe(2500)
    expect(r.ids[1234]).toBe(indicatorId(h.key.publicKeyHex, 'ipv4', ipv4(1234)))
    let prev: string | null = null
    for (const receipt of r.entries) {
      const e = h.store.getEntry('local', h.key.publicKeyHex, receipt.seq)!
      expect(e.prev).toBe(prev)
      expect(e.items.length).toBeLessThanOrEqual(1000)
      expect(entryHash(e)).toBe(receipt.hash)
      prev = receipt.hash
    }
    expect(h.store.counts()).toMatchObject({ entries: r.entries.length, indicators: 2500 })
    await expectConsistent(h.store)
  })

  it('packs 2,500 small records into exactly 3 entries of 1,000 / 1,000 / 500, seq continuing the log', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ind('asn', `AS${i}`))
    const first = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items }])
    const n = first.entries.length
    // revoke records are ~46 bytes: the record limit binds before the byte limit
    const revokes: Item[] = first.ids.map(id => ({ kind: 'revoke', id: id! }))
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: revokes }])
    expect(r.entries.map(e => e.items)).toEqual([1000, 1000, 500])
    expect(r.entries.map(e => e.seq)).toEqual([n + 1, n + 2, n + 3])
    expect(h.store.getEntry('local', h.key.publicKeyHex, n + 1)!.prev).toBe(first.entries[n - 1].hash)
    expect(h.store.getEntry('local', h.key.publicKeyHex, n + 2)!.prev).toBe(r.entries[0].hash)
    expect(h.store.getEntry('local', h.key.publicKeyHex, n + 3)!.prev).toBe(r.entries[1].hash)
    expect(h.store.counts()).toMatchObject({ entries: n + 3, indicators: 2500, revoked: 2500 })
    expect((await queryIndicators(h.store, { limit: 10 })).indicators).toEqual([])
    await expectConsistent(h.store)
  })

  it('keeps separate logs per circle, and one entry per (circle, TLP) batch', async () => {
    const r = await h.ingest.publish([
      { circle: 'local', tlp: 'AMBER', items: [ind('domain', 'a.example')] },
      { circle: 'local', tlp: 'RED', items: [ind('domain', 'b.example')] },
      { circle: 'fin-isac', tlp: 'GREEN', items: [ind('domain', 'c.example')] }
    ])
    expect(r.entries.map(e => [e.circle, e.seq])).toEqual([['local', 1], ['local', 2], ['fin-isac', 1]])
    expect(h.store.getIndicator(r.ids[1]!)!.tlp).toBe('RED')
    expect(h.store.getIndicator(r.ids[2]!)!.circle).toBe('fin-isac')
    await expectConsistent(h.store)
  })

  it('resolves an empty publish without writing anything', async () => {
    expect(await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [] }])).toEqual({ entries: [], ids: [] })
    expect(h.store.counts().entries).toBe(0)
  })
})

describe('supersede', () => {
  it('a later version of the same value by the same origin replaces the earlier one and its index keys', async () => {
    const a = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'evil.example', { confidence: 40, tags: ['old-tag', 'shared'] })] }])
    const b = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'evil.example', { confidence: 90, tags: ['new-tag', 'shared'] })] }])
    expect(b.ids).toEqual(a.ids)
    const id = a.ids[0]!
    const stored = h.store.getIndicator(id)!
    expect(stored).toMatchObject({ version: 2, confidence: 90, tags: ['new-tag', 'shared'], entry: { seq: 2, hash: b.entries[0].hash } })
    expect(h.store.counts()).toMatchObject({ entries: 2, indicators: 1 })
    expect((await queryIndicators(h.store, { tag: 'old-tag', limit: 10 })).indicators).toEqual([])
    expect((await queryIndicators(h.store, { tag: 'old-tag', limit: 10, includeRevoked: true, includeExpired: true })).indicators).toEqual([])
    expect(ids((await queryIndicators(h.store, { tag: 'new-tag', limit: 10 })).indicators)).toEqual([id])
    expect(ids((await queryIndicators(h.store, { tag: 'shared', limit: 10 })).indicators)).toEqual([id])
    expect((await queryIndicators(h.store, { limit: 10 })).indicators).toHaveLength(1)
    expect(h.store.idsByValue('domain', 'evil.example')).toEqual([id])
    const look = lookupValue(h.store, 'domain', 'evil.example')
    expect(look.matches).toHaveLength(1)
    expect(look.matches[0].confidence).toBe(90)
    await expectConsistent(h.store)
  })

  it('the same value from another origin is a separate indicator', async () => {
    const remote = new RemoteLog(randomKey(), 'local')
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'shared.example', { tags: ['ours'] })] }])
    await h.ingest.ingest(remote.next([ind('domain', 'shared.example', { tags: ['theirs'] })]))
    expect(h.store.counts().indicators).toBe(2)
    expect(h.store.idsByValue('domain', 'shared.example')).toHaveLength(2)
    const look = lookupValue(h.store, 'domain', 'shared.example')
    expect(look.matches.map(m => m.origin).sort()).toEqual([h.key.publicKeyHex, remote.origin].sort())
    expect((await queryIndicators(h.store, { type: 'domain', value: 'shared.example', limit: 10 })).indicators).toHaveLength(2)
    await expectConsistent(h.store)
  })

  it('knows whether it ever took another origin\'s entry (what lets publishes skip the re-share check)', async () => {
    expect(h.store.mayHoldForeign()).toBe(false)
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'own.example')] }])
    expect(h.store.mayHoldForeign()).toBe(false)
    const remote = new RemoteLog(randomKey(), 'circle-a')
    await h.ingest.ingest(remote.next([ind('domain', 'theirs.example')]))
    expect(h.store.mayHoldForeign()).toBe(true)
    // kept in the store, so a restart knows it too
    expect(h.store.readUncached('meta', 'foreign')).toBe(true)
  })

  it('an older version arriving later does not replace a newer one', async () => {
    const remote = new RemoteLog(randomKey(), 'circle-a')
    const other = new RemoteLog(remote.key, 'circle-b')
    await h.ingest.ingest(remote.next([ind('domain', 'x.example', { confidence: 90 })], { created: '2026-03-01T00:00:00.000Z' }))
    await h.ingest.ingest(other.next([ind('domain', 'x.example', { confidence: 10 })], { created: '2026-02-01T00:00:00.000Z' }))
    const id = indicatorId(remote.origin, 'domain', 'x.example')
    expect(h.store.getIndicator(id)).toMatchObject({ confidence: 90, circle: 'circle-a', version: 1 })
    expect(h.store.counts()).toMatchObject({ entries: 2, indicators: 1 })
    await expectConsistent(h.store)
  })
})

describe('revoke', () => {
  async function publishOne (value: string, tags: string[] = ['t']): Promise<string> {
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', value, { tags })] }])
    return r.ids[0]!
  }

  async function revoke (id: string, reason?: string): Promise<void> {
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'revoke', id, ...(reason !== undefined ? { reason } : {}) }] }])
  }

  it('hides a revoked indicator from lookups and queries unless includeRevoked', async () => {
    const id = await publishOne('evil.example', ['apt'])
    const keep = await publishOne('other.example', ['apt'])
    await revoke(id, 'false positive')
    expect(h.store.counts()).toMatchObject({ indicators: 2, revoked: 1 })

    expect(lookupValue(h.store, 'domain', 'evil.example')).toMatchObject({ found: false, matches: [] })
    const shown = lookupValue(h.store, 'domain', 'evil.example', { includeRevoked: true })
    expect(shown.found).toBe(true)
    expect(shown.matches[0].revoked).toMatchObject({ reason: 'false positive' })
    expect(shown.matches[0].revoked!.entry).toBe(h.store.head('local', h.key.publicKeyHex)!.hash)

    for (const f of [{}, { tag: 'apt' }, { type: 'domain' as const }, { origin: h.key.publicKeyHex }, { type: 'domain' as const, value: 'evil.example' }]) {
      expect(ids((await queryIndicators(h.store, { ...f, limit: 10 })).indicators)).toEqual('value' in f ? [] : [keep])
      expect(ids((await queryIndicators(h.store, { ...f, limit: 10, includeRevoked: true })).indicators)).toContain(id)
    }
    await expectConsistent(h.store)
  })

  it('re-publishing after a revocation makes the indicator live again (later in time)', async () => {
    const id = await publishOne('evil.example')
    await sleep(3)
    await revoke(id)
    await sleep(3)
    await publishOne('evil.example', ['back'])
    const stored = h.store.getIndicator(id)!
    expect(stored.revoked).toBeUndefined()
    expect(stored.version).toBe(2)
    expect(h.store.counts()).toMatchObject({ indicators: 1, revoked: 0 })
    expect(lookupValue(h.store, 'domain', 'evil.example').found).toBe(true)
    expect(ids((await queryIndicators(h.store, { tag: 'back', limit: 10 })).indicators)).toEqual([id])
    await expectConsistent(h.store)
  })

  it('re-publishing after a revocation makes the indicator live again (all in the same millisecond)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-05-01T12:00:00.000Z'))
    const id = await publishOne('evil.example')
    await revoke(id)
    expect(h.store.getIndicator(id)!.revoked).toBeDefined()
    await publishOne('evil.example', ['back'])
    expect(h.store.getIndicator(id)!.revoked).toBeUndefined()
    expect(h.store.counts()).toMatchObject({ indicators: 1, revoked: 0 })
    expect(lookupValue(h.store, 'domain', 'evil.example').found).toBe(true)
    // and revoking again in the same millisecond works too
    await revoke(id)
    expect(lookupValue(h.store, 'domain', 'evil.example').found).toBe(false)
    expect(h.store.counts()).toMatchObject({ indicators: 1, revoked: 1 })
    await expectConsistent(h.store)
  })

  it('keeps a revocation that arrives before its indicator, and applies it only if it is the later one', async () => {
    const key = randomKey()
    const a = new RemoteLog(key, 'circle-a')
    const b = new RemoteLog(key, 'circle-b')
    const gone = indicatorId(key.publicKeyHex, 'domain', 'gone.example')
    const back = indicatorId(key.publicKeyHex, 'domain', 'back.example')
    // circle-a's log carries the revocations, circle-b's the indicators; circle-a's arrives first
    await h.ingest.ingest(a.next([{ kind: 'revoke', id: gone, reason: 'withdrawn' }, { kind: 'revoke', id: back }], { created: '2026-03-02T00:00:00.000Z' }))
    expect(h.store.getIndicator(gone)).toBeUndefined()
    expect(h.store.counts()).toMatchObject({ entries: 1, indicators: 0, revoked: 0 })
    await h.ingest.ingest(b.next([ind('domain', 'gone.example')], { created: '2026-03-01T00:00:00.000Z' }))
    await h.ingest.ingest(b.next([ind('domain', 'back.example')], { created: '2026-03-03T00:00:00.000Z' }))
    expect(h.store.getIndicator(gone)!.revoked).toMatchObject({ at: '2026-03-02T00:00:00.000Z', reason: 'withdrawn' })
    expect(h.store.getIndicator(back)!.revoked).toBeUndefined()
    expect(lookupValue(h.store, 'domain', 'gone.example').found).toBe(false)
    expect(lookupValue(h.store, 'domain', 'back.example').found).toBe(true)
    expect(h.store.counts()).toMatchObject({ entries: 3, indicators: 2, revoked: 1 })
    await expectConsistent(h.store)
  })

  it('a revoke of an id not yet published, then its publish in the same millisecond, leaves it live', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-05-01T12:00:00.000Z'))
    const id = indicatorId(h.key.publicKeyHex, 'domain', 'early.example')
    await revoke(id)
    expect(await publishOne('early.example')).toBe(id)
    expect(h.store.getIndicator(id)!.revoked).toBeUndefined()
    expect(h.store.counts()).toMatchObject({ indicators: 1, revoked: 0 })
    await expectConsistent(h.store)
  })

  it('refuses a revoke by another origin, storing nothing of its entry', async () => {
    const id = await publishOne('evil.example')
    const remote = new RemoteLog(randomKey(), 'local')
    await h.ingest.ingest(remote.next([ind('domain', 'theirs.example')]))
    const before = h.store.counts()
    const head = h.store.head('local', remote.origin)
    const e = remote.peek([{ kind: 'revoke', id }])
    expect(await codeOf(h.ingest.ingest(e))).toBe('PX_ERR_FORBIDDEN')
    expect(h.store.counts()).toEqual(before)
    expect(h.store.head('local', remote.origin)).toEqual(head)
    expect(h.store.getEntryByHash(entryHash(e))).toBeUndefined()
    expect(h.store.getIndicator(id)!.revoked).toBeUndefined()
    expect(lookupValue(h.store, 'domain', 'evil.example').found).toBe(true)
    await expectConsistent(h.store)
  })

  it('a refused job does not disturb other jobs of the same group commit', async () => {
    const id = await publishOne('evil.example')
    const remote = new RemoteLog(randomKey(), 'local')
    const bad = remote.peek([{ kind: 'revoke', id }])
    const results = await Promise.allSettled([
      h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'a.example')] }]),
      h.ingest.ingest(bad),
      h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'b.example')] }])
    ])
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(h.store.counts()).toMatchObject({ entries: 3, indicators: 3, revoked: 0 })
    expect(h.store.head('local', remote.origin)).toBeUndefined()
    await expectConsistent(h.store)
  })
})

describe('ingest of entries signed elsewhere', () => {
  let remote: RemoteLog
  beforeEach(() => { remote = new RemoteLog(randomKey(), 'ops') })

  async function refused (e: unknown, code: string): Promise<void> {
    const before = h.store.counts()
    const head = h.store.head('ops', remote.origin)
    expect(await codeOf(h.ingest.ingest(e))).toBe(code)
    expect(h.store.counts()).toEqual(before)
    expect(h.store.head('ops', remote.origin)).toEqual(head)
  }

  it('stores a valid chain, and reports a duplicate as such without storing it again', async () => {
    const e1 = remote.next([ind('domain', 'r1.example')])
    const e2 = remote.next([ind('domain', 'r2.example'), ind('ipv4', '192.0.2.9')])
    expect(await h.ingest.ingest(e1)).toMatchObject({ status: 'stored', seq: 1, hash: entryHash(e1), origin: remote.origin })
    expect(await h.ingest.ingest(JSON.parse(JSON.stringify(e2)))).toMatchObject({ status: 'stored', seq: 2, items: 2 })
    const before = h.store.counts()
    expect(before).toMatchObject({ entries: 2, indicators: 3 })
    expect(await h.ingest.ingest(e1)).toMatchObject({ status: 'duplicate', seq: 1, hash: entryHash(e1) })
    expect(await h.ingest.ingest(e2)).toMatchObject({ status: 'duplicate', seq: 2 })
    expect(h.store.counts()).toEqual(before)
    expect(h.store.getIndicator(indicatorId(remote.origin, 'domain', 'r1.example'))!.version).toBe(1)
    await expectConsistent(h.store)
  })

  it('stores an entry ahead of a gap at once (records derived, head unmoved) and moves the head over the run when the gap fills', async () => {
    const e1 = remote.next([ind('domain', 'r1.example')])
    const e2 = remote.next([ind('domain', 'r2.example')])
    const e3 = remote.next([ind('domain', 'r3.example')])
    const e4 = remote.next([ind('domain', 'r4.example')])
    expect(await h.ingest.ingest(e3)).toMatchObject({ status: 'stored', seq: 3, ahead: 0 })
    expect(h.store.head('ops', remote.origin)).toBeUndefined()
    expect(h.store.aheadOf('ops', remote.origin)).toBe(3)
    expect(h.store.getIndicator(indicatorId(remote.origin, 'domain', 'r3.example'))).toBeDefined()
    expect(await h.ingest.ingest(e3)).toMatchObject({ status: 'duplicate' })
    await expectConsistent(h.store)
    expect(await h.ingest.ingest(e1)).toMatchObject({ status: 'stored', seq: 1 })
    expect(h.store.head('ops', remote.origin)).toMatchObject({ seq: 1, hash: entryHash(e1) })
    expect(await h.ingest.ingest(e4)).toMatchObject({ status: 'stored', seq: 4, ahead: 1 })
    expect(h.store.aheadOf('ops', remote.origin)).toBe(4)
    await expectConsistent(h.store)
    // seq 2 closes the gap: the head moves over 3 and 4, the mark goes
    expect((await h.ingest.ingest(e2)).ahead).toBeUndefined()
    expect(h.store.head('ops', remote.origin)).toEqual({ seq: 4, hash: entryHash(e4), records: 4 })
    expect(h.store.aheadOf('ops', remote.origin)).toBeUndefined()
    expect(h.store.counts()).toMatchObject({ entries: 4, indicators: 4 })
    expect((await h.ingest.ingest(remote.next([ind('domain', 'r5.example')]))).status).toBe('stored')
    expect(h.store.head('ops', remote.origin)?.seq).toBe(5)
    await expectConsistent(h.store)
  })

  it('an entry ahead that contradicts a held neighbour is a fork; the entry seen first stays', async () => {
    const e1 = remote.next([ind('domain', 'n1.example')])
    remote.next([ind('domain', 'n2.example')])
    const e3 = remote.next([ind('domain', 'n3.example')])
    await h.ingest.ingest(e1)
    await h.ingest.ingest(e3)
    // another seq 3, and a seq 4 whose prev is not e3: forks of held entries
    const twin3 = remote.peek([ind('domain', 'twin3.example')], { seq: 3, prev: e3.prev })
    await refused(twin3, 'PX_ERR_FORK')
    const bad4 = remote.peek([ind('domain', 'bad4.example')], { seq: 4, prev: 'e'.repeat(64) })
    await refused(bad4, 'PX_ERR_FORK')
    const forks = await h.store.forks()
    expect(forks.map(f => [f.seq, f.kind])).toEqual([[3, 'seq'], [4, 'prev']])
    expect(forks[0].entries).toStrictEqual([e3, twin3])
    expect(forks[1].entries).toStrictEqual([e3, bad4])
    // a seq 2 that the held seq 3 does not name (another log): evidence at seq 3, held entry first
    const other = new RemoteLog(randomKey(), 'ops')
    const o1 = other.next([ind('domain', 'o1.example')])
    other.next([ind('domain', 'o2.example')])
    const o3 = other.next([ind('domain', 'o3.example')])
    await h.ingest.ingest(o1)
    await h.ingest.ingest(o3)
    const bad2 = other.peek([ind('domain', 'bad2.example')], { seq: 2, prev: entryHash(o1) })
    expect(await codeOf(h.ingest.ingest(bad2))).toBe('PX_ERR_FORK')
    const f = (await h.store.forks()).find(x => x.origin === other.origin)!
    expect([f.seq, f.kind]).toEqual([3, 'prev'])
    expect(f.entries).toStrictEqual([o3, bad2])
    expect(h.store.head('ops', remote.origin)?.seq).toBe(1)
    expect(h.store.head('ops', other.origin)?.seq).toBe(1)
    await expectConsistent(h.store)
  })

  it('refuses a gap with PX_ERR_SEQ_GAP in a log the policy keeps in order, and in this node\'s own logs', async () => {
    const inOrder = await openStore({ policy: { check () {}, inOrder: (log) => log.endsWith(':members') } })
    try {
      const log = new RemoteLog(randomKey(), 'c-0123456789abcdef0123:members')
      log.next([ind('domain', 'm1.example')])
      const before = inOrder.store.counts()
      expect(await codeOf(inOrder.ingest.ingest(log.next([ind('domain', 'm2.example')])))).toBe('PX_ERR_SEQ_GAP')
      expect(inOrder.store.counts()).toEqual(before)
      const own = new RemoteLog(inOrder.key, 'ops')
      own.next([ind('domain', 'o1.example')])
      expect(await codeOf(inOrder.ingest.ingest(own.next([ind('domain', 'o2.example')])))).toBe('PX_ERR_SEQ_GAP')
      expect(inOrder.store.counts()).toEqual(before)
      await expectConsistent(inOrder.store)
    } finally {
      await inOrder.close()
    }
  })

  it('refuses a different entry with the same seq with PX_ERR_FORK (and one whose prev does not match)', async () => {
    const e1 = remote.next([ind('domain', 'r1.example')])
    await h.ingest.ingest(e1)
    const twin = remote.peek([ind('domain', 'twin.example')], { seq: 1, prev: null })
    expect(twin.seq).toBe(1)
    expect(entryHash(twin)).not.toBe(entryHash(e1))
    await refused(twin, 'PX_ERR_FORK')
    const wrongPrev = remote.peek([ind('domain', 'r2.example')], { prev: 'f'.repeat(64) })
    expect(wrongPrev.seq).toBe(2)
    await refused(wrongPrev, 'PX_ERR_FORK')
    expect(h.store.getIndicator(indicatorId(remote.origin, 'domain', 'twin.example'))).toBeUndefined()
    expect(h.store.getEntry('ops', remote.origin, 1)).toStrictEqual(e1)
    // both are kept as evidence: the stored entry, then the conflicting one
    const forks = await h.store.forks()
    expect(forks.map(f => [f.circle, f.origin, f.seq, f.kind])).toEqual([['ops', remote.origin, 1, 'seq'], ['ops', remote.origin, 2, 'prev']])
    expect(forks[0].entries).toStrictEqual([e1, twin])
    expect(forks[1].entries).toStrictEqual([e1, wrongPrev])
    // the same conflict again reports the fork and keeps the first evidence
    await refused(twin, 'PX_ERR_FORK')
    const other = remote.peek([ind('domain', 'third.example')], { seq: 1, prev: null })
    await refused(other, 'PX_ERR_FORK')
    expect((await h.store.forks()).map(f => f.entries[1])).toStrictEqual([twin, wrongPrev])
    await expectConsistent(h.store)
  })

  it('keeps fork evidence when both entries arrive in one write group (the first is not written yet)', async () => {
    const e1 = remote.next([ind('domain', 'same-group-1.example')])
    const twin = remote.peek([ind('domain', 'same-group-2.example')], { seq: 1, prev: null })
    const [a, b] = await Promise.allSettled([h.ingest.ingest(e1), h.ingest.ingest(twin)])
    expect(a.status).toBe('fulfilled')
    expect(b.status === 'rejected' && (b.reason as { code?: string }).code).toBe('PX_ERR_FORK')
    const forks = await h.store.forks()
    expect(forks).toHaveLength(1)
    expect(forks[0].entries).toStrictEqual([e1, twin])
  })

  it('an origin\'s relabel or revoke of an indicator purged here is stored and changes nothing', async () => {
    const e1 = remote.next([ind('domain', 'purged-then.example', { validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2020-02-01T00:00:00.000Z' })])
    await h.ingest.ingest(e1)
    expect((await h.ingest.purgeExpired('2021-01-01T00:00:00.000Z')).purged).toBe(1)
    const id = indicatorId(remote.origin, 'domain', 'purged-then.example')
    expect((await h.ingest.ingest(remote.next([{ kind: 'relabel', id, tlp: 'CLEAR' }]))).status).toBe('stored')
    expect((await h.ingest.ingest(remote.next([{ kind: 'revoke', id }]))).status).toBe('stored')
    // the log goes on
    expect((await h.ingest.ingest(remote.next([ind('domain', 'after.example')]))).status).toBe('stored')
    expect(h.store.getIndicator(id)).toBeUndefined()
    expect(h.store.head('ops', remote.origin)?.seq).toBe(4)
    await expectConsistent(h.store)
  })

  it('entryTexts stops at a byte budget counted in UTF-8, not in characters', async () => {
    const wide = 'з'.repeat(3000) // 2 bytes a character
    for (let i = 0; i < 4; i++) await h.ingest.ingest(remote.next([ind('domain', `wide${i}.example`, { description: wide })]))
    const one = Buffer.byteLength((await h.store.entryTexts('ops', remote.origin, 1, 1, 1, Infinity))[0])
    expect(one).toBeGreaterThan(6000)
    // a budget of 1.5 entries in bytes (but 3 in characters) returns 2: it stops at the entry that reaches it
    expect(await h.store.entryTexts('ops', remote.origin, 1, 4, 100, Math.round(one * 1.5))).toHaveLength(2)
    expect(await h.store.entryTexts('ops', remote.origin, 2, 3, 100, Infinity)).toHaveLength(2)
  })

  it('refuses a bad signature with PX_ERR_BAD_SIGNATURE', async () => {
    await h.ingest.ingest(remote.next([ind('domain', 'r1.example')]))
    const e2 = remote.peek([ind('domain', 'r2.example')])
    const flipped = { ...e2, sig: (e2.sig[0] === '0' ? '1' : '0') + e2.sig.slice(1) }
    await refused(flipped, 'PX_ERR_BAD_SIGNATURE')
    await refused({ ...e2, items: [ind('domain', 'swapped.example')] }, 'PX_ERR_BAD_SIGNATURE')
    // signed by someone else in the origin's name
    const impostor = new RemoteLog(randomKey(), 'ops')
    const forged: Entry = { ...impostor.peek([ind('domain', 'r2.example')], { seq: 2, prev: remote.prev }), origin: remote.origin }
    await refused(forged, 'PX_ERR_BAD_SIGNATURE')
    expect(h.store.getIndicator(indicatorId(remote.origin, 'domain', 'r2.example'))).toBeUndefined()
    // the genuine entry still goes in afterwards
    expect((await h.ingest.ingest(e2)).status).toBe('stored')
    await expectConsistent(h.store)
  })

  it('refuses a malformed entry with PX_ERR_BAD_ENTRY', async () => {
    const e = remote.peek([ind('domain', 'r1.example')])
    await refused({ ...e, extra: true }, 'PX_ERR_BAD_ENTRY')
    await refused({ ...e, items: [ind('domain', 'R1.example')] }, 'PX_ERR_BAD_ENTRY')
    await refused('not an entry', 'PX_ERR_BAD_ENTRY')
  })

  it('refuses what the policy refuses', async () => {
    await h.close()
    h = await openStore({
      ingest: { sync: false },
      policy: { check (entry) { if (entry.tlp === 'RED') throw new PhalanxError('PX_ERR_TLP_VIOLATION', 'RED is never gossiped') } }
    })
    await refused(remote.peek([ind('domain', 'r1.example')], { tlp: 'RED' }), 'PX_ERR_TLP_VIOLATION')
    expect((await h.ingest.ingest(remote.next([ind('domain', 'r1.example')], { tlp: 'AMBER' }))).status).toBe('stored')
    await expectConsistent(h.store)
  })
})

describe('sightings', () => {
  it('aggregate count (sum), firstSeen (min) and lastSeen (max), overall and per origin', async () => {
    const s = (count: number, firstSeen: string, lastSeen: string, value = '198.51.100.7'): SightingItem =>
      ({ kind: 'sighting', type: 'ipv4', value, count, firstSeen, lastSeen })
    const remote = new RemoteLog(randomKey(), 'ops')
    await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [s(3, '2026-01-10T00:00:00.000Z', '2026-01-12T00:00:00.000Z')] }])
    await h.ingest.ingest(remote.next([s(5, '2026-01-05T00:00:00.000Z', '2026-01-11T00:00:00.000Z')]))
    await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [s(2, '2026-01-11T00:00:00.000Z', '2026-01-20T00:00:00.000Z'), s(1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '198.51.100.8')] }])
    await h.ingest.ingest(remote.next([s(10, '2026-01-06T00:00:00.000Z', '2026-01-07T00:00:00.000Z')]))

    const look = lookupValue(h.store, 'ipv4', '198.51.100.7')
    expect(look.found).toBe(false) // a sighting is not an indicator
    expect(look.sightings).toEqual({
      type: 'ipv4',
      value: '198.51.100.7',
      count: 20,
      firstSeen: '2026-01-05T00:00:00.000Z',
      lastSeen: '2026-01-20T00:00:00.000Z',
      origins: {
        [h.key.publicKeyHex]: { count: 5, firstSeen: '2026-01-10T00:00:00.000Z', lastSeen: '2026-01-20T00:00:00.000Z', action: 'seen', actions: { seen: { count: 5, lastSeen: '2026-01-20T00:00:00.000Z' } } },
        [remote.origin]: { count: 15, firstSeen: '2026-01-05T00:00:00.000Z', lastSeen: '2026-01-11T00:00:00.000Z', action: 'seen', actions: { seen: { count: 15, lastSeen: '2026-01-11T00:00:00.000Z' } } }
      }
    })
    expect(lookupValue(h.store, 'ipv4', '198.51.100.8').sightings).toMatchObject({ count: 1 })
    expect(lookupValue(h.store, 'ipv4', '198.51.100.9').sightings).toBeNull()
    expect(h.store.counts()).toMatchObject({ sightings: 2, indicators: 0, entries: 4 })
    await expectConsistent(h.store)
  })
})

describe('lookupValue and CIDRs', () => {
  it('matches an IP against stored CIDRs (v4 and v6) with match "cidr"', async () => {
    const r = await h.ingest.publish([{
      circle: 'local',
      tlp: 'AMBER',
      items: [
        ind('cidr', '10.0.0.0/8'), ind('cidr', '192.168.1.0/24'), ind('cidr', '203.0.113.7/32'), ind('cidr', '0.0.0.0/0'),
        ind('cidr', '2001:db8::/32'), ind('cidr', '2001:db8:1:2::/64'),
        ind('ipv4', '10.1.2.3')
      ]
    }])
    const [all8, net24, host32, any0, v6net32, v6net64, exact] = r.ids as string[]
    const matchOf = (type: 'ipv4' | 'ipv6', ip: string): Array<[string, string]> =>
      lookupValue(h.store, type, ip).matches.map(m => [m.id, m.match] as [string, string]).sort()

    expect(matchOf('ipv4', '10.1.2.3')).toEqual([[exact, 'exact'], [all8, 'cidr'], [any0, 'cidr']].sort())
    expect(matchOf('ipv4', '10.255.255.255')).toEqual([[all8, 'cidr'], [any0, 'cidr']].sort())
    expect(matchOf('ipv4', '192.168.1.77')).toEqual([[net24, 'cidr'], [any0, 'cidr']].sort())
    expect(matchOf('ipv4', '192.168.2.1')).toEqual([[any0, 'cidr']])
    expect(matchOf('ipv4', '203.0.113.7')).toEqual([[host32, 'cidr'], [any0, 'cidr']].sort())
    expect(matchOf('ipv4', '203.0.113.8')).toEqual([[any0, 'cidr']])
    expect(matchOf('ipv6', '2001:db8:ffff::5')).toEqual([[v6net32, 'cidr']])
    expect(matchOf('ipv6', '2001:db8:1:2::99')).toEqual([[v6net32, 'cidr'], [v6net64, 'cidr']].sort())
    expect(matchOf('ipv6', '2001:db9::1')).toEqual([])
    // v4 networks never match v6 addresses and vice versa
    expect(matchOf('ipv6', '::ffff:10.1.2.3')).toEqual([])
    // the CIDR itself is found exactly
    expect(lookupValue(h.store, 'cidr', '10.0.0.0/8').matches.map(m => m.match)).toEqual(['exact'])
    const m = lookupValue(h.store, 'ipv4', '192.168.1.77').matches.find(x => x.id === net24)!
    expect(m).toMatchObject({ type: 'cidr', value: '192.168.1.0/24' })
    await expectConsistent(h.store)
  })

  it('does not match a revoked CIDR unless includeRevoked', async () => {
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('cidr', '172.16.0.0/12')] }])
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'revoke', id: r.ids[0]! }] }])
    expect(lookupValue(h.store, 'ipv4', '172.20.1.1').found).toBe(false)
    expect(lookupValue(h.store, 'ipv4', '172.20.1.1', { includeRevoked: true }).matches.map(x => x.match)).toEqual(['cidr'])
    await expectConsistent(h.store)
  })

  it('hides expired indicators unless includeExpired', async () => {
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'old.example', { validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2020-02-01T00:00:00.000Z' })] }])
    expect(lookupValue(h.store, 'domain', 'old.example').found).toBe(false)
    expect(lookupValue(h.store, 'domain', 'old.example', { includeExpired: true }).found).toBe(true)
    expect((await queryIndicators(h.store, { limit: 10 })).indicators).toEqual([])
    expect((await queryIndicators(h.store, { limit: 10, includeExpired: true })).indicators).toHaveLength(1)
  })

  it('purges expired indicators (records and value ids; entries stay), keeps the rest, and a re-publish brings one back', async () => {
    const until = (d: string): Partial<IndicatorItem> => ({ validFrom: '2020-01-01T00:00:00.000Z', validUntil: d, tags: ['exp'] })
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [
      ind('domain', 'gone.example', until('2020-02-01T00:00:00.000Z')),
      ind('domain', 'revoked-gone.example', until('2020-03-01T00:00:00.000Z')),
      ind('domain', 'recent.example', until('2020-06-01T00:00:00.000Z')),
      ind('domain', 'forever.example', { tags: ['exp'] })
    ] }])
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'revoke', id: r.ids[1]! }] }])
    // a sighting of a purged value keeps its value record
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'sighting', type: 'domain', value: 'gone.example', count: 2, firstSeen: '2020-01-05T00:00:00.000Z', lastSeen: '2020-01-06T00:00:00.000Z' }] }])
    const entries = h.store.counts().entries
    expect(h.store.counts()).toMatchObject({ indicators: 4, revoked: 1 })

    const res = await h.ingest.purgeExpired('2020-04-01T00:00:00.000Z')
    expect(res).toEqual({ scanned: 4, purged: 2 })
    expect(h.store.counts()).toMatchObject({ indicators: 2, revoked: 0, entries })
    expect(h.store.getIndicator(r.ids[0]!)).toBeUndefined()
    expect(lookupValue(h.store, 'domain', 'gone.example', { includeExpired: true, includeRevoked: true })).toMatchObject({ found: false, sightings: { count: 2 } })
    expect(lookupValue(h.store, 'domain', 'recent.example', { includeExpired: true }).found).toBe(true)
    expect(ids((await queryIndicators(h.store, { tag: 'exp', limit: 10, includeExpired: true, includeRevoked: true })).indicators).sort()).toEqual([r.ids[2], r.ids[3]].sort())
    // the entries and their chain are untouched; index pairs of purged records are accounted for
    await expectConsistent(h.store)
    expect((await h.ingest.purgeExpired('2020-04-01T00:00:00.000Z')).purged).toBe(0)

    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'gone.example', { tags: ['exp'] })] }])
    expect(lookupValue(h.store, 'domain', 'gone.example').found).toBe(true)
    expect(h.store.counts()).toMatchObject({ indicators: 3 })
    await expectConsistent(h.store)
  })
})

describe('queryIndicators', () => {
  it('pages over 2,500 indicators by cursor, each exactly once, in cursor order', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ind('ipv4', ipv4(i), { tags: i % 2 === 0 ? ['even'] : ['odd'] }))
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items }])
    let cursor: string | undefined
    const seen: string[] = []
    const cursors: string[] = []
    let pages = 0
    while (true) {
      const page = await queryIndicators(h.store, { limit: 100, ...(cursor !== undefined ? { cursor } : {}) })
      pages++
      expect(page.indicators.length).toBeLessThanOrEqual(100)
      for (const x of page.indicators) { seen.push(x.id); cursors.push(x.cursor) }
      if (page.nextCursor === null) break
      expect(page.indicators).toHaveLength(100)
      expect(page.nextCursor).toBe(page.indicators[page.indicators.length - 1].cursor)
      cursor = page.nextCursor
      expect(pages).toBeLessThan(100)
    }
    expect(seen).toHaveLength(2500)
    expect(new Set(seen).size).toBe(2500)
    expect(new Set(seen)).toEqual(new Set(r.ids))
    expect([...cursors].sort()).toEqual(cursors)
    expect(pages).toBeGreaterThanOrEqual(25)
    // over an index too
    const even = await queryAll(h.store, { tag: 'even' }, 77)
    expect(even).toHaveLength(1250)
    expect(new Set(even.map(x => x.id)).size).toBe(1250)
    expect(even.every(x => x.tags.includes('even'))).toBe(true)
    await expectConsistent(h.store)
  })

  it('filters by type, tag, origin, TLP, circle and time, alone and combined', async () => {
    const remote = new RemoteLog(randomKey(), 'ops')
    const early = await h.ingest.publish([
      { circle: 'local', tlp: 'AMBER', items: [ind('ipv4', '192.0.2.1', { tags: ['scanner'] }), ind('ipv4', '192.0.2.2', { tags: ['scanner'] }), ind('ipv4', '192.0.2.3', { tags: ['Botnet', 'scanner'] })] },
      { circle: 'local', tlp: 'GREEN', items: [ind('domain', 'phish1.example', { tags: ['phishing'] }), ind('domain', 'phish2.example', { tags: ['Phishing', 'botnet'] })] }
    ])
    await h.ingest.ingest(remote.next([ind('domain', 'theirs1.example', { tags: ['phishing'] }), ind('domain', 'theirs2.example', { tags: ['PHISHING'] })], { tlp: 'CLEAR' }))
    await sleep(5)
    const t = new Date().toISOString()
    await sleep(5)
    const late = await h.ingest.publish([{ circle: 'local', tlp: 'RED', items: [ind('url', 'http://phish3.example/login', { tags: ['phishing'] })] }])

    const ours = [...early.ids, ...late.ids] as string[]
    const theirs1 = indicatorId(remote.origin, 'domain', 'theirs1.example')
    const theirs = [theirs1, indicatorId(remote.origin, 'domain', 'theirs2.example')].sort()
    const q = async (f: Omit<QueryFilter, 'limit' | 'cursor'>): Promise<string[]> => ids(await queryAll(h.store, f, 2))

    expect(await q({})).toEqual([...ours, ...theirs].sort())
    expect(await q({ type: 'ipv4' })).toEqual(early.ids.slice(0, 3).sort())
    expect(await q({ type: 'url' })).toEqual(late.ids)
    expect(await q({ tag: 'phishing' })).toEqual([early.ids[3]!, early.ids[4]!, ...theirs, late.ids[0]!].sort())
    expect(await q({ tag: 'PHISHING' })).toEqual(await q({ tag: 'phishing' }))
    expect(await q({ tag: 'botnet' })).toEqual([early.ids[2]!, early.ids[4]!].sort())
    expect(await q({ tag: 'nothing' })).toEqual([])
    expect(await q({ origin: remote.origin })).toEqual(theirs)
    expect(await q({ origin: h.key.publicKeyHex })).toEqual([...ours].sort())
    expect(await q({ tlp: ['CLEAR'] })).toEqual(theirs)
    expect(await q({ tlp: ['AMBER', 'GREEN'] })).toEqual(early.ids.slice().sort() as string[])
    expect(await q({ tlp: ['RED'] })).toEqual(late.ids)
    expect(await q({ tlp: [] })).toHaveLength(8)
    expect(await q({ circle: 'ops' })).toEqual(theirs)
    expect(await q({ since: t })).toEqual(late.ids)
    expect(await q({ until: t })).toEqual([...early.ids as string[], ...theirs].sort())
    expect(await q({ since: t, until: new Date(Date.now() + 1000).toISOString() })).toEqual(late.ids)
    expect(await q({ since: new Date(Date.now() + 60_000).toISOString() })).toEqual([])
    // combined
    expect(await q({ type: 'domain', origin: h.key.publicKeyHex })).toEqual(early.ids.slice(3).sort() as string[])
    expect(await q({ tag: 'phishing', tlp: ['GREEN'] })).toEqual(early.ids.slice(3).sort() as string[])
    expect(await q({ tag: 'phishing', origin: remote.origin, type: 'domain' })).toEqual(theirs)
    expect(await q({ tag: 'phishing', since: t })).toEqual(late.ids)
    expect(await q({ type: 'ipv4', tag: 'phishing' })).toEqual([])
    expect(await q({ type: 'domain', value: 'theirs1.example' })).toEqual([theirs1])
    expect(await q({ type: 'domain', value: 'theirs1.example', origin: h.key.publicKeyHex })).toEqual([])
    await expectConsistent(h.store)
  })

  it('a value query pages too', async () => {
    const others = [new RemoteLog(randomKey(), 'ops'), new RemoteLog(randomKey(), 'ops'), new RemoteLog(randomKey(), 'ops')]
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'many.example')] }])
    for (const o of others) await h.ingest.ingest(o.next([ind('domain', 'many.example')]))
    const all = await queryAll(h.store, { type: 'domain', value: 'many.example' }, 1)
    expect(all).toHaveLength(4)
    expect(new Set(all.map(x => x.origin)).size).toBe(4)
  })
})

describe('the store survives a reopen', () => {
  it('keeps entries, indicators, counts and continues the log', async () => {
    const key = h.key
    const r1 = await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'persist.example'), ind('cidr', '10.0.0.0/8')] }])
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    const { LevelStore, Ingest } = await import('../../../src/store/index.js')
    const { pino } = await import('pino')
    const store = new LevelStore({ path })
    await store.open()
    const ingest = new Ingest({ store, key, policy: { check () {} }, log: pino({ level: 'silent' }) }, { sync: false })
    await ingest.start()
    try {
      expect(store.counts()).toMatchObject({ entries: 1, indicators: 2 })
      expect(lookupValue(store, 'ipv4', '10.9.9.9').matches.map(m => m.match)).toEqual(['cidr'])
      const r2 = await ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('domain', 'persist2.example')] }])
      expect(r2.entries[0].seq).toBe(2)
      expect(store.getEntry('local', key.publicKeyHex, 2)!.prev).toBe(r1.entries[0].hash)
      await expectConsistent(store)
    } finally {
      await ingest.stop()
      await store.close()
    }
  })
})

describe('random operations keep the store consistent (property)', () => {
  const VALUES: Array<[IndicatorType, string]> = [
    ['domain', 'a.example'], ['domain', 'b.example'], ['ipv4', '192.0.2.10'], ['ipv4', '192.0.2.11'],
    ['cidr', '198.51.100.0/24'], ['url', 'http://c.example/x'], ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['email', 'x@d.example']
  ]
  const TAGS = ['apt28', 'APT28', 'phishing', 'c2', 'T1566', 'botnet']

  type Op =
    | { op: 'publish', v: number, tags: string[], confidence: number }
    | { op: 'revoke', pick: number }
    | { op: 'republish', pick: number, tags: string[] }
    | { op: 'tick', ms: number }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('publish' as const), v: fc.nat({ max: VALUES.length - 1 }), tags: fc.subarray(TAGS), confidence: fc.integer({ min: 0, max: 100 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('revoke' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('republish' as const), pick: fc.nat(), tags: fc.subarray(TAGS) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3 }) }) }
  )

  interface ModelInd { type: IndicatorType, value: string, tags: string[], revoked: boolean, version: number }

  it('checkStore stays ok and counts, lookups and tag queries match a model', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
      const t = await openStore({ ingest: { sync: false } })
      vi.useFakeTimers({ toFake: ['Date'] })
      let clock = Date.parse('2026-04-01T00:00:00.000Z')
      vi.setSystemTime(clock)
      try {
        const model = new Map<string, ModelInd>()
        let entries = 0
        const publish = async (type: IndicatorType, value: string, tags: string[], confidence = 50): Promise<void> => {
          const r = await t.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind(type, value, { tags: normalizeTags(tags), confidence })] }])
          entries += r.entries.length
          const prev = model.get(r.ids[0]!)
          model.set(r.ids[0]!, { type, value, tags: normalizeTags(tags), revoked: false, version: (prev?.version ?? 0) + 1 })
        }
        for (const o of ops) {
          const known = [...model.keys()]
          if (o.op === 'publish') {
            await publish(VALUES[o.v][0], VALUES[o.v][1], o.tags, o.confidence)
          } else if (o.op === 'republish') {
            if (known.length === 0) continue
            const m = model.get(known[o.pick % known.length])!
            await publish(m.type, m.value, o.tags)
          } else if (o.op === 'revoke') {
            if (known.length === 0) continue
            const id = known[o.pick % known.length]
            const r = await t.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'revoke', id }] }])
            entries += r.entries.length
            model.get(id)!.revoked = true
          } else {
            clock += o.ms
            vi.setSystemTime(clock)
          }
        }

        const report = await checkStore(t.store)
        expect(report.problems).toEqual([])
        expect(report.ok).toBe(true)
        const live = [...model].filter(([, m]) => !m.revoked)
        expect(t.store.counts()).toMatchObject({ entries, indicators: model.size, revoked: model.size - live.length })
        for (const [type, value] of VALUES) {
          const id = indicatorId(t.key.publicKeyHex, type, value)
          const m = model.get(id)
          const look = lookupValue(t.store, type, value)
          expect(look.matches.filter(x => x.match === 'exact').map(x => x.id)).toEqual(m !== undefined && !m.revoked ? [id] : [])
          const stored = t.store.getIndicator(id)
          if (m === undefined) {
            expect(stored).toBeUndefined()
          } else {
            expect(stored).toMatchObject({ tags: m.tags, version: m.version })
            expect(stored!.revoked !== undefined).toBe(m.revoked)
          }
        }
        for (const tag of TAGS) {
          const want = live.filter(([, m]) => m.tags.some(x => x.toLowerCase() === tag.toLowerCase())).map(([id]) => id).sort()
          expect(ids(await queryAll(t.store, { tag }, 3))).toEqual(want)
        }
        expect(ids(await queryAll(t.store, {}, 4))).toEqual(live.map(([id]) => id).sort())
      } finally {
        vi.useRealTimers()
        await t.close()
      }
    }), { numRuns: 30 })
  })
})

describe('posting blocks (type, origin, tag and change-feed indexes)', () => {
  async function allPairs (bucket: PostingBucket, prefix: string, range = {}): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = []
    for await (const p of scanPostings(h.store, bucket, prefix, range)) out.push(p)
    return out
  }

  it('a group of 2,500 indicators becomes blocks of at most 1,024 pairs, scanned in cursor order over any range', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ind('ipv4', ipv4(i)))
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items }])
    const blocks: Array<[string, string]> = []
    for await (const [k, v] of readBucket(h.store, 'changes').iterator()) blocks.push([k, v as string])
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    for (const [k, v] of blocks) {
      const pairs = pairsOf(k, v)
      expect(pairs.length).toBeLessThanOrEqual(MAX_BLOCK_PAIRS)
      expect(pairs[0][0]).toBe(k)
    }
    const all = await allPairs('changes', '')
    expect(all.map(p => p[1]).sort()).toEqual([...r.ids].sort())
    const cursors = all.map(p => p[0])
    expect([...cursors].sort()).toEqual(cursors)
    expect(new Set(cursors).size).toBe(2500)
    // bounds that fall inside blocks and on block starts
    for (const at of [0, 1, 1023, 1024, 1025, 2047, 2048, 2499]) {
      const c = cursors[at]
      expect((await allPairs('changes', '', { after: c })).map(p => p[0])).toEqual(cursors.slice(at + 1))
      expect((await allPairs('changes', '', { from: c })).map(p => p[0])).toEqual(cursors.slice(at))
      expect((await allPairs('changes', '', { before: c })).map(p => p[0])).toEqual(cursors.slice(0, at))
      expect((await allPairs('byType', postingPrefix('ipv4'), { from: cursors[0], after: c, before: cursors[2499] })).map(p => p[0])).toEqual(cursors.slice(at + 1, 2499))
    }
    expect(await findPosting(h.store, 'byType', postingPrefix('ipv4'), cursors[1500])).toBe(all[1500][1])
    expect(await findPosting(h.store, 'byType', postingPrefix('domain'), cursors[1500])).toBeUndefined()
    await expectConsistent(h.store)
  })

  it('a new version leaves its old pairs behind, and queries skip them', async () => {
    await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('domain', 'a.example', { tags: ['old'] })] }])
    await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('domain', 'a.example', { tags: ['new'] })] }])
    expect(await allPairs('changes', '')).toHaveLength(2)
    expect(await allPairs('byTag', postingPrefix('old'))).toHaveLength(1)
    expect((await queryIndicators(h.store, { tag: 'old', limit: 10 })).indicators).toEqual([])
    expect((await queryIndicators(h.store, { tag: 'new', limit: 10 })).indicators.map(x => x.value)).toEqual(['a.example'])
    expect((await queryIndicators(h.store, { limit: 10 })).indicators).toHaveLength(1)
    await expectConsistent(h.store)
  })

  it('checkStore names a missing pair, a pair pointing at no indicator, a pair out of order and a malformed block', async () => {
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('domain', 'a.example', { tags: ['x'] }), ind('domain', 'b.example', { tags: ['x'] })] }])
    // the store writes only through Ingest: damage its LevelDB while it is closed
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    await damageStore(path, async b => {
      const [tagBlock] = await b.byTag.keys().all()
      await b.byTag.del(tagBlock)
    })
    let report = await verifyStoreAt(path)
    expect(report.ok).toBe(false)
    expect(report.problems.filter(p => p.kind === 'index').map(p => p.message).sort()).toEqual(r.ids.map(id => `index pair for ${id} missing`).sort())

    const stray = '0'.repeat(32)
    await damageStore(path, async b => {
      const [typeBlock] = await b.byType.keys().all()
      const typePrefix = typeBlock.slice(0, -14)
      await b.byType.put(typePrefix + 'fffffffffffff0', 'fffffffffffff0' + stray + '00000000000001' + stray)
      await b.changes.put('00000000000000', 'nonsense')
    })
    report = await verifyStoreAt(path)
    const messages = report.problems.map(p => p.message)
    expect(messages).toContain(`points at missing indicator ${stray}`)
    expect(messages).toContain('cursor 00000000000001 is out of order')
    expect(messages).toContain('posting block "00000000000000" is malformed')
  })
})

describe('cursors', () => {
  it('cursorFromMicros is 14 hex digits of the microseconds, also across its cached prefix (property)', async () => {
    const { cursorFromMicros } = await import('../../../src/store/keys.js')
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 9000 }), (m, step) => {
      for (const x of [m, Math.min(m + step, Number.MAX_SAFE_INTEGER)]) {
        if (cursorFromMicros(x) !== x.toString(16).padStart(14, '0')) return false
      }
      return true
    }), { numRuns: 2000 })
  })
})
