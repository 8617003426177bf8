/**
 * Early entries and their gaps: held per log (bounded in count, bytes and age, per log and in
 * total), released in order when the entry before them is stored, and a gap still open after
 * GAP_FILL_DELAY_MS fetched from the relay, one fill per log at a time. Real signed entries and
 * the real ingest path (through the validator's judge). Since data logs store an entry ahead
 * of a gap (store/ingest/chain.ts), only logs read in order hold entries here in a node; the
 * buffer itself does not care which log it holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PeerId } from '@libp2p/interface'
import { membershipLogOf } from '../../../../src/circles/index.js'
import type { IndicatorItem } from '../../../../src/records/index.js'
import { DEFAULT_PENDING_LIMITS, GAP_FILL_DELAY_MS, GAP_FILL_INTERVAL_MS, MAX_PENDING_PER_LOG, PendingEntries, type PendingComponents } from '../../../../src/p2p/gossip/pending.js'
import { GossipValidator } from '../../../../src/p2p/gossip/validator.js'
import { RemoteLog, openStore, sleep, type StoreHarness } from '../../../utils/store.js'
import { orgPeerId, silent } from '../../../utils/p2p.js'

const CIRCLE = 'c-pending'
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] })

describe('PendingEntries', () => {
  let h: StoreHarness
  let p: PendingEntries
  let syncs: Array<{ circle: string, origin: string, to: number }>
  let fetched: Array<{ circle: string, from: number, to: number }>
  let serve: (from: number, to: number) => unknown[]
  let relay: PeerId
  const stop = new AbortController()

  beforeEach(async () => {
    h = await openStore()
    syncs = []
    fetched = []
    serve = () => []
    relay = await orgPeerId()
    const v: GossipValidator = new GossipValidator({ circles: { circleKey: () => null, admit: () => null }, ingest: h.ingest, log: silent, onEarly: (raw, gap, from) => { p.early(raw, gap, from) } })
    components = {
      store: h.store,
      judge: async (raw, source) => await v.judge(raw, source),
      syncGap: (circle, _peer, origin, to) => { syncs.push({ circle, origin, to }) },
      fetchEntries: async (_peer, circle, _origin, from, to) => { fetched.push({ circle, from, to }); return serve(from, to) },
      log: silent,
      signal: stop.signal
    }
    p = new PendingEntries(components)
  })
  let components: PendingComponents
  afterEach(async () => { await h.close() })

  it('releases the held run that follows a stored entry, in order', async () => {
    const log = new RemoteLog(undefined, CIRCLE)
    const [e1, e2, e3, e4] = [1, 2, 3, 4].map(i => log.next([ind(`p${i}.example`)]))
    for (const e of [e4, e3, e2]) p.hold(JSON.parse(JSON.stringify(e)))
    expect(p.held(CIRCLE, log.origin)).toBe(3)
    await h.ingest.ingest(e1, 'gossip')
    p.drain(e1)
    expect(p.held(CIRCLE, log.origin)).toBe(0)
    await until(() => h.store.head(CIRCLE, log.origin)?.seq === 4)
    expect(h.store.getEntry(CIRCLE, log.origin, 4)).toEqual(e4)
  })

  it('releases nothing across a gap that is still open', async () => {
    const log = new RemoteLog(undefined, CIRCLE)
    const [e1, , e3] = [1, 2, 3].map(i => log.next([ind(`g${i}.example`)]))
    p.hold(e3)
    await h.ingest.ingest(e1, 'gossip')
    p.drain(e1)
    expect(p.held(CIRCLE, log.origin)).toBe(1)
  })

  it(`holds at most ${MAX_PENDING_PER_LOG} entries per log`, () => {
    const origin = 'ab'.repeat(32)
    for (let seq = 2; seq < MAX_PENDING_PER_LOG + 10; seq++) p.hold({ circle: CIRCLE, origin, seq })
    expect(p.held(CIRCLE, origin)).toBe(MAX_PENDING_PER_LOG)
    p.hold({ circle: CIRCLE, origin: 'cd'.repeat(32), seq: 2 })
    expect(p.held(CIRCLE, 'cd'.repeat(32))).toBe(1)
    expect(p.size.dropped).toBe(8)
  })

  it('holds at most `entries` and `bytes` in all, and `perLogBytes` per log', () => {
    const q = new PendingEntries({ ...components, limits: { entries: 5, bytes: 10_000, perLogBytes: 3_100 } })
    const pad = 'x'.repeat(900)
    for (let o = 0; o < 4; o++) for (let seq = 2; seq < 6; seq++) q.hold({ circle: CIRCLE, origin: String(o).repeat(64), seq, pad })
    // per log: 3 of ~1 KB fit in 3,100 bytes; in all: 5 entries
    expect(q.held(CIRCLE, '0'.repeat(64))).toBe(3)
    expect(q.held(CIRCLE, '1'.repeat(64))).toBe(2)
    expect(q.size.entries).toBe(5)
    expect(q.size.bytes).toBeLessThanOrEqual(10_000)
    const r = new PendingEntries({ ...components, limits: { bytes: 2_500 } })
    for (let seq = 2; seq < 6; seq++) r.hold({ circle: CIRCLE, origin: 'ab'.repeat(32), seq, pad })
    expect(r.size.entries).toBe(2)
    expect(DEFAULT_PENDING_LIMITS).toMatchObject({ perLogEntries: MAX_PENDING_PER_LOG })
  })

  it('drops what it held longer than maxAgeMs', async () => {
    const q = new PendingEntries({ ...components, limits: { maxAgeMs: 50 } })
    q.hold({ circle: CIRCLE, origin: 'ab'.repeat(32), seq: 3 })
    q.hold({ circle: CIRCLE, origin: 'cd'.repeat(32), seq: 3 })
    await sleep(80)
    q.hold({ circle: CIRCLE, origin: 'ab'.repeat(32), seq: 4 })
    expect(q.held(CIRCLE, 'ab'.repeat(32))).toBe(1)
    expect(q.held(CIRCLE, 'cd'.repeat(32))).toBe(0)
    expect(q.size).toMatchObject({ entries: 1, dropped: 2 })
  })

  it('a flood of gaps in one log costs one fill, and fills of one log are GAP_FILL_INTERVAL_MS apart', async () => {
    const origin = 'ab'.repeat(32)
    for (let got = 3; got < 500; got++) p.gap(CIRCLE, origin, { have: 0, got }, relay)
    await sleep(GAP_FILL_DELAY_MS * 2)
    expect(syncs).toEqual([{ circle: CIRCLE, origin, to: 498 }])
    p.gap(CIRCLE, origin, { have: 0, got: 600 }, relay)
    await sleep(GAP_FILL_DELAY_MS * 2)
    expect(syncs).toHaveLength(1)
    await sleep(GAP_FILL_INTERVAL_MS)
    expect(syncs).toEqual([{ circle: CIRCLE, origin, to: 498 }, { circle: CIRCLE, origin, to: 599 }])
  })

  it('a data log\'s gap still open after the delay is synced from the relay, up to the seq before the early entry', async () => {
    const log = new RemoteLog(undefined, CIRCLE)
    const e3 = log.peek([ind('d3.example')], { seq: 3, prev: 'ab'.repeat(32) })
    p.early(e3, { have: 0, got: 3 }, relay)
    await sleep(GAP_FILL_DELAY_MS / 2)
    expect(syncs).toEqual([])
    await sleep(GAP_FILL_DELAY_MS)
    expect(syncs).toEqual([{ circle: CIRCLE, origin: log.origin, to: 2 }])
    expect(fetched).toEqual([])
  })

  it('a gap closed within the delay is not fetched', async () => {
    const log = new RemoteLog(undefined, CIRCLE)
    const [e1, e2] = [1, 2].map(i => log.next([ind(`c${i}.example`)]))
    p.early(e2, { have: 0, got: 2 }, relay)
    await h.ingest.ingest(e1, 'gossip')
    await sleep(GAP_FILL_DELAY_MS * 2)
    expect(syncs).toEqual([])
    expect(fetched).toEqual([])
  })

  it('an early entry from no relay (a drain) is held but its gap not fetched', async () => {
    const log = new RemoteLog(undefined, CIRCLE)
    const e3 = log.peek([ind('n3.example')], { seq: 3, prev: 'ab'.repeat(32) })
    p.early(e3, { have: 0, got: 3 })
    await sleep(GAP_FILL_DELAY_MS * 2)
    expect(p.held(CIRCLE, log.origin)).toBe(1)
    expect(syncs).toEqual([])
  })

  it('a membership log\'s gap is fetched over the entries protocol and ingested in order', async () => {
    const log = new RemoteLog(undefined, membershipLogOf(CIRCLE))
    const entries = [1, 2, 3].map(i => log.next([ind(`m${i}.example`)]))
    serve = (from, to) => entries.slice(from - 1, to)
    p.early(entries[2], { have: 0, got: 3 }, relay)
    await until(() => h.store.head(membershipLogOf(CIRCLE), log.origin)?.seq === 2)
    expect(fetched[0]).toEqual({ circle: membershipLogOf(CIRCLE), from: 1, to: 2 })
    expect(syncs).toEqual([])
    // the network drains on ingest's onStored: the held entry follows
    p.drain(entries[1])
    await until(() => h.store.head(membershipLogOf(CIRCLE), log.origin)?.seq === 3)
  })

  it('a fill answered out of range stops without storing the stray entry', async () => {
    const log = new RemoteLog(undefined, membershipLogOf(CIRCLE))
    const entries = [1, 2, 3].map(i => log.next([ind(`o${i}.example`)]))
    serve = () => [entries[1]]
    await p.fill(membershipLogOf(CIRCLE), log.origin, 1, 2, relay)
    expect(h.store.head(membershipLogOf(CIRCLE), log.origin)).toBeUndefined()
  })
})

async function until (fn: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now()
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await sleep(10)
  }
}
