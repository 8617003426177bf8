/**
 * The built CLI (`node dist/src/cli/main.js`) end to end, as a user runs it: init/id, a node
 * started as a long-running child process, and publish/lookup/query/revoke/sighting/status
 * against it. Every --json call must print exactly one line of JSON on stdout, on success and
 * on error; errors exit with the code ERROR_CODES gives and a one-line reason on stderr.
 * Children get the environment with every PHALANX_* variable removed (plus what a test sets).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer, type AddressInfo } from 'node:net'
import { ERROR_CODES } from '../../src/errors.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'dist/src/cli/main.js')
const HEX64 = /^[0-9a-f]{64}$/
const HEX32 = /^[0-9a-f]{32}$/
const FINGERPRINT_RE = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/
const posix = process.platform !== 'win32'

interface RunResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }
interface RunOpts { input?: string, env?: Record<string, string>, timeoutMs?: number }

let tmp: string

/** process.env without any PHALANX_* variable, plus `extra` */
function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHALANX_')) env[k] = v
  return { ...env, ...extra }
}

/** run the CLI to completion */
async function run (args: string[], opts: RunOpts = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 30_000)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
    child.stdin.on('error', () => { /* the CLI may exit before reading all of stdin */ })
    child.stdin.end(opts.input ?? '')
  })
}

/** the one JSON line a --json call must print on stdout */
function oneJsonLine (r: RunResult, what: string): any {
  const lines = r.stdout.trim().split('\n')
  expect(lines.length, `${what}: stdout must be exactly one line; got:\n${r.stdout.slice(0, 2000)}\nstderr:\n${r.stderr}`).toBe(1)
  expect(r.stdout.endsWith('\n'), `${what}: stdout ends with a newline`).toBe(true)
  let parsed: unknown
  expect(() => { parsed = JSON.parse(lines[0]) }, `${what}: stdout is not JSON: ${lines[0].slice(0, 500)}`).not.toThrow()
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), `${what}: a JSON object`).toBe(true)
  return parsed
}

/** run with --json, expect success (exit 0) and return the parsed object */
async function ok (args: string[], opts: RunOpts = {}): Promise<any> {
  const r = await run([...args, '--json'], opts)
  const what = `phalanx ${args.join(' ')}`
  expect(r.code, `${what} failed:\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`).toBe(0)
  const obj = oneJsonLine(r, what)
  expect(obj.error, what).toBeUndefined()
  return obj
}

/**
 * run with --json, expect failure with `exit`; the one stdout line is {"error":{code,message,field?}}
 * and stderr holds the reason on one line
 */
async function fails (args: string[], exit: number, opts: RunOpts = {}): Promise<{ error: { code: string, message: string, field?: string }, stderr: string }> {
  const r = await run([...args, '--json'], opts)
  const what = `phalanx ${args.join(' ')}`
  expect(r.code, `${what}: exit code; stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(exit)
  const obj = oneJsonLine(r, what)
  expect(typeof obj.error?.code, `${what}: ${r.stdout}`).toBe('string')
  expect(obj.error.code in ERROR_CODES).toBe(true)
  expect(typeof obj.error.message).toBe('string')
  expect(obj.error.message.length).toBeGreaterThan(0)
  expect(r.stderr.trim().length, `${what}: a reason on stderr`).toBeGreaterThan(0)
  return { error: obj.error, stderr: r.stderr }
}

/** the reason a failing command (without --json) prints: exactly one stderr line, nothing on stdout */
async function failsHuman (args: string[], exit: number, opts: RunOpts = {}): Promise<string> {
  const r = await run(args, opts)
  expect(r.code, `phalanx ${args.join(' ')}: ${r.stderr}`).toBe(exit)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^phalanx: /)
  return lines[0]
}

/** a node started as a child process; `first` is the JSON line it printed */
interface StartedNode {
  child: ChildProcessWithoutNullStreams
  first: any
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

async function startNode (args: string[], env: Record<string, string> = {}): Promise<StartedNode> {
  const child = spawn(process.execPath, [CLI, 'start', ...args, ...(args.includes('--p2p-port') ? [] : ['--p2p-port', '0']), '--json'], { cwd: tmp, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const first = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the node did not print its first line within 20 s; stderr:\n${stderr}`)) }, 20_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        try { resolve(JSON.parse(stdout.slice(0, nl))) } catch (err) { reject(new Error(`first stdout line is not JSON: ${stdout.slice(0, nl)}`, { cause: err })) }
      }
    })
    void exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`the node exited (code ${code}, signal ${signal}) before printing its first line; stderr:\n${stderr}`)) })
  })
  return { child, first, stderr: () => stderr, exited }
}

/** SIGTERM a started node and wait for it to exit */
async function stopNode (n: StartedNode): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM')
  const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error('the node did not exit within 15 s of SIGTERM')) }, 15_000).unref())
  return await Promise.race([n.exited, timeout])
}

/** the secrets of a data dir: the API token and the identity seed */
function secretsOf (dataDir: string): { token: string, seed: string } {
  const token = readFileSync(join(dataDir, 'api.token'), 'utf8').trim()
  const seed = (JSON.parse(readFileSync(join(dataDir, 'identity.key'), 'utf8')) as { seed: string }).seed
  expect(token.length).toBeGreaterThanOrEqual(32)
  expect(seed).toMatch(HEX64)
  return { token, seed }
}

/** every non-empty stderr line of a node is a pino JSON object */
function logLines (stderr: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter(l => l.trim() !== '').map((l) => {
    let o: Record<string, unknown> | undefined
    expect(() => { o = JSON.parse(l) }, `log line is not JSON: ${l}`).not.toThrow()
    expect(typeof o?.level, l).toBe('number')
    expect(typeof o?.msg, l).toBe('string')
    return o as Record<string, unknown>
  })
}

function modeOf (path: string): number { return statSync(path).mode & 0o777 }

beforeAll(() => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build the project first (\`npm run build\`; \`npm test\` builds before testing)`)
  }
  tmp = mkdtempSync(join(tmpdir(), 'phalanx-cli-'))
})

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})

