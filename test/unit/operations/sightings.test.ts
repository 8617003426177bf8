/**
 * The Sightings use case over a real store (LevelDB in a temp dir, a started Ingest) and a
 * fixed membership view (this node is in circles c1 and c2): what a sighting input may hold
 * (each refusal names its field), the defaults (count 1, times now, the node's TLP, the
 * private scope), its effect on lookup (counts and first/last seen summed over records and
 * origins), and that it passes on no more than a publish of the value would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, makeIndicatorItem, type Item } from '../../../src/records/index.js'
import type { Tlp } from '../../../src/tlp/index.js'
import { openOps, refusal, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
beforeEach(async () => {
  h = await openOps({ defaultTlp: 'GREEN' })
  h.circles.join('c1')
  h.circles.join('c2')
})
afterEach(async () => { await h.close() })

/** an entry of another organization in circle c1, stored as received; its origin */
async function foreign (items: Item[], tlp: Tlp): Promise<string> {
  const remote = new RemoteLog(randomKey(), 'c1')
  await h.ingest.ingest(remote.next(items, { tlp }), 'sync')
  return remote.origin
}

describe('Sightings.record: refusals name their field and store nothing', () => {
  it('a RED sighting never goes to a circle (PX_ERR_TLP_VIOLATION on tlp, nothing stored); in the private scope it is kept', async () => {
    const err = await refusal(async () => await h.sightings.record({ value: 'red-sighting.example', tlp: 'RED', circle: 'c1' }))
    expect({ code: err.code, field: err.field }).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    expect(h.store.counts().entries).toBe(0)
    const kept = await h.sightings.record({ value: 'red-sighting.example', tlp: 'RED' })
    expect(kept.entry).toMatchObject({ circle: LOCAL_CIRCLE })
    expect(h.store.getEntry(LOCAL_CIRCLE, h.me, kept.entry.seq)?.tlp).toBe('RED')
  })

  it('the body: not an object (field ""), an unknown field (by name)', async () => {
    for (const body of [null, 'evil.example', [{ value: 'evil.example' }]]) {
      expect(await refusal(async () => await h.sightings.record(body))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: '' })
    }
    expect(await refusal(async () => await h.sightings.record({ value: 'evil.example', seen: 3 }))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'seen' })
    expect(h.store.counts().entries).toBe(0)
  })

  it('the value and type, read as a lookup reads them', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'value'],
      [{ value: '  ' }, 'value'],
      [{ value: 7 }, 'value'],
      [{ value: 'no such thing !!' }, 'value'],
      [{ value: 'evil.example', type: 'colour' }, 'type'],
      [{ value: 'evil.example', type: 'ipv4' }, 'value']
    ]
    for (const [body, field] of cases) {
      const err = await refusal(async () => await h.sightings.record(body))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code: 'PX_ERR_VALIDATION', field })
    }
    expect(h.store.counts().entries).toBe(0)
  })

  it('count: an integer from 1 to 1,000,000,000', async () => {
    for (const count of [0, -1, 1.5, '3', 1_000_000_001]) {
      const err = await refusal(async () => await h.sightings.record({ value: 'count.example', count }))
      expect({ count, code: err.code, field: err.field }).toEqual({ count, code: 'PX_ERR_VALIDATION', field: 'count' })
    }
    expect(h.store.counts().entries).toBe(0)
    expect((await h.sightings.record({ value: 'count.example', count: 1_000_000_000 })).sightings?.count).toBe(1_000_000_000)
  })

  it('times: a bad firstSeen or lastSeen by name; a lastSeen before the firstSeen on lastSeen', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ firstSeen: 'yesterday' }, 'firstSeen'],
      [{ lastSeen: '2026-02-30' }, 'lastSeen'],
      [{ firstSeen: '2026-01-01', lastSeen: 'later' }, 'lastSeen'],
      [{ firstSeen: '2026-01-02', lastSeen: '2026-01-01T23:59:59Z' }, 'lastSeen']
    ]
    for (const [body, field] of cases) {
      const err = await refusal(async () => await h.sightings.record({ value: 'times.example', ...body }))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code: 'PX_ERR_VALIDATION', field })
    }
    expect(h.store.counts().entries).toBe(0)
  })

  it('note, TLP and circle: a bad note or label by name, a circle this node is not in is PX_ERR_UNKNOWN_CIRCLE', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ note: 5 }, 'PX_ERR_VALIDATION', 'note'],
      [{ note: 'n'.repeat(1025) }, 'PX_ERR_VALIDATION', 'note'],
      [{ tlp: 'PURPLE' }, 'PX_ERR_VALIDATION', 'tlp'],
      [{ circle: 7 }, 'PX_ERR_VALIDATION', 'circle'],
      [{ circle: 'c-nope' }, 'PX_ERR_UNKNOWN_CIRCLE', 'circle']
    ]
    for (const [body, code, field] of cases) {
      const err = await refusal(async () => await h.sightings.record({ value: 'note.example', ...body }))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code, field })
    }
    expect(h.store.counts().entries).toBe(0)
  })
})

