/**
 * Derived state does not depend on the order entries arrive in (chain.ts stores an entry
 * ahead of a gap and derives its records at once): any permutation of one origin's log
 * (publishes, updates, revokes, relabels, sightings of a few indicators, with ties in
 * `created`) ingested in that order ends in the same indicator state and counts as in-order
 * ingestion, and in a consistent store with the head at the end of the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SIGHTING_ACTIONS, indicatorId, makeSightingItem, type Entry, type Item, type StoredIndicator } from '../../../src/records/index.js'
import { checkStore, lookupValue } from '../../../src/store/index.js'
import type { Tlp } from '../../../src/tlp/index.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../utils/store.js'

const VALUES = ['a.example', 'b.example', 'c.example']
/** strictest first: a relabel may only move right */
const LOOSENING: Tlp[] = ['AMBER+STRICT', 'AMBER', 'GREEN', 'CLEAR']

type Op =
  | { kind: 'publish', v: number, tlp: number, confidence: number, step: number }
  | { kind: 'revoke', v: number, step: number }
  | { kind: 'relabel', v: number, by: number, step: number }
  | { kind: 'sighting', v: number, count: number, action: number, note: number, step: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('publish' as const), v: fc.nat(2), tlp: fc.nat(1), confidence: fc.nat(100), step: fc.nat(1) }),
  fc.record({ kind: fc.constant('revoke' as const), v: fc.nat(2), step: fc.nat(1) }),
  fc.record({ kind: fc.constant('relabel' as const), v: fc.nat(2), by: fc.integer({ min: 1, max: 3 }), step: fc.nat(1) }),
  fc.record({ kind: fc.constant('sighting' as const), v: fc.nat(2), count: fc.integer({ min: 1, max: 5 }), action: fc.nat(SIGHTING_ACTIONS.length - 1), note: fc.nat(2), step: fc.nat(1) })
)

/** the origin's log as its node would sign it (a relabel only loosens, of a record it holds) */
function buildLog (ops: Op[]): Entry[] {
  const log = new RemoteLog(randomKey(), 'ops')
  const tlpOf = new Map<number, number>()
  let t = Date.parse('2026-01-01T00:00:00.000Z')
  const out: Entry[] = []
  for (const op of ops) {
    t += op.step // steps of 0 make ties in `created`
    const created = new Date(t).toISOString()
    const value = VALUES[op.v]
    const id = indicatorId(log.origin, 'domain', value)
    let item: Item
    let tlp: Tlp = 'AMBER'
    switch (op.kind) {
      case 'publish':
        tlp = LOOSENING[op.tlp]
        tlpOf.set(op.v, op.tlp)
        item = { kind: 'indicator', type: 'domain', value, confidence: op.confidence, tags: [] }
        break
      case 'revoke':
        item = { kind: 'revoke', id, reason: `r${out.length}` }
        break
      case 'relabel': {
        const cur = tlpOf.get(op.v)
        if (cur === undefined || cur + op.by >= LOOSENING.length) continue
        tlpOf.set(op.v, cur + op.by)
        item = { kind: 'relabel', id, tlp: LOOSENING[cur + op.by] }
        break
      }
      case 'sighting':
        // an action and a note: the origin's stance (its latest sighting's) must not depend on arrival
        item = makeSightingItem({ type: 'domain', value, count: op.count, firstSeen: created, lastSeen: created, action: SIGHTING_ACTIONS[op.action], ...(op.note > 0 ? { note: `n${op.note}` } : {}) })
        break
    }
    out.push(log.next([item], { tlp, created }))
  }
  return out
}

/** what a reader sees of an indicator, without what depends on when this node stored it */
function stateOf (h: StoreHarness, origin: string): unknown {
  const indicators = VALUES.map(value => {
    const i = h.store.getIndicator(indicatorId(origin, 'domain', value))
    if (i === undefined) return null
    const { received, cursor, version, ...rest } = i as StoredIndicator
    return { ...rest, found: lookupValue(h.store, 'domain', value, { includeRevoked: true }).found, live: lookupValue(h.store, 'domain', value).found }
  })
  return { indicators, sightings: VALUES.map(value => h.store.sightings('domain', value)?.origins[origin] ?? null) }
}

describe('arrival order', () => {
  let inOrder: StoreHarness
  let shuffled: StoreHarness
  beforeAll(async () => { [inOrder, shuffled] = await Promise.all([openStore(), openStore()]) })
  afterAll(async () => { await Promise.all([inOrder?.close(), shuffled?.close()]) })

  it('any permutation of one origin\'s log ends in the same state as in-order ingestion', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 12 }).chain(ops => {
        const log = buildLog(ops)
        return fc.tuple(fc.constant(log), fc.shuffledSubarray(log.map((_, i) => i), { minLength: log.length, maxLength: log.length }))
      }),
      async ([log, order]) => {
        if (log.length === 0) return
        const before = { a: inOrder.store.counts(), b: shuffled.store.counts() }
        for (const e of log) expect((await inOrder.ingest.ingest(e)).status).toBe('stored')
        for (const i of order) expect((await shuffled.ingest.ingest(log[i])).status).toBe('stored')
        const origin = log[0].origin
        expect(stateOf(shuffled, origin)).toEqual(stateOf(inOrder, origin))
        const delta = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => Object.fromEntries(Object.keys(x).map(k => [k, x[k] - y[k]]))
        expect(delta({ ...shuffled.store.counts() }, { ...before.b })).toEqual(delta({ ...inOrder.store.counts() }, { ...before.a }))
        expect(shuffled.store.head('ops', origin)).toEqual(inOrder.store.head('ops', origin))
        expect(shuffled.store.aheadOf('ops', origin)).toBeUndefined()
      }
    ), { numRuns: 150 })
    const report = await checkStore(shuffled.store)
    expect(report.problems).toEqual([])
  }, 120_000)
})