describe('phalanx init / id', () => {
  it('creates the identity once, with 0600 secret files, and id shows the same key', async () => {
    const dir = join(tmp, 'init')
    const a = await ok(['init', '--data', dir, '--org', 'ACME Bank'])
    expect(a.created).toBe(true)
    expect(a.publicKey).toMatch(HEX64)
    expect(a.fingerprint).toMatch(FINGERPRINT_RE)
    expect(a.org).toBe('ACME Bank')
    expect(a.peerId).toMatch(/^12D3KooW/)
    for (const f of ['identity.key', 'api.token']) {
      expect(existsSync(join(dir, f)), f).toBe(true)
      if (posix) expect(modeOf(join(dir, f)).toString(8), f).toBe('600')
    }
    // the seed is never printed
    const { seed, token } = secretsOf(dir)
    expect(JSON.stringify(a)).not.toContain(seed)
    expect(JSON.stringify(a)).not.toContain(token)

    const b = await ok(['init', '--data', dir, '--org', 'Someone Else'])
    expect(b.created).toBe(false)
    expect(b.publicKey).toBe(a.publicKey)
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(b.org).toBe('ACME Bank')
    expect(readFileSync(join(dir, 'api.token'), 'utf8').trim()).toBe(token)
    // --org on an existing identity: not applied, and the output says how the name others see changes
    expect(b.orgUnchanged).toBe(true)
    const again = await run(['init', '--data', dir, '--org', 'Someone Else'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('--org was not applied')
    expect(again.stdout).toContain(`phalanx circle rename-member CIRCLE ${a.fingerprint} NEWNAME`)
    expect(again.stdout).toContain('a member cannot rename itself in others\' eyes')
    expect((await run(['init', '--data', dir, '--org', 'ACME Bank'])).stdout).not.toContain('rename-member')

    const id = await ok(['id', '--data', dir])
    expect(id).toEqual({ org: 'ACME Bank', publicKey: a.publicKey, fingerprint: a.fingerprint, peerId: a.peerId })
    // the data dir can come from PHALANX_DATA too
    const viaEnv = await ok(['id'], { env: { PHALANX_DATA: dir } })
    expect(viaEnv.publicKey).toBe(a.publicKey)

    // human output
    const human = await run(['id', '--data', dir])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(a.fingerprint)
    expect(human.stdout).toContain('ACME Bank')
  })

  it('id on a dir without identity fails with PX_ERR_IDENTITY (exit 9)', async () => {
    const { error } = await fails(['id', '--data', join(tmp, 'nothing-here')], 9)
    expect(error.code).toBe('PX_ERR_IDENTITY')
  })
})

describe('phalanx errors without a running node', () => {
  it('a command against a data dir with no running node exits 10 with a clear message', async () => {
    const dir = join(tmp, 'idle')
    await ok(['init', '--data', dir])
    const { error, stderr } = await fails(['status', '--data', dir], 10)
    expect(error.code).toBe('PX_ERR_NODE_NOT_RUNNING')
    expect(stderr).toMatch(/no running node/)
    expect(stderr).toContain(`phalanx start --data ${dir}`)
    const line = await failsHuman(['lookup', 'evil.example', '--data', dir], 10)
    expect(line).toMatch(/no running node/)

    // a stale api.url (node gone) is the same error
    writeFileSync(join(dir, 'api.url'), 'http://127.0.0.1:9\n')
    const stale = await fails(['lookup', 'evil.example', '--data', dir], 10)
    expect(stale.error.code).toBe('PX_ERR_NODE_NOT_RUNNING')
    expect(stale.stderr).toMatch(/does not answer/)
  })

  it('start with --config naming an unknown key exits 2 and names the key', async () => {
    const dir = join(tmp, 'badconfig')
    const cfg = join(tmp, 'bad-config.json')
    writeFileSync(cfg, JSON.stringify({ api: { prot: 8000 } }))
    const { error, stderr } = await fails(['start', '--data', dir, '--config', cfg, '--api-port', '0'], 2)
    expect(error.code).toBe('PX_ERR_CONFIG')
    expect(error.field).toBe('api.prot')
    expect(stderr).toContain('api.prot')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(existsSync(join(dir, 'api.url'))).toBe(false)

    writeFileSync(cfg, JSON.stringify({ logging: 'info' }))
    const line = await failsHuman(['start', '--data', dir, '--config', cfg], 2)
    expect(line).toContain('logging')
  })

  it('start with a bad value or an unknown PHALANX_* variable exits 2 naming it', async () => {
    const dir = join(tmp, 'badenv')
    const env = await fails(['start', '--data', dir, '--api-port', '0'], 2, { env: { PHALANX_FOO: '1' } })
    expect(env.error.field).toBe('PHALANX_FOO')
    expect(env.stderr).toContain('PHALANX_FOO')
    const port = await fails(['start', '--data', dir, '--api-port', '70000'], 2)
    expect(port.error.code).toBe('PX_ERR_CONFIG')
    expect(port.stderr).toContain('api.port')
    const level = await fails(['start', '--data', dir, '--api-port', '0'], 2, { env: { PHALANX_LOG_LEVEL: 'loud' } })
    expect(level.stderr).toContain('logLevel')
  })

  it('start on a p2p port in use exits 2 with one line naming p2p.port (no libp2p stack trace)', async () => {
    const dir = join(tmp, 'p2pinuse')
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as AddressInfo).port
    try {
      const { error, stderr } = await fails(['start', '--data', dir, '--api-port', '0', '--p2p-port', String(port)], 2, { env: { PHALANX_P2P_HOST: '127.0.0.1', PHALANX_LOG_LEVEL: 'error' } })
      expect(error).toMatchObject({ code: 'PX_ERR_CONFIG', field: 'p2p.port' })
      expect(error.message).toMatch(new RegExp(`p2p port ${port} on 127\\.0\\.0\\.1 is in use`))
      expect(stderr).not.toMatch(/faultTolerance|\n\s+at /)
      expect(existsSync(join(dir, 'api.url'))).toBe(false)
    } finally {
      await new Promise(resolve => blocker.close(resolve))
    }
  })

  it('start on a data dir whose identity.key is 0644 exits 9 (PX_ERR_KEY_PERMISSIONS)', async () => {
    const dir = join(tmp, 'leaky')
    await ok(['init', '--data', dir])
    chmodSync(join(dir, 'identity.key'), 0o644)
    const { error, stderr } = await fails(['start', '--data', dir, '--api-port', '0'], 9)
    expect(error.code).toBe('PX_ERR_KEY_PERMISSIONS')
    expect(stderr).toContain('identity.key')
    expect(stderr).toMatch(/chmod 600/)
    expect(existsSync(join(dir, 'api.url'))).toBe(false)
    const line = await failsHuman(['start', '--data', dir, '--api-port', '0'], 9)
    expect(line).toContain('644')
  })

  it('an unknown command or option fails (exit 2), with one JSON line under --json', async () => {
    const cmd = await fails(['frobnicate'], 2)
    expect(cmd.error.message).toContain('frobnicate')
    const opt = await fails(['lookup', 'evil.example', '--frobnicate'], 2)
    expect(opt.error.message).toContain('--frobnicate')
    const choice = await fails(['start', '--log-level', 'loud'], 2)
    expect(choice.error.message).toContain('loud')
    const intArg = await fails(['start', '--api-port', 'abc'], 2)
    expect(intArg.error.field).toBe('api-port')
    const missing = await run(['lookup'])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/missing required argument/)
    // without --json: the reason and where usage is, in two lines, not the whole help
    for (const args of [['lookup', 'evil.example', '--frobnicate'], ['frobnicate']]) {
      const human = await run(args)
      expect(human.code, args.join(' ')).toBe(2)
      expect(human.stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringContaining(args.at(-1)!), '(add --help for usage)'])
    }
  })
})

