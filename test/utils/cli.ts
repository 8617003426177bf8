/**
 * Test helpers for a node's outside: the built CLI run against its data dir (`npm run build`
 * first), and its SSE stream followed from now or after an event.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { EventStreamParser, type StreamEvent } from '../../src/cli/watch.js'
import type { TestNode } from './node.js'

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))

/** run the built CLI against a node's data dir (no PHALANX_* variables of the test's environment) */
export async function runCli (n: Pick<TestNode, 'dataDir'>, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PHALANX_')) env[k] = v
  return await new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--data', n.dataDir, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

/**
 * Follow a node's SSE stream (`query`: e.g. `events=report`; `lastEventId`: resume after it);
 * the events collect in the array returned. `streams` collects the controller to abort it.
 */
export async function followStream (n: Pick<TestNode, 'url' | 'token'>, streams: AbortController[], opts: { query?: string, lastEventId?: string } = {}): Promise<StreamEvent[]> {
  const ac = new AbortController()
  streams.push(ac)
  const res = await fetch(`${n.url}/v1/stream${opts.query !== undefined ? `?${opts.query}` : ''}`, { headers: { authorization: `Bearer ${n.token}`, ...(opts.lastEventId !== undefined ? { 'last-event-id': opts.lastEventId } : {}) }, signal: ac.signal })
  if (res.status !== 200) throw new Error(`the stream answered ${res.status}`)
  const parser = new EventStreamParser()
  const decoder = new TextDecoder()
  const got: StreamEvent[] = []
  void (async () => {
    try { for await (const chunk of res.body as AsyncIterable<Uint8Array>) got.push(...parser.push(decoder.decode(chunk, { stream: true }))) } catch { /* aborted */ }
  })()
  return got
}
