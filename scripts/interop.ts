/**
 * Interop benchmarks (part of `npm run bench`; alone: `node dist/scripts/interop.js`).
 *
 *   csvImport   `phalanx import` of a generated CSV of 1,000,000 indicators (INTEROP_COUNT)
 *               into a node started like `npm start`: indicators/s (both passes: the check
 *               and the import) and the peak RSS of the importing CLI and of the node.
 *   stixImport  the same for a generated STIX 2.1 bundle of 1,000,000 indicators (INTEROP_STIX),
 *               streamed (read twice: the index, then the rows)
 *   taxiiPull   a full TAXII 2.1 pull of 100,000 objects (INTEROP_TAXII) from a collection,
 *               1,000 per page, following `next`: objects/s.
 *   taxiiPush   TAXII 2.1 adds of 100,000 new indicators (INTEROP_TAXII) in envelopes of
 *               5,000, 2 in flight, into the same node: objects/s stored.
 */
import '../src/polyfill.js'
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { startChild, type Child } from './propagation.js'

const root = resolve(fileURLToPath(import.meta.url), '../../..')
const say = (msg: string): void => { process.stderr.write(`[interop] ${msg}\n`) }

function peakRssMb (pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? -1 : Math.round(Number(m[1]) / 1024)
  } catch { return -1 }
}

async function writeCsv (path: string, count: number): Promise<void> {
  const out = createWriteStream(path)
  out.write('value,type,tlp,confidence,tags,description\n')
  for (let i = 0; i < count; i++) {
    const line = i % 2 === 0
      ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},ipv4,GREEN,70,scanner;bench,\n`
      : `d${i}.interop.example,domain,AMBER,80,phishing,"generated row ${i}"\n`
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

async function writeStix (path: string, count: number): Promise<void> {
  const out = createWriteStream(path)
  out.write('{"type":"bundle","id":"bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8","objects":[\n')
  out.write('{"type":"malware","spec_version":"2.1","id":"malware--6ba7b811-9dad-41d1-80b4-00c04fd430c8","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"Bench Family","is_family":true}')
  for (let i = 0; i < count; i++) {
    const pattern = i % 2 === 0 ? `[ipv4-addr:value = '10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}']` : `[domain-name:value = 'd${i}.stix.example']`
    const o = `,\n{"type":"indicator","spec_version":"2.1","id":"indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"${pattern}","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","confidence":70,"labels":["bench"],"object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}`
    if (!out.write(o)) await once(out, 'drain')
  }
  out.write('\n]}\n')
  out.end()
  await once(out, 'finish')
}

async function importFile (node: Child, file: string, format: string): Promise<Record<string, number>> {
  const t0 = Date.now()
  const proc = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=8', join(root, 'dist/src/cli/main.js'), 'import', file, '--format', format, '--data', node.dataDir, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let peakCli = 0
  const timer = setInterval(() => { peakCli = Math.max(peakCli, peakRssMb(proc.pid!)) }, 100)
  let stdout = ''
  proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  const [code] = await once(proc, 'exit') as [number]
  clearInterval(timer)
  if (code !== 0) throw new Error(`import exited ${code}: ${stdout}`)
  const seconds = (Date.now() - t0) / 1000
  const summary = JSON.parse(stdout) as { imported: number }
  return { indicators: summary.imported, seconds: Number(seconds.toFixed(2)), perSec: Math.round(summary.imported / seconds), cliPeakRssMb: peakCli, nodePeakRssMb: peakRssMb(node.proc.pid!) }
}

export async function benchStixImport (node: Child, count: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'phalanx-interop-'))
  const file = join(dir, 'big.stix.json')
  try {
    say(`writing a STIX bundle of ${count} indicators…`)
    await writeStix(file, count)
    say('phalanx import --format stix…')
    return { ...await importFile(node, file, 'stix'), fileMb: Math.round(statSync(file).size / 1024 / 1024) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchCsvImport (node: Child, count: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'phalanx-interop-'))
  const file = join(dir, 'big.csv')
  try {
    say(`writing a CSV of ${count} indicators…`)
    await writeCsv(file, count)
    say('phalanx import…')
    return await importFile(node, file, 'csv')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchTaxiiPull (node: Child, count: number): Promise<Record<string, number>> {
  const headers = { authorization: `Basic ${Buffer.from(`bench:${node.token}`).toString('base64')}`, accept: 'application/taxii+json;version=2.1' }
  const cols = await (await fetch(`${node.apiUrl}/taxii2/api/collections/`, { headers })).json() as { collections: Array<{ id: string }> }
  const col = cols.collections[0].id
  const t0 = Date.now()
  let objects = 0
  let next: string | undefined
  do {
    const r = await fetch(`${node.apiUrl}/taxii2/api/collections/${col}/objects/?limit=1000${next !== undefined ? `&next=${next}` : ''}`, { headers })
    const page = await r.json() as { more: boolean, next?: string, objects?: unknown[] }
    objects += page.objects?.length ?? 0
    next = page.more ? page.next : undefined
  } while (next !== undefined && objects < count)
  const seconds = (Date.now() - t0) / 1000
  return { objects, seconds: Number(seconds.toFixed(2)), perSec: Math.round(objects / seconds) }
}

export async function benchTaxiiPush (node: Child, count: number): Promise<Record<string, number>> {
  const headers = { authorization: `Basic ${Buffer.from(`bench:${node.token}`).toString('base64')}`, accept: 'application/taxii+json;version=2.1', 'content-type': 'application/taxii+json;version=2.1' }
  const cols = await (await fetch(`${node.apiUrl}/taxii2/api/collections/`, { headers })).json() as { collections: Array<{ id: string }> }
  const url = `${node.apiUrl}/taxii2/api/collections/${cols.collections[0].id}/objects/`
  const green = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'
  const per = 5000
  const envelopes = Array.from({ length: Math.ceil(count / per) }, (_, k) => JSON.stringify({
    objects: Array.from({ length: Math.min(per, count - k * per) }, (_, i) => {
      const n = k * per + i
      return { type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: `[domain-name:value = 'p${n}.push.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', object_marking_refs: [green], labels: ['pushed'] }
    })
  }))
  const t0 = Date.now()
  let stored = 0
  let next = 0
  await Promise.all([0, 1].map(async () => {
    while (next < envelopes.length) {
      const body = envelopes[next++]
      const r = await fetch(url, { method: 'POST', headers, body })
      const status = await r.json() as { success_count?: number }
      if (r.status !== 202) throw new Error(`TAXII add answered ${r.status}: ${JSON.stringify(status).slice(0, 300)}`)
      stored += status.success_count ?? 0
    }
  }))
  const seconds = (Date.now() - t0) / 1000
  return { objects: stored, seconds: Number(seconds.toFixed(2)), perSec: Math.round(stored / seconds) }
}

