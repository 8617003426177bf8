/**
 * What fsync costs (part of `npm run bench`; alone: `node dist/scripts/durability.js`): the
 * same in-process publishes with `store.sync` on and off, twice each, interleaved.
 *
 *   serialAckMs   one publish at a time: the latency of an acknowledged single publish
 *   singlePerSec  single-record publishes, 256 in flight (group commit: one fsync per group)
 *   bulkPerSec    100,000 indicators in calls of 10,000
 *
 * Received entries (gossip, sync) are written without fsync unless their group also holds a
 * publish or a RED entry (docs/PROTOCOL.md, "Durability"), so they pay nothing here.
 */
import '../src/polyfill.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { loadConfig } from '../src/config/index.js'
import { PhalanxNode } from '../src/node.js'

const input = (i: number): Record<string, unknown> => i % 2 === 1
  ? { type: 'domain', value: `d${i}.fsync.example`, tags: ['phishing'], confidence: 80 }
  : { type: 'ipv4', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, tags: ['scanner'] }

async function once (sync: boolean, scale: number): Promise<{ serialAckMs: number, singlePerSec: number, bulkPerSec: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'phalanx-fsync-'))
  const node = new PhalanxNode(loadConfig({ env: {}, flags: { dataDir: dir, logLevel: 'silent', store: { sync } } }), pino({ level: 'silent' }))
  await node.startCore()
  try {
    const serial = Math.max(100, Math.round(500 * scale))
    let t = performance.now()
    for (let i = 0; i < serial; i++) await node.ops.indicators.publishIndicators([input(i)])
    const serialAckMs = Number(((performance.now() - t) / serial).toFixed(3))
    const n = Math.max(1000, Math.round(20_000 * scale))
    let next = 0
    t = performance.now()
    await Promise.all(Array.from({ length: 256 }, async () => { while (next < n) { const i = 1_000_000 + next++; await node.ops.indicators.publishIndicators([input(i)]) } }))
    const singlePerSec = Math.round(n / ((performance.now() - t) / 1000))
    const b = Math.max(10_000, Math.round(100_000 * scale))
    t = performance.now()
    for (let i = 0; i < b; i += 10_000) await node.ops.indicators.publishIndicators(Array.from({ length: Math.min(10_000, b - i) }, (_, k) => input(2_000_000 + i + k)))
    const bulkPerSec = Math.round(b / ((performance.now() - t) / 1000))
    return { serialAckMs, singlePerSec, bulkPerSec }
  } finally {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchDurability (scale = 1): Promise<Record<string, unknown>> {
  const runs: Record<'fsync' | 'noFsync', Array<Awaited<ReturnType<typeof once>>>> = { fsync: [], noFsync: [] }
  for (const sync of [true, false, true, false]) runs[sync ? 'fsync' : 'noFsync'].push(await once(sync, scale))
  const best = (k: 'fsync' | 'noFsync', f: 'serialAckMs' | 'singlePerSec' | 'bulkPerSec'): number =>
    f === 'serialAckMs' ? Math.min(...runs[k].map(r => r[f])) : Math.max(...runs[k].map(r => r[f]))
  return {
    ...runs,
    fsyncAddsPerSerialAckMs: Number((best('fsync', 'serialAckMs') - best('noFsync', 'serialAckMs')).toFixed(3)),
    singleRatio: Number((best('fsync', 'singlePerSec') / best('noFsync', 'singlePerSec')).toFixed(2)),
    bulkRatio: Number((best('fsync', 'bulkPerSec') / best('noFsync', 'bulkPerSec')).toFixed(2))
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchDurability(Number(process.env.BENCH_SCALE ?? 1))
    .then(r => { process.stdout.write(JSON.stringify(r, null, 2) + '\n') })
    .catch((err) => { process.stderr.write(`durability failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
