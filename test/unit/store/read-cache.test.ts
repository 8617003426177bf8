/**
 * The read cache never serves a stale record: a cached absence, a cached version and a
 * cached value record all give way to what the writer stores next, also with a tiny cache.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, makeIndicatorItem, markCanonical } from '../../../src/records/index.js'
import { lookupValue } from '../../../src/store/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

const ind = (value: string, confidence: number, tags: string[] = []) => markCanonical(makeIndicatorItem({ type: 'domain', value, confidence, tags }))

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

describe('read cache', () => {
  it('a cached miss, version and value record all follow later writes', async () => {
    h = await openStore({ ingest: { sync: false } })
    const pub = async (...items: ReturnType<typeof ind>[]) => await h!.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items }])
    expect(lookupValue(h.store, 'domain', 'cache.example').found).toBe(false) // caches the absence
    const { ids: [id] } = await pub(ind('cache.example', 10))
    expect(lookupValue(h.store, 'domain', 'cache.example').matches.map(m => m.confidence)).toEqual([10])
    await pub(ind('cache.example', 90, ['later']))
    const again = lookupValue(h.store, 'domain', 'cache.example')
    expect(again.matches.map(m => [m.confidence, m.version, m.tags])).toEqual([[90, 2, ['later']]])
    await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [{ kind: 'revoke', id: id! }] }])
    expect(lookupValue(h.store, 'domain', 'cache.example').found).toBe(false)
    expect(lookupValue(h.store, 'domain', 'cache.example', { includeRevoked: true }).matches[0].revoked).toBeDefined()
    await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [{ kind: 'sighting', type: 'domain', value: 'cache.example', count: 2, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z' }] }])
    expect(lookupValue(h.store, 'domain', 'cache.example').sightings?.count).toBe(2)
  })

  it('stays right when the cache holds only two records', async () => {
    h = await openStore({ ingest: { sync: false }, readCacheEntries: 2 })
    const values = Array.from({ length: 50 }, (_, i) => `v${i}.cache.example`)
    for (const v of values) expect(lookupValue(h.store, 'domain', v).found).toBe(false)
    await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: values.map((v, i) => ind(v, i)) }])
    for (const [i, v] of values.entries()) expect(lookupValue(h.store, 'domain', v).matches[0]?.confidence).toBe(i)
    await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: values.map((v, i) => ind(v, 100 - i)) }])
    for (const [i, v] of values.entries()) expect(lookupValue(h.store, 'domain', v).matches[0]?.confidence).toBe(100 - i)
  })
})
