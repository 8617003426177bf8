/**
 * The token bucket and the per-member quotas (src/p2p/gossip/quota.ts), on an explicit clock.
 */
import { describe, expect, it } from 'vitest'
import { MAX_TRACKED_ORIGINS, MemberQuotas, TokenBucket } from '../../../../src/p2p/gossip/quota.js'

describe('TokenBucket', () => {
  it('starts full and takes up to its burst at once', () => {
    const b = new TokenBucket(10, 5, 0)
    expect(b.tokens(0)).toBe(5)
    expect(b.take(5, 0)).toBe(true)
    expect(b.take(1, 0)).toBe(false)
  })

  it('refills at its rate, never above its burst', () => {
    const b = new TokenBucket(10, 5, 0)
    b.take(5, 0)
    expect(b.tokens(100)).toBeCloseTo(1)
    expect(b.take(1, 100)).toBe(true)
    expect(b.take(1, 100)).toBe(false)
    expect(b.tokens(10_000)).toBe(5)
  })

  it('takes nothing when it holds too few', () => {
    const b = new TokenBucket(1, 3, 0)
    expect(b.take(2, 0)).toBe(true)
    expect(b.take(2, 0)).toBe(false)
    expect(b.tokens(0)).toBe(1)
  })

  it('refunds up to its burst', () => {
    const b = new TokenBucket(1, 3, 0)
    b.take(3, 0)
    b.refund(2, 0)
    expect(b.tokens(0)).toBe(2)
    b.refund(10, 0)
    expect(b.tokens(0)).toBe(3)
  })

  it('a clock that goes backwards refills nothing', () => {
    const b = new TokenBucket(100, 10, 1000)
    b.take(10, 1000)
    expect(b.tokens(500)).toBe(0)
    expect(b.tokens(1000)).toBe(0)
    expect(b.tokens(1010)).toBeCloseTo(1)
  })

  it('a fractional rate adds up', () => {
    const b = new TokenBucket(0.5, 1, 0)
    b.take(1, 0)
    expect(b.take(1, 1999)).toBe(false)
    expect(b.take(1, 2000)).toBe(true)
  })

  it('refuses a rate or burst that is not positive', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError)
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError)
    expect(() => new TokenBucket(Number.NaN, 1)).toThrow(RangeError)
  })
})

describe('MemberQuotas', () => {
  const opts = { entriesPerSecond: 10, bytesPerSecond: 1000, burstEntries: 20, burstBytes: 5000, holdMs: 1000 }

  it('lets an origin through up to its burst, then at its rate', () => {
    const q = new MemberQuotas(opts)
    for (let i = 0; i < 20; i++) expect(q.take('a', 1, 10, 0)).toBe(true)
    expect(q.take('a', 1, 10, 0)).toBe(false)
    expect(q.take('a', 1, 10, 100)).toBe(true)
    expect(q.take('a', 1, 10, 100)).toBe(false)
  })

  it('charges bytes too: a bulk entry costs its size', () => {
    const q = new MemberQuotas(opts)
    expect(q.take('a', 1, 4000, 0)).toBe(true)
    expect(q.take('a', 1, 4000, 0)).toBe(false)
    // the entries bucket was not charged for the refused one
    expect(q.take('a', 19, 100, 0)).toBe(true)
  })

  it('each origin has its own buckets', () => {
    const q = new MemberQuotas(opts)
    expect(q.take('a', 20, 0, 0)).toBe(true)
    expect(q.take('a', 1, 0, 0)).toBe(false)
    expect(q.take('b', 20, 0, 0)).toBe(true)
  })

  it('an origin over quota is shown so until holdMs passed without a drop', () => {
    const q = new MemberQuotas(opts)
    q.take('a', 20, 0, 0)
    expect(q.overQuota('a', 0)).toBeNull()
    expect(q.take('a', 2, 30, 10)).toBe(false)
    expect(q.take('a', 1, 15, 20)).toBe(false)
    expect(q.overQuota('a', 500)).toEqual({ since: new Date(10).toISOString(), last: new Date(20).toISOString(), dropped: 3, droppedBytes: 45 })
    expect(q.overQuotaAll(500)).toEqual([{ origin: 'a', since: new Date(10).toISOString(), last: new Date(20).toISOString(), dropped: 3, droppedBytes: 45 }])
    expect(q.overQuota('a', 1021)).toBeNull()
    expect(q.overQuota('b', 0)).toBeNull()
    expect(q.dropped).toBe(3)
    // a new episode starts its counts again
    q.take('a', 1000, 0, 2000)
    expect(q.overQuota('a', 2000)).toMatchObject({ since: new Date(2000).toISOString(), dropped: 1000 })
  })

  it('refunds a charge', () => {
    const q = new MemberQuotas(opts)
    q.take('a', 20, 5000, 0)
    q.refund('a', 1, 1000, 0)
    expect(q.take('a', 1, 1000, 0)).toBe(true)
    q.refund('unknown', 1, 1, 0) // nothing to give back to
  })

  it('tracks at most MAX_TRACKED_ORIGINS origins, forgetting full buckets first', () => {
    const q = new MemberQuotas(opts)
    q.take('flooder', 21, 0, 0) // over quota: kept
    for (let i = 0; i < MAX_TRACKED_ORIGINS + 10; i++) q.take(`o${i}`, 1, 1, 0)
    // the ones still charged at time 0 are not full, so the oldest go; the flooder stays over quota
    expect(q.overQuota('flooder', 0)).not.toBeNull()
    // full buckets (a second later) are forgotten before anyone over quota
    for (let i = 0; i < MAX_TRACKED_ORIGINS; i++) q.take(`p${i}`, 1, 1, 100_000)
    expect(q.overQuotaAll(100_000)).toEqual([])
  })
})
