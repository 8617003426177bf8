/**
 * The value filter (src/store/key-filter.ts) lets a lookup or a bulk import skip LevelDB for
 * a value never stored. It must never hide a stored value: no false negatives, also while it
 * is filled in the background after a reopen and while it is rebuilt larger.
 */
import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { join } from 'node:path'
import { pino } from 'pino'
import { KeyFilter } from '../../../src/store/key-filter.js'
import { Ingest, LevelStore, lookupValue } from '../../../src/store/index.js'
import { LOCAL_CIRCLE, makeIndicatorItem, markCanonical, type IndicatorType } from '../../../src/records/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'
import { until } from '../../utils/wait.js'

const ind = (value: string, type: IndicatorType = 'domain') => markCanonical(makeIndicatorItem({ type, value, confidence: 50, tags: [] }))

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

describe('KeyFilter', () => {
  it('says "maybe" for everything until ready, then never misses an added key (property)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ maxLength: 60 }), { maxLength: 300 }), (keys) => {
      const f = new KeyFilter(256)
      for (const k of keys) f.add(k)
      expect(f.mightHave('never added, not ready yet')).toBe(true)
      f.ready = true
      for (const k of keys) expect(f.mightHave(k)).toBe(true)
    }))
  })

  it('answers "no" for ~99% of keys never added at capacity, and asks to grow once past it', () => {
    let full = 0
    const f = new KeyFilter(50_000, () => { full++ })
    for (let i = 0; i < 50_000; i++) f.add(`!xv!domain\x00d${i}.example`)
    expect(full).toBe(0)
    f.ready = true
    let maybe = 0
    for (let i = 0; i < 50_000; i++) if (f.mightHave(`!xv!domain\x00x${i}.example`)) maybe++
    expect(maybe / 50_000).toBeLessThan(0.02)
    f.add('one more')
    f.add('and another')
    expect(full).toBe(1)
  })
})

describe('the store\'s value filter', () => {
  it('finds every stored value after a reopen (filled in the background) and through rebuilds as it grows', async () => {
    h = await openStore({ ingest: { sync: false }, valueFilterCapacity: 64 })
    await until('the filter of the empty store', () => h!.store.valueFilterReady)
    const values = Array.from({ length: 1500 }, (_, i) => `v${i}.filter.example`)
    // 1,500 keys into a filter sized for 64: it is rebuilt larger (x4) while values arrive
    for (let i = 0; i < values.length; i += 100) {
      await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: values.slice(i, i + 100).map(v => ind(v)) }])
      for (const v of values.slice(0, i + 100)) expect(lookupValue(h.store, 'domain', v).found, v).toBe(true)
    }
    await until('the rebuilt filter', () => h!.store.valueFilterReady)
    for (const v of values) expect(lookupValue(h.store, 'domain', v).found).toBe(true)
    expect(lookupValue(h.store, 'domain', 'absent.filter.example').found).toBe(false)

    // reopen: lookups are right before and after the background fill
    await h.ingest.stop()
    await h.store.close()
    const store = new LevelStore({ path: join(h.dir, 'db'), valueFilterCapacity: 64 })
    await store.open()
    const ingest = new Ingest({ store, key: h.key, policy: { check () {} }, log: pino({ level: 'silent' }) }, { sync: false })
    await ingest.start()
    h = { ...h, store, ingest }
    expect(lookupValue(store, 'domain', values[7]).found).toBe(true)
    await until('the filled filter', () => store.valueFilterReady)
    for (const v of values) expect(lookupValue(store, 'domain', v).found).toBe(true)
    // a value published again is a new version of the same record, not a second record
    await ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [ind(values[3]), ind('new.filter.example')] }])
    expect(lookupValue(store, 'domain', values[3]).matches.map(m => m.version)).toEqual([2])
    expect(lookupValue(store, 'domain', 'new.filter.example').found).toBe(true)
    expect(store.counts().indicators).toBe(1501)
  })

  it('holds the host index too: a domain finds every URL on it after a reopen and through rebuilds', async () => {
    h = await openStore({ ingest: { sync: false }, valueFilterCapacity: 64 })
    await until('the filter of the empty store', () => h!.store.valueFilterReady)
    const hosts = Array.from({ length: 300 }, (_, i) => `h${i}.filter.example`)
    for (let i = 0; i < hosts.length; i += 50) {
      await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: hosts.slice(i, i + 50).map(x => ind(`http://${x}/`, 'url')) }])
      for (const x of hosts.slice(0, i + 50)) expect(lookupValue(h.store, 'domain', x).matches.map(m => m.match), x).toEqual(['url-host'])
    }
    await h.ingest.stop()
    await h.store.close()
    const store = new LevelStore({ path: join(h.dir, 'db'), valueFilterCapacity: 64 })
    await store.open()
    h = { ...h, store, ingest: new Ingest({ store, key: h.key, policy: { check () {} }, log: pino({ level: 'silent' }) }, { sync: false }) }
    await h.ingest.start()
    await until('the filled filter', () => store.valueFilterReady)
    for (const x of hosts) expect(lookupValue(store, 'domain', x).found, x).toBe(true)
    expect(lookupValue(store, 'domain', 'absent.filter.example').found).toBe(false)
  })
})
