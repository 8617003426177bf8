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
  return {
    url: base,
    async request<T> (method: string, path: string, body?: unknown, opts: { contentType?: string, raw?: string } = {}): Promise<T> {
      let res: Response
      try {
        res = await fetch(base + path, {
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
      const text = await res.text()
      let parsed: unknown
      try { parsed = text === '' ? undefined : JSON.parse(text) } catch { parsed = undefined }
      if (!res.ok) {
        const e = (parsed as { error?: { code?: string, message?: string, field?: string } } | undefined)?.error
        const code = (e?.code !== undefined && e.code in ERROR_CODES ? e.code : 'PX_ERR_INTERNAL') as ErrorCode
        throw new PhalanxError(code, e?.message ?? `HTTP ${res.status}`, e?.field !== undefined ? { field: e.field } : {})
      }
      return parsed as T
    }
  }
}
