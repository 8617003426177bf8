/**
 * What a receiving node's own path costs per gossip entry, without the network stack (part
 * of `npm run bench`; alone: `node dist/scripts/receive.js [entries] [recordsPerEntry]`).
 *
 * A member's sealed entries, encoded as its gossip publisher encodes them, are handed to a
 * second node's gossip validator in process, one after the other: decode, open the seal,
 * parse, admit (membership, label), then ingest (schema, signature, entry policy, log
 * position, derive, write without fsync, as gossip does). Real LevelDB in temp dirs; quotas
 * out of the way. CPU is the whole process's (`process.cpuUsage`) over the judging only:
 * beside the bulk ingest's own CPU per 1,000 (bench.ts) it says how much of a receiving
 * node's CPU per record is our path and how much the network stack (propagation.ts measures
 * the node as a whole).
 *
 * RECV_VALUES=domain publishes domains under one parent (`r-N.bench.example`, as the latency run
 * of propagation.ts does) instead of IPv4 addresses: the host index's cost shows.
 * RECV_RATE=N hands the entries over at N a second instead of back to back, as gossip brings
 * them at a steady rate: the CPU per entry is then about twice the back-to-back figure
 * (issue 17: 2.5–2.8 against 1.2–1.5 ms, 1,000 entries at 50 or 200/s), with no network stack.
 * RECV_PROF=FILE writes a V8 CPU profile of the judging; RECV_HEAP=FILE a sampling heap profile
 * of it, every allocation counted (collected ones too: what the judging costs the GC).
 */
import '../src/polyfill.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadConfig } from '../src/config/index.js'
import { PhalanxNode } from '../src/node.js'
import { canonicalJson, entryHash, validateItem } from '../src/records/index.js'
import { encodeEnvelope } from '../src/p2p/envelope.js'
import { GossipValidator, MemberQuotas } from '../src/p2p/gossip/index.js'
import { peerIdOfKey } from '../src/p2p/host.js'

const log = pino({ level: 'silent' })

/** a node's core as `npm start` wires it (store, ingest, circles; no network, no fsync) in a temp dir */
async function member (): Promise<{ node: PhalanxNode, dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'phalanx-recv-'))
  const node = new PhalanxNode(loadConfig({ env: {}, flags: { dataDir: dir, logLevel: 'silent', store: { sync: false }, api: { port: 0 } } }), log)
  await node.startCore()
  return { node, dir }
}

export interface ReceiveFigures {
  entries: number
  recordsPerEntry: number
  /** entries stored (every one should be) */
  stored: number
  cpuMsPerEntry: number
  cpuMsPer1k: number
  wallMsPerEntry: number
}

/** `entries` AMBER entries of `recordsPerEntry` ipv4 indicators, judged one after the other */
export async function benchReceive (entries: number, recordsPerEntry: number): Promise<ReceiveFigures> {
  const ma = await member()
  const mb = await member()
  const a = ma.node
  const b = mb.node
  try {
    const circle = (await a.admin.create('ISAC', 'Org A')).id
    await a.admin.addMember(circle, b.identity.publicKey, 'Org B')
    b.circles.expect(circle)
    for (const e of await a.circles.controlEntries(circle)) await b.ingest.ingest(e, 'join')
    const origin = a.identity.publicKey
    let k = 0
    const domains = process.env.RECV_VALUES === 'domain'
    const seq0 = a.store.head(circle, origin)?.seq ?? 0
    for (let i = 0; i < entries; i++) {
      const items = Array.from({ length: recordsPerEntry }, () => {
        k++
        const value = domains ? `r-${k}.bench.example` : `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`
        return validateItem({ kind: 'indicator', type: domains ? 'domain' : 'ipv4', value, confidence: 50, tags: ['receive'] })
      })
      await a.ingest.publish([{ circle, tlp: 'AMBER', items }])
    }
    const key = a.circles.circleKey(circle)!
    const messages: Uint8Array[] = []
    for (let seq = seq0 + 1; seq <= seq0 + entries; seq++) {
      const e = a.store.getEntry(circle, origin, seq)!
      messages.push(encodeEnvelope(canonicalJson(e), entryHash(e), key))
    }
    const quotas = new MemberQuotas({ entriesPerSecond: 1e9, burstEntries: 1e9, bytesPerSecond: 1e12, burstBytes: 1e12 })
    const validator = new GossipValidator({ circles: b.circles, ingest: b.ingest, log, quotas, onEarly: () => {} })
    const from = peerIdFromString(peerIdOfKey(origin))
    const prof = process.env.RECV_PROF !== undefined ? new Session() : undefined
    if (prof !== undefined) { prof.connect(); await prof.post('Profiler.enable'); await prof.post('Profiler.start') }
    const heap = process.env.RECV_HEAP !== undefined ? new Session() : undefined
    if (heap !== undefined) { heap.connect(); await heap.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as any) }
    let stored = 0
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const gapMs = process.env.RECV_RATE !== undefined ? 1000 / Number(process.env.RECV_RATE) : 0
    for (const m of messages) {
      if ((await validator.validate(circle, m, from)).reason === 'stored') stored++
      if (gapMs > 0) await new Promise(resolve => setTimeout(resolve, gapMs))
    }
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    if (prof !== undefined) { const { profile } = await prof.post('Profiler.stop'); writeFileSync(process.env.RECV_PROF!, JSON.stringify(profile)) }
    if (heap !== undefined) { const { profile } = await heap.post('HeapProfiler.stopSampling'); writeFileSync(process.env.RECV_HEAP!, JSON.stringify(profile)) }
    const cpuMs = (cpu.user + cpu.system) / 1000
    return {
      entries,
      recordsPerEntry,
      stored,
      cpuMsPerEntry: Number((cpuMs / entries).toFixed(3)),
      cpuMsPer1k: Number((cpuMs / (entries * recordsPerEntry / 1000)).toFixed(1)),
      wallMsPerEntry: Number((ms / entries).toFixed(3))
    }
  } finally {
    for (const m of [ma, mb]) { await m.node.stop(); rmSync(m.dir, { recursive: true, force: true }) }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchReceive(Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? 1))
    .then(r => { process.stdout.write(JSON.stringify(r) + '\n') })
    .catch((err) => { process.stderr.write(`receive failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