describe('phalanx against a running node', () => {
  let data: string
  let node: StartedNode
  let identity: { publicKey: string, fingerprint: string, peerId: string }
  /** indicators this suite has stored, to compare with status counts */
  let stored = 0
  const IPV4_BULK = 2500
  const bulkValue = (i: number): string => `198.18.${Math.floor(i / 256)}.${i % 256}`

  beforeAll(async () => {
    data = join(tmp, 'node')
    identity = await ok(['init', '--data', data, '--org', 'ACME Bank'])
    node = await startNode(['--data', data, '--api-port', '0', '--log-level', 'warn'])
  })

  afterAll(async () => {
    // normally stopped by the last test; make sure nothing outlives the suite
    if (node !== undefined && node.child.exitCode === null && node.child.signalCode === null) {
      node.child.kill('SIGKILL')
      await node.exited
    }
  })

  it('start prints one JSON line with apiUrl, tokenFile, fingerprint, peerId and writes api.url', () => {
    expect(node.first.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(node.first.apiUrl).not.toBe('http://127.0.0.1:0')
    expect(node.first.tokenFile).toBe(join(data, 'api.token'))
    expect(node.first.fingerprint).toBe(identity.fingerprint)
    expect(node.first.publicKey).toBe(identity.publicKey)
    expect(node.first.peerId).toBe(identity.peerId)
    expect(node.first.org).toBe('ACME Bank')
    expect(readFileSync(join(data, 'api.url'), 'utf8').trim()).toBe(node.first.apiUrl)
  })

  it('publishes a defanged domain and looks it up', async () => {
    const p = await ok(['publish', '--data', data, '--type', 'domain', '--value', 'evil[.]example', '--tlp', 'AMBER', '--tag', 'phishing', '--confidence', '80'])
    stored++
    expect(p.id).toMatch(HEX32)
    expect(p.entry.circle).toBe('local')
    expect(p.entry.hash).toMatch(HEX64)
    expect(Number.isInteger(p.entry.seq)).toBe(true)

    const l = await ok(['lookup', 'evil.example', '--data', data])
    expect(l.found).toBe(true)
    expect(l.type).toBe('domain')
    expect(l.value).toBe('evil.example')
    expect(l.matches).toHaveLength(1)
    const m = l.matches[0]
    expect(m.id).toBe(p.id)
    expect(m.value).toBe('evil.example')
    expect(m.tags).toEqual(['phishing'])
    expect(m.confidence).toBe(80)
    expect(m.tlp).toBe('AMBER')
    expect(m.origin).toBe(identity.publicKey)

    // a defanged lookup finds it too
    expect((await ok(['lookup', 'evil[.]example', '--data', data])).found).toBe(true)

    // human output
    const human = await run(['lookup', 'evil.example', '--data', data])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('FOUND')
    expect(human.stdout).toContain('phishing')
    expect(human.stdout).toContain(p.id)
  })

  it('publish takes the value as its argument, and says where it went (private scope without --circle)', async () => {
    const r = await run(['publish', 'positional[.]cli.example', '--tag', 'pos', '--data', data])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^published [0-9a-f]{32} kept private \(the private scope: this node only; --circle shares it\) \(entry local#\d+\)\n$/)
    stored++
    expect((await ok(['lookup', 'positional.cli.example', '--data', data])).found).toBe(true)
    const both = await run(['publish', 'a.cli.example', '--value', 'b.cli.example', '--data', data, '--json'])
    expect(both.code).toBe(2)
    expect(JSON.parse(both.stdout).error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'value' })
  })

  it('an unknown value is not found', async () => {
    const l = await ok(['lookup', '203.0.113.7', '--data', data])
    expect(l.found).toBe(false)
    expect(l.type).toBe('ipv4')
    expect(l.matches).toEqual([])
    const human = await run(['lookup', '203.0.113.7', '--data', data])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('not found')
    expect(human.stdout).not.toContain('FOUND')
  })

  it('an IP matches a stored CIDR', async () => {
    const p = await ok(['publish', '--data', data, '--type', 'cidr', '--value', '10.0.0.0/8', '--tag', 'internal'])
    stored++
    const l = await ok(['lookup', '10.1.2.3', '--data', data])
    expect(l.found).toBe(true)
    expect(l.matches).toHaveLength(1)
    expect(l.matches[0].match).toBe('cidr')
    expect(l.matches[0].id).toBe(p.id)
    expect(l.matches[0].value).toBe('10.0.0.0/8')
    expect((await ok(['lookup', '11.1.2.3', '--data', data])).found).toBe(false)
  })

  it('the README example: a lookup of a domain finds the URL published on it, and says how it matched', async () => {
    const p = await ok(['publish', '--data', data, '--type', 'url', '--value', 'hxxps://login-micros0ft[.]example/auth', '--tlp', 'AMBER'])
    stored++
    const l = await ok(['lookup', 'login-micros0ft.example', '--data', data])
    expect(l).toMatchObject({ type: 'domain', value: 'login-micros0ft.example', found: true })
    expect(l.matches).toEqual([expect.objectContaining({ id: p.id, type: 'url', value: 'https://login-micros0ft.example/auth', match: 'url-host' })])
    const human = await run(['lookup', 'login-micros0ft.example', '--data', data])
    expect(human.stdout).toContain('FOUND (0 exact, 1 related)')
    expect(human.stdout).toMatch(/related through a host \(stored indicators, no DNS\):\n {2}url-host {2}url {5}https:\/\/login-micros0ft\.example\/auth/)
  })

  it('publish - reads NDJSON from stdin (comments, blank lines, defanged values)', async () => {
    const lines: string[] = ['# bulk import test', '']
    for (let i = 0; i < IPV4_BULK; i++) {
      if (i % 500 === 0) lines.push(`# block ${i / 500}`)
      const v = bulkValue(i)
      lines.push(JSON.stringify({ value: i % 10 === 0 ? v.replace(/\.(\d+)$/, '[.]$1') : v, tags: ['bulk'], confidence: 60 }))
    }
    const r = await ok(['publish', '-', '--data', data], { input: lines.join('\n') + '\n' })
    stored += IPV4_BULK
    expect(r.count).toBe(IPV4_BULK)
    // at most 1,000 records per signed entry
    expect(r.entries).toBeGreaterThanOrEqual(3)
    // a defanged line was stored refanged
    const l = await ok(['lookup', bulkValue(10), '--data', data])
    expect(l.found).toBe(true)
    expect(l.matches[0].tags).toEqual(['bulk'])
    expect(l.matches[0].confidence).toBe(60)
  })

  it('publish - stops at a line that is not JSON, names it, and says how many before it were stored (one: singular)', async () => {
    const input = ['# one good line, then a broken one', JSON.stringify({ value: 'one-before-bad-json.example', type: 'domain' }), '{"value": "x.example"', JSON.stringify({ value: 'never-read.example', type: 'domain' })].join('\n') + '\n'
    const r = await fails(['publish', '-', '--data', data], 2, { input })
    stored++
    expect(r.error).toMatchObject({ code: 'PX_ERR_BAD_JSON', field: 'line 3', message: 'line 3 is not valid JSON; 1 indicator before it was stored' })
    expect((await ok(['lookup', 'one-before-bad-json.example', '--data', data])).found).toBe(true)
    expect((await ok(['lookup', 'never-read.example', '--data', data])).found).toBe(false)
  })

  it('query pages with --limit and follows cursors with --all', async () => {
    const page = await ok(['query', '--type', 'ipv4', '--limit', '100', '--data', data])
    expect(page.indicators).toHaveLength(100)
    expect(page.indicators.every((i: any) => i.type === 'ipv4')).toBe(true)
    expect(typeof page.nextCursor).toBe('string')
    expect(page.nextCursor.length).toBeGreaterThan(0)

    const next = await ok(['query', '--type', 'ipv4', '--limit', '100', '--cursor', page.nextCursor, '--data', data])
    expect(next.indicators).toHaveLength(100)
    const firstIds = new Set(page.indicators.map((i: any) => i.id))
    expect(next.indicators.some((i: any) => firstIds.has(i.id))).toBe(false)

    const all = await ok(['query', '--type', 'ipv4', '--all', '--data', data])
    expect(all.indicators).toHaveLength(IPV4_BULK)
    expect(all.nextCursor).toBeNull()
    const values = new Set(all.indicators.map((i: any) => i.value))
    expect(values.size).toBe(IPV4_BULK)
    for (let i = 0; i < IPV4_BULK; i++) expect(values.has(bulkValue(i)), bulkValue(i)).toBe(true)

    const tagged = await ok(['query', '--tag', 'phishing', '--all', '--data', data])
    expect(tagged.indicators.map((i: any) => i.value)).toEqual(['evil.example'])
  })

  it('publish refuses a bad value: exit 2, PX_ERR_VALIDATION, one-line reason naming value', async () => {
    const typed = await fails(['publish', '--data', data, '--type', 'ipv4', '--value', '1.2.3'], 2)
    expect(typed.error.code).toBe('PX_ERR_VALIDATION')
    expect(typed.error.field).toBe('value')
    expect(typed.stderr.trim().split('\n')).toHaveLength(1)
    expect(typed.stderr).toMatch(/^phalanx: value: /)

    // without --type, 1.2.3 is not recognized as anything: the reason says so
    const untyped = await fails(['publish', '--data', data, '--value', '1.2.3'], 2)
    expect(untyped.error.code).toBe('PX_ERR_VALIDATION')
    expect(untyped.stderr.trim().split('\n')).toHaveLength(1)
    expect(untyped.stderr).toMatch(/value/)

    const human = await failsHuman(['publish', '--data', data, '--type', 'ipv4', '--value', '1.2.3'], 2)
    expect(human).toContain('value')
    const noValue = await fails(['publish', '--data', data, '--type', 'ipv4'], 2)
    expect(noValue.error.field).toBe('value')
    const tlp = await fails(['publish', '--data', data, '--value', 'ok.example', '--tlp', 'PURPLE'], 2)
    expect(tlp.error.code).toBe('PX_ERR_VALIDATION')
    expect((await ok(['lookup', 'ok.example', '--data', data])).found).toBe(false)
  })

  it('NDJSON with a bad line names that line and stores nothing of the refused chunk', async () => {
    // line 1 valid, line 2 a comment, line 3 invalid, line 4 valid
    const input = [
      JSON.stringify({ value: 'ndjson-ok-1.example' }),
      '# a comment line',
      JSON.stringify({ type: 'ipv4', value: '1.2.3' }),
      JSON.stringify({ value: 'ndjson-ok-2.example' })
    ].join('\n') + '\n'
    const { error, stderr } = await fails(['publish', '-', '--data', data], 2, { input })
    expect(error.code).toBe('PX_ERR_VALIDATION')
    expect(error.field).toBe('line 3')
    expect(error.message).toMatch(/^line 3\b/)
    expect(stderr).toContain('line 3')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect((await ok(['lookup', 'ndjson-ok-1.example', '--data', data])).found).toBe(false)
    expect((await ok(['lookup', 'ndjson-ok-2.example', '--data', data])).found).toBe(false)

    // a line that is not JSON at all
    const bad = await fails(['publish', '-', '--data', data], 2, { input: '# header\n\n{"value": oops}\n' })
    expect(bad.error.code).toBe('PX_ERR_BAD_JSON')
    expect(bad.error.field).toBe('line 3')
    expect(bad.stderr).toContain('line 3')
  })

  it('revoke hides an indicator from lookup unless --include-revoked', async () => {
    const p = await ok(['publish', '--data', data, '--value', 'revoke-me[.]example', '--tag', 'c2'])
    stored++
    expect((await ok(['lookup', 'revoke-me.example', '--data', data])).found).toBe(true)
    const r = await ok(['revoke', p.id, '--reason', 'false positive', '--data', data])
    expect(r.id).toBe(p.id)
    expect(typeof r.revoked.at).toBe('string')

    const hidden = await ok(['lookup', 'revoke-me.example', '--data', data])
    expect(hidden.found).toBe(false)
    // not found, but it says the value is known and revoked: when, why, by whom
    expect(hidden.hidden).toEqual([{ id: p.id, origin: identity.publicKey, match: 'exact', why: 'revoked', at: r.revoked.at, reason: 'false positive' }])
    const humanHidden = await run(['lookup', 'revoke-me.example', '--data', data])
    expect(humanHidden.stdout).toContain(`not found, but known and left out (--include-revoked shows them):\n  REVOKED by its origin at ${r.revoked.at} (false positive)`)
    const shown = await ok(['lookup', 'revoke-me.example', '--include-revoked', '--data', data])
    expect(shown.found).toBe(true)
    expect(shown.matches[0].id).toBe(p.id)
    expect(shown.matches[0].revoked).toBeDefined()
    const human = await run(['lookup', 'revoke-me.example', '--include-revoked', '--data', data])
    expect(human.stdout).toContain('REVOKED')

    // revoking twice is a conflict (exit 5); an unknown id is not found (exit 4)
    expect((await fails(['revoke', p.id, '--data', data], 5)).error.code).toBe('PX_ERR_CONFLICT')
    expect((await fails(['revoke', '0123456789abcdef0123456789abcdef', '--data', data], 4)).error.code).toBe('PX_ERR_NOT_FOUND')
  })

  it('sighting counts show up in lookup', async () => {
    const s = await ok(['sighting', '203.0.113.7', '--count', '3', '--data', data])
    expect(s.sightings.count).toBe(3)
    const l = await ok(['lookup', '203.0.113.7', '--data', data])
    expect(l.found).toBe(false)
    expect(l.sightings).not.toBeNull()
    expect(l.sightings.count).toBe(3)
    const human = await run(['lookup', '203.0.113.7', '--data', data])
    expect(human.stdout).toMatch(/not found\n {2}sightings: 1 org \(seen 1, blocked 0, false-positive 0, investigating 0, mitigated 0\), 3 in all, last /)
    expect(human.stdout).toContain('ACME Bank')
    // an action and a note; the answer says where it went
    const said = await run(['sighting', '203.0.113.7', '--action', 'false-positive', '--note', 'our scanner', '--data', data])
    expect(said.stdout).toMatch(/^recorded: false-positive 203\.0\.113\.7, sent to the private scope \(TLP:AMBER\)/)
    expect((await ok(['lookup', '203.0.113.7', '--data', data])).sighted).toMatchObject({ orgs: 1, byAction: { 'false-positive': 1 }, perOrg: [{ action: 'false-positive', note: 'our scanner', count: 4 }] })
    expect((await fails(['sighting', '203.0.113.7', '--action', 'nuked', '--data', data], 2)).error.field).toBe('action')
  })

  it('status shows the identity, API URL and store counts', async () => {
    const s = await ok(['status', '--data', data])
    expect(s.apiUrl).toBe(node.first.apiUrl)
    expect(s.peerId).toBe(identity.peerId)
    expect(s.publicKey).toBe(identity.publicKey)
    expect(s.fingerprint).toBe(identity.fingerprint)
    expect(s.org).toBe('ACME Bank')
    expect(s.counts.indicators).toBe(stored)
    expect(s.counts.revoked).toBe(1)
    expect(s.counts.sightings).toBeGreaterThanOrEqual(1)
    const human = await run(['status', '--data', data])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(identity.fingerprint)
    expect(human.stdout).toContain(`${stored} indicators`)
  })

  it('PHALANX_TOKEN and PHALANX_API_URL override the data dir files', async () => {
    const wrong = await fails(['status', '--data', data], 3, { env: { PHALANX_TOKEN: 'not-the-token' } })
    expect(wrong.error.code).toBe('PX_ERR_UNAUTHORIZED')
    // with both given, no data dir is needed
    const token = readFileSync(join(data, 'api.token'), 'utf8').trim()
    const s = await ok(['status', '--data', join(tmp, 'does-not-exist')], { env: { PHALANX_TOKEN: token, PHALANX_API_URL: node.first.apiUrl } })
    expect(s.publicKey).toBe(identity.publicKey)
  })

  it('circle create / invite / join / members / publish --circle between two nodes (a circle named by id or by name)', async () => {
    const created = await ok(['circle', 'create', 'EU Finance ISAC', '--data', data])
    expect(created.id).toMatch(/^c-[0-9a-f]{20}$/)
    // its name where its id is taken
    const inv = await ok(['circle', 'invite', 'EU Finance ISAC', '--expires', '1h', '--data', data])
    expect(inv.circle).toBe(created.id)
    const unknown = await fails(['circle', 'invite', 'EU Finance ISA', '--data', data], 4)
    expect(unknown.error).toMatchObject({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'circle' })
    expect(unknown.error.message).toContain(`${created.id} "EU Finance ISAC"`)
    expect(inv.code).toMatch(/^phx1\./)
    // without --json the code alone is on stdout (CODE=$(phalanx circle invite …)), what it is on stderr
    const human = await run(['circle', 'invite', 'EU Finance ISAC', '--data', data])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^phx1\.\S+\n$/)
    expect(human.stderr).toMatch(/^invite code \(one use, expires /)
    const dataB = join(tmp, 'node-b')
    const idB = await ok(['init', '--data', dataB, '--org', 'Bank B'])
    const b = await startNode(['--data', dataB, '--api-port', '0', '--log-level', 'warn'])
    try {
      expect(b.first.multiaddrs.length).toBeGreaterThan(0)
      const joined = await ok(['circle', 'join', inv.code, '--data', dataB])
      expect(joined.inviter).toMatchObject({ org: 'ACME Bank', fingerprint: identity.fingerprint })
      const members = await ok(['circle', 'members', 'eu finance isac', '--data', data])
      expect(members.members.map((m: any) => [m.org, m.fingerprint, m.role]).sort()).toEqual([['ACME Bank', identity.fingerprint, 'admin'], ['Bank B', idB.fingerprint, 'member']])
      expect(members.members.every((m: any) => typeof m.publicKey === 'string' && typeof m.online === 'boolean')).toBe(true)
      await ok(['publish', '--circle', 'EU Finance ISAC', '--type', 'domain', '--value', 'shared.evil.example', '--tlp', 'GREEN', '--data', data])
      let found: any
      for (let i = 0; i < 100 && found?.found !== true; i++) {
        found = await ok(['lookup', 'shared.evil.example', '--data', dataB])
        if (found.found !== true) await new Promise(resolve => setTimeout(resolve, 100))
      }
      expect(found.found).toBe(true)
      expect(found.matches[0].origin).toBe(identity.publicKey)
      // sync now with every connected member: in sync, nothing new
      const synced = await ok(['circle', 'sync', 'EU Finance ISAC', '--data', dataB])
      expect(synced.circle).toBe(created.id)
      expect((await ok(['query', '--circle', 'EU Finance ISAC', '--data', dataB])).indicators.map((i: any) => i.value)).toEqual(['shared.evil.example'])
      expect(synced.syncs).toHaveLength(1)
      expect(synced.syncs[0]).toMatchObject({ member: identity.publicKey, outcome: { stored: 0, inSync: true, forks: 0 } })
      const human = await run(['circle', 'sync', created.id, '--data', dataB])
      expect(human.stdout).toMatch(/0 new entries .* in sync/)
      expect((await fails(['circle', 'sync', created.id, '--member', 'ab'.repeat(32), '--data', dataB], 8)).error.code).toBe('PX_ERR_NOT_MEMBER')
      const st = await ok(['status', '--data', dataB])
      expect(st.circles.map((c: any) => c.id)).toEqual([created.id])
      expect(st.circles[0]).toMatchObject({ records: 1, origins: 1, inSync: { members: 1, of: 1 } })
      expect(st.circles[0].lastSync).toEqual(expect.any(String))
      expect(st).toMatchObject({ forks: 0, warnings: [] })
      expect(st.multiaddrs.length).toBeGreaterThan(0)
      const humanStatus = await run(['status', '--data', dataB])
      expect(humanStatus.stdout).toContain('1 record from 1 origin')
      expect(humanStatus.stdout).toContain('in sync with 1/1 member')
      expect(humanStatus.stdout.split('\n').filter(l => l !== l.trimEnd()), 'lines ending in spaces').toEqual([])
      expect(await ok(['forks', '--data', dataB])).toEqual({ forks: [] })
      expect((await run(['forks', '--data', dataB])).stdout.trim()).toBe('no forks')
      const used = await run(['circle', 'join', inv.code, '--data', dataB, '--json'])
      expect(used.code).not.toBe(0)
      // A was in sync with B; B stops: A no longer counts it in sync (it misses what comes next)
      let inSync: any
      for (let i = 0; i < 100; i++) {
        inSync = (await ok(['status', '--data', data])).circles.find((c: any) => c.id === created.id).inSync
        if (inSync.members === 1) break
        await ok(['circle', 'sync', created.id, '--data', data])
      }
      expect(inSync).toEqual({ members: 1, of: 1 })
      await stopNode(b)
      for (let i = 0; i < 100; i++) {
        inSync = (await ok(['status', '--data', data])).circles.find((c: any) => c.id === created.id).inSync
        if (inSync.members === 0) break
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      expect(inSync).toEqual({ members: 0, of: 1 })
      // a member is named by its fingerprint where its key is taken (what circle members prints)
      const removed = await ok(['circle', 'remove', 'EU Finance ISAC', idB.fingerprint, '--data', data])
      expect(removed.removed).toBe(idB.publicKey)
      expect((await fails(['circle', 'remove', 'EU Finance ISAC', 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA', '--data', data], 8)).error).toMatchObject({ code: 'PX_ERR_NOT_MEMBER', field: 'key' })
    } finally {
      b.child.kill('SIGTERM')
      await b.exited
    }
  })

  it('import text (ipsum form) and csv with a summary per skip reason; --dry-run stores nothing; a malformed file imports nothing', async () => {
    const txt = join(tmp, 'feed.txt')
    writeFileSync(txt, '# ipsum-like\n198.18.0.1\t5\n198.18.0.2\t3\nnot-an-ip\t1\n198.18.0.3\n')
    const r = await ok(['import', txt, '--format', 'text', '--type', 'ipv4', '--tlp', 'CLEAR', '--tag', 'scanner', '--data', data])
    expect(r).toMatchObject({ read: 4, imported: 3, skipped: 1, dryRun: false, format: 'text' })
    expect(Object.values(r.reasons)).toEqual([1])
    const found = await ok(['lookup', '198.18.0.1', '--data', data])
    expect(found.matches[0]).toMatchObject({ tlp: 'CLEAR', tags: ['scanner'], description: 'listed by 5 blocklists (ipsum)' })
    // a STIX row is named by its object's place in the bundle, not as a line of the file
    const stix = join(tmp, 'bundle.json')
    writeFileSync(stix, JSON.stringify({ type: 'bundle', id: 'bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8', objects: [
      { type: 'indicator', spec_version: '2.1', id: 'indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c1', created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[domain-name:value = 'ok-stix.example']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00.000Z' },
      { type: 'indicator', spec_version: '2.1', id: 'indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c2', created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[domain-name:value = 'a.example' AND ipv4-addr:value = '198.51.100.1']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00.000Z' }
    ] }, null, 2))
    const stixHuman = await run(['import', stix, '--format', 'stix', '--dry-run', '--data', data])
    expect(stixHuman.code).toBe(0)
    expect(stixHuman.stdout).toMatch(/\n {2}object 2: unsupported STIX pattern/)
    const human = await run(['import', txt, '--format', 'text', '--type', 'ipv4', '--dry-run', '--data', data])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^dry run \(nothing stored\): .*read 4, would import 3, skipped 1\n {2}1 {2}value: /)

    const dry = join(tmp, 'dry.csv')
    writeFileSync(dry, 'value,type\ndry-only.example,domain\n')
    expect(await ok(['import', dry, '--format', 'csv', '--dry-run', '--data', data])).toMatchObject({ read: 1, imported: 1, dryRun: true })
    expect((await ok(['lookup', 'dry-only.example', '--data', data])).found).toBe(false)

    const broken = join(tmp, 'broken.csv')
    writeFileSync(broken, 'value,tags\nbefore-break.example,x\n"unclosed,y\n')
    expect((await fails(['import', broken, '--format', 'csv', '--data', data], 2)).error.field).toBe('file')
    expect((await ok(['lookup', 'before-break.example', '--data', data])).found).toBe(false)
    expect((await fails(['import', broken, '--format', 'xml', '--data', data], 2)).error.field).toBe('format')
    expect((await fails(['import', join(tmp, 'missing.txt'), '--format', 'text', '--data', data], 2)).error.field).toBe('file')
  })

  it('import on a terminal: the progress bar ends on the final counts (not 0 ok at 100 %)', async () => {
    const file = join(tmp, 'tty-feed.txt')
    writeFileSync(file, ['tty1.example', 'tty2.example', 'tty3.example', 'not a value at all !!'].join('\n') + '\n')
    // `script` gives the CLI a terminal, so it draws its progress bar on stderr
    const cmd = [process.execPath, CLI, 'import', file, '--format', 'text', '--data', data].map(a => `'${a}'`).join(' ')
    const r = await new Promise<RunResult>((resolve, reject) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: tmp, env: childEnv({ TERM: 'xterm' }), stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
      child.on('error', (err) => { clearTimeout(timer); reject(err) })
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr: '' }) })
    })
    expect(r.code, r.stdout).toBe(0)
    stored += 3
    const counts = [...r.stdout.matchAll(/(\d+) ok, (\d+) skipped/g)].map(m => `${m[1]} ok, ${m[2]} skipped`)
    expect(counts.length, r.stdout).toBeGreaterThan(0)
    expect(counts[counts.length - 1]).toBe('3 ok, 1 skipped')
  })

  it('import misp: an event\'s attributes with TLP from its tags; a later event marking one deleted revokes it', async () => {
    const fixtures = join(ROOT, 'test/fixtures')
    const r = await ok(['import', join(fixtures, 'misp-event.json'), '--format', 'misp', '--data', data])
    // the titled event is a report too (a row of its own, shared after its indicators); its text attribute is the report's body
    expect(r).toMatchObject({ read: 12, imported: 9, skipped: 1, revoked: 0, reports: 1, reportLinksMissing: 0, context: { text: 1 }, reasons: { 'unsupported MISP type: filename': 1 } })
    const c2 = await ok(['lookup', '203.0.113.50', '--data', data])
    expect(c2.matches[0]).toMatchObject({ tlp: 'AMBER', confidence: 80, tags: ['misp-galaxy:threat-actor="Test Actor"'] })
    expect((await ok(['lookup', 'http://misp-test.example/dropper', '--data', data])).matches[0]).toMatchObject({ tlp: 'GREEN', confidence: 30 })
    const later = await ok(['import', join(fixtures, 'misp-deleted.json'), '--format', 'misp', '--data', data])
    expect(later).toMatchObject({ read: 3, imported: 0, revoked: 1, skipped: 1, reports: 1, reasons: { 'withdrawn by the source, and not stored here': 1 } })
    expect((await ok(['lookup', '203.0.113.50', '--data', data])).found).toBe(false)
    const notJson = join(tmp, 'truncated.json')
    writeFileSync(notJson, '{"Event": {"Attribute": [')
    expect((await fails(['import', notJson, '--format', 'misp', '--data', data], 2)).error).toMatchObject({ code: 'PX_ERR_BAD_JSON', field: 'file' })
  })

  it('import misp into a circle: a tlp:red attribute is skipped with its reason, and the dry run says the same', async () => {
    const circle = (await ok(['circle', 'create', 'Red Import ISAC', '--data', data])).id as string
    const event = join(tmp, 'misp-red.json')
    writeFileSync(event, JSON.stringify({
      Event: {
        info: 'one red attribute', Tag: [{ name: 'tlp:amber' }],
        Attribute: [
          { type: 'domain', value: 'red-import-1.example', to_ids: true },
          { type: 'domain', value: 'red-import-2.example', to_ids: true },
          { type: 'domain', value: 'red-import-3.example', to_ids: true, Tag: [{ name: 'tlp:red' }] },
          { type: 'ip-dst', value: '198.51.100.99', to_ids: true }
        ]
      }
    }))
    const reason = 'tlp: TLP:RED never goes to a circle (import it without --circle to keep it in the private scope)'
    const dry = await ok(['import', event, '--format', 'misp', '--circle', circle, '--dry-run', '--data', data])
    // the event is a report too (read 5): shared to the circle without the RED value it links
    expect(dry).toMatchObject({ read: 5, imported: 3, skipped: 1, reports: 1, reasons: { [reason]: 1 } })
    const real = await ok(['import', event, '--format', 'misp', '--circle', circle, '--data', data])
    expect(real).toMatchObject({ read: 5, imported: 3, skipped: 1, reports: 1, reportLinksMissing: 1, reasons: { [reason]: 1 } })
    stored += 3
    expect((await ok(['lookup', 'red-import-1.example', '--data', data])).matches[0].circle).toBe(circle)
    expect((await ok(['lookup', 'red-import-3.example', '--data', data])).found).toBe(false)
  })

  it('token create / list / revoke: a TAXII read token for the private scope', async () => {
    const made = await ok(['token', 'create', 'siem', '--collection', 'local', '--data', data])
    expect(made).toMatchObject({ name: 'siem', collections: ['local'], token: expect.stringMatching(/^pxr_/) })
    expect((await ok(['token', 'list', '--data', data])).tokens.map((t: any) => t.id)).toContain(made.id)
    expect((await fails(['token', 'create', 'x', '--collection', 'c-00000000000000000000', '--data', data], 4)).error.code).toBe('PX_ERR_UNKNOWN_CIRCLE')
    expect(await ok(['token', 'revoke', made.id, '--data', data])).toEqual({ revoked: made.id })
    expect((await fails(['token', 'revoke', made.id, '--data', data], 4)).error.code).toBe('PX_ERR_NOT_FOUND')
  })

  it('a closed pipe (export | head, query | head) ends the command quietly with exit 0', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ value: `pipe${i}.head.example`, tags: ['pipe'] }))
    expect((await ok(['publish', '-', '--data', data], { input: lines.join('\n') + '\n' })).count).toBe(3000)
    stored += 3000
    for (const args of [['export', '--format', 'csv', '--tag', 'pipe'], ['query', '--all', '--limit', '500', '--tag', 'pipe']]) {
      const r = await new Promise<RunResult>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args, '--data', data], { cwd: tmp, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        // like `head -1`: read the first chunk, then close the read end of the pipe
        child.stdout.once('data', (d: Buffer) => { stdout += d.toString('utf8'); child.stdout.destroy() })
        child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
        const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
        child.on('error', (err) => { clearTimeout(timer); reject(err) })
        child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
      })
      const what = `phalanx ${args.join(' ')} | head`
      expect(r.stdout.length, what).toBeGreaterThan(0)
      expect({ what, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ what, code: 0, signal: null, stderr: '' })
    }
  })

  it('export --format plain|rpz|suricata writes blocklists; --json only for one JSON document (stix, misp)', async () => {
    await ok(['publish', '--value', 'bl1.cli.example', '--tag', 'bl', '--data', data])
    await ok(['publish', '--value', '198.51.100.77', '--tag', 'bl', '--data', data])
    stored += 2
    const body = (r: RunResult): string[] => r.stdout.split('\n').filter(l => l !== '' && !l.startsWith('#') && !l.startsWith(';'))
    const plain = await run(['export', '--format', 'plain', '--type', 'domain', '--tag', 'bl', '--data', data])
    expect(plain.code, plain.stderr).toBe(0)
    expect(body(plain)).toEqual(['bl1.cli.example'])
    const rpz = await run(['export', '--format', 'rpz', '--tag', 'bl', '--data', data])
    expect(body(rpz)).toContain('bl1.cli.example. CNAME .')
    const sids = async (type: string): Promise<number[]> => {
      const r = await run(['export', '--format', 'suricata', '--type', type, '--tag', 'bl', '--data', data])
      expect(r.code, r.stderr).toBe(0)
      return body(r).map(l => Number(/sid:(\d+);/.exec(l)![1]))
    }
    const ipv4 = await sids('ipv4')
    const domain = await sids('domain')
    expect(ipv4).toHaveLength(1)
    expect(domain).toHaveLength(1)
    expect(ipv4[0]).not.toBe(domain[0])
    // a filter a blocklist does not take is named, not ignored
    const since = await run(['export', '--format', 'plain', '--type', 'domain', '--since', '2026-01-01', '--data', data])
    expect({ code: since.code, stdout: since.stdout }).toEqual({ code: 2, stdout: '' })
    expect(since.stderr).toMatch(/--since does not apply to a blocklist/)
    // --json: one JSON object, or a clear refusal (never CSV on stdout)
    expect((await fails(['export', '--format', 'csv', '--data', data], 2)).error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'json' })
    const stix = await run(['export', '--format', 'stix', '--tag', 'bl', '--json', '--data', data])
    expect(stix.code, stix.stderr).toBe(0)
    const bundle = JSON.parse(stix.stdout)
    expect(bundle.type).toBe('bundle')
    expect(bundle.objects.some((o: any) => o.type === 'indicator' && String(o.pattern).includes('bl1.cli.example'))).toBe(true)
  })

  it('export csv carries every modelled field, and importing it again changes none of them', async () => {
    const src = join(tmp, 'rt.csv')
    writeFileSync(src, 'value,type,tlp,confidence,tags,description,valid_until\n' +
      'rt1.example,domain,GREEN,77,rt;c2,"first, with a comma",2031-01-01T00:00:00Z\n' +
      'http://rt2.example/a?b=1,url,AMBER,12,rt,"quote "" inside",\n')
    expect(await ok(['import', src, '--format', 'csv', '--data', data])).toMatchObject({ imported: 2, skipped: 0 })
    const exp = await run(['export', '--format', 'csv', '--tag', 'rt', '--data', data])
    expect(exp.code, exp.stderr).toBe(0)
    const lines = exp.stdout.trim().split('\n')
    expect(lines[0]).toBe('type,value,tlp,confidence,tags,description,validFrom,validUntil,firstSeen,lastSeen,origin,circle,created,id')
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/^domain,rt1\.example,GREEN,77,c2;rt,"first, with a comma",,2031-01-01T00:00:00\.000Z,,,[0-9a-f]{64},local,/)
    expect(lines[2]).toMatch(/^url,http:\/\/rt2\.example\/a\?b=1,AMBER,12,rt,"quote "" inside",/)
    const again = join(tmp, 'rt-export.csv')
    writeFileSync(again, exp.stdout)
    expect(await ok(['import', again, '--format', 'csv', '--data', data])).toMatchObject({ read: 2, imported: 2, skipped: 0 })
    const after = await run(['export', '--format', 'csv', '--tag', 'rt', '--data', data])
    const strip = (s: string): string[] => s.trim().split('\n').map(l => l.split(',').slice(0, 9).join(','))
    expect(strip(after.stdout)).toEqual(strip(exp.stdout))
    expect((await run(['export', '--format', 'text', '--tag', 'rt', '--data', data])).stdout.trim().split('\n').sort()).toEqual(['http://rt2.example/a?b=1', 'rt1.example'])
    // RED (here in the private scope) is in an export only when asked for
    await ok(['publish', '--value', 'rt-red.example', '--tlp', 'RED', '--tag', 'rt', '--data', data])
    expect((await run(['export', '--format', 'text', '--tag', 'rt', '--data', data])).stdout).not.toContain('rt-red.example')
    expect((await run(['export', '--format', 'text', '--tag', 'rt', '--include-red', '--data', data])).stdout).toContain('rt-red.example')
    expect((await run(['export', '--format', 'text', '--tag', 'rt', '--tlp', 'RED', '--data', data])).stdout.trim()).toBe('rt-red.example')
    await ok(['revoke', (await ok(['lookup', 'rt-red.example', '--data', data])).matches[0].id, '--data', data])
    // STIX: a bundle with the five TLP 2.0 markings and an indicator per record, which imports back
    const stix = await run(['export', '--format', 'stix', '--tag', 'rt', '--data', data])
    expect(stix.code, stix.stderr).toBe(0)
    const bundle = JSON.parse(stix.stdout)
    expect(bundle.type).toBe('bundle')
    expect(bundle.objects.filter((o: any) => o.type === 'marking-definition')).toHaveLength(5)
    expect(bundle.objects.filter((o: any) => o.type === 'indicator').map((o: any) => o.pattern).sort()).toEqual(["[domain-name:value = 'rt1.example']", "[url:value = 'http://rt2.example/a?b=1']"])
    const stixFile = join(tmp, 'rt.stix.json')
    writeFileSync(stixFile, stix.stdout)
    // the origin's identity (created_by_ref) is context, not a skipped row
    expect(await ok(['import', stixFile, '--format', 'stix', '--data', data])).toMatchObject({ read: 8, imported: 2, skipped: 0, context: { 'marking-definition': 5, identity: 1 } })
    // MISP: an event with an attribute per record (TLP and tags as tags), which imports back
    const misp = await run(['export', '--format', 'misp', '--tag', 'rt', '--data', data])
    expect(misp.code, misp.stderr).toBe(0)
    // the node holds reports by now (the MISP imports above): without --reports the export is one
    // event all the same; with it, MISP's list of events, the indicators' first (no report links
    // the rt indicators, so it is the only one)
    const mispDoc = JSON.parse(misp.stdout)
    expect(mispDoc.response).toBeUndefined()
    const event = mispDoc.Event
    const listed = await run(['export', '--format', 'misp', '--reports', '--tag', 'rt', '--data', data])
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).response.map((e: any) => e.Event.info)).toEqual(['Phalanx export (tag=rt)'])
    expect((await run(['export', '--format', 'csv', '--reports', '--data', data])).code).toBe(2)
    expect(event.info).toBe('Phalanx export (tag=rt)')
    expect(event.Tag).toEqual([{ name: 'tlp:amber' }])
    expect(event.Attribute.map((a: any) => [a.type, a.category, a.value, a.to_ids, a.Tag.map((t: any) => t.name)]).sort()).toEqual([
      ['domain', 'Network activity', 'rt1.example', true, ['tlp:green', 'c2', 'rt']],
      ['url', 'Network activity', 'http://rt2.example/a?b=1', false, ['tlp:amber', 'rt']]
    ])
    const mispFile = join(tmp, 'rt.misp.json')
    writeFileSync(mispFile, misp.stdout)
    expect(await ok(['import', mispFile, '--format', 'misp', '--data', data])).toMatchObject({ read: 2, imported: 2, skipped: 0 })
  })

  it('import --format taxii pulls a TAXII 2.1 collection of another node, page by page, and goes on from --added-after', async () => {
    const dataC = join(tmp, 'node-taxii')
    await ok(['init', '--data', dataC, '--org', 'Feed C'])
    const c = await startNode(['--data', dataC, '--api-port', '0', '--log-level', 'warn'])
    try {
      const feed = join(tmp, 'feed.txt')
      writeFileSync(feed, Array.from({ length: 2500 }, (_, i) => `feed${i}.taxii-pull.example`).join('\n') + '\n')
      expect(await ok(['import', feed, '--format', 'text', '--tlp', 'GREEN', '--data', dataC])).toMatchObject({ imported: 2500 })
      // a read token of C's private scope is the password (from a file, never the command line)
      const reader = await ok(['token', 'create', 'puller', '--collection', 'local', '--data', dataC])
      const pw = join(tmp, 'taxii.pw')
      writeFileSync(pw, `${reader.token as string}\n`, { mode: 0o600 })
      const cols = await (await fetch(`${c.first.apiUrl as string}/taxii2/api/collections/`, { headers: { authorization: `Bearer ${reader.token as string}` } })).json() as any
      const url = `${c.first.apiUrl as string}/taxii2/api/collections/${cols.collections[0].id as string}/`
      const pulled = await ok(['import', url, '--format', 'taxii', '--user', 'puller', '--password-file', pw, '--tag', 'from-c', '--data', data])
      expect(pulled).toMatchObject({ read: 2500, imported: 2500, skipped: 0, pages: 3, dateAddedLast: expect.any(String) })
      const look = await ok(['lookup', 'feed7.taxii-pull.example', '--data', data])
      expect(look.matches[0]).toMatchObject({ origin: identity.publicKey, tlp: 'GREEN', tags: ['from-c'] })
      // nothing new after the last date added; one new indicator, then just that one
      expect(await ok(['import', url, '--format', 'taxii', '--user', 'puller', '--password-file', pw, '--added-after', pulled.dateAddedLast, '--data', data])).toMatchObject({ read: 0, imported: 0, pages: 1 })
      await ok(['publish', '--value', 'late.taxii-pull.example', '--tlp', 'GREEN', '--data', dataC])
      const again = await ok(['import', url, '--format', 'taxii', '--user', 'puller', '--password-file', pw, '--added-after', pulled.dateAddedLast, '--dry-run', '--data', data])
      expect(again).toMatchObject({ read: 1, imported: 1, dryRun: true })
      const human = await run(['import', url, '--format', 'taxii', '--user', 'puller', '--password-file', pw, '--added-after', pulled.dateAddedLast, '--data', data])
      expect(human.stdout).toMatch(/read 1, imported 1, skipped 0\n1 pages; go on from here with --added-after \d{4}-/)
      // a wrong password, a URL that is not a collection, and TAXII options on a file import
      const wrong = join(tmp, 'wrong.pw')
      writeFileSync(wrong, 'nope\n')
      const denied = await fails(['import', url, '--format', 'taxii', '--user', 'puller', '--password-file', wrong, '--data', data], 10)
      expect(denied.error).toMatchObject({ code: 'PX_ERR_PEER', message: expect.stringMatching(/answered 401 .*check --user/) })
      expect((await fails(['import', `${c.first.apiUrl as string}/taxii2/`, '--format', 'taxii', '--data', data], 2)).error.message).toMatch(/ends with \/collections\/<id>\//)
      expect((await fails(['import', feed, '--format', 'text', '--user', 'x', '--data', data], 2)).error.field).toBe('user')
    } finally {
      await stopNode(c)
    }
  })

  it('stops on SIGTERM with exit 0, removes api.url, and never logged a secret', async () => {
    const { code, signal } = await stopNode(node)
    expect(signal).toBeNull()
    expect(code).toBe(0)
    expect(existsSync(join(data, 'api.url'))).toBe(false)
    const { token, seed } = secretsOf(data)
    const log = node.stderr()
    logLines(log)
    expect(log).not.toContain(token)
    expect(log).not.toContain(seed)
    // after the stop the CLI reports that no node runs
    expect((await fails(['status', '--data', data], 10)).error.code).toBe('PX_ERR_NODE_NOT_RUNNING')
  })
})

