/**
 * Fingerprint spoofing through names (issue "Harden", part 5), against real nodes: A (admin of
 * circle X) and B ("Bank B") on real LevelDB stores and libp2p, hostile organizations as raw
 * peers (test/utils/raw-peer.ts), and the built CLI (`dist/src/cli/main.js`).
 * - names, tags and descriptions with control, bidirectional or invisible characters are
 *   refused at the API (400, the field named), at join (the invite stays unused) and in a
 *   gossiped control entry (refused by the schema check);
 * - names a store already holds (v0.1 had no such rule: injected here as A's own signed
 *   entries) never reach the terminal raw: `circle members`, `peers`, `query`, and a hostile
 *   invite code at `circle join`, human and --json.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { canonicalJson, entryHash, markCanonical, type Item } from '../../src/records/index.js'
import { makeInvite, membershipLogOf } from '../../src/circles/index.js'
import { fingerprint } from '../../src/identity/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { ERROR_CODES } from '../../src/errors.js'
import { RemoteLog, randomKey } from '../utils/store.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import type { RawPeer } from '../utils/raw-peer.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'dist/src/cli/main.js')

/** a character a terminal acts on or hides (LF and TAB aside: they are checked by line) */
// eslint-disable-next-line no-control-regex, no-misleading-character-class
const RAW_HOSTILE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udfff]/u

/** the name of an impostor that, printed raw, erases its line and shows `fp` as its own */
function spoofOf (fp: string): string {
  return `Bank B\r\x1b[2Konline   member  ${fp}  Bank B\u202e\u200b`
}

async function cli (node: TestNode, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHALANX_')) env[k] = v
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, PHALANX_API_URL: node.url, PHALANX_TOKEN: node.token }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** no raw hostile character on stdout or stderr; and no line of the output is more than one line */
function expectNoRaw (r: { stdout: string, stderr: string }, what: string): void {
  expect(RAW_HOSTILE.exec(r.stdout)?.[0], `${what}: stdout holds a raw hostile character:\n${JSON.stringify(r.stdout)}`).toBeUndefined()
  expect(RAW_HOSTILE.exec(r.stderr)?.[0], `${what}: stderr holds a raw hostile character:\n${JSON.stringify(r.stderr)}`).toBeUndefined()
}

async function invite (admin: TestNode, circle: string): Promise<string> {
  const r = await admin.api(`/v1/circles/${circle}/invites`, { json: { expires: '10m' } })
  expect(r.status, r.text).toBe(201)
  return r.body.code
}

