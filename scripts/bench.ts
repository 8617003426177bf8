/**
 * `npm run bench`: one run, one JSON object on stdout (progress on stderr), so that ratios
 * between figures hold on a noisy machine. Not part of `npm test`.
 *
 *   raw        Ed25519 sign/verify ops/s (node:crypto); LevelDB batched puts/s (no crypto) of the
 *              indicator records the bulk run stored, and of the bare input objects
 *   ingest     indicators/s through the ingest path: bulk entries and single-record entries
 *              (single publishes that wait together share entries: group commit); the CPU ms
 *              one node spends per 1,000 indicators in bulk
 *   receive    a receiving node's own path per gossip entry, in process, without the network
 *              stack (scripts/receive.ts): single-record entries and entries of 500 records;
 *              the bulk CPU per 1,000 beside the bulk ingest's (issue 17)
 *   ipsum      bulk HTTP import of ../shared/data/feeds/ipsum.txt via POST /v1/indicators
 *   lookup     GET /v1/lookup req/s and latency (autocannon, keep-alive) on 1,000,000 indicators
 *   rss        peak RSS of the node process
 *
 *   propagation  one circle of 10 and of 25 child-process nodes (scripts/propagation.ts): latency
 *                from the publish request, entries, CPU per 1,000 delivered records, bulk
 *                throughput, advisory delivery and acks; at 50/s: 10 nodes, a pair and a line
 *                of 3 (issue 17's targets, beside OrbitDB's)
 *   durability   publishes with store.sync (fsync) on and off (scripts/durability.ts)
 *   interop      phalanx import of 1,000,000-indicator CSV and STIX files, a TAXII pull and a TAXII
 *                push of 100,000 objects (scripts/interop.ts; BENCH_INTEROP=0 skips it)
 *   sync         catch-up of a node that missed 100,000 indicators of a 5-node circle, and
 *                the heal of a 3/3 partition (scripts/catchup.ts)
 *   quotaFlood   a member floods a node at its maximum while autocannon runs lookups against
 *                it: lookup p99 and the node's peak RSS (scripts/quota.ts)
 *
 * BENCH_SCALE=0.1 shrinks every size (a quick check); BENCH_LOOKUP_SECONDS sets the load time;
 * BENCH_ONLY=ingest stops after the in-process figures; BENCH_ONLY=quota runs only the quota
 * flood; BENCH_ONLY=lookup runs only the lookup figures (a fresh node filled to 1,000,000); BENCH_PROPAGATION=0 skips propagation; BENCH_SYNC=0 skips the sync figures;
 * BENCH_QUOTA=0 skips the quota flood (BENCH_QUOTA_SECONDS sets its length). The propagation
 * figures run BENCH_RUNS times (default 3, issue 17's medians of 3): each number is the median of
 * the runs', with each p99 beside it (`p99msRuns`); BENCH_RUNS=1 for one run.
 */
import '../src/polyfill.js'
import { execSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Level } from 'level'
import autocannon from 'autocannon'
import { pino } from 'pino'
import { OrgKey, verifySignature } from '../src/identity/index.js'
import { loadConfig } from '../src/config/index.js'
import { PhalanxNode } from '../src/node.js'
import { indicatorId } from '../src/records/index.js'
import { benchPropagation } from './propagation.js'
import { medianFields } from './runs.js'
import { benchReceive } from './receive.js'
import { benchCatchUp, benchPartitionHeal } from './catchup.js'
import { benchDurability } from './durability.js'
import { benchInterop } from './interop.js'
import { benchQuotaFlood } from './quota.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const SCALE = Number(process.env.BENCH_SCALE ?? '1')
const n = (x: number): number => Math.max(1000, Math.round(x * SCALE))
/** issue 17's targets are each the median of 3 runs: the propagation figures run BENCH_RUNS times (default 3) */
const RUNS = Math.max(1, Math.floor(Number(process.env.BENCH_RUNS ?? 3)) || 1)
const LOOKUP_SECONDS = Number(process.env.BENCH_LOOKUP_SECONDS ?? '10')

const say = (msg: string): void => { process.stderr.write(`[bench] ${msg}\n`) }

