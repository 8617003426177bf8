/**
 * Damaged stores fail loudly and lose nothing more (issue "Harden", weaknesses 7 and 8), with
 * real nodes over real LevelDB in temp dirs:
 * - a store whose CURRENT file is gone (or names a missing manifest) is refused with
 *   PX_ERR_STORE_DAMAGED before LevelDB touches it: the directory is byte-identical after the
 *   node's start, `verify` and the CLI-less open; `phalanx repair` copies it aside first and
 *   gets every indicator back;
 * - a write-ahead log truncated mid-file: the node sees its own log below the seq it last
 *   signed (own-seq.json), refuses to sign there (PX_ERR_OWN_LOG_BEHIND), says so in status,
 *   `verify` reports the lost tail; `phalanx recover --accept-lost-tail` lets it go on past the
 *   lost seqs, never on them;
 * - a node restored from an older backup of its store gets its own entries back from a peer
 *   by sync and signs again where it left off: the peer sees no fork.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, cpSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/index.js'
import { PhalanxNode } from '../../src/node.js'
import { verifyDataDir } from '../../src/operations/verify.js'
import { acceptLostTail, repairDataDir } from '../../src/operations/repair.js'
import { LevelStore, STORE_DIR } from '../../src/store/index.js'
import { LOCAL_CIRCLE } from '../../src/records/index.js'
import { apiCall } from '../utils/node.js'
import { codeOf } from '../utils/outcome.js'
import { makeTempDir, removeTempDir } from '../utils/store.js'
import { until } from '../utils/wait.js'

const dirs: string[] = []
const running: PhalanxNode[] = []
afterAll(async () => {
  await Promise.all(running.map(async n => { await n.stop().catch(() => {}) }))
  for (const d of dirs) removeTempDir(d)
})

function tempDir (): string {
  const d = makeTempDir('phalanx-damaged-')
  dirs.push(d)
  return d
}

function nodeAt (dataDir: string, org: string, extra: Record<string, unknown> = {}): PhalanxNode {
  const config = loadConfig({
    env: {},
    flags: { dataDir, org, api: { port: 0, host: '127.0.0.1' }, p2p: { port: 0, host: '127.0.0.1', dialIntervalMs: 300, syncIntervalMs: 300 }, logLevel: process.env.PX_TEST_LOG ?? 'silent', store: { sync: true }, ...extra }
  })
  return new PhalanxNode(config)
}

async function startAt (dataDir: string, org: string): Promise<PhalanxNode> {
  const n = nodeAt(dataDir, org)
  await n.start()
  running.push(n)
  return n
}

async function stop (n: PhalanxNode): Promise<void> {
  await n.stop()
  running.splice(running.indexOf(n), 1)
}

const api = async (n: PhalanxNode, path: string, json?: unknown) => await apiCall(n.apiUrl!, n.token, path, json === undefined ? {} : { json })

/** publish `count` single indicators (one entry each) into `circle` (default: the private scope) */
async function publish (n: PhalanxNode, prefix: string, count: number, circle?: string): Promise<string[]> {
  const values: string[] = []
  for (let i = 0; i < count; i++) {
    const value = `${prefix}-${i}.damaged.example`
    const r = await api(n, '/v1/indicators', { type: 'domain', value, tlp: 'AMBER', ...(circle !== undefined ? { circle } : {}) })
    expect(r.status, r.text).toBe(201)
    values.push(value)
  }
  return values
}

/** every file of a directory tree with its bytes (a failed open must change none) */
function snapshot (dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string, rel: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f)
      if (statSync(p).isDirectory()) walk(p, `${rel}${f}/`)
      else out[rel + f] = readFileSync(p).toString('base64')
    }
  }
  walk(dir, '')
  return out
}

/** a stopped node's data dir whose store holds table files (a second start compacts the log) */
async function storeWithTables (org: string, count: number): Promise<{ dataDir: string, store: string, values: string[] }> {
  const dataDir = tempDir()
  let n = await startAt(dataDir, org)
  const values = await publish(n, 'tables', count)
  await stop(n)
  n = await startAt(dataDir, org)
  await stop(n)
  const store = join(dataDir, STORE_DIR)
  expect(readdirSync(store).some(f => f.endsWith('.ldb')), 'the store has table files').toBe(true)
  return { dataDir, store, values }
}

