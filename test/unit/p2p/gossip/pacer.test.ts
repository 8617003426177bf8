/**
 * The validator's pacer (src/p2p/gossip/pacer.ts): turns in arrival order, I/O let in between
 * slices, waiting bounded in count and bytes.
 */
import { describe, expect, it } from 'vitest'
import { Pacer } from '../../../../src/p2p/gossip/pacer.js'

/** busy-wait `ms` of main-thread work */
function work (ms: number): void { const t = performance.now(); while (performance.now() - t < ms) { /* busy */ } }

describe('Pacer', () => {
  it('runs turns in arrival order and lets I/O in between slices', async () => {
    const p = new Pacer({ sliceMs: 5 })
    const order: number[] = []
    let ioRuns = 0
    const io = setInterval(() => { ioRuns++ }, 0)
    const jobs = Array.from({ length: 20 }, async (_, i) => {
      const t = p.turn(100)
      expect(t).not.toBe(false)
      if (t !== true) await t
      order.push(i)
      work(2) // each message's synchronous part
    })
    await Promise.all(jobs)
    clearInterval(io)
    expect(order).toEqual([...Array(20).keys()])
    // 40 ms of work in slices of 5 ms: the timer got in between them
    expect(ioRuns).toBeGreaterThan(2)
    expect(p.waiting).toBe(0)
  })

  it('refuses a turn when too many messages or bytes wait', async () => {
    const p = new Pacer({ sliceMs: 0, maxWaiting: 3, maxWaitingBytes: 1000 })
    const a = p.turn(10)
    const b = p.turn(10)
    const c = p.turn(10)
    expect(p.turn(10)).toBe(false)
    expect(p.waiting).toBe(3)
    await Promise.all([a, b, c].filter(t => t instanceof Promise))
    const q = new Pacer({ sliceMs: 0, maxWaiting: 100, maxWaitingBytes: 1000 })
    const d = q.turn(600)
    expect(q.turn(600)).toBe(false)
    expect(q.turn(300)).not.toBe(false)
    await d
  })
})