async function medianOfRuns (what: string, run: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const results: Array<Record<string, unknown>> = []
  for (let i = 0; i < RUNS; i++) {
    if (RUNS > 1) say(`${what}: run ${i + 1} of ${RUNS}`)
    results.push(await run())
  }
  return { ...medianFields(results) as Record<string, unknown>, runs: RUNS }
}

const round = (x: number): number => Math.round(x)
const tmp = (): string => mkdtempSync(join(tmpdir(), 'phalanx-bench-'))
const dirs: string[] = []

/** deterministic, varied indicator inputs: IPs, domains, hashes, URLs */
function makeInputs (count: number, offset = 0, prefix = 'b'): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (let i = offset; i < offset + count; i++) {
    switch (i % 4) {
      case 0: out.push({ type: 'ipv4', value: `${10 + ((i >>> 24) & 0x7f)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, tags: ['scanner'], confidence: 60 }); break
      case 1: out.push({ type: 'domain', value: `${prefix}${i.toString(36)}.evil.example`, tags: ['phishing', 'T1566'], confidence: 80 }); break
      case 2: out.push({ type: 'sha256', value: createHash('sha256').update(`${prefix}${i}`).digest('hex'), tags: ['malware'] }); break
      default: out.push({ type: 'url', value: `http://${prefix}${i.toString(36)}.bad.example/login.php?id=${i}`, tags: ['phishing'] })
    }
  }
  return out
}

function rate (count: number, ms: number): number { return count / (ms / 1000) }

async function timed<T> (fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now()
  const r = await fn()
  return [r, performance.now() - t0]
}

function benchCrypto (): { signPerSec: number, verifyPerSec: number } {
  const key = OrgKey.fromSeed(randomBytes(32))
  const msg = randomBytes(300)
  const N = n(20_000)
  let t0 = performance.now()
  let sig = key.sign(msg)
  for (let i = 0; i < N; i++) sig = key.sign(msg)
  const signMs = performance.now() - t0
  t0 = performance.now()
  for (let i = 0; i < N / 4; i++) if (!verifySignature(key.publicKeyHex, msg, sig)) throw new Error('verify failed')
  const verifyMs = performance.now() - t0
  return { signPerSec: round(rate(N, signMs)), verifyPerSec: round(rate(N / 4, verifyMs)) }
}

/** LevelDB batched puts (2,000 a batch, JSON values) of key/value pairs, no crypto */
async function benchRawLevel (pairs: Array<[string, unknown]>): Promise<number> {
  const dir = tmp(); dirs.push(dir)
  const db = new Level<string, unknown>(join(dir, 'raw'), { valueEncoding: 'json' })
  await db.open()
  const [, ms] = await timed(async () => {
    for (let i = 0; i < pairs.length; i += 2000) {
      await db.batch(pairs.slice(i, i + 2000).map(([key, value]) => ({ type: 'put' as const, key, value })))
    }
  })
  await db.close()
  return round(rate(pairs.length, ms))
}

async function startInProcessNode (): Promise<PhalanxNode> {
  const dir = tmp(); dirs.push(dir)
  const config = loadConfig({ env: {}, flags: { dataDir: dir, logLevel: 'silent', api: { port: 0 } } })
  const node = new PhalanxNode(config, pino({ level: 'silent' }))
  await node.startCore()
  return node
}

async function benchIngest (): Promise<{ figures: Record<string, number>, stored: Array<[string, unknown]> }> {
  const N = n(200_000)
  // bulk: calls of 10,000 inputs (→ entries of ≤ 1,000 records), two in flight as an
  // importer (or the CLI's `publish -`) keeps them
  let node = await startInProcessNode()
  const inputs = makeInputs(N)
  // the CPU one node spends to ingest in bulk (its signer thread too): what a receiver's CPU per delivered record is held to (issue 17)
  const cpu0 = process.cpuUsage()
  const [, bulkMs] = await timed(async () => {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < N) {
        const i = next
        next += 10_000
        await node.ops.indicators.publishIndicators(inputs.slice(i, i + 10_000))
      }
    }
    await Promise.all([worker(), worker()])
  })
  const cpu = process.cpuUsage(cpu0)
  const bulkCpuMsPer1k = Number((((cpu.user + cpu.system) / 1000) / (N / 1000)).toFixed(1))
  const bulkEntries = node.store.counts().entries
  // the indicator records exactly as the bulk run stored them: the raw baseline writes these
  const stored: Array<[string, unknown]> = []
  for await (const kv of node.store.scanIndicators()) stored.push(kv)
  // in the order the ingest path wrote them (LevelDB takes keys in sorted order much faster)
  stored.sort((a, b) => (a[1] as { cursor: string }).cursor < (b[1] as { cursor: string }).cursor ? -1 : 1)
  await node.stop()
  // single-record entries: one signature and one entry per indicator, 256 publishes in flight
  node = await startInProcessNode()
  const [, singleMs] = await timed(async () => {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < N) {
        const i = next++
        await node.ops.indicators.publishIndicators([inputs[i]])
      }
    }
    await Promise.all(Array.from({ length: 256 }, worker))
  })
  const singleEntries = node.store.counts().entries
  await node.stop()
  return {
    figures: {
      indicators: N,
      bulkPerSec: round(rate(N, bulkMs)),
      bulkCpuMsPer1k,
      bulkEntries,
      singlePerSec: round(rate(N, singleMs)),
      singleEntries
    },
    stored
  }
}

