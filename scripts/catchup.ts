/**
 * Anti-entropy benchmarks (part of `npm run bench`; alone: `node dist/scripts/catchup.js`).
 *
 *   catchUp        a circle of 5 child-process nodes; one is stopped while the other 4
 *                  publish 100,000 indicators (CATCHUP_COUNT) as a mix of single-record
 *                  entries (1% of them) and bulk entries; it restarts on its data dir. Time
 *                  from its restart (and from its API being up) until it holds the data log
 *                  the others hold, then until its circle digest equals theirs (its new
 *                  address is a membership entry they need too), indicators/s over the
 *                  latter, and what sync transferred against what
 *                  was missing (entries and bytes of the entries it lacked).
 *   partitionHeal  6 nodes in one process split 3/3 (each refuses the other half); both halves
 *                  publish 5,000 indicators each (PARTITION_COUNT); the split heals: time until
 *                  all 6 digests are equal.
 */
import '../src/polyfill.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../src/config/index.js'
import { PhalanxNode } from '../src/node.js'
import { LevelStore } from '../src/store/index.js'
import { api, formCircle, startChild, untilTrue, type Child } from './propagation.js'

const say = (msg: string): void => { process.stderr.write(`[catchup] ${msg}\n`) }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const SYNC_ENV = { PHALANX_P2P_SYNC_INTERVAL_MS: '2000' }

interface Digest { digest: string, entries: number, logs: Record<string, Record<string, number>> }

async function stopChild (c: Child): Promise<void> {
  if (c.proc.exitCode !== null) return
  const exited = new Promise(resolve => c.proc.once('exit', resolve))
  c.proc.kill('SIGTERM')
  await exited
}

/** `count` indicators from one node into the circle: `single` one-record publishes, the rest in bulk */
async function publishMix (c: Child, circle: string, prefix: string, count: number, single: number): Promise<void> {
  let next = 0
  const singles = async (): Promise<void> => {
    while (next < single) {
      const i = next++
      await api(c, '/v1/indicators', { type: 'domain', value: `${prefix}-s${i}.catchup.example`, tlp: 'AMBER', circle, tags: ['single'] })
    }
  }
  await Promise.all([singles(), singles(), singles(), singles()])
  for (let i = single; i < count; i += 5000) {
    const n = Math.min(5000, count - i)
    await api(c, '/v1/indicators', { indicators: Array.from({ length: n }, (_, k) => ({ type: 'domain', value: `${prefix}-b${i + k}.catchup.example`, tags: ['bulk'] })), tlp: 'GREEN', circle })
  }
}

