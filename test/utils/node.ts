/**
 * Test helper: a real PhalanxNode (identity, LevelDB store, HTTP API on a free port) in a
 * fresh temporary data dir, plus a small fetch wrapper for its API. `stop()` stops the node
 * and removes the data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/index.js'
import { PhalanxNode } from '../../src/node.js'

type Json = Record<string, unknown>

export interface ApiResponse<T = any> {
  status: number
  headers: Headers
  /** the raw body text */
  text: string
  /** the body parsed as JSON; undefined if it is not JSON */
  body: T
  /** true when the body parsed as JSON */
  isJson: boolean
}

export interface ApiRequest {
  method?: string
  /** a value to send as JSON (ignored when `raw` is given) */
  json?: unknown
  /** a raw body, sent as is */
  raw?: string | Uint8Array
  /** Content-Type for `raw` (default application/json) */
  contentType?: string
  headers?: Record<string, string>
  /** the bearer token; null sends no Authorization header; default: the node's token */
  token?: string | null
  /** abort after this many ms (default 30 s) */
  timeoutMs?: number
}

export interface TestNode {
  node: PhalanxNode
  url: string
  token: string
  dataDir: string
  /** call the API: path like `/v1/status` or `/v1/lookup?value=…` */
  api: <T = any>(path: string, req?: ApiRequest) => Promise<ApiResponse<T>>
  stop: () => Promise<void>
}

function mergeFlags (base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = base[k]
    out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b)
      ? mergeFlags(b as Json, v as Json)
      : v
  }
  return out
}

export async function apiCall<T = any> (baseUrl: string, defaultToken: string, path: string, req: ApiRequest = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(req.headers ?? {}) }
  const token = req.token === undefined ? defaultToken : req.token
  if (token !== null && headers.Authorization === undefined && headers.authorization === undefined) headers.Authorization = `Bearer ${token}`
  let body: string | Uint8Array | undefined
  if (req.raw !== undefined) {
    body = req.raw
    headers['Content-Type'] ??= req.contentType ?? 'application/json'
  } else if (req.json !== undefined) {
    body = JSON.stringify(req.json)
    headers['Content-Type'] ??= 'application/json'
  }
  const res = await fetch(baseUrl + path, {
    method: req.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(req.timeoutMs ?? 30_000)
  })
  const text = await res.text()
  let parsed: unknown
  let isJson = false
  try { parsed = JSON.parse(text); isJson = true } catch { parsed = undefined }
  return { status: res.status, headers: res.headers, text, body: parsed as T, isJson }
}

/**
 * Start a node with the API on 127.0.0.1:0, no fsync, silent logs. `flags` are merged over
 * those defaults (e.g. `{ api: { bodyLimitBytes: 65536 } }`).
 */
export async function startTestNode (opts: { flags?: Json } = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'phalanx-test-'))
  const base: Json = { dataDir, org: 'test-org', api: { port: 0, host: '127.0.0.1' }, p2p: { port: 0, host: '127.0.0.1' }, logLevel: 'silent', store: { sync: false } }
  let node: PhalanxNode | undefined
  try {
    const config = loadConfig({ env: {}, flags: mergeFlags(base, opts.flags ?? {}) })
    node = new PhalanxNode(config)
    await node.start()
  } catch (err) {
    if (node !== undefined) await node.stop().catch(() => {})
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  const started = node
  if (started.apiUrl === null) throw new Error('the node started without an API URL')
  const url = started.apiUrl
  let stopped = false
  return {
    node: started,
    url,
    token: started.token,
    dataDir,
    api: async <T = any>(path: string, req?: ApiRequest) => await apiCall<T>(url, started.token, path, req),
    async stop () {
      if (stopped) return
      stopped = true
      try {
        await started.stop()
      } finally {
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }
}