interface ChildNode { proc: ChildProcess, apiUrl: string, token: string, dataDir: string }

async function startChildNode (): Promise<ChildNode> {
  const dataDir = tmp(); dirs.push(dataDir)
  // the same heap cap as `npm start` and the CLI's shebang
  const proc = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=8', join(root, 'dist/src/cli/main.js'), 'start', '--data', dataDir, '--api-port', '0', '--p2p-port', '0', '--log-level', 'warn', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    let buf = ''
    proc.stdout!.on('data', (d: Buffer) => { buf += d.toString(); const i = buf.indexOf('\n'); if (i >= 0) resolve(buf.slice(0, i)) })
    proc.on('exit', (code) => { reject(new Error(`node exited with ${String(code)}`)) })
  })
  const info = JSON.parse(line) as { apiUrl: string }
  return { proc, apiUrl: info.apiUrl, token: readFileSync(join(dataDir, 'api.token'), 'utf8').trim(), dataDir }
}

function cpuTicks (pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(f[11]) + Number(f[12]) // utime + stime, in clock ticks (1/100 s)
}

async function waitForIdle (pid: number, maxMs: number): Promise<void> {
  const t0 = Date.now()
  let prev = cpuTicks(pid)
  while (Date.now() - t0 < maxMs) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const now = cpuTicks(pid)
    if (now - prev <= 5) break // under 5% of a core over the last second
    prev = now
  }
  say(`node idle after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

function peakRssMb (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmHWM:\s+(\d+) kB/.exec(status)
  return m === null ? -1 : round(Number(m[1]) / 1024)
}

async function post (node: ChildNode, body: unknown): Promise<void> {
  const res = await fetch(`${node.apiUrl}/v1/indicators`, { method: 'POST', headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 201) throw new Error(`POST /v1/indicators: ${res.status} ${await res.text()}`)
  await res.arrayBuffer().catch(() => undefined)
}

/** POST inputs in chunks of 10,000 with `parallel` requests in flight */
async function postAll (node: ChildNode, inputs: unknown[], parallel: number, defaults: Record<string, unknown> = {}): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next
      next += 10_000
      await post(node, { indicators: inputs.slice(i, i + 10_000), ...defaults })
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
}

async function benchIpsum (node: ChildNode): Promise<Record<string, number | string>> {
  const file = resolve(root, '../shared/data/feeds/ipsum.txt')
  if (!existsSync(file)) return { skipped: `${file} not found` }
  const ips: unknown[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const s = line.trim()
    if (s === '' || s.startsWith('#')) continue
    const [ip, count] = s.split(/\s+/)
    ips.push({ type: 'ipv4', value: ip, confidence: Math.min(100, 10 * Number(count)), tags: ['ipsum'] })
  }
  const [, ms] = await timed(async () => { await postAll(node, ips, 2, { tlp: 'CLEAR' }) })
  return { indicators: ips.length, seconds: Number((ms / 1000).toFixed(2)), perSec: round(rate(ips.length, ms)) }
}

async function benchLookup (node: ChildNode): Promise<Record<string, number>> {
  const N = n(1_000_000)
  const have = (await (await fetch(`${node.apiUrl}/v1/status`, { headers: { authorization: `Bearer ${node.token}` } })).json() as { counts: { indicators: number } }).counts.indicators
  const inputs = makeInputs(Math.max(N - have, 1000), 0, 'L')
  say(`filling the store to ${N} indicators over HTTP…`)
  const [, fillMs] = await timed(async () => { await postAll(node, inputs, 2) })
  // a node that just took a million writes is still compacting its LevelDB: measure the
  // steady state, once the node's CPU has been quiet for a second (at most 60 s)
  say(`node peak RSS after filling: ${peakRssMb(node.proc.pid!)} MB`)
  await waitForIdle(node.proc.pid!, 60_000)
  // half hits (stored values), half misses (never published)
  const paths: string[] = []
  for (let i = 0; i < 2000; i++) {
    const hit = inputs[(i * 7919) % inputs.length] as { value: string }
    paths.push(`/v1/lookup?value=${encodeURIComponent(hit.value)}`)
    paths.push(`/v1/lookup?value=${encodeURIComponent(`miss${i}.nowhere.example`)}`)
  }
  let k = 0
  const load = async (seconds: number): Promise<autocannon.Result> => await autocannon({
    url: node.apiUrl,
    connections: 16,
    pipelining: 1,
    duration: seconds,
    headers: { authorization: `Bearer ${node.token}` },
    requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: paths[k++ % paths.length] }) }]
  })
  // warm-up (not counted): LevelDB also compacts files that lookups keep seeking through
  say('lookup warm-up 5 s…')
  await load(5)
  await waitForIdle(node.proc.pid!, 30_000)
  say(`autocannon ${LOOKUP_SECONDS}s on /v1/lookup…`)
  const result = await load(LOOKUP_SECONDS)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`lookup load had ${result.non2xx} non-2xx and ${result.errors} errors`)
  return {
    storeIndicators: N,
    fillPerSec: round(rate(inputs.length, fillMs)),
    reqPerSec: round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    requests: result.requests.total
  }
}

async function main (): Promise<void> {
  const out: Record<string, unknown> = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, scale: SCALE }
  if (process.env.BENCH_ONLY === 'quota') {
    say('quota flood: a member floods at its maximum while autocannon runs lookups…')
    out.quotaFlood = await benchQuotaFlood(n(100_000))
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return
  }
  if (process.env.BENCH_ONLY === 'lookup') {
    const node = await startChildNode()
    try {
      out.lookup = await benchLookup(node)
    } finally {
      node.proc.kill('SIGTERM')
      await new Promise(resolve => node.proc.once('exit', resolve))
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return
  }
  say('crypto baselines…')
  const crypto = benchCrypto()
  say('raw LevelDB batched puts of the input objects…')
  const origin = 'a'.repeat(64)
  const inputPutsPerSec = await benchRawLevel(makeInputs(n(200_000)).map(r => [indicatorId(origin, r.type as any, r.value as string), r]))
  say('ingest path (in process)…')
  const { figures: ingest, stored } = await benchIngest()
  say('raw LevelDB batched puts of the stored indicator records…')
  const levelPutsPerSec = await benchRawLevel(stored)
  stored.length = 0
  // the baseline of the ratio is the records the ingest path stores, written raw; the input
  // objects (~90 B, no id, origin, entry or cursor) are reported for comparison
  out.raw = { ...crypto, levelBatchedPutsPerSec: levelPutsPerSec, levelBatchedPutsPerSecInputObjects: inputPutsPerSec }
  say('receive path (in process): single-record entries, then entries of 500 records…')
  const single = await benchReceive(n(5000), 1)
  const bulk = await benchReceive(Math.max(20, Math.round(400 * SCALE)), 500)
  out.receive = { single, bulk, bulkCpuVsIngestCpu: Number((bulk.cpuMsPer1k / ingest.bulkCpuMsPer1k).toFixed(2)) }
  if (process.env.BENCH_ONLY === 'ingest') { process.stdout.write(JSON.stringify({ ...out, ingest }, null, 2) + '\n'); return }
  out.ingest = {
    ...ingest,
    bulkVsRawLevel: Number((ingest.bulkPerSec / levelPutsPerSec).toFixed(2)),
    bulkVsRawLevelInputObjects: Number((ingest.bulkPerSec / inputPutsPerSec).toFixed(2)),
    singleVsRawSign: Number((ingest.singlePerSec / crypto.signPerSec).toFixed(2))
  }
  // phases must not pay for each other: drop the in-process stores and let the disk settle
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  execSync('sync')
  say('HTTP: ipsum import, then lookups on a large store (node in a child process)…')
  const node = await startChildNode()
  try {
    out.ipsum = await benchIpsum(node)
    say(`node peak RSS after ipsum: ${peakRssMb(node.proc.pid!)} MB`)
    out.lookup = await benchLookup(node)
    out.rss = { nodePeakMb: peakRssMb(node.proc.pid!), benchPeakMb: round(process.resourceUsage().maxRSS / 1024) }
  } finally {
    node.proc.kill('SIGTERM')
    await new Promise(resolve => node.proc.once('exit', resolve))
  }
  // propagation between child-process nodes (BENCH_PROPAGATION=0 skips it: it takes minutes)
  if (process.env.BENCH_PROPAGATION !== '0') {
    say('propagation in one circle of 10 and 25 nodes…')
    out.propagation = await medianOfRuns('propagation', async () => await benchPropagation([10, 25], { latencyCount: n(2000), warmupCount: n(2000), bulkCount: n(200_000) }))
    // issue 17: at 50/s, 10 nodes, a pair and a line A–B–C (p2p.onlyPeers), beside OrbitDB's figures (STACK.md)
    say('propagation at 50/s: 10 nodes, a pair, a line of 3…')
    out.propagation50 = await medianOfRuns('propagation at 50/s', async () => ({
      ...await benchPropagation([10, 2], { latencyCount: n(1000), warmupCount: n(1000), ratePerSec: 50, advisoryCount: 0, bulkAt: 0 }),
      ...await benchPropagation([3], { latencyCount: n(1000), warmupCount: n(1000), ratePerSec: 50, advisoryCount: 0, bulkAt: 0, line: true })
    }))
  }
  say('durability: publishes with fsync on and off…')
  out.durability = await benchDurability(SCALE)
  if (process.env.BENCH_INTEROP !== '0') {
    say('interop: CSV and STIX imports of 1,000,000 indicators, TAXII pull and push of 100,000…')
    out.interop = await benchInterop(n(1_000_000), n(100_000))
  }
  if (process.env.BENCH_SYNC !== '0') {
    say('sync: catch-up of 100,000 indicators, then a 3/3 partition heal…')
    out.sync = { catchUp: await benchCatchUp(n(100_000)), partitionHeal: await benchPartitionHeal(n(5000)) }
  }
  if (process.env.BENCH_QUOTA !== '0') {
    say('quota flood: a member floods at its maximum while autocannon runs lookups…')
    out.quotaFlood = await benchQuotaFlood(n(100_000))
  }
  const catchUp = (out.sync as any)?.catchUp
  const p10 = (out.propagation as any)?.nodes10
  const p25 = (out.propagation as any)?.nodes25
  const p50 = out.propagation50 as any
  const bulk10 = p10?.throughput
  out.targets = {
    bulkIngest50k: (out.ingest as any).bulkPerSec >= 50_000,
    bulkVsRawLevel30pct: (out.ingest as any).bulkVsRawLevel >= 0.3,
    single10k: ingest.singlePerSec >= 10_000,
    singleVsSign40pct: (out.ingest as any).singleVsRawSign >= 0.4,
    ipsumUnder4s: typeof (out.ipsum as any).seconds === 'number' ? (out.ipsum as any).seconds <= 4 : null,
    lookup15kRps: (out.lookup as any).reqPerSec >= 15_000,
    lookupP99Under5ms: (out.lookup as any).p99ms <= 5,
    rssUnder500mb: (out.rss as any).nodePeakMb <= 500,
    propagationP99Under250msAt25: p25?.latency?.p99ms !== undefined ? p25.latency.p99ms <= 250 : null,
    propagationP99Under150msAt10Rate200: p10?.latency?.p99ms !== undefined ? p10.latency.p99ms <= 150 : null,
    propagationP99Under100msAt10Rate50: p50?.nodes10?.latency?.p99ms !== undefined ? p50.nodes10.latency.p99ms <= 100 : null,
    propagationP99Under30msPairRate50: p50?.nodes2?.latency?.p99ms !== undefined ? p50.nodes2.latency.p99ms <= 30 : null,
    propagationP99Under60msLine3Rate50: p50?.line3?.latency?.p99ms !== undefined ? p50.line3.latency.p99ms <= 60 : null,
    bulkTo10NodesAtLeast0_8OfIngest: bulk10?.perSecToEveryNode !== undefined ? bulk10.perSecToEveryNode * 10 / ingest.bulkPerSec >= 0.8 : null,
    receiverBulkCpuAtMostIngestCpu: bulk10?.receiverCpuMsPer1k?.median !== undefined ? bulk10.receiverCpuMsPer1k.median <= (out.ingest as any).bulkCpuMsPer1k : null,
    advisoryP99Under1sAt10: p10?.advisories?.p99ms !== undefined ? p10.advisories.p99ms <= 1000 : null,
    propagation5kPerSecTo10: p10?.throughput?.perSecToEveryNode !== undefined ? p10.throughput.perSecToEveryNode >= 5000 : null,
    csvImport20kPerSec: (out.interop as any)?.csvImport?.perSec !== undefined ? (out.interop as any).csvImport.perSec >= 20_000 : null,
    csvImportRssUnder500mb: (out.interop as any)?.csvImport?.cliPeakRssMb !== undefined ? (out.interop as any).csvImport.cliPeakRssMb <= 500 && (out.interop as any).csvImport.nodePeakRssMb <= 500 : null,
    stixImport20kPerSec: (out.interop as any)?.stixImport?.perSec !== undefined ? (out.interop as any).stixImport.perSec >= 20_000 : null,
    stixImportRssUnder500mb: (out.interop as any)?.stixImport?.cliPeakRssMb !== undefined ? (out.interop as any).stixImport.cliPeakRssMb <= 500 && (out.interop as any).stixImport.nodePeakRssMb <= 500 : null,
    taxiiPull20kPerSec: (out.interop as any)?.taxiiPull?.perSec !== undefined ? (out.interop as any).taxiiPull.perSec >= 20_000 : null,
    catchUp100kUnder5s: catchUp?.secondsToEqualDigest !== undefined && catchUp.indicators >= 100_000 ? catchUp.secondsToEqualDigest <= 5 : null,
    catchUpBytesUnder1_2xMissing: catchUp?.bytesVsMissing !== undefined ? catchUp.bytesVsMissing <= 1.2 : null,
    quotaFloodLookupP99Under50ms: (out.quotaFlood as any)?.lookupP99ms !== undefined ? (out.quotaFlood as any).lookupP99ms <= 50 : null,
    quotaFloodRssUnder500mb: (out.quotaFlood as any)?.victimPeakRssMb !== undefined ? (out.quotaFlood as any).victimPeakRssMb <= 500 : null
  }
  if (p10?.throughput?.perSecToEveryNode !== undefined) {
    (out.propagation as any).nodes10.throughput.timesNodesVsRawLevel = Number((p10.throughput.perSecToEveryNode * 10 / (out.raw as any).levelBatchedPutsPerSec).toFixed(2));
    (out.propagation as any).nodes10.throughput.timesNodesVsIngest = Number((p10.throughput.perSecToEveryNode * 10 / ingest.bulkPerSec).toFixed(2))
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch((err) => { process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 }).finally(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
