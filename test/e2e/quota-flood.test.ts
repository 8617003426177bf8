/**
 * The quota flood (issue 13, weakness 3): a member pushes valid entries of its own log, in
 * order, as fast as it can. The victim is a real node started from the built CLI as `npm
 * start` runs it (`--max-old-space-size=256`), in a child process, with the default
 * configuration (so that an older build, PX_FLOOD_CLI, runs the same test); the flooder and
 * an honest member are raw libp2p peers (test/utils/raw-peer.ts) that joined the victim's
 * circle by invites and sign with their own keys.
 *
 * While the flood lasts the victim's ingest queue stays under its gossip bound (p2p.quota
 * maxQueuedItems, 20,000 records by default), the flooder shows as over quota in GET
 * /v1/status and in the circle's members, the honest member's entries still get through,
 * and the victim answers GET /v1/status promptly. Before the fix the gossip path queued
 * whatever arrived (the issue saw 6–12k entries waiting and a status taking 8–12 s) and
 * nothing said which member flooded.
 *
 * The flood is bounded in count (FLOOD full bulk entries of 620 records, ~62 KB each: far
 * more than the default burst of 8 MiB, and more records a second than a node ingests) and
 * in time (FLOOD_DEADLINE_MS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canonicalJson, entryHash, type Item } from '../../src/records/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { RawPeer } from '../utils/raw-peer.js'
import { RemoteLog, makeTempDir, removeTempDir, sleep } from '../utils/store.js'
import { until } from '../utils/wait.js'
import { CliVictim } from '../utils/victim.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** PX_FLOOD_CLI: another build to try (e.g. the code before the fix) */
const CLI = process.env.PX_FLOOD_CLI ?? join(ROOT, 'dist/src/cli/main.js')

/** entries in the flood, and how long it may take at most */
const FLOOD = 2500
const FLOOD_DEADLINE_MS = 120_000
/** the default gossip bound of the ingest queue (p2p.quota.maxQueuedItems), plus one entry of slack */
const QUEUE_BOUND_ITEMS = 20_000 + 1000
/** a status answer slower than this while flooded counts as not prompt (not a benchmark) */
const STATUS_BOUND_MS = 2_000
/** entries the honest member publishes during the flood */
const HONEST = 10

/** a full bulk entry, ~62 KB of canonical entry (the limit is 64 KiB): 620 short domain indicators */
function bigItems (n: number): Item[] {
  return Array.from({ length: 620 }, (_, i) => ({ kind: 'indicator', type: 'domain', value: `quota-${n}-${i}.example`, confidence: 50, tags: [] }) as Item)
}

