/**
 * How the CLI reaches a running node: the data dir (--data, PHALANX_DATA, ./data) holds
 * api.url (written by the node on start) and api.token. PHALANX_API_URL and PHALANX_TOKEN
 * override them (e.g. a node on another port or behind a proxy).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PhalanxError, ERROR_CODES, type ErrorCode } from '../errors.js'
import { loadToken, TOKEN_FILE, API_URL_FILE } from '../identity/index.js'

export interface ApiClient {
  url: string
  request: <T = unknown>(method: string, path: string, body?: unknown, opts?: { contentType?: string, raw?: string }) => Promise<T>
  /** GET a streamed answer (an export): its body, a chunk at a time; an error answer throws as `request` does */
  stream: (path: string) => Promise<AsyncIterable<Uint8Array>>
}

export function resolveDataDir (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.PHALANX_DATA ?? './data')
}

export function connect (dataDir: string, env: NodeJS.ProcessEnv = process.env): ApiClient {
  let url = env.PHALANX_API_URL
  if (url === undefined || url === '') {
    const urlFile = join(dataDir, API_URL_FILE)
    if (!existsSync(urlFile)) {
      throw new PhalanxError('PX_ERR_NODE_NOT_RUNNING', `no running node for ${dataDir} (no ${API_URL_FILE}); start one with \`phalanx start --data ${dataDir}\``)
    }
    url = readFileSync(urlFile, 'utf8').trim()
  }
  let token = env.PHALANX_TOKEN
  if (token === undefined || token === '') {
    if (!existsSync(join(dataDir, TOKEN_FILE))) throw new PhalanxError('PX_ERR_IDENTITY', `no API token at ${join(dataDir, TOKEN_FILE)}; run \`phalanx init --data ${dataDir}\``)
    token = loadToken(dataDir)
  }
  const base = url.replace(/\/+$/, '')
  const call = async (method: string, path: string, body?: unknown, opts: { contentType?: string, raw?: string } = {}): Promise<Response> => {
    try {
      return await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined || opts.raw !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {})
        },
        ...(opts.raw !== undefined ? { body: opts.raw } : body !== undefined ? { body: JSON.stringify(body) } : {})
      })
    } catch (err) {
      throw new PhalanxError('PX_ERR_NODE_NOT_RUNNING', `the node at ${base} does not answer (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is it running?`)
    }
  }
  /** the error of an answer that is not ok, from its `{"error": …}` body */
  const failure = (res: Response, parsed: unknown): PhalanxError => {
    const e = (parsed as { error?: { code?: string, message?: string, field?: string } } | undefined)?.error
    const code = (e?.code !== undefined && e.code in ERROR_CODES ? e.code : 'PX_ERR_INTERNAL') as ErrorCode
    return new PhalanxError(code, e?.message ?? `HTTP ${res.status}`, e?.field !== undefined ? { field: e.field } : {})
  }
  const parse = (text: string): unknown => {
    try { return text === '' ? undefined : JSON.parse(text) } catch { return undefined }
  }
  return {
    url: base,
    async request<T> (method: string, path: string, body?: unknown, opts: { contentType?: string, raw?: string } = {}): Promise<T> {
      const res = await call(method, path, body, opts)
      const parsed = parse(await res.text())
      if (!res.ok) throw failure(res, parsed)
      return parsed as T
    },
    async stream (path: string): Promise<AsyncIterable<Uint8Array>> {
      const res = await call('GET', path)
      if (!res.ok) throw failure(res, parse(await res.text()))
      const body = res.body
      return (async function * () { if (body !== null) for await (const c of body) yield c })()
    }
  }
}
