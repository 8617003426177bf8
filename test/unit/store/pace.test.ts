/**
 * The pace of own write groups (issue 17; store/ingest/pace.ts): sustained single publishes to
 * a circle share entries when write groups may start only once per `paceMs`, so that an
 * origin's entries stay within the entry quota members grant. Every publish is still
 * acknowledged with its own id and the entry holding its record. Publishes to the private
 * scope (never gossiped), bulk calls and a stopping writer do not wait. Real LevelDB.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, indicatorId, makeIndicatorItem, type Item } from '../../../src/records/index.js'
import type { PublishResult } from '../../../src/store/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'
import { ownEntryPaceMs } from '../../../src/p2p/index.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })

async function open (paceMs: number): Promise<StoreHarness> {
  const h = await openStore({ ingest: { sync: false } })
  h.ingest.paceGroups(paceMs)
  harnesses.push(h)
  return h
}

const ind = (value: string): Item => makeIndicatorItem({ type: 'domain', value, confidence: 50, tags: [] })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** `n` single publishes to `circle`, one every `everyMs`; each resolves to its receipt */
async function trickle (h: StoreHarness, circle: string, n: number, everyMs: number): Promise<PublishResult[]> {
  const calls: Array<Promise<PublishResult>> = []
  for (let i = 0; i < n; i++) {
    calls.push(h.ingest.publish([{ circle, tlp: 'GREEN', items: [ind(`${circle.replace(/[^a-z0-9]/g, '')}-p${i}.example`)] }]))
    await sleep(everyMs)
  }
  return await Promise.all(calls)
}

describe('the pace of own write groups', () => {
  it('single publishes every 5 ms to a circle share entries at a pace of 40 ms; each keeps its own id and entry', async () => {
    const h = await open(40)
    const me = h.key.publicKeyHex
    const t0 = performance.now()
    const results = await trickle(h, 'c1', 30, 5)
    const ms = performance.now() - t0
    const entries = h.store.counts().entries
    // 30 publishes over ~150 ms (longer on a loaded machine) at one group per 40 ms
    expect(entries).toBeLessThanOrEqual(Math.ceil(ms / 40) + 1)
    expect(entries).toBeLessThan(15)
    expect(h.store.counts().indicators).toBe(30)
    results.forEach((r, i) => {
      expect(r.ids).toEqual([indicatorId(me, 'domain', `c1-p${i}.example`)])
      const e = h.store.getEntry('c1', me, r.entries[0].seq)!
      expect(e.items.map(x => (x as any).value)).toContain(`c1-p${i}.example`)
    })
    expect(h.store.head('c1', me)?.seq).toBe(entries)
  })

  it('without a pace the same publishes take about one entry each', async () => {
    const h = await open(0)
    await trickle(h, 'c1', 30, 5)
    expect(h.store.counts().entries).toBeGreaterThan(15)
  })

  it('publishes to the private scope are not paced (they are never gossiped)', async () => {
    const h = await open(40)
    await trickle(h, LOCAL_CIRCLE, 30, 5)
    expect(h.store.counts().entries).toBeGreaterThan(15)
  })

  it('a bulk call and a stopping writer do not wait for the pace', async () => {
    const h = await open(60_000)
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('first.example')] }])
    // within the pace: a bulk call goes at once
    const t0 = performance.now()
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: Array.from({ length: 200 }, (_, i) => ind(`bulk${i}.example`)) }])
    expect(performance.now() - t0).toBeLessThan(30_000)
    // a small publish waits out the pace, unless the writer stops: then it is written first
    const small = h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('waiting.example')] }])
    let done = false
    void small.then(() => { done = true })
    await sleep(50)
    expect(done).toBe(false)
    await h.ingest.stop()
    expect(done).toBe(true)
    expect((await small).ids).toHaveLength(1)
  })

  it('a node paces at the entry quota members grant, or at store.paceMs when that is slower', () => {
    // the default quota (100 entries/s) with its 0.9 margin: one group per 12 ms
    expect(ownEntryPaceMs()).toBe(12)
    expect(ownEntryPaceMs({ entriesPerSecond: 10 })).toBe(112)
    // store.paceMs only slows the pace: 0 (the default) and anything faster than the quota's keep it
    expect(ownEntryPaceMs(undefined, 0)).toBe(12)
    expect(ownEntryPaceMs(undefined, 5)).toBe(12)
    expect(ownEntryPaceMs(undefined, 100)).toBe(100)
    expect(ownEntryPaceMs({ entriesPerSecond: 10 }, 100)).toBe(112)
  })
})
