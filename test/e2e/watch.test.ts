/**
 * `phalanx watch` (src/cli/watch.ts) against a node started from the built CLI: one line per
 * new indicator, update, revocation and advisory, `--json` one JSON object per event; and when the node
 * restarts (on another API port), watch reconnects and resumes after the last event it printed:
 * what was stored before it reconnected is printed once, nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CliVictim, cliEnv } from '../utils/victim.js'
import { makeTempDir, removeTempDir } from '../utils/store.js'
import { until } from '../utils/wait.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'dist/src/cli/main.js')

class Watch {
  out = ''
  err = ''
  readonly child: ChildProcessWithoutNullStreams
  constructor (args: string[]) {
    this.child = spawn(process.execPath, [CLI, 'watch', ...args], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => { this.out += d })
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.err += d })
  }

  get lines (): string[] { return this.out.split('\n').filter(l => l !== '') }
  stop (): void { this.child.kill('SIGKILL') }
}

describe('phalanx watch', () => {
  let dir: string
  let data: string
  let node: CliVictim
  const watches: Watch[] = []

  beforeAll(async () => {
    dir = makeTempDir('phalanx-watch-')
    data = join(dir, 'node')
    node = await CliVictim.start(CLI, data)
  }, 60_000)

  afterAll(async () => {
    for (const w of watches) w.stop()
    await node?.stop()
    if (dir !== undefined) removeTempDir(dir)
  })

  it('prints new indicators, updates and revocations as they are stored', async () => {
    const w = new Watch(['--data', data])
    watches.push(w)
    // the stream starts at the end: wait until watch is connected (its first event is this one)
    let id = ''
    await until('watch prints a first publish', async () => {
      if (w.lines.length > 0) return true
      if (id === '') id = (await node.api('/v1/indicators', { type: 'domain', value: 'first.example', tlp: 'GREEN', tags: ['phishing'] })).body.id
      else await node.api('/v1/indicators', { type: 'domain', value: 'first.example', tlp: 'GREEN', tags: ['phishing'], confidence: 60 + w.lines.length })
      return w.lines.length > 0
    }, 20_000, 500)
    expect(w.lines[0]).toMatch(/^\d\d:\d\d:\d\d {2}(NEW|UPDATED) +TLP:GREEN {2}domain first\.example {2}conf \d+ {2}\[phishing\] {2}from us private {2}id [0-9a-f]{32}$/)
    // the stream tells the current version: an update and a revoke stored before it looks are one
    // event, so each is awaited before the next
    await until('the first publishes are all printed', async () => { const n = w.lines.length; await new Promise(resolve => setTimeout(resolve, 1500)); return w.lines.length === n }, 20_000, 0)
    const before = w.lines.length
    await node.api('/v1/indicators', { type: 'domain', value: 'first.example', tlp: 'GREEN', tags: ['phishing'], confidence: 99 })
    await until('the update', () => w.lines.length >= before + 1, 20_000, 50)
    await node.api(`/v1/indicators/${id}/revoke`, { reason: 'sinkholed' })
    await until('the revocation', () => w.lines.length >= before + 2, 20_000, 50)
    expect(w.lines[before]).toMatch(/ UPDATED +TLP:GREEN {2}domain first\.example {2}conf 99 /)
    expect(w.lines[before + 1]).toMatch(/ REVOKED +TLP:GREEN {2}domain first\.example .*\(sinkholed\)$/)
    expect(w.out).not.toContain('\u001b') // no colour when stdout is not a terminal
  }, 60_000)

  it('--json: one object per event; after a node restart on another port it resumes after the last event printed', async () => {
    const w = new Watch(['--data', data, '--json'])
    watches.push(w)
    await until('watch --json prints a first publish', async () => {
      if (w.lines.length === 0) await node.api('/v1/indicators', { type: 'domain', value: `json-${Date.now()}.example`, tlp: 'CLEAR' })
      return w.lines.length > 0
    }, 20_000, 500)
    const first = JSON.parse(w.lines[0])
    expect(first).toMatchObject({ event: 'indicator', id: first.data.cursor, data: { type: 'domain', tlp: 'CLEAR' } })
    const oldUrl = node.apiUrl
    await node.stop()
    node = await CliVictim.start(CLI, data)
    expect(node.apiUrl).not.toBe(oldUrl)
    // stored while watch is still waiting to reconnect: it must come once, after the restart
    const during = (await node.api('/v1/indicators', { type: 'domain', value: 'while-away.example', tlp: 'CLEAR' })).body.id
    const after = (await node.api('/v1/indicators', { type: 'ipv4', value: '198.51.100.7', tlp: 'CLEAR' })).body.id
    await until('watch reconnects and prints both', () => w.lines.some(l => JSON.parse(l).data.id === after), 30_000, 100)
    const ids = w.lines.map(l => JSON.parse(l).data.id as string)
    expect(ids.filter(i => i === during)).toHaveLength(1)
    expect(ids.indexOf(during)).toBeLessThan(ids.indexOf(after))
    expect(new Set(w.lines).size).toBe(w.lines.length) // nothing printed twice
    expect(w.err).toMatch(/trying again every 2 s/)
    expect(w.err).toMatch(/connected again to http:\/\/127\.0\.0\.1:\d+, resuming after [0-9a-f]+/)
  }, 90_000)

  it('prints an advisory to a circle as one line, interleaved with indicators in the order stored', async () => {
    const circle = (await node.api('/v1/circles', { name: 'Solo' })).body.id as string
    const w = new Watch(['--data', data])
    watches.push(w)
    await until('watch prints a first advisory', async () => {
      if (w.lines.length === 0) await node.api('/v1/advisories', { circle, title: 'Solo alert', severity: 'high', cves: ['CVE-2026-4242'] })
      return w.lines.length > 0
    }, 20_000, 500)
    expect(w.lines[0]).toMatch(/^\d\d:\d\d:\d\d {2}ADVISORY {2}TLP:AMBER {2}HIGH {2}"Solo alert" {2}CVE-2026-4242 {2}from us in Solo {2}id [0-9a-f]{32}$/)
    const before = w.lines.length
    await node.api('/v1/indicators', { type: 'domain', value: 'between.example', tlp: 'GREEN', circle })
    await node.api('/v1/advisories', { circle, title: 'Second alert', text: 'more\nlines' })
    await until('the indicator and the second advisory', () => w.lines.length >= before + 2, 20_000, 50)
    expect(w.lines[before]).toMatch(/ NEW +TLP:GREEN {2}domain between\.example .* from us in Solo /)
    expect(w.lines[before + 1]).toMatch(/ ADVISORY {2}TLP:AMBER {2}"Second alert" {2}from us in Solo /)
  }, 60_000)

  it('a bad filter is refused once, not retried', async () => {
    const w = new Watch(['--data', data, '--type', 'colour'])
    const code = await new Promise<number | null>(resolve => w.child.on('exit', resolve))
    expect(code).toBe(2)
    expect(w.err).toMatch(/^phalanx: .*unknown indicator type/)
  }, 30_000)
})