describe('hostile names', () => {
  let a: TestNode, b: TestNode
  let X: string
  let m: RawPeer

  beforeAll(async () => {
    ;[a, b] = await Promise.all([start('Bank A'), start('Bank B')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    expect((await b.api('/v1/circles/join', { json: { code: await invite(a, X) } })).status).toBe(200)
    m = await raw()
    await until('B to know it is in X', () => b.node.circles.get(X)?.members.has(b.node.identity.publicKey) === true, 15_000)
  }, 60_000)

  it('the API refuses a hostile circle name, member org, tag and description with 400 and the field', async () => {
    const cases: Array<[string, string, unknown, string, string]> = [
      ['circle name with ESC', '/v1/circles', { name: 'X\x1b[2K' }, 'name', 'U+001B'],
      ['circle name with RLO', '/v1/circles', { name: 'X\u202eY' }, 'name', 'U+202E'],
      ['member org with CR', `/v1/circles/${X}/members`, { publicKey: randomKey().publicKeyHex, org: spoofOf(b.node.identity.fingerprint) }, 'org', 'U+000D'],
      ['member org with a zero-width space', `/v1/circles/${X}/members`, { publicKey: randomKey().publicKeyHex, org: 'Bank\u200bB' }, 'org', 'U+200B'],
      ['tag with RLO', '/v1/indicators', { type: 'domain', value: 'tag.example', tags: ['ok', 'evil\u202etag'] }, 'tags[1]', 'U+202E'],
      ['tag with a C1 CSI', '/v1/indicators', { type: 'domain', value: 'tag.example', tags: ['x\u009b2K'] }, 'tags[0]', 'U+009B'],
      ['description with ESC', '/v1/indicators', { type: 'domain', value: 'desc.example', description: 'a\x1b[31mred' }, 'description', 'U+001B'],
      ['sighting note with a line separator', '/v1/sightings', { value: 'desc.example', note: 'a\u2028b' }, 'note', 'U+2028']
    ]
    for (const [what, path, json, field, cp] of cases) {
      const r = await a.api(path, { json })
      expect(r.status, `${what}: ${r.text}`).toBe(400)
      expect(r.body.error, what).toMatchObject({ code: 'PX_ERR_VALIDATION', field })
      expect(r.body.error.message, what).toContain(cp)
    }
    // a description keeps its lines and tabs
    const ok = await a.api('/v1/indicators', { json: { type: 'domain', value: 'lines.example', description: 'line one\n\tline two' } })
    expect(ok.status, ok.text).toBe(201)
    expect(a.node.ops.indicators.lookup('lines.example').matches[0].description).toBe('line one\n\tline two')
    expect(a.node.circles.get(X)!.members.size).toBe(2)
  })

  it('a joiner whose org is hostile is refused at join, and the invite stays unused', async () => {
    const code = await invite(a, X)
    await expect(m.join(code, spoofOf(b.node.identity.fingerprint))).rejects.toThrow(/org.*U\+000D/)
    expect(a.node.circles.get(X)!.members.has(m.publicKey)).toBe(false)
    // the same code admits it under an honest name: the refusal did not use the invite
    await m.join(code, 'Mallory')
    expect(a.node.circles.get(X)!.members.get(m.publicKey)?.org).toBe('Mallory')
  })

  it('a control entry naming a hostile org, gossiped by an admin, is refused by the schema check', async () => {
    await a.node.admin.setRole(X, m.publicKey, 'admin')
    await until('B to know M as an admin of X', () => b.node.circles.get(X)?.members.get(m.publicKey)?.role === 'admin', 15_000)
    await m.dial(b)
    m.subscribe(X)
    await until('M to see B on X', () => m.seesOnTopic(X, b.node.identity.publicKey), 15_000)
    const log = new RemoteLog(m.key, membershipLogOf(X))
    const impostor = randomKey().publicKeyHex
    const honest = randomKey().publicKeyHex
    const key = m.circleKey(X, 1)
    expect(key).not.toBeNull()
    const rejected = b.node.network!.gossipCounts.rejected
    const hostile = log.peek([{ kind: 'member', op: 'add', key: impostor, role: 'member', org: spoofOf(b.node.identity.fingerprint) } as Item], { tlp: 'AMBER' })
    await m.publish(X, encodeEnvelope(canonicalJson(hostile), entryHash(hostile), key))
    // the marker on the same path and at the same position: an honest add
    const marker = log.next([{ kind: 'member', op: 'add', key: honest, role: 'member', org: 'Honest Org' }], { tlp: 'AMBER' })
    await m.publish(X, encodeEnvelope(canonicalJson(marker), entryHash(marker), key))
    const members = (): Map<string, { org?: string }> => b.node.circles.get(X)!.members as Map<string, { org?: string }>
    await until('B to take the honest add (or the hostile one)', () => members().has(honest) || members().has(impostor), 15_000)
    expect(members().has(impostor), 'the hostile org was taken').toBe(false)
    expect(members().get(honest)?.org).toBe('Honest Org')
    expect(b.node.network!.gossipCounts.rejected).toBeGreaterThan(rejected)
  })

  it('CLI: circle members, peers and query never print a stored hostile name raw (human and --json)', async () => {
    // names a v0.1 store may hold: written here as A's own signed entries, past the checks
    const spoof = spoofOf(b.node.identity.fingerprint)
    const impostor = randomKey().publicKeyHex
    const m2 = await raw()
    await a.node.ingest.publish([{
      circle: membershipLogOf(X),
      tlp: 'AMBER',
      items: [
        markCanonical({ kind: 'member', op: 'add', key: impostor, role: 'member', org: spoof }),
        markCanonical({ kind: 'member', op: 'add', key: m2.publicKey, role: 'member', org: `Peer\r\x1b[2K${b.node.identity.fingerprint}\u202e` })
      ]
    }])
    await a.node.ingest.publish([{
      circle: 'local',
      tlp: 'AMBER',
      items: [markCanonical({ kind: 'indicator', type: 'domain', value: 'legacy-tags.example', confidence: 50, tags: ['evil\u202etag', 'x\x1b[2Ky'], description: 'd\x1b]0;title\x07' })]
    }])
    expect(a.node.circles.get(X)!.members.get(impostor)?.org).toBe(spoof)

    // circle members: B's real fingerprint only on B's line; the impostor's line shows its own
    const members = await cli(a, ['circle', 'members', X])
    expect(members.code, members.stderr).toBe(0)
    expectNoRaw(members, 'circle members')
    const lines = members.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(a.node.circles.get(X)!.members.size)
    const impLine = lines.find(l => l.includes(fingerprint(impostor)))!
    expect(impLine).toContain('\\x0d\\x1b[2K')
    expect(impLine).toContain('\\u202e\\u200b')
    const bLine = lines.find(l => l.startsWith('online') && l.endsWith(`${b.node.identity.fingerprint}  Bank B`))
    expect(bLine, members.stdout).toBeDefined()
    // each line starts with its status and its role, and names one fingerprint first
    for (const l of lines) expect(l).toMatch(/^(online |offline) {2}(admin |member) {2}[A-Z2-7]{4}(-[A-Z2-7]{4}){7} {2}/)
    const json = await cli(a, ['circle', 'members', X, '--json'])
    expectNoRaw(json, 'circle members --json')
    expect(JSON.parse(json.stdout).members.find((x: { publicKey: string }) => x.publicKey === impostor).org).toBe(spoof)

    // peers: M2 is a member named with a hostile org, connected to A
    await m2.dial(a)
    await until('A to list M2 as a peer', async () => (await a.node.ops.circles.peers()).some(p => p.publicKey === m2.publicKey), 10_000)
    const peers = await cli(a, ['peers'])
    expect(peers.code, peers.stderr).toBe(0)
    expectNoRaw(peers, 'peers')
    expect(peers.stdout).toContain(`Peer\\x0d\\x1b[2K${b.node.identity.fingerprint}\\u202e  ${fingerprint(m2.publicKey)}`)
    expectNoRaw(await cli(a, ['peers', '--json']), 'peers --json')

    // query: tags and the value of a legacy indicator
    const query = await cli(a, ['query', '--value', 'legacy-tags.example'])
    expect(query.code, query.stderr).toBe(0)
    expectNoRaw(query, 'query')
    expect(query.stdout).toContain('[evil\\u202etag, x\\x1b[2Ky]')
    const qj = await cli(a, ['query', '--value', 'legacy-tags.example', '--json'])
    expectNoRaw(qj, 'query --json')
    expect(JSON.parse(qj.stdout).indicators[0]).toMatchObject({ tags: ['evil\u202etag', 'x\x1b[2Ky'], description: 'd\x1b]0;title\x07' })
  })

  it('CLI: circle join refuses an invite code whose circle or inviter name is hostile, and prints nothing raw', async () => {
    const inviter = await raw()
    const spoof = spoofOf(b.node.identity.fingerprint)
    const { code } = makeInvite(inviter.key, { circle: `c-${randomBytes(10).toString('hex')}`, name: spoof, org: spoof, addrs: inviter.multiaddrs().map(x => x.replace(/\/p2p\/.*$/, '')), expires: new Date(Date.now() + 600_000).toISOString() })
    for (const json of [false, true]) {
      const r = await cli(b, ['circle', 'join', code, ...(json ? ['--json'] : [])])
      expect(r.code, r.stdout + r.stderr).toBe(ERROR_CODES.PX_ERR_INVITE.exit)
      expectNoRaw(r, `circle join${json ? ' --json' : ''}`)
      expect(r.stderr).toMatch(/circle name must not contain U\+000D/)
      if (json) expect(JSON.parse(r.stdout).error.code).toBe('PX_ERR_INVITE')
    }
  })
})