export async function benchInterop (count = 1_000_000, taxii = 100_000, stix = count): Promise<Record<string, unknown>> {
  // each import into a fresh node (peak RSS is per import); the TAXII pull from the CSV one
  const stop = async (node: Child): Promise<void> => {
    node.proc.kill('SIGTERM')
    await once(node.proc, 'exit')
    rmSync(node.dataDir, { recursive: true, force: true })
  }
  let stixImport: Record<string, number>
  const first = await startChild(0)
  try {
    stixImport = await benchStixImport(first, stix)
    say(`stixImport: ${JSON.stringify(stixImport)}`)
  } finally {
    await stop(first)
  }
  const node = await startChild(1)
  try {
    const csvImport = await benchCsvImport(node, count)
    say(`csvImport: ${JSON.stringify(csvImport)}`)
    const taxiiPull = await benchTaxiiPull(node, taxii)
    say(`taxiiPull: ${JSON.stringify(taxiiPull)}`)
    const taxiiPush = await benchTaxiiPush(node, taxii)
    say(`taxiiPush: ${JSON.stringify(taxiiPush)}`)
    return { csvImport, stixImport, taxiiPull, taxiiPush }
  } finally {
    await stop(node)
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchInterop(Number(process.env.INTEROP_COUNT ?? 1_000_000), Number(process.env.INTEROP_TAXII ?? 100_000), Number(process.env.INTEROP_STIX ?? process.env.INTEROP_COUNT ?? 1_000_000))
    .then(r => { process.stdout.write(JSON.stringify(r, null, 2) + '\n') })
    .catch((err) => { process.stderr.write(`interop failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
