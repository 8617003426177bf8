/**
 * Propagation in one circle of N nodes, each a child process started like `npm start` on
 * loopback (part of `npm run bench`; alone: `node dist/scripts/propagation.js [N…]`).
 *
 *   latency     2,000 single-record GREEN publishes at 200/s from one node; for every other
 *               node, the time from when the publish request was sent to the origin's API to
 *               the record's `received` there (when that node stored it): p50, p99, max, so
 *               the origin's queue and linger count (issue 17, part 2); the time from the
 *               entry's `created` (signed) is beside it. One clock: all processes run on this
 *               machine. Also how many entries carried the records (group commit), the CPU
 *               each node spent per 1,000 delivered records (the origin: per 1,000 published),
 *               and per entry, how many gossip copies each node received (duplicates the
 *               mesh sends included) and how many it judged (decrypted and verified).
 *   warmup      before the latency run, the same publishes (PROP_WARMUP of them, `npm run bench`:
 *               as many as the latency run), their figures kept apart: nodes that just
 *               started spend much of their CPU in V8's compiler (perf, 10 nodes at 20/s:
 *               p99 468 ms in the first 30 s, 106–229 ms after them). Each run's record times
 *               are read from the nodes after the last run (`send`, `report`).
 *   throughput  a bulk publish of 200,000 indicators (10,000 per POST, 2 in flight) at one
 *               node (of 10 nodes; PROP_BULK_AT=N: of N); indicators/s until every node holds
 *               them all, and the costs as above, with the bounds' drops (messages opened and
 *               then ignored: queue full, over quota) and what anti-entropy sync ran and brought.
 *   idle        each node's CPU share over 5 s of the formed circle with no traffic (the
 *               cost of membership alone: heartbeats, pings, membership pulls, sync).
 *   advisories  50 advisories from one node, one every 100 ms (issue 15: target p99 ≤ 1 s at
 *               10 nodes): for every other node, `created` at the author to `received` there;
 *               then every other node acknowledges the last one at once: the time until the
 *               author's node shows no member pending.
 *
 * Diagnostics (not part of `npm run bench`): PROP_WINDOW_S=N adds `windowsP50P99Ms`, p50/p99
 * of the publishes sent in each N-second window of the latency run (does the tail shrink as
 * the nodes warm, does a stall line up with something); PROP_NODE_FLAGS passes Node/V8 flags
 * to every node; PROP_NODE_OUT=DIR keeps what each node prints after its banner (`--trace-gc`)
 * in DIR/n<i>.out, each line after the wall clock (ms) it was read at, and the wall clock each
 * phase started at in DIR/phases; PROP_KEEP=1 keeps the nodes' data directories (LevelDB's LOG
 * says when it flushed and compacted); PROP_CPU_PROF=DIR profiles the origin and one receiver
 * (with many nodes per core its sampler is descheduled too: long gaps are charged to the frame
 * that runs next, so read sample counts, or perf by thread).
 */
import '../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const say = (msg: string): void => { process.stderr.write(`[propagation] ${msg}\n`) }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export interface Child { proc: ChildProcess, apiUrl: string, token: string, dataDir: string, publicKey: string }