describe('a store missing its CURRENT file', () => {
  it('is refused before LevelDB touches it, and `phalanx repair` gets every indicator back', async () => {
    const { dataDir, store, values } = await storeWithTables('No Current', 30)
    unlinkSync(join(store, 'CURRENT'))
    const before = snapshot(dataDir)

    // the node does not start, says what is wrong and what to run, and changes nothing
    const started = await codeOf(nodeAt(dataDir, 'No Current').start())
    expect(started).toMatch(/^PX_ERR_STORE_DAMAGED: the store at .* is damaged: it holds LevelDB files \(\d+ table files?, .*\) but no CURRENT file\. Nothing was opened or changed\. Stop the node and run `phalanx repair`/)
    expect(snapshot(dataDir)).toEqual(before)
    // nor does an open of the store alone, or the offline check
    expect(await codeOf(new LevelStore({ path: store }).open())).toMatch(/^PX_ERR_STORE_DAMAGED: /)
    expect(await codeOf(verifyDataDir(dataDir, { signatures: true, maxProblems: 10 }))).toMatch(/^PX_ERR_STORE_DAMAGED: .*no CURRENT file/)
    // a microtask later (a Level opens itself unless told otherwise): still nothing changed
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(snapshot(dataDir)).toEqual(before)

    // repair: a copy first, byte for byte what was there, then LevelDB's repair and the check
    const r = await repairDataDir(dataDir)
    expect(r.before).toMatch(/^damaged: .*no CURRENT file/)
    expect(snapshot(r.backup)).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k.startsWith(`${STORE_DIR}/`)).map(([k, v]) => [k.slice(STORE_DIR.length + 1), v])))
    expect(r.verify.problems).toEqual([])
    expect(r.verify.ok).toBe(true)
    expect(r.verify.indicators).toBe(values.length)

    const n = await startAt(dataDir, 'No Current')
    for (const v of values) expect(n.ops.indicators.lookup(v).found, v).toBe(true)
    // and it publishes on where its log ended
    expect((await publish(n, 'after-repair', 1)).length).toBe(1)
    expect(n.store.head(LOCAL_CIRCLE, n.identity.publicKey)?.seq).toBe(values.length + 1)
    await stop(n)
  })

  it('is refused when CURRENT names a manifest that is missing, with the directory unchanged', async () => {
    const { dataDir, store } = await storeWithTables('Lost Manifest', 5)
    const manifest = readFileSync(join(store, 'CURRENT'), 'utf8').trim()
    renameSync(join(store, manifest), join(dataDir, 'moved-manifest'))
    const before = snapshot(dataDir)
    expect(await codeOf(nodeAt(dataDir, 'Lost Manifest').start())).toMatch(new RegExp(`^PX_ERR_STORE_DAMAGED: .*CURRENT file names ${manifest}, which is missing`))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(snapshot(dataDir)).toEqual(before)
  })
})

