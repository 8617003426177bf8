/**
 * Rules of the store's derivation (src/store/ingest/derive.ts) that decide who may receive
 * what: only the origin relabels its own indicator, a relabel changes a label only when it
 * loosens, and every log a record arrives in joins its reach (revoke and relabel go there).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { indicatorId, type Item } from '../../../src/records/index.js'
import { reachOf } from '../../../src/tlp/index.js'
import { openStore, RemoteLog, type StoreHarness } from '../../utils/store.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })
async function store (): Promise<StoreHarness> {
  const h = await openStore({ policy: { check () {} } })
  harnesses.push(h)
  return h
}
const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

describe('derivation rules', () => {
  it('a relabel by another origin than the indicator\'s is refused, and the label stays', async () => {
    const h = await store()
    const a = new RemoteLog(undefined, 'x')
    const b = new RemoteLog(undefined, 'x')
    await h.ingest.ingest(a.next([domain('a.example')], { tlp: 'AMBER' }), 'gossip')
    const id = indicatorId(a.origin, 'domain', 'a.example')
    await expect(h.ingest.ingest(b.next([{ kind: 'relabel', id, tlp: 'CLEAR' }], { tlp: 'CLEAR' }), 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_FORBIDDEN', field: 'id' })
    expect(h.store.getIndicator(id)!.tlp).toBe('AMBER')
  })

  it('a relabel of an indicator this node never held (and did not purge) is refused', async () => {
    const h = await store()
    const a = new RemoteLog(undefined, 'x')
    const id = indicatorId(a.origin, 'domain', 'never.example')
    await expect(h.ingest.ingest(a.next([{ kind: 'relabel', id, tlp: 'CLEAR' }], { tlp: 'CLEAR' }), 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_FORBIDDEN' })
  })

  it('the origin\'s relabel loosens; a later one that does not loosen (arriving through another log) changes nothing', async () => {
    const h = await store()
    const a = new RemoteLog(undefined, 'x')
    await h.ingest.ingest(a.next([domain('r.example')], { tlp: 'AMBER' }), 'gossip')
    const id = indicatorId(a.origin, 'domain', 'r.example')
    expect((await h.ingest.ingest(a.next([{ kind: 'relabel', id, tlp: 'CLEAR' }], { tlp: 'CLEAR' }), 'gossip')).status).toBe('stored')
    expect(h.store.getIndicator(id)!.tlp).toBe('CLEAR')
    expect((await h.ingest.ingest(a.next([{ kind: 'relabel', id, tlp: 'GREEN' }], { tlp: 'GREEN' }), 'gossip')).status).toBe('stored')
    expect(h.store.getIndicator(id)!.tlp).toBe('CLEAR')
  })

  it('an older version arriving through another log widens the reach, and changes nothing else', async () => {
    const h = await store()
    const key = new RemoteLog(undefined, 'x').key
    const inX = new RemoteLog(key, 'x')
    const inY = new RemoteLog(key, 'y')
    const later = new Date(Date.now() + 1000).toISOString()
    const earlier = new Date(Date.now() - 1000).toISOString()
    await h.ingest.ingest(inX.next([domain('both.example')], { tlp: 'GREEN', created: later }), 'gossip')
    const id = indicatorId(key.publicKeyHex, 'domain', 'both.example')
    const before = h.store.getIndicator(id)!
    await h.ingest.ingest(inY.next([{ ...domain('both.example'), confidence: 10 } as Item], { tlp: 'GREEN', created: earlier }), 'gossip')
    const after = h.store.getIndicator(id)!
    expect(reachOf(after)).toEqual(['x', 'y'])
    expect({ ...after, reach: undefined }).toEqual({ ...before, reach: undefined })
    expect(after.confidence).toBe(50)
  })
})
