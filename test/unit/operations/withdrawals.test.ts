/**
 * Withdrawals (src/operations/withdrawals.ts, issue 14 part 1): this node's copy of another
 * origin's indicator, re-shared into another circle, is withdrawn (revoked, signed by this
 * node) when that origin revokes the source — unless the copy still stands on its own. Real
 * store and ingest (test/utils/ops.ts); the revokes come in as a remote origin's entries.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { indicatorId, makeIndicatorItem, type Entry } from '../../../src/records/index.js'
import { Withdrawals } from '../../../src/operations/index.js'
import type { StoredEntry } from '../../../src/store/index.js'
import { openOps, refusal, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
let b: RemoteLog

beforeEach(async () => {
  h = await openOps()
  b = new RemoteLog(randomKey(), 'c1')
  h.circles.join('c1', [b.origin])
  h.circles.join('c2')
})
afterEach(async () => { await h.close() })

function withdrawals (): Withdrawals {
  return new Withdrawals({ store: h.store, own: h.me, revoke: async (id, reason) => await h.indicators.revoke(id, reason), log: pino({ level: 'silent' }) })
}

/** B's GREEN indicator, stored as received in c1; its id */
async function theirs (value: string): Promise<string> {
  await h.ingest.ingest(b.next([makeIndicatorItem({ type: 'domain', value, confidence: 70, tags: [] })], { tlp: 'GREEN' }), 'gossip')
  return indicatorId(b.origin, 'domain', value)
}

/** B revokes `id`: the stored entry, as the writer hands it to onStored */
async function bRevokes (id: string, reason?: string): Promise<StoredEntry> {
  const entry: Entry = b.next([reason === undefined ? { kind: 'revoke', id } : { kind: 'revoke', id, reason }], { tlp: 'GREEN' })
  await h.ingest.ingest(entry, 'gossip')
  return { entry, hash: '', source: 'gossip' }
}

describe('a re-shared copy follows its source\'s revoke', () => {
  it('the writer\'s note of B\'s revoke withdraws this node\'s copy, with B\'s reason', async () => {
    const w = withdrawals()
    const source = await theirs('follow.example')
    const copy = (await h.indicators.reshare(source, { circle: 'c2' })).ids[0]
    expect(h.store.getIndicator(copy)?.revoked).toBeUndefined()
    w.noteStored([await bRevokes(source, 'sinkholed')])
    await w.close()
    const ind = h.store.getIndicator(copy)!
    expect(ind.origin).toBe(h.me)
    expect(ind.revoked?.reason).toBe(`withdrawn: re-shared from indicator ${source}, which its origin revoked: sinkholed`)
  })

  it('a revoke stored while no check ran (the node was down) is found by the sweep at start', async () => {
    const source = await theirs('down.example')
    const copy = (await h.indicators.reshare(source, { circle: 'c2' })).ids[0]
    await bRevokes(source) // nobody listening
    expect(h.store.getIndicator(copy)?.revoked).toBeUndefined()
    await withdrawals().sweep()
    expect(h.store.getIndicator(copy)?.revoked?.reason).toMatch(/^withdrawn: /)
  })

  it('a copy that re-shares two sources stays until both are revoked', async () => {
    const w = withdrawals()
    const first = await theirs('two-sources.example')
    const d = new RemoteLog(randomKey(), 'c1')
    await h.ingest.ingest(d.next([makeIndicatorItem({ type: 'domain', value: 'two-sources.example', confidence: 60, tags: [] })], { tlp: 'GREEN' }), 'gossip')
    const second = indicatorId(d.origin, 'domain', 'two-sources.example')
    const copy = (await h.indicators.reshare(first, { circle: 'c2' })).ids[0]
    expect((await h.indicators.reshare(second, { circle: 'c2' })).ids[0]).toBe(copy)
    w.noteStored([await bRevokes(first)])
    await w.sweep()
    expect(h.store.getIndicator(copy)?.revoked).toBeUndefined()
    const entry = d.next([{ kind: 'revoke', id: second }], { tlp: 'GREEN' })
    await h.ingest.ingest(entry, 'gossip')
    w.noteStored([{ entry, hash: '', source: 'gossip' }])
    await w.close()
    expect(h.store.getIndicator(copy)?.revoked).toBeDefined()
  })

  it('a copy this org also published on its own stays; its own records and others\' revokes of unrelated ids are left alone', async () => {
    const w = withdrawals()
    const source = await theirs('also-own.example')
    await h.indicators.publishBody({ value: 'also-own.example', tlp: 'GREEN', circle: 'local' })
    const copy = (await h.indicators.reshare(source, { circle: 'c2' })).ids[0]
    const mine = (await h.indicators.publishBody({ value: 'mine.example', tlp: 'GREEN', circle: 'c1' })).id as string
    const other = await theirs('unrelated.example')
    w.noteStored([await bRevokes(source), await bRevokes(other)])
    await w.sweep()
    expect(h.store.getIndicator(copy)?.revoked).toBeUndefined()
    expect(h.store.getIndicator(mine)?.revoked).toBeUndefined()
    expect(await h.store.copies(other)).toEqual([])
  })

  it('the link is written with the copy, and only for another origin\'s record', async () => {
    const source = await theirs('linked.example')
    const copy = (await h.indicators.reshare(source, { circle: 'c2' })).ids[0]
    expect(await h.store.copies(source)).toEqual([{ source, copy, circle: 'c2', at: h.store.getIndicator(copy)!.created }])
    const mine = (await h.indicators.publishBody({ value: 'mine-moved.example', tlp: 'CLEAR', circle: 'c1' })).id as string
    await h.indicators.reshare(mine, { circle: 'c2' })
    expect(await h.store.copies(mine)).toEqual([])
  })

  it('a revoked indicator is not re-shared: PX_ERR_CONFLICT naming when and why', async () => {
    const source = await theirs('revoked-first.example')
    await bRevokes(source, 'taken down')
    const err = await refusal(async () => await h.indicators.reshare(source, { circle: 'c2' }))
    expect(err.code).toBe('PX_ERR_CONFLICT')
    expect(err.message).toMatch(/was revoked \(.*: taken down\); a revoked indicator is not re-shared/)
  })
})
