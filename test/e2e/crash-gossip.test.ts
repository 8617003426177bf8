/**
 * kill -9 during network ingest (issue "Core 3"): a receiver node runs as a child
 * process (the compiled CLI, `phalanx start`) in a circle with a publisher (in this process)
 * that streams bulk entries (gossip, and sync after each restart) and TLP:RED entries to the receiver over the
 * acknowledged direct protocol. The receiver is killed with SIGKILL at a random moment, 20
 * times, on the same data dir. After each kill:
 * - the store is consistent (checkStore: chains, every index pair, the counters);
 * - every RED entry the receiver acknowledged (gone from the publisher's outbox) is stored.
 * At the end the receiver restarts, catches up by sync to the publisher's digest, and
 * `phalanx verify` (signatures too) passes on its data dir.
 *
 * Needs dist/ (`npm test` builds it). Reproduce kill times with CRASH_SEED=<seed>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelStore, checkStore } from '../../src/store/index.js'
import { redLogOf } from '../../src/records/index.js'
import { until as waitUntil } from '../utils/wait.js'
import { apiCall, startTestNode, type TestNode } from '../utils/node.js'
import { prng } from '../utils/prng.mjs'

const until = async <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> => await waitUntil(what, fn, timeoutMs)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist/src/cli/main.js')
const ITERATIONS = Number(process.env.CRASH_ITERATIONS ?? 20)
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

interface Child { proc: ChildProcess, apiUrl: string, exited: Promise<unknown> }

let tmp: string
let publisher: TestNode
let live: ChildProcess | undefined

function childEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHALANX_')) env[k] = v
  return { ...env, PHALANX_P2P_HOST: '127.0.0.1', PHALANX_P2P_DIAL_INTERVAL_MS: '200', PHALANX_P2P_SYNC_INTERVAL_MS: '500', PHALANX_LOG_LEVEL: 'error' }
}

async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    p.on('error', reject)
    p.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}

async function startChild (data: string): Promise<Child> {
  const proc = spawn(process.execPath, [CLI, 'start', '--data', data, '--api-port', '0', '--p2p-port', '0', '--json'], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  live = proc
  const exited = new Promise(resolve => proc.on('exit', resolve))
  let stdout = ''
  let stderr = ''
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const first = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no first line within 20 s; stderr:\n${stderr}`)) }, 20_000)
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(stdout.slice(0, nl))) }
    })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`the receiver exited before its first line; stderr:\n${stderr}`)) })
  })
  return { proc, apiUrl: first.apiUrl, exited }
}


beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'phalanx-crash-gossip-'))
  publisher = await startTestNode({ flags: { org: 'Publisher', logLevel: process.env.PX_TEST_LOG ?? 'silent', p2p: { dialIntervalMs: 200, syncIntervalMs: 500 } } })
})

afterAll(async () => {
  live?.kill('SIGKILL')
  await publisher?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('kill -9 during gossip ingest', () => {
  it(`${ITERATIONS} kills at random moments: the store stays consistent, every acknowledged entry is kept (seed ${SEED})`, async () => {
    const random = prng(SEED)
    const data = join(tmp, 'receiver')
    expect((await cli(['init', '--data', data, '--org', 'Receiver'])).code).toBe(0)
    const token = readFileSync(join(data, 'api.token'), 'utf8').trim()
    const circle = (await publisher.api('/v1/circles', { json: { name: 'crash' } })).body.id as string

    let child = await startChild(data)
    const code = (await publisher.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
    const joined = await apiCall(child.apiUrl, token, '/v1/circles/join', { json: { code } })
    expect(joined.status, joined.text).toBe(200)
    const rKey = (await apiCall(child.apiUrl, token, '/v1/status')).body.publicKey as string
    const redLog = redLogOf(rKey)
    const pKey = publisher.node.identity.publicKey
    let indicators = 0
    const red: number[] = []
    // a steady load for the whole test: bulk entries over gossip (and sync after each
    // restart), and a RED entry to the receiver after each
    let go = true
    /** the load waits while the receiver is down and its store is checked */
    let paused = false
    const load = (async () => {
      for (let k = 0; go; k++) {
        while (paused && go) await new Promise(resolve => setTimeout(resolve, 20))
        const bulk = Array.from({ length: 50 }, (_, i) => ({ type: 'domain', value: `k${k}-i${i}.crash.example`, tlp: 'GREEN' }))
        const b = await publisher.api('/v1/indicators', { json: { indicators: bulk, circle } })
        expect(b.status, b.text).toBe(201)
        indicators += bulk.length
        const r = await publisher.api('/v1/indicators', { json: { type: 'ipv4', value: `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`, tlp: 'RED', to: rKey } })
        expect(r.status, r.text).toBe(201)
        red.push(r.body.entries[0].seq)
        await new Promise(resolve => setTimeout(resolve, 40))
      }
    })()

    let acked: number[] = []
    paused = true
    try {
      for (let run = 0; run < ITERATIONS; run++) {
        const t0 = Date.now()
        if (run > 0) child = await startChild(data)
        await until('the receiver to connect to the publisher', async () => {
          const peers = await apiCall(child.apiUrl, token, '/v1/peers')
          return peers.body.peers?.some((p: { publicKey: string }) => p.publicKey === pKey)
        })
        const t1 = Date.now()
        paused = false
        await new Promise(resolve => setTimeout(resolve, 100 + Math.floor(random() * 1200)))
        child.proc.kill('SIGKILL')
        await child.exited
        paused = true
        // acknowledgements sent before the kill reach the publisher within moments
        await new Promise(resolve => setTimeout(resolve, 300))
        // only entries published before the outbox is read: a later one is not in it yet
        const published = red.slice()
        const waiting = new Set((await publisher.node.ops.circles.redOutbox()).filter(o => o.recipient === rKey).map(o => o.seq))
        acked = published.filter(seq => !waiting.has(seq))

        const t2 = Date.now()
        const store = new LevelStore({ path: join(data, 'store') })
        await store.open()
        try {
          const report = await checkStore(store, { signatures: false })
          expect(report.problems, `run ${run}`).toEqual([])
          expect(report.ok).toBe(true)
          const lost = acked.filter(seq => store.getEntry(redLog, pKey, seq) === undefined)
          expect(lost, `run ${run}: acknowledged RED entries missing`).toEqual([])
        } finally {
          await store.close()
        }
        if (process.env.PX_TEST_TIMING !== undefined) console.log(`run ${run}: start+connect ${t1 - t0} ms, check ${Date.now() - t2} ms, acked ${acked.length}/${red.length}, ${indicators} indicators published`)
      }
    } finally {
      go = false
      await load
    }
    expect(acked.length).toBeGreaterThan(0)

    // back once more: it catches up with everything, and the full offline verify passes
    child = await startChild(data)
    await until('the receiver to catch up with the publisher', async () => {
      const mine = await apiCall(child.apiUrl, token, `/v1/circles/${circle}/digest`)
      return mine.body.digest === (await publisher.node.ops.circles.digest(circle)).digest
    }, 60_000)
    await until('the outbox to empty', async () => (await publisher.node.ops.circles.redOutbox()).length === 0)
    child.proc.kill('SIGTERM')
    await child.exited
    const v = await cli(['verify', '--data', data, '--json'])
    expect(v.code, v.stderr).toBe(0)
    const report = JSON.parse(v.stdout)
    expect(report).toMatchObject({ ok: true, signatures: true, problems: [] })
    expect(report.indicators).toBeGreaterThanOrEqual(indicators)
  }, 600_000)
})
