/**
 * An idle node sleeps: with no circle traffic its main thread wakes a few dozen times a
 * second at most (timers: gossipsub's heartbeat, the event-loop lag sampler), not hundreds
 * (prom-client's default lag sampler every 10 ms woke it ~200 times a second: half of an idle
 * node's CPU, issue 17). Linux only: it reads the thread's context switches from /proc.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sleep } from '../utils/store.js'
import { CliVictim } from '../utils/victim.js'

const CLI = resolve('dist/src/cli/main.js')

/** the main thread's context switches so far (voluntary: it slept and was woken) */
function wakeups (pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8')
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1])
}

describe('an idle node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phalanx-idle-'))
  let node: CliVictim | undefined
  afterAll(async () => { await node?.stop(); rmSync(dir, { recursive: true, force: true }) })

  it('wakes its main thread fewer than 50 times a second, and still reports the event-loop lag', async () => {
    node = await CliVictim.start(CLI, join(dir, 'data'))
    const pid = node.child.pid!
    await sleep(3000) // past the start-up work
    const w0 = wakeups(pid)
    const t0 = performance.now()
    await sleep(5000)
    const perSec = (wakeups(pid) - w0) / ((performance.now() - t0) / 1000)
    expect(perSec).toBeLessThan(50)
    const metrics = await fetch(`${node.apiUrl}/metrics`, { headers: { authorization: `Bearer ${node.token}` } })
    expect(await metrics.text()).toMatch(/^phalanx_process_nodejs_eventloop_lag_p99_seconds \d/m)
  }, 60_000)
})