/** a node as a child process (`phalanx start`); `dataDir` reuses a stopped node's data */
export async function startChild (i: number, dataDir = mkdtempSync(join(tmpdir(), 'phalanx-prop-')), env: Record<string, string> = {}): Promise<Child> {
  // PROP_CPU_PROF=DIR profiles nodes 0 and 1 (the origin and one receiver)
  const prof = process.env.PROP_CPU_PROF !== undefined && i < 2 ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROP_CPU_PROF}/n${i}`] : []
  const proc = spawn(process.execPath, [...prof, ...(process.env.PROP_NODE_FLAGS ?? '').split(' ').filter(x => x !== ''), '--max-old-space-size=256', '--max-semi-space-size=8', join(root, 'dist/src/cli/main.js'), 'start', '--data', dataDir, '--org', `org${i}`,
    '--api-port', '0', '--p2p-port', '0', '--log-level', process.env.PROP_LOG ?? 'error', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PHALANX_P2P_HOST: '127.0.0.1', PHALANX_P2P_DIAL_INTERVAL_MS: process.env.PROP_DIAL_MS ?? '500', ...env } })
  const line = await new Promise<string>((resolve, reject) => {
    // the banner is the first line that is a JSON object: V8 trace flags in PROP_NODE_FLAGS
    // print their own lines first; later output is read and dropped so the pipe never fills
    // PROP_NODE_OUT=DIR keeps what each node prints after its banner (e.g. --trace-gc) in
    // DIR/n<i>.out, each line after the wall clock (ms) it was read at
    const out = process.env.PROP_NODE_OUT !== undefined ? join(process.env.PROP_NODE_OUT, `n${i}.out`) : undefined
    let banner = false
    let rest = ''
    proc.stdout!.on('data', (d: Buffer) => {
      if (banner && out === undefined) return
      const lines = (rest + d.toString()).split('\n')
      rest = lines.pop()!
      const after: string[] = []
      for (const l of lines) {
        if (banner) after.push(`${Date.now()} ${l}\n`)
        else if (l.startsWith('{')) { banner = true; resolve(l) }
      }
      if (out !== undefined && after.length > 0) appendFileSync(out, after.join(''))
    })
    proc.on('exit', (code) => { reject(new Error(`node ${i} exited with ${String(code)}`)) })
  })
  const info = JSON.parse(line) as { apiUrl: string, publicKey: string }
  return { proc, apiUrl: info.apiUrl, token: readFileSync(join(dataDir, 'api.token'), 'utf8').trim(), dataDir, publicKey: info.publicKey }
}

/**
 * Keep-alive connections for every API call. node:http rather than fetch: at 200 publishes a
 * second fetch cost this process ~1.2 ms of CPU per request (0.17 cores, taken from the 25
 * nodes it measures on the same 2 cores), node:http ~0.4 ms.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })

export async function api<T = any> (c: Child, path: string, body?: unknown): Promise<T> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  const url = new URL(c.apiUrl + path)
  const { status, text } = await new Promise<{ status: number, text: string }>((resolve, reject) => {
    const req = http.request({
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: data === undefined ? 'GET' : 'POST',
      agent,
      headers: { authorization: `Bearer ${c.token}`, ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': data.length } : {}) }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(data)
  })
  if (status >= 300) throw new Error(`${path}: ${status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

export async function untilTrue (what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now()
  while (!(await fn())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

/** an identity made ahead of the start (`phalanx init`): its data dir and public key */
async function initChild (i: number): Promise<{ dataDir: string, publicKey: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'phalanx-prop-'))
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'init', '--data', dataDir, '--org', `org${i}`, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    p.stdout.on('data', (d: Buffer) => { buf += d.toString() })
    p.on('exit', (code) => { if (code === 0) resolve(buf); else reject(new Error(`init ${i} exited with ${String(code)}`)) })
  })
  return { dataDir, publicKey: (JSON.parse(out) as { publicKey: string }).publicKey }
}

/**
 * The circle's nodes, all joined and meshed on its topic. `line`: each node connects only to
 * its neighbours (config p2p.onlyPeers, an allow-list of peers): A–B–C…, the ends meet only
 * through the middle.
 */
export async function formCircle (size: number, line = false): Promise<{ nodes: Child[], circle: string }> {
  const nodes: Child[] = []
  if (line) {
    const ids = await Promise.all(Array.from({ length: size }, async (_, i) => await initChild(i)))
    for (let i = 0; i < size; i++) {
      const neighbours = [ids[i - 1], ids[i + 1]].filter(x => x !== undefined).map(x => x.publicKey)
      nodes.push(await startChild(i, ids[i].dataDir, { PHALANX_P2P_ONLY_PEERS: neighbours.join(',') }))
    }
  } else {
    for (let i = 0; i < size; i += 5) nodes.push(...await Promise.all(Array.from({ length: Math.min(5, size - i) }, async (_, k) => await startChild(i + k))))
  }
  const circle = (await api<{ id: string }>(nodes[0], '/v1/circles', { name: 'bench' })).id
  for (const n of nodes.slice(1)) {
    const { code } = await api<{ code: string }>(nodes[0], `/v1/circles/${circle}/invites`, { expires: '1h' })
    await api(n, '/v1/circles/join', { code })
  }
  await untilTrue('every node to know every member', async () => {
    for (const n of nodes) if ((await api<{ members: unknown[] }>(n, `/v1/circles/${circle}/members`)).members.length !== size) return false
    return true
  }, 120_000)
  // membership known everywhere; give gossipsub a few heartbeats to build its mesh
  await sleep(3000)
  return { nodes, circle }
}

interface Meters { cpu: number, judged: number, received: number, syncRuns: number, syncEntries: number, syncServed: number, dropped: number }