describe('phalanx start logging', () => {
  it('a node at trace level logs pino JSON lines to stderr and never the token or the seed', async () => {
    const dir = join(tmp, 'chatty')
    const n = await startNode(['--data', dir, '--api-port', '0', '--log-level', 'trace', '--org', 'Chatty Org'])
    try {
      expect(n.first.org).toBe('Chatty Org')
      await ok(['publish', '--data', dir, '--value', 'logged[.]example'])
      await fails(['publish', '--data', dir, '--type', 'ipv4', '--value', '1.2.3'], 2)
      await fails(['status', '--data', dir], 3, { env: { PHALANX_TOKEN: 'wrong-token' } })
      await ok(['status', '--data', dir])
    } finally {
      const { code } = await stopNode(n)
      expect(code).toBe(0)
    }
    const { token, seed } = secretsOf(dir)
    const lines = logLines(n.stderr())
    // the first start created the identity and said so; the stop is logged too
    expect(lines.some(l => l.msg === 'created a new organization identity')).toBe(true)
    expect(lines.some(l => l.msg === 'node stopped')).toBe(true)
    expect(lines.length).toBeGreaterThanOrEqual(4)
    const log = n.stderr()
    expect(log).not.toContain(token)
    expect(log).not.toContain(seed)
    expect(existsSync(join(dir, 'api.url'))).toBe(false)
  })
})

