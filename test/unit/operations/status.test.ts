/**
 * The Status use case over a real store (LevelDB in a temp dir, a started Ingest), a fixed
 * membership view and no network: what a fresh node says about itself, the counts and the
 * per-circle figures after publishes (this node's and another organization's), and the fork
 * evidence and warnings once an origin signed two entries for one log position.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fingerprint } from '../../../src/identity/index.js'
import { makeIndicatorItem, type Entry } from '../../../src/records/index.js'
import { OPS_ORG, openOps, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
beforeEach(async () => { h = await openOps() })
afterEach(async () => { await h.close() })

const item = (value: string): ReturnType<typeof makeIndicatorItem> => makeIndicatorItem({ type: 'domain', value, confidence: 60, tags: [] })

/** an entry of `remote`'s log that conflicts with its entry at `seq` (same position, other records) */
function twinOf (remote: RemoteLog, seq: number, prev: string | null): Entry {
  return remote.peek([item(`twin-${seq}.example`)], { seq, prev })
}

describe('Status.status', () => {
  it('a fresh node: who it is, what it was started as, nothing stored, no circles, no network, no forks', async () => {
    const s = await h.status.status()
    expect(s).toEqual({
      version: '0.0.0-test',
      apiUrl: null,
      peerId: 'peer-under-test',
      publicKey: h.me,
      fingerprint: fingerprint(h.me),
      org: OPS_ORG,
      dataDir: h.dir,
      startedAt: '2026-01-01T00:00:00.000Z',
      counts: { entries: 0, indicators: 0, revoked: 0, sightings: 0 },
      circles: [],
      forks: 0,
      warnings: [],
      sync: null,
      multiaddrs: [],
      peers: 0,
      ingestQueue: 0,
      behindOwnTail: [],
      overQuota: [],
      gossipDrops: null
    })
  })

  it('after publishes, a revoke and a sighting: the store\'s counts', async () => {
    await h.indicators.publishBody({ indicators: [{ value: 'a.status.example' }, { value: 'b.status.example' }, { value: '198.51.100.3' }] })
    const { id } = await h.indicators.publishBody({ value: 'c.status.example' })
    await h.indicators.revoke(id as string)
    await h.sightings.record({ value: 'a.status.example', count: 5 })
    await h.sightings.record({ value: 'a.status.example', count: 2 })
    await h.sightings.record({ value: 'seen-only.status.example' })
    const s = await h.status.status()
    expect(s.counts).toEqual({ entries: 6, indicators: 4, revoked: 1, sightings: 2 })
    expect(s.counts).toEqual(h.store.counts())
    expect(s.ingestQueue).toBe(0)
  })

  it('per circle: the records and entries held of its data log, the origins, and how many other current members there are', async () => {
    const [p1, p2, gone] = [randomKey(), randomKey(), randomKey()].map(k => k.publicKeyHex)
    h.circles.join('c1', [p1, p2], [gone])
    h.circles.join('c2')
    await h.indicators.publishBody({ circle: 'c1', tlp: 'GREEN', indicators: [{ value: 'x.c1.example' }, { value: 'y.c1.example' }, { value: 'z.c1.example' }] })
    await h.indicators.publishBody({ value: 'w.c1.example', circle: 'c1', tlp: 'GREEN' })
    await h.indicators.publishBody({ value: 'local-only.example' })
    const remote = new RemoteLog(randomKey(), 'c1')
    await h.ingest.ingest(remote.next([item('r1.c1.example'), item('r2.c1.example')], { tlp: 'GREEN' }), 'sync')
    const s = await h.status.status()
    expect(s.circles.map(c => c.id)).toEqual(['c1', 'c2'])
    expect(s.circles[0]).toEqual({
      id: 'c1',
      name: 'Circle c1',
      founder: h.me,
      created: '2026-01-01T00:00:00.000Z',
      epoch: 1,
      role: 'admin',
      members: 3,
      status: 'member',
      records: 6,
      entries: 3,
      origins: 2,
      lastSync: null,
      inSync: { members: 0, of: 2 }
    })
    expect(s.circles[1]).toMatchObject({ id: 'c2', records: 0, entries: 0, origins: 0, lastSync: null, inSync: { members: 0, of: 0 } })
  })

  it('an origin that signed two entries for one position: counted in forks, one warning per origin naming its fingerprint and how many', async () => {
    const a = new RemoteLog(randomKey(), 'c1')
    const b = new RemoteLog(randomKey(), 'c1')
    const a1 = a.next([item('a1.fork.example')])
    const a2 = a.next([item('a2.fork.example')])
    const b1 = b.next([item('b1.fork.example')])
    for (const e of [a1, a2, b1]) await h.ingest.ingest(e, 'sync')
    for (const twin of [twinOf(a, 1, null), twinOf(a, 2, a2.prev), twinOf(b, 1, null)]) {
      await expect(h.ingest.ingest(twin, 'sync')).rejects.toMatchObject({ code: 'PX_ERR_FORK' })
    }
    const s = await h.status.status()
    expect(s.forks).toBe(3)
    expect([...s.warnings].sort()).toEqual([
      `FORK: origin ${fingerprint(a.origin)} signed two different entries for one log position (2 known); see GET /v1/forks`,
      `FORK: origin ${fingerprint(b.origin)} signed two different entries for one log position (1 known); see GET /v1/forks`
    ].sort())
  })
})

describe('Status.forks', () => {
  it('a fresh node holds no fork evidence', async () => {
    expect(await h.status.forks()).toEqual([])
  })

  it('holds both signed entries of each fork: the one stored first, then the conflicting one', async () => {
    const remote = new RemoteLog(randomKey(), 'c1')
    const first = remote.next([item('first.fork.example')])
    await h.ingest.ingest(first, 'gossip')
    const twin = twinOf(remote, 1, null)
    await expect(h.ingest.ingest(twin, 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_FORK' })
    const forks = await h.status.forks()
    expect(forks).toHaveLength(1)
    expect(forks[0]).toMatchObject({ circle: 'c1', origin: remote.origin, seq: 1, kind: 'seq', source: 'gossip' })
    expect(forks[0].entries).toStrictEqual([first, twin])
  })
})