/** a node's CPU seconds since start, gossip messages judged, gossip copies received (its /metrics), and the syncs it ran and served (/v1/status) */
export async function meters (c: Child): Promise<Meters> {
  const res = await fetch(`${c.apiUrl}/metrics`, { headers: { authorization: `Bearer ${c.token}` } })
  const text = await res.text()
  const { sync, gossipDrops } = await api<{ sync: { runs: number, entriesReceived: number, entriesSent: number } | null, gossipDrops: { queueFull: number, overQuota: number } | null }>(c, '/v1/status')
  const cpu = Number(/^phalanx_process_process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? NaN)
  let judged = 0
  for (const m of text.matchAll(/^phalanx_gossip_messages\{verdict="[a-z]+"\} (\S+)$/gm)) judged += Number(m[1])
  const received = Number(/^phalanx_gossip_received (\S+)$/m.exec(text)?.[1] ?? NaN)
  return { cpu, judged, received, syncRuns: sync?.runs ?? 0, syncEntries: sync?.entriesReceived ?? 0, syncServed: sync?.entriesSent ?? 0, dropped: (gossipDrops?.queueFull ?? 0) + (gossipDrops?.overQuota ?? 0) }
}

/** median and max of the receivers' figures (node 0 is the origin), rounded */
function spread (xs: number[], digits: number): { median: number, max: number } {
  const r = xs.slice(1).sort((x, y) => x - y)
  return { median: Number(quantile(r, 0.5).toFixed(digits)), max: Number(r[r.length - 1].toFixed(digits)) }
}

/**
 * What the nodes spent between two readings: CPU ms per 1,000 records (origin: published;
 * others: delivered); per entry, the gossip copies each receiver got (duplicates gossipsub
 * drops unjudged included) and the messages it judged (decrypted)
 */
function costs (before: Meters[], after: Meters[], records: number, entries: number): Record<string, unknown> {
  const cpu = after.map((a, i) => ((a.cpu - before[i].cpu) * 1000) / (records / 1000))
  const perEntry = (k: 'judged' | 'received' | 'syncEntries' | 'dropped'): number[] => after.map((a, i) => (a[k] - before[i][k]) / Math.max(1, entries))
  const delta = (k: 'syncRuns' | 'syncServed'): number[] => after.map((a, i) => a[k] - before[i][k])
  return {
    originCpuMsPer1k: Number(cpu[0].toFixed(1)),
    receiverCpuMsPer1k: spread(cpu, 1),
    copiesReceivedPerEntry: spread(perEntry('received'), 2),
    messagesJudgedPerEntry: spread(perEntry('judged'), 2),
    // messages judged and then ignored for a bound (queue full, origin over quota): opened for nothing
    droppedPerEntry: spread(perEntry('dropped'), 2),
    // anti-entropy during the run: syncs each receiver ran, entries they took by sync (per entry published), entries served
    syncRuns: spread(delta('syncRuns'), 0),
    syncEntriesPerEntry: spread(perEntry('syncEntries'), 2),
    syncServed: spread(delta('syncServed'), 0)
  }
}

/** each node's CPU share (% of one core) while the circle is formed and quiet: what membership alone costs */
async function idle (nodes: Child[], ms: number): Promise<Record<string, unknown>> {
  const before = await Promise.all(nodes.map(meters))
  const t0 = Date.now()
  await sleep(ms)
  const after = await Promise.all(nodes.map(meters))
  const pct = after.map((a, i) => (100 * (a.cpu - before[i].cpu) * 1000) / (Date.now() - t0)).sort((x, y) => x - y)
  return { seconds: Number(((Date.now() - t0) / 1000).toFixed(1)), cpuPercentPerNode: { median: Number(quantile(pct, 0.5).toFixed(2)), max: Number(pct[pct.length - 1].toFixed(2)) } }
}

/** the entries a node holds in a circle (the sum of its logs' heads: while one node publishes, the growth is its entries) */
async function ownEntries (c: Child, circle: string): Promise<number> {
  const s = await api<{ circles: Array<{ id: string, entries: number }> }>(c, '/v1/status')
  return s.circles?.find(x => x.id === circle)?.entries ?? NaN
}

/** every indicator a node holds with this tag: value → received time (ms) */
async function receivedTimes (c: Child, tag: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let cursor: string | null = null
  do {
    const page: { indicators: Array<{ value: string, received: string }>, nextCursor: string | null } = await api(c, `/v1/indicators?tag=${tag}&limit=1000${cursor !== null ? `&cursor=${cursor}` : ''}`)
    for (const i of page.indicators) out.set(i.value, Date.parse(i.received))
    cursor = page.nextCursor
  } while (cursor !== null)
  return out
}

