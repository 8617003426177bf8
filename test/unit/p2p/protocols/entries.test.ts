/**
 * The entries protocol's limits: who may ask, what a request must name, how much one reply
 * holds (count and bytes), and the client's check of what comes back. Real LevelDB, real
 * signed entries, requests through the protocols' framing on a real libp2p stream pair.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { OrgKey } from '../../../../src/identity/index.js'
import { packItems, type IndicatorItem } from '../../../../src/records/index.js'
import { MAX_ENTRIES_PER_REQUEST, entriesHandler, fetchEntry } from '../../../../src/p2p/protocols/entries.js'
import { MAX_FRAME } from '../../../../src/p2p/protocols/framing.js'
import { RemoteLog, openStore, type StoreHarness } from '../../../utils/store.js'
import { circleState, orgPeerId, request } from '../../../utils/p2p.js'
import type { PeerId } from '@libp2p/interface'

const CIRCLE = 'c-entries'
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] })

describe('entries protocol', () => {
  let h: StoreHarness
  let origin: RemoteLog
  const askerSeed = randomBytes(32)
  const asker = OrgKey.fromSeed(askerSeed)
  let askerPeer: PeerId
  const self = OrgKey.fromSeed(randomBytes(32))
  const circles = (members: OrgKey[], removed: OrgKey[] = []): { get: (id: string) => any, mine: () => any[] } => {
    const s = circleState(CIRCLE, members, removed)
    return { get: (id) => id === CIRCLE ? s : undefined, mine: () => [s] }
  }

  beforeEach(async () => {
    h = await openStore()
    origin = new RemoteLog(OrgKey.fromSeed(randomBytes(32)), CIRCLE)
    askerPeer = await orgPeerId(askerSeed)
  })
  afterEach(async () => { await h.close() })

  async function store (n: number): Promise<void> {
    for (let i = 0; i < n; i++) await h.ingest.ingest(origin.next([ind(`e${origin.seq}.example`)]), 'test')
  }

  it('refuses an org that is not a member of the circle', async () => {
    const reply = await request(entriesHandler({ circles: circles([self]), store: h.store }), askerPeer, { circle: CIRCLE, origin: origin.origin, from: 1, to: 1 }).catch(e => e)
    expect(reply.code).toBe('PX_ERR_NOT_MEMBER')
  })

  it('refuses a member that was removed', async () => {
    const reply = await request(entriesHandler({ circles: circles([self], [asker]), store: h.store }), askerPeer, { circle: CIRCLE, origin: origin.origin, from: 1, to: 1 }).catch(e => e)
    expect(reply.code).toBe('PX_ERR_NOT_MEMBER')
  })

  it('refuses a circle this node is not in', async () => {
    const reply = await request(entriesHandler({ circles: circles([self, asker]), store: h.store }), askerPeer, { circle: 'c-elsewhere', origin: origin.origin, from: 1, to: 1 }).catch(e => e)
    expect(reply.code).toBe('PX_ERR_UNKNOWN_CIRCLE')
  })

  it.each([
    ['from 0', { from: 0, to: 3 }],
    ['to before from', { from: 3, to: 2 }],
    ['a seq that is not an integer', { from: 1.5, to: 3 }],
    ['no origin', { from: 1, to: 3, origin: undefined }]
  ])('refuses a request with %s', async (_, range) => {
    const reply = await request(entriesHandler({ circles: circles([self, asker]), store: h.store }), askerPeer, { circle: CIRCLE, origin: origin.origin, ...range }).catch(e => e)
    expect(reply.code).toBe('PX_ERR_VALIDATION')
  })

  it(`answers at most ${MAX_ENTRIES_PER_REQUEST} entries, contiguous from \`from\``, async () => {
    await store(MAX_ENTRIES_PER_REQUEST + 20)
    const reply = await request(entriesHandler({ circles: circles([self, asker]), store: h.store }), askerPeer, { circle: CIRCLE, origin: origin.origin, from: 5, to: 10_000 })
    expect(reply.entries).toHaveLength(MAX_ENTRIES_PER_REQUEST)
    expect(reply.entries.map((e: any) => e.seq)).toEqual(Array.from({ length: MAX_ENTRIES_PER_REQUEST }, (_, i) => 5 + i))
  })

  it('stops at the first entry this node lacks', async () => {
    await store(7)
    const reply = await request(entriesHandler({ circles: circles([self, asker]), store: h.store }), askerPeer, { circle: CIRCLE, origin: origin.origin, from: 3, to: 20 })
    expect(reply.entries.map((e: any) => e.seq)).toEqual([3, 4, 5, 6, 7])
  })

  it('stops adding entries once half a reply frame is filled', async () => {
    // ~75 entries of ~63 KB each: more than MAX_FRAME / 2 in all. (The handler is called
    // directly, to measure the reply it builds.)
    const items = Array.from({ length: 40_000 }, (_, i) => ind(`big-${i}.${'x'.repeat(50)}.example`))
    for (const chunk of packItems(items)) await h.ingest.ingest(origin.next(chunk), 'test')
    const reply = await entriesHandler({ circles: circles([self, asker]), store: h.store })({ circle: CIRCLE, origin: origin.origin, from: 1, to: MAX_ENTRIES_PER_REQUEST }, asker.publicKeyHex) as { entries: unknown[] }
    const sizes = reply.entries.map((e: unknown) => JSON.stringify(e).length)
    const total = sizes.reduce((a: number, b: number) => a + b, 0)
    expect(reply.entries.length).toBeLessThan(origin.seq)
    expect(total - sizes.at(-1)!).toBeLessThan(MAX_FRAME / 2)
    expect(total).toBeGreaterThanOrEqual(MAX_FRAME / 2)
  })

  it('fetchEntry refuses a reply with another entry than the one asked for', async () => {
    await store(2)
    const peer = await orgPeerId()
    const hostile = { toPeer: async (_p: PeerId, _proto: string, body: any) => await request(async () => ({ entries: [h.store.getEntry(CIRCLE, origin.origin, 2)] }), askerPeer, body) }
    const honest = { toPeer: async (_p: PeerId, _proto: string, body: any) => await request(entriesHandler({ circles: circles([self, asker]), store: h.store }), askerPeer, body) }
    await expect(fetchEntry(hostile, peer, CIRCLE, origin.origin, 1)).rejects.toMatchObject({ code: 'PX_ERR_PEER' })
    expect(await fetchEntry(honest, peer, CIRCLE, origin.origin, 1)).toEqual(h.store.getEntry(CIRCLE, origin.origin, 1))
  })
})
