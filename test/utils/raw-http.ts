/**
 * Test helper: HTTP requests with the headers fetch() will not send as given (a chosen Host,
 * none at all, two Host lines, HTTP/1.0), over node:http or a bare socket. Each call opens
 * and closes its own connection.
 */
import { request } from 'node:http'
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  /** header names in lower case; a repeated header's values joined with ", " */
  headers: Record<string, string>
  text: string
  /** the body parsed as JSON, or undefined */
  body: any
}

function parse (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

/**
 * A request to `baseUrl + path` whose headers are sent exactly as given: `host` is whatever
 * the caller puts (none when absent), an array value is sent as several lines.
 */
export async function rawRequest (baseUrl: string, path: string, opts: { method?: string, headers?: Record<string, string | string[]>, body?: string, timeoutMs?: number } = {}): Promise<RawResponse> {
  const u = new URL(baseUrl)
  return await new Promise<RawResponse>((resolve, reject) => {
    const req = request({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port),
      method: opts.method ?? 'GET',
      path,
      headers: { connection: 'close', ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...(opts.headers ?? {}) },
      setHost: false,
      agent: false,
      timeout: opts.timeoutMs ?? 10_000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
        resolve({ status: res.statusCode ?? 0, headers, text, body: parse(text) })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer to ${opts.method ?? 'GET'} ${path} in time`)))
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** send `head` (the request line and headers, CRLF-separated, without the blank line) and read until the server closes */
export async function rawSocket (baseUrl: string, head: string, body = ''): Promise<RawResponse> {
  const u = new URL(baseUrl)
  return await new Promise<RawResponse>((resolve, reject) => {
    const s = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) })
    const chunks: Buffer[] = []
    s.setTimeout(10_000, () => s.destroy(new Error('no answer in time')))
    s.on('connect', () => s.write(`${head}\r\nConnection: close\r\n\r\n${body}`))
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', reject)
    s.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8')
      const [headPart, ...rest] = all.split('\r\n\r\n')
      const lines = headPart.split('\r\n')
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0)
      const headers: Record<string, string> = {}
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':')
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      let text = rest.join('\r\n\r\n')
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        // de-chunk: size line, data, CRLF … 0
        let out = ''
        let rem = text
        for (;;) {
          const nl = rem.indexOf('\r\n')
          const size = parseInt(rem.slice(0, nl), 16)
          if (!Number.isFinite(size) || size === 0) break
          out += rem.slice(nl + 2, nl + 2 + size)
          rem = rem.slice(nl + 2 + size + 2)
        }
        text = out
      }
      resolve({ status, headers, text, body: parse(text) })
    })
  })
}