/** a run of publishes at a steady rate, sent and delivered everywhere; `report` reads what it measured */
interface Run {
  tag: string
  count: number
  perSec: number
  /** when each publish request was sent (loopback: when it reached the origin's API, within a fraction of a ms) */
  sent: Map<string, number>
  t0: number
  sendSeconds: number
  entries: number
  costs: Record<string, unknown>
}

/**
 * Publish `count` single records at `perSec` from node 0 and wait until every node holds them.
 * Only the light meters (`/metrics`, `/v1/status`) are read around it: the records' times are
 * read later (`report`), once nothing more is measured. Read here, the warm-up's 1,000-record
 * pages from every node (48 pages at 25 nodes) ran right before the latency run, and the
 * origin's pages while the last entries were still on their way: at 25 nodes and 200/s the
 * latency run's first 3 s had p50 / p99 119–186 / 274–343 ms against 70–117 / 171–228 ms in
 * the 7 s after (`PROP_WINDOW_S=1`, 2 runs). Read after, p99 median 248 against 274 ms (7
 * interleaved pairs; README, Performance); the first seconds are still the slowest.
 */
async function send (nodes: Child[], circle: string, count: number, perSec: number, tag: string): Promise<Run> {
  const sent = new Map<string, number>()
  const base = (await api<{ counts: { indicators: number } }>(nodes[0], '/v1/status')).counts.indicators
  const before = await Promise.all(nodes.map(meters))
  const seq0 = await ownEntries(nodes[0], circle)
  const t0 = Date.now()
  const inflight: Array<Promise<void>> = []
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / perSec
    const wait = due - Date.now()
    if (wait > 0) await sleep(wait)
    const value = `${tag}-${i}.bench.example`
    sent.set(value, Date.now())
    inflight.push(api<{ id: string, entries: unknown[] }>(nodes[0], '/v1/indicators', { type: 'domain', value, tlp: 'GREEN', circle, tags: [tag] }).then(() => {}))
    if (inflight.length > 64) await inflight.shift()
  }
  await Promise.all(inflight)
  const sendSeconds = (Date.now() - t0) / 1000
  await untilTrue(`every node to hold every ${tag} record`, async () => {
    for (const n of nodes.slice(1)) if ((await api<{ counts: { indicators: number } }>(n, '/v1/status')).counts.indicators < count + base) return false
    return true
  }, 120_000)
  const after = await Promise.all(nodes.map(meters))
  const entries = (await ownEntries(nodes[0], circle)) - seq0
  return { tag, count, perSec, sent, t0, sendSeconds, entries, costs: costs(before, after, count, entries) }
}

/** a run's latencies: from each publish request to the record's `received` at every other node (and from its `created`, signed, at the origin) */
async function report (nodes: Child[], run: Run): Promise<Record<string, unknown>> {
  const { tag, count, perSec, sent, t0, sendSeconds, entries } = run
  // the origin's own record holds `created`; the others hold `received`
  const created = new Map<string, number>()
  let cursor: string | null = null
  do {
    const page: { indicators: Array<{ value: string, created: string }>, nextCursor: string | null } = await api(nodes[0], `/v1/indicators?tag=${tag}&limit=1000${cursor !== null ? `&cursor=${cursor}` : ''}`)
    for (const i of page.indicators) created.set(i.value, Date.parse(i.created))
    cursor = page.nextCursor
  } while (cursor !== null)
  const lat: number[] = []
  const signed: number[] = []
  const perNode: string[] = []
  // PROP_WINDOW_S=N: p50/p99 of the publishes sent in each N-second window (does the tail shrink as the nodes warm?)
  const windowS = Number(process.env.PROP_WINDOW_S ?? 0)
  const byWindow = new Map<number, number[]>()
  for (const n of nodes.slice(1)) {
    const mine: number[] = []
    for (const [value, at] of await receivedTimes(n, tag)) {
      const c = created.get(value)
      const s0 = sent.get(value)
      if (s0 !== undefined) {
        mine.push(at - s0)
        if (windowS > 0) {
          const w = Math.floor((s0 - t0) / 1000 / windowS)
          let a = byWindow.get(w)
          if (a === undefined) byWindow.set(w, a = [])
          a.push(at - s0)
        }
      }
      if (c !== undefined) signed.push(at - c)
    }
    mine.sort((a, b) => a - b)
    perNode.push(`${quantile(mine, 0.5)}/${quantile(mine, 0.99)}/${mine[mine.length - 1]}`)
    lat.push(...mine)
  }
  lat.sort((a, b) => a - b)
  signed.sort((a, b) => a - b)
  const windows: string[] = []
  for (const [w, a] of [...byWindow].sort((x, y) => x[0] - y[0])) {
    a.sort((x, y) => x - y)
    windows.push(`${w * windowS}s ${quantile(a, 0.5)}/${quantile(a, 0.99)}`)
  }
  return {
    publishes: count,
    perSecTarget: perSec,
    sendSeconds: Number(sendSeconds.toFixed(2)),
    perSecSent: Math.round(count / sendSeconds),
    samples: lat.length,
    p50ms: quantile(lat, 0.5),
    p99ms: quantile(lat, 0.99),
    maxMs: lat[lat.length - 1],
    fromSigned: { p50ms: quantile(signed, 0.5), p99ms: quantile(signed, 0.99) },
    entries,
    recordsPerEntry: Number((count / entries).toFixed(2)),
    ...run.costs,
    perNodeP50P99MaxMs: perNode as any,
    ...(windows.length > 0 ? { startedAt: new Date(t0).toISOString(), windowsP50P99Ms: windows as any } : {})
  }
}