describe('Sightings.record: what is written', () => {
  it('defaults: count 1, first and last seen now, the node\'s default TLP, the private scope', async () => {
    const t0 = new Date().toISOString()
    const r = await h.sightings.record({ value: 'defaults.example' })
    const t1 = new Date().toISOString()
    expect(r.entry).toMatchObject({ circle: LOCAL_CIRCLE, origin: h.me, seq: 1, items: 1 })
    const e = h.store.getEntry(LOCAL_CIRCLE, h.me, 1)!
    expect(e.tlp).toBe('GREEN')
    const item = e.items[0]
    expect(item).toMatchObject({ kind: 'sighting', type: 'domain', value: 'defaults.example', count: 1 })
    expect(item).not.toHaveProperty('note')
    const { firstSeen, lastSeen } = item as { firstSeen: string, lastSeen: string }
    expect(firstSeen).toBe(lastSeen)
    expect(firstSeen >= t0 && firstSeen <= t1).toBe(true)
  })

  it('one time given stands for both; the note is trimmed; the label and circle given are used', async () => {
    await h.sightings.record({ value: 'one-time.example', firstSeen: '2026-03-01', note: '  from the proxy logs  ', tlp: 'amber', circle: 'c1' })
    await h.sightings.record({ value: 'one-time.example', lastSeen: '2026-03-05T10:00:00+02:00', circle: 'c1', tlp: 'AMBER' })
    expect(h.store.getEntry('c1', h.me, 1)).toMatchObject({ tlp: 'AMBER', items: [{ firstSeen: '2026-03-01T00:00:00.000Z', lastSeen: '2026-03-01T00:00:00.000Z', note: 'from the proxy logs' }] })
    expect(h.store.getEntry('c1', h.me, 2)).toMatchObject({ items: [{ firstSeen: '2026-03-05T08:00:00.000Z', lastSeen: '2026-03-05T08:00:00.000Z' }] })
  })

  it('sightings of a value add up, by origin too, and show in its lookup (the value given in a defanged form)', async () => {
    const published = await h.indicators.publishBody({ value: '192.0.2.44', tlp: 'GREEN' })
    const other = await foreign([{ kind: 'sighting', type: 'ipv4', value: '192.0.2.44', count: 10, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-03T00:00:00.000Z' }], 'GREEN')
    const first = await h.sightings.record({ value: '192[.]0[.]2[.]44', count: 2, firstSeen: '2026-01-02', lastSeen: '2026-01-04' })
    expect(first.sightings).toEqual({
      type: 'ipv4',
      value: '192.0.2.44',
      count: 12,
      firstSeen: '2026-01-01T00:00:00.000Z',
      lastSeen: '2026-01-04T00:00:00.000Z',
      origins: {
        [other]: { count: 10, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-03T00:00:00.000Z', action: 'seen', actions: { seen: { count: 10, lastSeen: '2026-01-03T00:00:00.000Z' } } },
        [h.me]: { count: 2, firstSeen: '2026-01-02T00:00:00.000Z', lastSeen: '2026-01-04T00:00:00.000Z', action: 'seen', actions: { seen: { count: 2, lastSeen: '2026-01-04T00:00:00.000Z' } } }
      }
    })
    await h.sightings.record({ value: '192.0.2.44', type: 'ipv4', count: 3, firstSeen: '2025-12-31', lastSeen: '2026-01-01' })
    const l = h.indicators.lookup('192.0.2.44')
    expect(l.found).toBe(true)
    expect(l.matches.map(m => m.id)).toEqual(published.ids)
    expect(l.sightings).toMatchObject({ count: 15, firstSeen: '2025-12-31T00:00:00.000Z', lastSeen: '2026-01-04T00:00:00.000Z', origins: { [h.me]: { count: 5, firstSeen: '2025-12-31T00:00:00.000Z', lastSeen: '2026-01-04T00:00:00.000Z' } } })
    expect(h.store.counts().sightings).toBe(1)
  })

  it('a value no indicator carries: lookup finds no indicator but shows the sightings', async () => {
    await h.sightings.record({ value: 'only-seen.example', count: 4 })
    const l = h.indicators.lookup('only-seen.example')
    expect(l).toMatchObject({ found: false, matches: [], sightings: { count: 4, origins: { [h.me]: { count: 4 } } } })
  })
})

describe('Sightings.record: a sighting passes on no more than a publish of its value', () => {
  it('another org\'s AMBER value from c1: a sighting in c1 or the private scope at AMBER is taken; in c2 it is PX_ERR_TLP_VIOLATION on value, looser on tlp', async () => {
    await foreign([makeIndicatorItem({ type: 'domain', value: 'held.example', confidence: 70, tags: [] })], 'AMBER')
    for (const [body, field] of [[{ circle: 'c2', tlp: 'AMBER' }, 'value'], [{ circle: 'c1', tlp: 'GREEN' }, 'tlp'], [{ tlp: 'CLEAR' }, 'tlp'], [{ circle: 'local', tlp: 'GREEN' }, 'value']] as const) {
      const err = await refusal(async () => await h.sightings.record({ value: 'held.example', ...body }))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code: 'PX_ERR_TLP_VIOLATION', field })
    }
    expect(h.store.head('c2', h.me)).toBeUndefined()
    expect((await h.sightings.record({ value: 'held.example', circle: 'c1', tlp: 'AMBER' })).entry.circle).toBe('c1')
    expect((await h.sightings.record({ value: 'held.example', tlp: 'RED' })).entry.circle).toBe(LOCAL_CIRCLE)
    expect(h.indicators.lookup('held.example').sightings?.origins[h.me]?.count).toBe(2)
  })

  it('a GREEN value held from c1 is not sighted into c2 (a sighting is never an explicit re-share)', async () => {
    await foreign([makeIndicatorItem({ type: 'domain', value: 'green-held.example', confidence: 70, tags: [] })], 'GREEN')
    const err = await refusal(async () => await h.sightings.record({ value: 'green-held.example', circle: 'c2', tlp: 'GREEN' }))
    expect(err).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'value' })
    expect((await h.sightings.record({ value: 'green-held.example', circle: 'c1', tlp: 'GREEN' })).entry.circle).toBe('c1')
  })

  it('a CLEAR value held from c1 may be sighted in any circle', async () => {
    await foreign([makeIndicatorItem({ type: 'domain', value: 'clear-held.example', confidence: 70, tags: [] })], 'CLEAR')
    expect((await h.sightings.record({ value: 'clear-held.example', circle: 'c2', tlp: 'CLEAR' })).entry.circle).toBe('c2')
  })
})