describe('phalanx start and a signal right after its banner', () => {
  // a script or service manager that waits for the banner may stop the node at once: the
  // node must already listen for the signal then, and stop as it always does (exit 0, api.url gone)
  it('stops cleanly on a SIGTERM sent the moment the banner is read (5 times)', async () => {
    for (let i = 0; i < 5; i++) {
      const dir = join(tmp, `quick-stop-${i}`)
      const n = await startNode(['--data', dir, '--api-port', '0'])
      const { code, signal } = await stopNode(n)
      expect({ code, signal }, `start ${i + 1}: ${n.stderr()}`).toEqual({ code: 0, signal: null })
      expect(existsSync(join(dir, 'api.url'))).toBe(false)
    }
  })
})

describe('phalanx start with another --org', () => {
  // the name is part of the identity made on the first start: a later --org cannot rename it,
  // and a user who passes one must hear that it was ignored, not find out from the banner
  it('keeps the first start\'s name and warns that the name given now is ignored', async () => {
    const dir = join(tmp, 'renamed')
    const first = await startNode(['--data', dir, '--api-port', '0', '--org', 'First Name'])
    expect(first.first.org).toBe('First Name')
    expect((await stopNode(first)).code).toBe(0)
    const again = await startNode(['--data', dir, '--api-port', '0', '--org', 'ACME Bank'])
    try {
      expect(again.first.org).toBe('First Name')
    } finally {
      expect((await stopNode(again)).code).toBe(0)
    }
    const warned = logLines(again.stderr()).filter(l => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('organization name'))
    expect(warned).toHaveLength(1)
    expect(warned[0]).toMatchObject({ org: 'First Name', ignored: 'ACME Bank' })
    // the same name again, or no --org at all, is not worth a warning
    const same = await startNode(['--data', dir, '--api-port', '0', '--org', 'First Name'])
    expect((await stopNode(same)).code).toBe(0)
    const plain = await startNode(['--data', dir, '--api-port', '0'])
    expect((await stopNode(plain)).code).toBe(0)
    for (const n of [same, plain]) expect(logLines(n.stderr()).filter(l => l.level === 40)).toEqual([])
  })
})

