/**
 * Group commit at the origin (issue 17, part 1; store/ingest/coalesce.ts). Publish calls that
 * wait in the writer's queue together share entries: every call still gets the ids of its own
 * records, in its own order, and the receipts of the entries that hold them, and the records
 * are stored as if each call had its own entry (a later call's version wins). A call of another
 * circle or TLP, or a re-share, keeps entries of its own. An idle writer waits `lingerMs` after
 * a small publish so that the next ones join it; a bulk call does not wait.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { indicatorId, makeIndicatorItem, type Item } from '../../../src/records/index.js'
import { coalesce } from '../../../src/store/ingest/coalesce.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })

async function open (lingerMs = 0): Promise<StoreHarness> {
  const h = await openStore({ ingest: { sync: false, lingerMs } })
  harnesses.push(h)
  return h
}

const ind = (value: string, confidence = 50): Item => makeIndicatorItem({ type: 'domain', value, confidence, tags: [] })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('publish calls that wait together share entries', () => {
  it('40 single publishes at once: fewer entries than calls; each call gets its own id and the entry that holds its record', async () => {
    const h = await open()
    const me = h.key.publicKeyHex
    const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind(`gc${i}.example`)] }])))
    expect(h.store.counts().entries).toBeLessThan(40)
    expect(h.store.counts().indicators).toBe(40)
    results.forEach((r, i) => {
      expect(r.ids).toEqual([indicatorId(me, 'domain', `gc${i}.example`)])
      expect(r.entries).toHaveLength(1)
      const e = h.store.getEntry('c1', me, r.entries[0].seq)!
      expect(e.items.map(x => (x as any).value)).toContain(`gc${i}.example`)
      expect(r.entries[0]).toMatchObject({ circle: 'c1', origin: me, items: e.items.length })
    })
    // the log is one chain, seq 1… without a gap
    expect(h.store.head('c1', me)?.seq).toBe(h.store.counts().entries)
  })

  it('calls keep their own circles and labels, a call of two batches gets both, and the later call\'s version of a value wins', async () => {
    const h = await open(50)
    const me = h.key.publicKeyHex
    const [a, b, c, d] = await Promise.all([
      h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('same.example', 10), ind('a.example')] }]),
      h.ingest.publish([{ circle: 'c2', tlp: 'GREEN', items: [ind('b.example')] }, { circle: 'c1', tlp: 'GREEN', items: [ind('b1.example')] }]),
      h.ingest.publish([{ circle: 'c1', tlp: 'AMBER', items: [ind('c.example')] }]),
      h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('same.example', 90)] }])
    ])
    // one entry per (circle, TLP): c1 GREEN holds a's, b's second batch and d's records
    expect(h.store.counts().entries).toBe(3)
    expect(a.entries).toEqual(d.entries)
    expect(b.ids).toEqual([indicatorId(me, 'domain', 'b.example'), indicatorId(me, 'domain', 'b1.example')])
    expect(b.entries.map(e => e.circle)).toEqual(['c2', 'c1'])
    expect(b.entries[1]).toEqual(a.entries[0])
    expect(c.entries[0]).toMatchObject({ circle: 'c1', items: 1 })
    expect(h.store.getIndicator(indicatorId(me, 'domain', 'c.example'))).toMatchObject({ tlp: 'AMBER' })
    expect(h.store.getIndicator(indicatorId(me, 'domain', 'same.example'))).toMatchObject({ confidence: 90 })
    expect(h.store.getEntry('c1', me, a.entries[0].seq)!.items).toHaveLength(4)
  })

  it('a re-share keeps an entry of its own (the copies it makes are remembered entry by entry)', async () => {
    const h = await open(50)
    const [plain, reshare] = await Promise.all([
      h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('p.example')] }]),
      h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('r.example')], reshareOf: 'f'.repeat(32) }])
    ])
    expect(plain.entries[0].seq).not.toBe(reshare.entries[0].seq)
    expect((await h.store.copies('f'.repeat(32))).map(c => c.copy)).toEqual(reshare.ids)
  })

  it('an idle writer waits the linger after a small publish, so that one published soon after shares its entry; without a linger it does not', async () => {
    for (const [linger, entries] of [[40, 1], [0, 2]] as const) {
      const h = await open(linger)
      const first = h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('l1.example')] }])
      await sleep(10)
      const second = h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [ind('l2.example')] }])
      await Promise.all([first, second])
      expect(h.store.counts().entries, `linger ${linger}`).toBe(entries)
    }
  })

  it('a bulk call does not wait the linger', async () => {
    const h = await open(1000)
    const t0 = performance.now()
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: Array.from({ length: 500 }, (_, i) => ind(`bulk${i}.example`)) }])
    expect(performance.now() - t0).toBeLessThan(900)
  })
})

describe('coalesce (the split of a composite result)', () => {
  it('gives each call its ids and exactly the entries holding its records, across entries the packer cut', () => {
    const calls = [
      { batches: [{ circle: 'c1', tlp: 'GREEN' as const, items: [ind('a1.example'), ind('a2.example')] }], items: 2, resolve: () => {}, reject: () => {} },
      { batches: [{ circle: 'c1', tlp: 'GREEN' as const, items: [ind('b1.example')] }], items: 1, resolve: () => {}, reject: () => {} }
    ]
    const { batches, split } = coalesce(calls)
    expect(batches).toHaveLength(1)
    expect(batches[0].items).toHaveLength(3)
    // the packer cut the three records into entries of 2 and 1
    const e1 = { hash: 'h1', circle: 'c1', origin: 'o', seq: 1, items: 2 }
    const e2 = { hash: 'h2', circle: 'c1', origin: 'o', seq: 2, items: 1 }
    const [a, b] = split({ entries: [e1, e2], ids: ['i1', 'i2', 'i3'] })
    expect(a).toEqual({ entries: [e1], ids: ['i1', 'i2'] })
    expect(b).toEqual({ entries: [e2], ids: ['i3'] })
  })
})
