/**
 * A node started from a built CLI as `npm start` runs it (a child process with a 256 MiB heap,
 * so its memory is its own), for the flood tests: its API, whether it died, its last stderr.
 * The child gets the environment without any PHALANX_* variable, peers on 127.0.0.1.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from './store.js'

/** process.env without PHALANX_* variables, p2p on 127.0.0.1 */
export function cliEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHALANX_')) env[k] = v
  return { ...env, PHALANX_P2P_HOST: '127.0.0.1' }
}

/** run `cli args` to completion; a non-zero exit is an error */
export async function runCli (cli: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args], { env: cliEnv(), stdio: 'ignore' })
    c.on('error', reject)
    c.on('exit', (code) => { code === 0 ? resolve() : reject(new Error(`phalanx ${args.join(' ')} exited ${String(code)}`)) })
  })
}

export class CliVictim {
  #exited: { code: number | null, signal: NodeJS.Signals | null } | undefined
  #stderr = ''
  apiUrl = ''
  token = ''

  private constructor (readonly child: ChildProcessWithoutNullStreams) {
    child.on('exit', (code, signal) => { this.#exited = { code, signal } })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { this.#stderr = (this.#stderr + d).slice(-20_000) })
  }

  /** `phalanx init` then `phalanx start` on `data` (`args`: more start arguments, e.g. --config) */
  static async start (cli: string, data: string, args: string[] = []): Promise<CliVictim> {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build the project first (npm run build)`)
    await runCli(cli, ['init', '--data', data, '--org', 'Victim'])
    const child = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=8', cli, 'start', '--data', data, ...args, '--api-port', '0', '--p2p-port', '0', '--log-level', 'warn', '--json'], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    const v = new CliVictim(child)
    let stdout = ''
    const first = await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`the victim did not start; stderr:\n${v.stderr}`)) }, 30_000)
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        const nl = stdout.indexOf('\n')
        if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(stdout.slice(0, nl))) }
      })
    })
    v.apiUrl = first.apiUrl
    v.token = readFileSync(join(data, 'api.token'), 'utf8').trim()
    return v
  }

  /** how the process ended, or undefined while it runs */
  get exited (): { code: number | null, signal: NodeJS.Signals | null } | undefined { return this.#exited }

  /** the last 20,000 characters it wrote to stderr */
  get stderr (): string { return this.#stderr }

  /** an API call with the token (POST when `json` is given), and how long it took */
  async api (path: string, json?: unknown): Promise<{ status: number, body: any, ms: number }> {
    const t0 = performance.now()
    const r = await fetch(this.apiUrl + path, {
      method: json === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${this.token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(30_000)
    })
    return { status: r.status, body: await r.json(), ms: performance.now() - t0 }
  }

  /** SIGTERM, SIGKILL after 15 s */
  async stop (): Promise<void> {
    if (this.#exited !== undefined) return
    this.child.kill('SIGTERM')
    await Promise.race([new Promise(resolve => this.child.once('exit', resolve)), sleep(15_000)])
    if (this.#exited === undefined) this.child.kill('SIGKILL')
  }
}