describe('npm start', () => {
  // a service manager or a shell script that runs `npm start` in the background stops it by
  // signalling npm: the node must stop with it, not stay behind serving its API
  it('stops the node when npm itself gets SIGTERM (the script execs node)', async () => {
    const dir = join(tmp, 'npm-start')
    // --ignore-scripts: the script alone, without its build step (the suite built dist already)
    const npm = spawn('npm', ['run', 'start', '--ignore-scripts', '--silent', '--', '--data', dir, '--api-port', '0', '--p2p-port', '0', '--json'], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    try {
      let stdout = ''
      const banner = await new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('npm start printed no banner within 30 s')) }, 30_000)
        npm.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d
          const line = stdout.split('\n').find(l => l.startsWith('{'))
          if (line !== undefined) { clearTimeout(timer); resolve(JSON.parse(line)) }
        })
        npm.on('exit', (code) => { clearTimeout(timer); reject(new Error(`npm exited (${String(code)}) before the banner`)) })
      })
      expect(existsSync(join(dir, 'api.url'))).toBe(true)
      const exited = new Promise(resolve => { npm.on('exit', resolve) })
      npm.kill('SIGTERM')
      await exited
      // the node's own stop removes api.url, then closes its API (a moment later)
      const deadline = Date.now() + 15_000
      const apiAnswers = async (): Promise<boolean> => await fetch(`${String(banner.apiUrl)}/v1/status`).then(() => true, () => false)
      while ((existsSync(join(dir, 'api.url')) || await apiAnswers()) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      expect(existsSync(join(dir, 'api.url')), 'the node still runs after npm got SIGTERM').toBe(false)
      expect(await apiAnswers(), 'the node\'s API still answers after npm got SIGTERM').toBe(false)
    } finally {
      // whatever is left of npm's process group (a node that outlived npm on the old script)
      try { process.kill(-(npm.pid as number), 'SIGKILL') } catch {}
    }
  })
})

