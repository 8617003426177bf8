/**
 * Repeated benchmark runs as one result (scripts/runs.ts): issue 17's targets are each the
 * median of 3 runs, and `npm run bench` reports them so.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { medianFields } from '../../../scripts/runs.js'

describe('medianFields', () => {
  it('takes the median of every number, field by field, with each p99 beside its runs', () => {
    const runs = [
      { nodes10: { latency: { p50ms: 30, p99ms: 118, receiverCpuMsPer1k: { median: 3300, max: 3600 } }, perNode: ['a'] } },
      { nodes10: { latency: { p50ms: 35, p99ms: 96, receiverCpuMsPer1k: { median: 3400, max: 3500 } }, perNode: ['b'] } },
      { nodes10: { latency: { p50ms: 53, p99ms: 127, receiverCpuMsPer1k: { median: 3200, max: 3900 } }, perNode: ['c'] } }
    ]
    expect(medianFields(runs)).toEqual({
      nodes10: {
        latency: { p50ms: 35, p99ms: 118, p99msRuns: [118, 96, 127], receiverCpuMsPer1k: { median: 3300, max: 3600 } },
        perNode: ['a']
      }
    })
  })

  it('one run is that run; an even count takes the mean of the two middle values', () => {
    const one = { latency: { p99ms: 40 } }
    expect(medianFields([one])).toBe(one)
    expect(medianFields([{ x: 1 }, { x: 4 }, { x: 2 }, { x: 10 }])).toEqual({ x: 3 })
  })

  it('a field missing from a run is the median of the runs that have it', () => {
    expect(medianFields([{ a: 1, b: 5 }, { a: 3 }, { a: 2, b: 7 }])).toEqual({ a: 2, b: 6 })
  })

  it('property: each number lies between the runs\' smallest and largest, and is one of them for an odd count', () => {
    fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 9 }), (xs) => {
      const m = medianFields(xs.map(x => ({ v: x }))) as { v: number }
      expect(m.v).toBeGreaterThanOrEqual(Math.min(...xs))
      expect(m.v).toBeLessThanOrEqual(Math.max(...xs))
      if (xs.length % 2 === 1) expect(xs).toContain(m.v)
      expect(xs.filter(x => x < m.v).length).toBeLessThanOrEqual(xs.length / 2)
      expect(xs.filter(x => x > m.v).length).toBeLessThanOrEqual(xs.length / 2)
    }), { numRuns: 300 })
  })
})