export async function benchCatchUp (count = 100_000): Promise<Record<string, unknown>> {
  say('forming a circle of 5 nodes…')
  const { nodes, circle } = await formCircle(5)
  const dirs = nodes.map(n => n.dataDir)
  try {
    const late = nodes[4]
    const before = (await api<Digest>(late, `/v1/circles/${circle}/digest`)).logs[circle]
    await stopChild(late)
    const publishers = nodes.slice(0, 4)
    const perNode = Math.floor(count / 4)
    say(`the 5th node is down; 4 nodes publish ${count} indicators…`)
    const tp = Date.now()
    await Promise.all(publishers.map(async (n, i) => { await publishMix(n, circle, `o${i}`, perNode, Math.round(perNode / 100)) }))
    const publishSeconds = (Date.now() - tp) / 1000
    let target = ''
    await untilTrue('the publishers to converge', async () => {
      const ds = await Promise.all(publishers.map(async n => await api<Digest>(n, `/v1/circles/${circle}/digest`)))
      target = JSON.stringify(ds[0].logs[circle])
      return ds.every(d => d.digest === ds[0].digest)
    }, 600_000)
    say(`publishers converged (${publishSeconds.toFixed(1)} s to publish); restarting the 5th node…`)
    const t0 = Date.now()
    const back = await startChild(4, late.dataDir, SYNC_ENV)
    nodes[4] = back
    const apiUp = Date.now()
    // the data log first (what was missed), then the whole digest: the restarted node's new
    // address is a membership entry that has to reach the others too
    for (;;) {
      const d = await api<Digest>(back, `/v1/circles/${circle}/digest`)
      if (JSON.stringify(d.logs[circle]) === target) break
      if (Date.now() - t0 > 600_000) throw new Error('the restarted node did not catch up within 10 min')
      await sleep(50)
    }
    const done = Date.now()
    for (;;) {
      const [mine, theirs] = await Promise.all([back, publishers[0]].map(async n => (await api<Digest>(n, `/v1/circles/${circle}/digest`)).digest))
      if (mine === theirs) break
      if (Date.now() - t0 > 600_000) throw new Error('the restarted node\'s digest did not match within 10 min')
      await sleep(50)
    }
    const equalDigest = Date.now()
    const status = await api<{ sync: Record<string, number>, counts: { indicators: number } }>(back, '/v1/status')
    const after = (await api<Digest>(publishers[0], `/v1/circles/${circle}/digest`)).logs[circle]
    for (const n of nodes) await stopChild(n)
    // what the node lacked, measured on a publisher's store (entries as stored, in bytes)
    const store = new LevelStore({ path: join(publishers[0].dataDir, 'store') })
    await store.open()
    let missingEntries = 0
    let missingBytes = 0
    try {
      for (const [origin, seq] of Object.entries(after)) {
        for (let s = (before[origin] ?? 0) + 1; s <= seq; s += 512) {
          const texts = await store.entryTexts(circle, origin, s, seq, 512, Infinity)
          missingEntries += texts.length
          missingBytes += texts.reduce((n, t) => n + Buffer.byteLength(t), 0)
        }
      }
    } finally {
      await store.close()
    }
    const seconds = (equalDigest - t0) / 1000
    return {
      indicators: count,
      missingEntries,
      missingBytes,
      secondsFromRestart: Number(seconds.toFixed(2)),
      secondsFromApiUp: Number(((done - apiUp) / 1000).toFixed(2)),
      secondsToEqualDigest: Number(((equalDigest - t0) / 1000).toFixed(2)),
      indicatorsPerSec: Math.round(count / seconds),
      entriesReceived: status.sync.entriesReceived,
      bytesReceived: status.sync.bytesReceived,
      bytesVsMissing: Number((status.sync.bytesReceived / missingBytes).toFixed(3)),
      entriesVsMissing: Number((status.sync.entriesReceived / missingEntries).toFixed(3)),
      syncRuns: status.sync.runs
    }
  } finally {
    for (const n of nodes) await stopChild(n)
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
}

export async function benchPartitionHeal (perSide = 5000): Promise<Record<string, unknown>> {
  const dirs: string[] = []
  const nodes: PhalanxNode[] = []
  try {
    for (let i = 0; i < 6; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'phalanx-part-'))
      dirs.push(dataDir)
      const node = new PhalanxNode(loadConfig({ env: {}, flags: { dataDir, org: `part${i}`, logLevel: 'error', api: { port: 0, host: '127.0.0.1' }, p2p: { port: 0, host: '127.0.0.1', dialIntervalMs: 500, syncIntervalMs: 2000 }, store: { sync: false } } }))
      await node.start()
      nodes.push(node)
    }
    const circle = (await nodes[0].ops.circles.create({ name: 'partition' })).id
    for (const n of nodes.slice(1)) {
      const { code } = await nodes[0].ops.circles.invite(circle, {})
      await n.ops.circles.join({ code })
    }
    await untilTrue('every node to know every member', async () => nodes.every(n => n.ops.circles.members(circle).length === 6), 60_000)
    const left = nodes.slice(0, 3)
    const right = nodes.slice(3)
    for (const l of left) for (const r of right) { l.network!.block(r.identity.publicKey); r.network!.block(l.identity.publicKey) }
    say(`split 3/3; each half publishes ${perSide} indicators…`)
    await Promise.all(nodes.map(async (n, i) => {
      const per = Math.floor(perSide / 3)
      for (let k = 0; k < 20; k++) await n.ops.indicators.publishIndicators([{ type: 'domain', value: `p${i}-s${k}.heal.example`, tlp: 'GREEN' }], { defaults: { circle } })
      await n.ops.indicators.publishIndicators(Array.from({ length: per - 20 }, (_, k) => ({ type: 'domain', value: `p${i}-b${k}.heal.example`, tlp: 'GREEN' })), { defaults: { circle } })
    }))
    const digests = async (list: PhalanxNode[]): Promise<string[]> => await Promise.all(list.map(async n => (await n.ops.circles.digest(circle)).digest))
    const same = (ds: string[]): boolean => ds.every(d => d === ds[0])
    await untilTrue('each half to converge', async () => same(await digests(left)) && same(await digests(right)), 120_000)
    const t0 = Date.now()
    for (const l of left) for (const r of right) { l.network!.unblock(r.identity.publicKey); r.network!.unblock(l.identity.publicKey) }
    for (;;) {
      if (same(await digests(nodes))) break
      if (Date.now() - t0 > 300_000) throw new Error('the halves did not converge within 5 min')
      await sleep(50)
    }
    const seconds = (Date.now() - t0) / 1000
    const counts = nodes.map(n => n.store.counts().indicators)
    return { nodes: 6, indicatorsPerSide: perSide, secondsToEqualDigests: Number(seconds.toFixed(2)), indicatorsPerNode: counts[0], allEqual: counts.every(c => c === counts[0]) }
  } finally {
    for (const n of nodes) await n.stop().catch(() => {})
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  (async () => {
    const out: Record<string, unknown> = {}
    out.catchUp = await benchCatchUp(Number(process.env.CATCHUP_COUNT ?? 100_000))
    say(`catchUp: ${JSON.stringify(out.catchUp)}`)
    out.partitionHeal = await benchPartitionHeal(Number(process.env.PARTITION_COUNT ?? 5000))
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  })().catch((err) => { process.stderr.write(`catchup failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
