/**
 * What junk costs a peer (src/p2p/gossip/junk.ts): the decaying penalty that gossipsub reads
 * as its application-specific score, the disconnect past a threshold, the grace of unknown
 * key epochs, and the rate-limited log lines. A real pino logger writes to a collector.
 */
import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { MAX_EPOCHS_AHEAD, PeerPenalties } from '../../../../src/p2p/gossip/junk.js'

function collector (): { log: pino.Logger, lines: any[] } {
  const lines: any[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)) } })
  return { log, lines }
}

describe('PeerPenalties', () => {
  it('a peer with no junk scores 0', () => {
    const p = new PeerPenalties({ log: collector().log })
    expect(p.appSpecificScore('peer')).toBe(0)
    expect(p.of('peer')).toEqual({ penalty: 0, counts: {}, disconnects: 0 })
  })

  it('junk lowers the score by its weight, decaying with the half-life, capped', () => {
    const p = new PeerPenalties({ log: collector().log }, { halfLifeMs: 1000, cap: 50 })
    for (let i = 0; i < 10; i++) p.junk('peer', 'over-quota', 1, {}, 0)
    expect(p.appSpecificScore('peer', 0)).toBeCloseTo(-10)
    expect(p.appSpecificScore('peer', 1000)).toBeCloseTo(-5)
    expect(p.appSpecificScore('peer', 2000)).toBeCloseTo(-2.5)
    for (let i = 0; i < 100; i++) p.junk('peer', 'over-quota', 1, {}, 2000)
    expect(p.appSpecificScore('peer', 2000)).toBe(-50)
    expect(p.of('peer', 2000).counts).toEqual({ 'over-quota': 110 })
    expect(p.appSpecificScore('other', 2000)).toBe(0)
  })

  it('closes the connection past disconnectAt, at most once per cooldown', () => {
    const closed: string[] = []
    const p = new PeerPenalties({ log: collector().log, hangUp: (id) => { closed.push(id) } }, { disconnectAt: 5, disconnectCooldownMs: 1000, halfLifeMs: 60_000 })
    for (let i = 0; i < 5; i++) p.junk('peer', 'over-quota', 1, {}, 0)
    expect(closed).toEqual([])
    for (let i = 0; i < 20; i++) p.junk('peer', 'over-quota', 1, {}, 10)
    expect(closed).toEqual(['peer'])
    p.junk('peer', 'over-quota', 1, {}, 1010)
    expect(closed).toEqual(['peer', 'peer'])
    expect(p.of('peer', 1010).disconnects).toBe(2)
  })

  it('an unknown key epoch is honest during its grace, not after it, and never far ahead', () => {
    const p = new PeerPenalties({ log: collector().log }, { epochGraceMs: 1000 })
    expect(p.epochInGrace('c', 4, 3, 0)).toBe(true)
    expect(p.epochInGrace('c', 4, 3, 999)).toBe(true)
    expect(p.epochInGrace('c', 4, 3, 1000)).toBe(false)
    // the grace runs from this node's first sight of that epoch in that circle
    expect(p.epochInGrace('d', 4, 3, 1000)).toBe(true)
    expect(p.epochInGrace('c', 3 + MAX_EPOCHS_AHEAD, 3, 1000)).toBe(true)
    expect(p.epochInGrace('c', 3 + MAX_EPOCHS_AHEAD + 1, 3, 1000)).toBe(false)
  })

  it('logs one line per peer and reason per interval, with the count it left out', () => {
    const { log, lines } = collector()
    const p = new PeerPenalties({ log }, { logIntervalMs: 1000 })
    for (let i = 0; i < 500; i++) p.junk('peer', 'over-quota', 1, {}, i)
    p.junk('peer', 'unknown-key-epoch', 1, {}, 10)
    p.junk('other', 'over-quota', 1, {}, 10)
    expect(lines.map(l => [l.peer, l.reason])).toEqual([['peer', 'over-quota'], ['peer', 'unknown-key-epoch'], ['other', 'over-quota']])
    p.junk('peer', 'over-quota', 1, {}, 1000)
    expect(lines).toHaveLength(4)
    expect(lines[3]).toMatchObject({ peer: 'peer', reason: 'over-quota', alsoSince: 499 })
  })
})