describe('quota flood: a member pushes valid entries as fast as it can', () => {
  let dir: string
  let v: CliVictim
  let m: RawPeer
  let honest: RawPeer

  const api = async (path: string, json?: unknown): Promise<{ status: number, body: any, ms: number }> => await v.api(path, json)
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(v.apiUrl + '/metrics', { headers: { authorization: `Bearer ${v.token}` }, signal: AbortSignal.timeout(30_000) })).text()
    const line = text.split('\n').find(l => l.startsWith(name))
    return line === undefined ? Number.NaN : Number(line.split(' ').pop())
  }

  beforeAll(async () => {
    dir = makeTempDir('phalanx-quota-')
    const data = join(dir, 'victim')
    v = await CliVictim.start(CLI, data)
  }, 60_000)

  afterAll(async () => {
    await m?.stop()
    await honest?.stop()
    await v?.stop()
    if (dir !== undefined) removeTempDir(dir)
  })

  it('the queue stays bounded, the flooder shows over quota, others get through, status answers promptly', async () => {
    const X = (await api('/v1/circles', { name: 'X' })).body.id as string
    const status = (await api('/v1/status')).body
    const victimKey = status.publicKey as string
    const addr = `${status.multiaddrs.find((a: string) => a.includes('127.0.0.1')) as string}/p2p/${status.peerId as string}`
    m = await RawPeer.start()
    await m.join((await api(`/v1/circles/${X}/invites`, { expires: '10m' })).body.code, 'Flooder')
    honest = await RawPeer.start()
    await honest.join((await api(`/v1/circles/${X}/invites`, { expires: '10m' })).body.code, 'Honest')
    for (const p of [m, honest]) {
      await p.dial(addr)
      p.subscribe(X)
    }
    await until('both members to see the victim on X\'s topic', () => m.seesOnTopic(X, victimKey) && honest.seesOnTopic(X, victimKey), 15_000)
    await sleep(1500) // the victim's side of the subscriptions and mesh

    let maxQueued = 0
    const statusMs: number[] = []
    let failedStatus = 0
    const probe = async (): Promise<void> => {
      try {
        const r = await api('/v1/status')
        if (r.status !== 200) failedStatus++
        statusMs.push(r.ms)
        maxQueued = Math.max(maxQueued, await metric('phalanx_ingest_queue_items'))
      } catch { failedStatus++ }
    }
    // the probes run beside the flood, one at a time (bounded by the flood's end)
    let flooding = true
    const prober = (async () => { while (flooding && v.exited === undefined) { await probe(); await sleep(250) } })()

    // the honest member's entries, one every few hundred flooded ones
    const honestLog = new RemoteLog(honest.key, X)
    let honestSent = 0
    const log = new RemoteLog(m.key, X)
    expect(canonicalJson(log.peek(bigItems(FLOOD), { tlp: 'CLEAR', seq: 99_999 })).length).toBeLessThan(64 * 1024)
    const deadline = Date.now() + FLOOD_DEADLINE_MS
    for (let i = 0; i < FLOOD && Date.now() < deadline && v.exited === undefined; i++) {
      const e = log.next(bigItems(i), { tlp: 'CLEAR' })
      await m.publish(X, encodeEnvelope(canonicalJson(e), entryHash(e), null))
      if (i % 25 === 24) await sleep(30) // let gossipsub's queues drain (the flooder's memory, not the victim's)
      if (i % Math.floor(FLOOD / HONEST) === 0 && honestSent < HONEST) {
        const h = honestLog.next([{ kind: 'indicator', type: 'domain', value: `honest-${honestSent++}.example`, confidence: 50, tags: [] }], { tlp: 'CLEAR' })
        await honest.publish(X, encodeEnvelope(canonicalJson(h), entryHash(h), null))
      }
    }
    flooding = false
    await prober
    expect(v.exited, `the victim died; stderr:\n${v.stderr.slice(-3000)}`).toBeUndefined()
    // the flooder is over quota while the flood lasts: read what the victim says now
    const during = await api('/v1/status')
    const members = await api(`/v1/circles/${X}/members`)
    for (let i = 0; i < 3 && v.exited === undefined; i++) { await sleep(1000); await probe() }

    console.log(`quota flood: max queued records ${maxQueued}, status ms max ${Math.round(Math.max(...statusMs))} (n=${statusMs.length}), over quota ${JSON.stringify(during.body.overQuota)}, drops ${JSON.stringify(during.body.gossipDrops)}`)
    expect(v.exited, `the victim died; stderr:\n${v.stderr.slice(-3000)}`).toBeUndefined()
    expect(failedStatus).toBe(0)
    expect(statusMs.length).toBeGreaterThan(5)
    expect(Math.max(...statusMs), `status times ${statusMs.map(Math.round).join(' ')}`).toBeLessThan(STATUS_BOUND_MS)
    expect(maxQueued, 'records waiting in the ingest queue').toBeLessThanOrEqual(QUEUE_BOUND_ITEMS)
    // status and circle members name the flooder as over quota, with what was dropped
    const over = (during.body.overQuota ?? []) as any[]
    expect(over.map(o => o.origin)).toEqual([m.publicKey])
    expect(over[0]).toMatchObject({ org: 'Flooder' })
    expect(over[0].dropped).toBeGreaterThan(0)
    expect(Date.parse(over[0].since)).not.toBeNaN()
    expect(during.body.warnings.some((w: string) => w.startsWith('OVER QUOTA'))).toBe(true)
    const byKey = new Map((members.body.members as any[]).map(x => [x.publicKey, x]))
    expect(byKey.get(m.publicKey)).toMatchObject({ overQuota: true })
    expect(byKey.get(m.publicKey).quota.dropped).toBeGreaterThan(0)
    expect(byKey.get(honest.publicKey)).toMatchObject({ overQuota: false, quota: null })
    expect(byKey.get(victimKey)).toMatchObject({ overQuota: false })
    // the honest member's entries got through during the flood (gossip, or the victim's sync)
    expect(honestSent).toBe(HONEST)
    await until('the honest member\'s entries at the victim', async () => {
      for (let i = 0; i < HONEST; i++) if ((await api(`/v1/lookup?value=honest-${i}.example`)).body.found !== true) return false
      return true
    }, 30_000, 500)
    // the flood's first entries, within the burst, were stored
    expect((await api('/v1/lookup?value=quota-0-0.example')).body.found).toBe(true)
  }, 240_000)
})
