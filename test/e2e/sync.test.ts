/**
 * Anti-entropy sync over real libp2p nodes on 127.0.0.1 (one process, each node with its own
 * LevelDB and API): a node that was offline catches up by fetching each missing entry about
 * once; a 3/3 partition heals with nothing lost; an origin that signs two histories is caught
 * on both sides with both entries kept as evidence.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { PhalanxNode } from '../../src/node.js'
import { signEntry, type Entry } from '../../src/records/index.js'
import { until as waitUntil } from '../utils/wait.js'
import { startTestNode, type TestNode } from '../utils/node.js'
import { formCircle } from '../utils/circle.js'

const until = async <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> => await waitUntil(what, fn, timeoutMs)

const nodes: Array<{ stop: () => Promise<void> }> = []
afterAll(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

async function start (org: string): Promise<TestNode> {
  const n = await startTestNode({ flags: { org, logLevel: process.env.PX_TEST_LOG ?? 'silent', p2p: { dialIntervalMs: 300, syncIntervalMs: 300 } } })
  nodes.push(n)
  return n
}

async function digest (n: { node: PhalanxNode } | PhalanxNode, circle: string): Promise<string> {
  const node = n instanceof PhalanxNode ? n : n.node
  return (await node.ops.circles.digest(circle)).digest
}

async function converged (list: Array<{ node: PhalanxNode } | PhalanxNode>, circle: string): Promise<boolean> {
  const ds = await Promise.all(list.map(async n => await digest(n, circle)))
  return ds.every(d => d === ds[0])
}

/** publish `count` indicators as `single` one-record entries and the rest as bulk entries */
async function publishMix (n: TestNode, circle: string, prefix: string, count: number, single: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}.sync.example`)
  for (let i = 0; i < single; i++) {
    const r = await n.api('/v1/indicators', { json: { type: 'domain', value: values[i], tlp: 'AMBER', circle, tags: ['mix'] } })
    expect(r.status, r.text).toBe(201)
  }
  for (let i = single; i < count; i += 1000) {
    const chunk = values.slice(i, i + 1000).map(value => ({ type: 'domain', value, tlp: 'GREEN', tags: ['bulk', prefix] }))
    const r = await n.api('/v1/indicators', { json: { indicators: chunk, circle } })
    expect(r.status, r.text).toBe(201)
  }
  return values
}

function block (a: TestNode, b: TestNode): void {
  a.node.network!.block(b.node.identity.publicKey)
  b.node.network!.block(a.node.identity.publicKey)
}

function unblock (a: TestNode, b: TestNode): void {
  a.node.network!.unblock(b.node.identity.publicKey)
  b.node.network!.unblock(a.node.identity.publicKey)
}

describe('offline catch-up', () => {
  it('a node offline while 4 others publish 10,000 indicators converges, fetching each missing entry about once', async () => {
    const all = await Promise.all(['Sync A', 'Sync B', 'Sync C', 'Sync D', 'Sync E'].map(start))
    const circle = await formCircle(all, 'catch-up')
    const [, , , , e] = all
    const publishers = all.slice(0, 4)
    await until('the five to agree before E leaves', async () => await converged(all, circle))

    const eConfig = e.node.config
    const before = await e.node.store.logHeadsOf(circle)
    await e.node.stop()

    const published = (await Promise.all(publishers.map(async (n, i) => await publishMix(n, circle, `org${i}`, 2500, 150)))).flat()
    expect(published.length).toBe(10_000)
    await until('the four publishers to converge', async () => await converged(publishers, circle), 60_000)

    // what E lacks: entries and their stored bytes, as the publishers hold them
    const a = all[0].node
    const heads = await a.store.logHeadsOf(circle)
    let missingEntries = 0
    let missingBytes = 0
    for (const [origin, h] of Object.entries(heads)) {
      const from = (before[origin]?.seq ?? 0) + 1
      if (from > h.seq) continue
      missingEntries += h.seq - from + 1
      for (let s = from; s <= h.seq; s += 512) {
        missingBytes += (await a.store.entryTexts(circle, origin, s, h.seq, 512, Infinity)).reduce((n, t) => n + Buffer.byteLength(t), 0)
      }
    }
    expect(missingEntries).toBeGreaterThan(600) // 600 single entries, plus the bulk ones

    const e2 = new PhalanxNode(eConfig)
    await e2.start()
    nodes.push({ stop: async () => { await e2.stop() } })
    const t0 = Date.now()
    await until('E to converge with the others', async () => await converged([...publishers.map(n => n.node), e2], circle), 60_000)
    const took = Date.now() - t0

    expect(e2.store.counts().indicators).toBe(a.store.counts().indicators)
    for (const v of [published[0], published[2600], published[9999]]) expect(e2.ops.indicators.lookup(v).found, v).toBe(true)
    const stats = e2.network!.syncStats
    expect(stats.stored).toBe(missingEntries)
    expect(stats.rejected).toBe(0)
    expect(stats.entriesReceived).toBeLessThanOrEqual(Math.ceil(1.2 * missingEntries))
    expect(stats.bytesReceived).toBeLessThanOrEqual(Math.ceil(1.2 * missingBytes))
    console.log(`offline catch-up: ${missingEntries} entries / ${missingBytes} bytes missing; received ${stats.entriesReceived} entries / ${stats.bytesReceived} bytes in ${took} ms`)

    // status: per circle records, origins, last sync, in sync with the other 4
    const status = await until('E to be in sync with all 4 members', async () => {
      const s = await e2.ops.status.status()
      const c = s.circles.find(x => x.id === circle)
      return c !== undefined && c.inSync.members === 4 ? c : undefined
    })
    expect(status).toMatchObject({ origins: 4, inSync: { members: 4, of: 4 } })
    expect(status.records).toBeGreaterThanOrEqual(10_000)
    expect(status.lastSync).not.toBeNull()
  }, 180_000)
})

describe('partition', () => {
  it('6 nodes split 3/3, both sides publish, heal: all converge with zero records lost', async () => {
    const all = await Promise.all(['Part A', 'Part B', 'Part C', 'Part D', 'Part E', 'Part F'].map(start))
    const circle = await formCircle(all, 'partition')
    const left = all.slice(0, 3)
    const right = all.slice(3)
    for (const l of left) for (const r of right) block(l, r)
    await until('the halves to be apart', () => left.every(l => right.every(r => !l.node.network!.connectedKeys().includes(r.node.identity.publicKey))))

    const published = (await Promise.all(all.map(async (n, i) => await publishMix(n, circle, `part${i}`, 1200, 20)))).flat()
    await until('each half to converge on its own', async () => await converged(left, circle) && await converged(right, circle), 30_000)
    expect(await digest(left[0], circle)).not.toBe(await digest(right[0], circle))
    expect(left[0].node.ops.indicators.lookup(published[published.length - 1]).found).toBe(false)

    const healed = Date.now()
    for (const l of left) for (const r of right) unblock(l, r)
    await until('all six to converge', async () => await converged(all, circle), 60_000)
    console.log(`partition heal: equal digests ${Date.now() - healed} ms after the heal`)

    for (const n of all) {
      expect(n.node.store.counts().indicators).toBe(published.length)
      const missing = published.filter(v => !n.node.ops.indicators.lookup(v).found)
      expect(missing, n.node.identity.org).toEqual([])
    }
    expect((await all[0].api('/v1/forks')).body.forks).toEqual([])
  }, 180_000)
})

describe('fork', () => {
  it('an origin that signs two entries for one seq is flagged on both sides of a partition, with both entries', async () => {
    const all = await Promise.all(['Fork A', 'Fork B', 'Fork C', 'Fork D', 'Fork X'].map(start))
    const circle = await formCircle(all, 'fork')
    const [a, b, c, d, x] = all
    const honest = [a, b, c, d]
    const before = await x.api('/v1/indicators', { json: { type: 'domain', value: 'before-fork.example', tlp: 'GREEN', circle } })
    expect(before.status).toBe(201)
    await until('everyone to hold X\'s first entry', async () => await converged(all, circle))

    // X is cut off from everyone; the rest split {A, B} | {C, D}
    for (const n of honest) block(n, x)
    for (const l of [a, b]) for (const r of [c, d]) block(l, r)
    const pub = await x.api('/v1/indicators', { json: { type: 'domain', value: 'fork-one.example', tlp: 'GREEN', circle } })
    expect(pub.status).toBe(201)
    const seq = pub.body.entries[0].seq as number
    const e1 = x.node.store.getEntry(circle, x.node.identity.publicKey, seq) as Entry
    const { sig: _sig, ...unsigned } = e1
    const e2 = signEntry({ ...unsigned, items: [{ ...(e1.items[0] as any), value: 'fork-two.example' }] }, x.node.identity.key)
    expect(e2.seq).toBe(e1.seq)

    // X "sends" one entry to each half
    expect((await a.node.ingest.ingest(e1, 'gossip')).status).toBe('stored')
    expect((await c.node.ingest.ingest(e2, 'gossip')).status).toBe('stored')
    await until('each half to spread its branch', () => b.node.ops.indicators.lookup('fork-one.example').found && d.node.ops.indicators.lookup('fork-two.example').found)

    for (const l of [a, b]) for (const r of [c, d]) unblock(l, r)
    const hashes = new Set([e1.sig, e2.sig])
    for (const n of honest) {
      const forks = await until(`${n.node.identity.org} to flag the fork`, async () => {
        const r = await n.api('/v1/forks')
        return r.body.forks.length > 0 ? r.body.forks : undefined
      })
      expect(forks).toHaveLength(1)
      expect(forks[0]).toMatchObject({ circle, origin: x.node.identity.publicKey, seq, kind: 'seq' })
      expect(new Set(forks[0].entries.map((en: Entry) => en.sig))).toEqual(hashes)
      const status = (await n.api('/v1/status')).body
      expect(status.forks).toBe(1)
      expect(status.warnings.join(' ')).toContain(`FORK: origin ${x.node.identity.fingerprint}`)
    }
    // each side keeps the branch it saw first
    expect(a.node.ops.indicators.lookup('fork-one.example').found).toBe(true)
    expect(c.node.ops.indicators.lookup('fork-two.example').found).toBe(true)
  }, 120_000)
})