async function advisories (nodes: Child[], circle: string, count: number): Promise<Record<string, unknown>> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    ids.push((await api<{ id: string }>(nodes[0], '/v1/advisories', { circle, title: `bench advisory ${i}`, severity: 'high' })).id)
    await sleep(100)
  }
  type Listed = { advisories: Array<{ id: string, created: string, received: string }> }
  const mine = new Set(ids)
  await untilTrue('every node to hold every advisory', async () => {
    for (const n of nodes.slice(1)) if ((await api<Listed>(n, `/v1/advisories?circle=${circle}`)).advisories.filter(a => mine.has(a.id)).length < count) return false
    return true
  }, 60_000)
  const lat: number[] = []
  for (const n of nodes.slice(1)) {
    for (const a of (await api<Listed>(n, `/v1/advisories?circle=${circle}`)).advisories) if (mine.has(a.id)) lat.push(Date.parse(a.received) - Date.parse(a.created))
  }
  lat.sort((a, b) => a - b)
  const last = ids[ids.length - 1]
  const t0 = Date.now()
  await Promise.all(nodes.slice(1).map(async n => await api(n, `/v1/advisories/${last}/ack`, {})))
  await untilTrue('the author to see every ack', async () => (await api<{ pending: unknown[] }>(nodes[0], `/v1/advisories/${last}`)).pending.length === 0, 60_000)
  return { advisories: count, samples: lat.length, p50ms: quantile(lat, 0.5), p99ms: quantile(lat, 0.99), maxMs: lat[lat.length - 1], allAcksBackMs: Date.now() - t0 }
}

async function throughput (nodes: Child[], circle: string, count: number, base: number): Promise<Record<string, unknown>> {
  const inputs = Array.from({ length: count }, (_, i) => ({ type: 'ipv4', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, tags: ['bulk'], confidence: 60 }))
  const before = await Promise.all(nodes.map(meters))
  const seq0 = await ownEntries(nodes[0], circle)
  const t0 = Date.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next
      next += 10_000
      await api(nodes[0], '/v1/indicators', { indicators: inputs.slice(i, i + 10_000), tlp: 'GREEN', circle })
    }
  }
  await Promise.all([worker(), worker()])
  const publishedMs = Date.now() - t0
  const done = new Map<number, number>()
  await untilTrue('every node to hold the bulk publish', async () => {
    await Promise.all(nodes.map(async (n, i) => {
      if (done.has(i)) return
      const s = await api<{ counts: { indicators: number } }>(n, '/v1/status')
      if (s.counts.indicators >= base + count) done.set(i, Date.now() - t0)
    }))
    return done.size === nodes.length
  }, 600_000)
  const allMs = Math.max(...done.values())
  const after = await Promise.all(nodes.map(meters))
  const entries = (await ownEntries(nodes[0], circle)) - seq0
  return { indicators: count, nodes: nodes.length, publishSeconds: Number((publishedMs / 1000).toFixed(2)), allNodesSeconds: Number((allMs / 1000).toFixed(2)), perSecToEveryNode: Math.round(count / (allMs / 1000)), entries, ...costs(before, after, count, entries) }
}