describe('phalanx start without API authentication', () => {
  it('warns that every local process has full access, and answers without a token', async () => {
    const dir = join(tmp, 'open-api')
    const n = await startNode(['--data', dir, '--api-port', '0', '--log-level', 'warn'], { PHALANX_API_AUTH: 'false' })
    try {
      expect((await fetch(`${n.first.apiUrl as string}/v1/status`)).status).toBe(200)
    } finally {
      await stopNode(n)
    }
    const warn = logLines(n.stderr()).find(l => typeof l.msg === 'string' && l.msg.startsWith('API authentication is off'))
    expect(warn).toMatchObject({ level: 40, msg: expect.stringContaining('every local process has full access') })
  })
})

describe('phalanx verify', () => {
  it('passes on a sound store, and finds a corrupted entry, a dangling index pair and a broken chain written into LevelDB', async () => {
    const data = join(tmp, 'verify')
    await ok(['init', '--data', data, '--org', 'Verify Org'])
    const n = await startNode(['--data', data, '--api-port', '0', '--log-level', 'warn'])
    for (const v of ['a.verify.example', 'b.verify.example', 'c.verify.example', 'd.verify.example']) await ok(['publish', '--data', data, '--value', v, '--tag', 'v'])
    n.child.kill('SIGTERM')
    await n.exited
    const good = await ok(['verify', '--data', data])
    expect(good).toMatchObject({ ok: true, entries: 4, indicators: 4, problems: [], signatures: true })

    const { openRawStore } = await import('../utils/raw-store.js')
    const { postingPrefix } = await import('../../src/store/keys.js')
    const raw = await openRawStore(join(data, 'store'))
    const keys = await raw.b.entries.keys().all()
    expect(keys).toHaveLength(4)
    // 1. an entry whose record was altered after signing
    const e2 = await raw.b.entries.get(keys[1]) as any
    await raw.b.entries.put(keys[1], { ...e2, items: [{ ...e2.items[0], value: 'x.verify.example' }] })
    // 2. an index pair pointing at no indicator
    await raw.b.byType.put(postingPrefix('domain') + 'fffffffffffff0', 'fffffffffffff0' + 'ab'.repeat(16))
    // 3. a hole in the log: seq 1 gone
    await raw.b.entries.del(keys[0])
    // 4. a broken prev link: seq 4 names another entry as its predecessor
    const e4 = await raw.b.entries.get(keys[3]) as any
    await raw.b.entries.put(keys[3], { ...e4, prev: 'ab'.repeat(32) })
    await raw.close()

    const r = await run(['verify', '--data', data, '--json'])
    expect(r.code).toBe(12)
    const report = oneJsonLine(r, 'verify')
    expect(report.ok).toBe(false)
    const kinds = new Set(report.problems.map((p: { kind: string }) => p.kind))
    expect(kinds).toEqual(new Set(['entry', 'index', 'chain', 'indicator', 'counts']))
    expect(report.problems.some((p: { message: string }) => /signature does not verify/.test(p.message))).toBe(true)
    expect(report.problems.some((p: { message: string }) => /points at missing indicator abab/.test(p.message))).toBe(true)
    expect(report.problems.some((p: { message: string }) => /seq 2 follows 0/.test(p.message))).toBe(true)
    expect(report.problems.some((p: { message: string }) => /prev of seq 4 is not the hash of seq 3/.test(p.message))).toBe(true)
    // the human form names them too
    const human = await run(['verify', '--data', data])
    expect(human.code).toBe(12)
    expect(human.stdout).toMatch(/^PROBLEMS FOUND/)
    // a store in use by a running node is refused with a clear reason
    const fresh = join(tmp, 'verify-running')
    await ok(['init', '--data', fresh])
    const running = await startNode(['--data', fresh, '--api-port', '0', '--log-level', 'warn'])
    try {
      const busy = await run(['verify', '--data', fresh, '--json'])
      expect(busy.code).toBe(11)
      expect(oneJsonLine(busy, 'verify').error.message).toMatch(/is the node running/)
    } finally {
      running.child.kill('SIGTERM')
      await running.exited
    }
  })
})