describe('a write-ahead log truncated mid-file', () => {
  it('is seen as a lost own tail: signing refused, status and verify say so; recover goes on past it', async () => {
    const dataDir = tempDir()
    let n = await startAt(dataDir, 'Truncated')
    const values = await publish(n, 'wal', 40)
    const origin = n.identity.publicKey
    expect(n.store.head(LOCAL_CIRCLE, origin)?.seq).toBe(40)
    await stop(n)
    // the stop leaves the entries in the write-ahead log (LevelDB flushes it at the next open)
    const store = join(dataDir, STORE_DIR)
    const logs = readdirSync(store).filter(f => f.endsWith('.log'))
    expect(logs).toHaveLength(1)
    const wal = join(store, logs[0])
    truncateSync(wal, Math.floor(statSync(wal).size * 0.6))

    n = await startAt(dataDir, 'Truncated')
    const head = n.store.head(LOCAL_CIRCLE, origin)?.seq ?? 0
    expect(head).toBeGreaterThan(0)
    expect(head).toBeLessThan(40)
    // not silently fewer: the node knows what it lost and signs nothing on those seqs
    const status = (await api(n, '/v1/status')).body
    expect(status.behindOwnTail).toEqual([{ log: LOCAL_CIRCLE, head, signed: 40 }])
    expect(status.warnings.join('\n')).toMatch(/BEHIND OWN TAIL: this node's own log local ends at seq \d+ but it had signed and stored up to seq 40/)
    const refused = await api(n, '/v1/indicators', { type: 'domain', value: 'refused.damaged.example', tlp: 'AMBER' })
    expect(refused.status).toBe(503)
    expect(refused.body.error.code).toBe('PX_ERR_OWN_LOG_BEHIND')
    expect(refused.body.error.message).toMatch(/phalanx recover --accept-lost-tail/)
    expect(n.store.head(LOCAL_CIRCLE, origin)?.seq).toBe(head)
    await stop(n)

    // verify reports the lost tail (and nothing else: the store itself is consistent)
    const report = await verifyDataDir(dataDir, { signatures: true, maxProblems: 10 })
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([{ kind: 'tail', key: LOCAL_CIRCLE, message: expect.stringMatching(new RegExp(`ends at seq ${head} but it signed and stored up to seq 40`)) }])

    // no peer holds the private scope: the operator accepts the loss; the log goes on at 42
    const accepted = await acceptLostTail(dataDir)
    expect(accepted.accepted).toEqual([{ log: LOCAL_CIRCLE, head, signed: 40, next: 42, at: expect.any(String) }])
    expect((await acceptLostTail(dataDir)).accepted).toEqual([])
    n = await startAt(dataDir, 'Truncated')
    expect((await api(n, '/v1/status')).body.behindOwnTail).toEqual([])
    await publish(n, 'after-accept', 2)
    // never a seq it signed before: 42 and 43 (41 stays unsigned)
    expect(n.store.head(LOCAL_CIRCLE, origin)?.seq).toBe(43)
    expect(n.store.getEntry(LOCAL_CIRCLE, origin, 41)).toBeUndefined()
    expect(n.store.getEntry(LOCAL_CIRCLE, origin, 42)?.prev).not.toBeNull()
    for (const v of values.slice(0, head)) expect(n.ops.indicators.lookup(v).found, v).toBe(true)
    await stop(n)
    const after = await verifyDataDir(dataDir, { signatures: true, maxProblems: 10 })
    expect(after.problems).toEqual([])
    expect(after.ok).toBe(true)
  })
})

describe('own-tail recovery from a peer', () => {
  it('a node restored from an older backup gets its own entries back by sync and signs on from there: no fork', async () => {
    const aDir = tempDir()
    const bDir = tempDir()
    let a = await startAt(aDir, 'Tail A')
    const b = await startAt(bDir, 'Tail B')
    const circle = (await api(a, '/v1/circles', { name: 'tail' })).body.id as string
    const code = (await api(a, `/v1/circles/${circle}/invites`, {})).body.code
    expect((await api(b, '/v1/circles/join', { code })).status).toBe(200)
    const origin = a.identity.publicKey
    await publish(a, 'early', 3, circle)
    await until('B to hold A\'s first entries', () => b.store.head(circle, origin)?.seq === 3, 20_000)
    // a backup of A's store now (copied from the stopped node, as an operator would)
    await stop(a)
    const backup = join(aDir, 'store-backup')
    cpSync(join(aDir, STORE_DIR), backup, { recursive: true })
    a = await startAt(aDir, 'Tail A')
    const late = await publish(a, 'late', 5, circle)
    await until('B to hold A\'s later entries', () => b.store.head(circle, origin)?.seq === 8, 20_000)
    // and the membership entry A signed when it restarted (its new address): A's whole tail is at B
    const members = `${circle}:members`
    const signedMembers = a.store.head(members, origin)?.seq ?? 0
    expect(signedMembers).toBeGreaterThan(3)
    await until('B to hold A\'s membership entries', () => b.store.head(members, origin)?.seq === signedMembers, 20_000)
    await stop(a)
    // the old backup comes back (the own-seq file stays: it says seq 8 was signed)
    rmSync(join(aDir, STORE_DIR), { recursive: true })
    renameSync(backup, join(aDir, STORE_DIR))

    // A is held: before the sync it signs nothing in the circle
    const a2 = nodeAt(aDir, 'Tail A')
    await a2.startCore()
    // the data log, and the membership log (the restart announced A's new address there)
    expect(a2.ingest.behindOwnTail()).toContainEqual({ log: circle, head: 3, signed: 8 })
    expect(a2.ingest.behindOwnTail().map(x => x.log).sort()).toEqual([circle, `${circle}:members`])
    expect(await codeOf(a2.ops.indicators.publishBody({ type: 'domain', value: 'too-early.damaged.example', tlp: 'AMBER', circle }))).toMatch(/^PX_ERR_OWN_LOG_BEHIND: this node's own log c-[0-9a-f]+ ends at seq 3 but it had signed and stored up to seq 8/)
    await a2.stop()

    // with the network, sync brings seqs 4..8 back from B and signing resumes by itself
    a = await startAt(aDir, 'Tail A')
    await until('A to get its own entries back', () => a.ingest.behindOwnTail().length === 0 && a.store.head(circle, origin)?.seq === 8, 30_000)
    for (const v of late) expect(a.ops.indicators.lookup(v).found, v).toBe(true)
    expect((await api(a, '/v1/status')).body.behindOwnTail).toEqual([])
    await publish(a, 'resumed', 1, circle)
    expect(a.store.head(circle, origin)?.seq).toBe(9)
    await until('B to store A\'s seq 9', () => b.store.head(circle, origin)?.seq === 9, 20_000)
    // B never saw two entries of A for one seq
    expect((await api(b, '/v1/forks')).body.forks).toEqual([])
    expect((await api(a, '/v1/forks')).body.forks).toEqual([])
    expect(existsSync(join(aDir, 'own-seq.json'))).toBe(true)
    expect(JSON.parse(readFileSync(join(aDir, 'own-seq.json'), 'utf8')).logs[circle]).toBe(9)
  })
})