/** PROP_NODE_OUT=DIR: the wall clock a phase started at, in DIR/phases */
function phaseMark (name: string): void {
  const dir = process.env.PROP_NODE_OUT
  if (dir !== undefined) appendFileSync(join(dir, 'phases'), `${Date.now()} ${name}\n`)
}

export async function benchPropagation (sizes: number[], opts: { latencyCount?: number, warmupCount?: number, ratePerSec?: number, bulkCount?: number, bulkAt?: number, advisoryCount?: number, line?: boolean } = {}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const size of sizes) {
    say(`forming a circle of ${size} nodes${opts.line === true ? ' in a line' : ''}…`)
    const { nodes, circle } = await formCircle(size, opts.line === true)
    try {
      say('idle: 5 s of a formed, quiet circle…')
      const quiet = await idle(nodes, 5000)
      // nodes just started run V8's compiler more than our code: the latency run measures a
      // circle past that (the warm-up's own figures are kept beside it)
      const warm = opts.warmupCount ?? 0
      let warmup: Record<string, unknown> | undefined
      let warmRun: Run | undefined
      if (warm > 0) {
        say(`warm-up: ${warm} publishes at ${opts.ratePerSec ?? 200}/s…`)
        phaseMark(`warmup${size}`)
        warmRun = await send(nodes, circle, warm, opts.ratePerSec ?? 200, 'warmup')
      }
      say(`latency: ${opts.latencyCount ?? 2000} publishes at ${opts.ratePerSec ?? 200}/s…`)
      phaseMark(`latency${size}`)
      const lat = await report(nodes, await send(nodes, circle, opts.latencyCount ?? 2000, opts.ratePerSec ?? 200, 'latency'))
      if (warmRun !== undefined) {
        const w = await report(nodes, warmRun)
        warmup = { publishes: w.publishes, perSecSent: w.perSecSent, p50ms: w.p50ms, p99ms: w.p99ms, receiverCpuMsPer1k: w.receiverCpuMsPer1k }
      }
      const entry: Record<string, unknown> = { idle: quiet, ...(warmup !== undefined ? { warmup } : {}), latency: lat }
      if ((opts.advisoryCount ?? 50) > 0) {
        say(`advisories: ${opts.advisoryCount ?? 50}, one every 100 ms, and the acks of the last…`)
        entry.advisories = await advisories(nodes, circle, opts.advisoryCount ?? 50)
      }
      if (size === (opts.bulkAt ?? 10)) {
        say(`throughput: bulk ${opts.bulkCount ?? 200_000}…`)
        entry.throughput = await throughput(nodes, circle, opts.bulkCount ?? 200_000, (opts.latencyCount ?? 2000) + warm)
      }
      out[`${opts.line === true ? 'line' : 'nodes'}${size}`] = entry
      say(`nodes${size}: ${JSON.stringify(entry)}`)
    } catch (err) {
      out[`nodes${size}`] = { error: (err as Error).message }
      say(`nodes${size} failed: ${(err as Error).message}`)
    } finally {
      for (const n of nodes) n.proc.kill('SIGTERM')
      await Promise.all(nodes.map(async n => await new Promise(resolve => { if (n.proc.exitCode !== null) resolve(null); else n.proc.once('exit', resolve) })))
      // PROP_KEEP=1 keeps the nodes' data directories (LevelDB's LOG shows when it compacted)
      if (process.env.PROP_KEEP !== '1') for (const n of nodes) rmSync(n.dataDir, { recursive: true, force: true })
    }
  }
  return out
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = process.argv.slice(2).map(Number).filter(x => x > 1)
  benchPropagation(sizes.length > 0 ? sizes : [10, 25], { latencyCount: Number(process.env.PROP_LATENCY ?? 2000), ratePerSec: Number(process.env.PROP_RATE ?? 200), warmupCount: Number(process.env.PROP_WARMUP ?? 0), bulkCount: Number(process.env.PROP_BULK ?? 200_000), line: process.env.PROP_LINE === '1', ...(process.env.PROP_BULK_AT !== undefined ? { bulkAt: Number(process.env.PROP_BULK_AT) } : {}), ...(process.env.PROP_ADVISORIES !== undefined ? { advisoryCount: Number(process.env.PROP_ADVISORIES) } : {}) })
    .then(r => { process.stdout.write(JSON.stringify(r, null, 2) + '\n') })
    .catch((err) => { process.stderr.write(`propagation failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
