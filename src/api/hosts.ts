/**
 * Host and Origin checks of the API (docs/API.md, "Host and Origin"): a request reaches a route
 * only when its Host header names a host this API serves (127.0.0.1, localhost, [::1], the
 * configured `api.host` and `api.publicUrl` host, `api.allowedHosts`), so a web page whose own
 * name resolves to 127.0.0.1 (DNS rebinding) is refused; and only when it does not come from a
 * page of another origin (`Origin`, `Sec-Fetch-Site`). Both hold with `api.auth` off. Pure: the
 * server passes the headers in; nothing here reads a socket.
 */
import { PhalanxError, ValidationError } from '../errors.js'

/** the loopback names every node serves, whatever its configuration */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]']
/** at most this many `api.allowedHosts` (a list for people to read, not a blocklist) */
export const MAX_ALLOWED_HOSTS = 64
/** bind addresses that mean "every interface": not a name a client can send */
const WILDCARDS = new Set(['0.0.0.0', '[::]'])
/** a DNS name (letters, digits, `-`, `_`, dots), an IPv4 literal or a bracketed IPv6 literal, as canonicalHostName returns them */
const HOST_NAME_RE = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])$/
/** a Host header: a name or a bracketed IPv6 literal, then an optional `:port` */
const HOST_HEADER_RE = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{0,5}))?$/
/** Sec-Fetch-Site values of a request a page of another origin made (Fetch Metadata) */
const FOREIGN_FETCH_SITES = new Set(['cross-site', 'same-site'])

/**
 * The canonical form of a host name as a browser puts it in Host and Origin: lower case, IDN
 * as punycode, IPv4 as dotted decimal, IPv6 compressed in brackets (a bare IPv6 literal is
 * bracketed), without a trailing dot. Undefined when `s` is not a host name alone (a port, a
 * scheme, a path, user info, white space).
 */
export function canonicalHostName (s: string): string | undefined {
  if (s === '' || /[\s/\\@?#%]/.test(s)) return undefined
  let name = s
  if (name.includes(':')) {
    if (!name.startsWith('[')) name = `[${name}]`
    if (!/^\[[^\]]+\]$/.test(name)) return undefined
  }
  let u: URL
  try { u = new URL(`http://${name}/`) } catch { return undefined }
  if (u.port !== '' || u.hostname === '') return undefined
  return u.hostname.endsWith('.') ? u.hostname.slice(0, -1) : u.hostname
}

/** why `s` is not a valid `api.allowedHosts` entry, or undefined */
export function hostNameProblem (s: string): string | undefined {
  const c = canonicalHostName(s)
  if (c === undefined || c === '' || !HOST_NAME_RE.test(c) || c.length > 253) {
    return `"${s.slice(0, 80)}" is not a host name: give a DNS name, an IPv4 address or an IPv6 address, without scheme, port, path or wildcard`
  }
  if (WILDCARDS.has(c)) return `"${s}" is a bind-everything address, not a name clients send`
  return undefined
}

/** why `s` is not a valid `api.publicUrl`, or undefined */
export function publicUrlProblem (s: string): string | undefined {
  let u: URL
  try { u = new URL(s) } catch { return `"${s.slice(0, 80)}" is not a URL (e.g. https://phalanx.example.org or http://127.0.0.1:7300)` }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the public URL is http or https; got ${u.protocol}`
  if (u.username !== '' || u.password !== '') return 'the public URL must not hold a user name or password'
  if (u.search !== '' || u.hash !== '') return 'the public URL must not hold a query or fragment'
  const why = hostNameProblem(u.hostname)
  if (why !== undefined) return why
  return undefined
}

/** the base of every absolute URL the API answers with: `publicUrl` without its trailing slashes */
export function publicBase (publicUrl: string): string {
  const u = new URL(publicUrl)
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`
}

/** the headers of a request that the checks read (raw, as Node parsed them) */
export interface RequestOrigin {
  /** the Host header (undefined: none) */
  host: string | undefined
  /** how many Host header lines the request had (Node keeps the first of several) */
  hostLines: number
  /** e.g. `1.1`; an HTTP/1.0 request may omit Host */
  httpVersion: string
  origin: string | undefined
  secFetchSite: string | undefined
}

export interface HostPolicyInit {
  /** `api.host`: the bind address, allowed as a name unless it is a wildcard */
  host: string
  /** `api.allowedHosts` */
  allowedHosts: readonly string[]
  /** `api.publicUrl` ('' = none configured): its host is allowed, its origin too */
  publicUrl: string
}

function defaultPort (protocol: string): number {
  return protocol === 'https:' ? 443 : 80
}

/**
 * The names the API answers to and the origins that may call it. Host: any port (the name is
 * what a rebinding page cannot fake; a TLS proxy in front forwards another port or none).
 * Origin: the request's own origin (its host and port equal the Host header's) or the origin
 * of `api.publicUrl`; a page of any other origin, `null` included, is refused, and so is a
 * request a browser marks `Sec-Fetch-Site: cross-site` or `same-site` (another port of
 * localhost is same-site).
 */
export class HostPolicy {
  /** canonical host names a Host header may name */
  readonly names: ReadonlySet<string>
  readonly #publicOrigin: string | undefined

  constructor (init: HostPolicyInit) {
    const names = new Set(LOOPBACK_HOSTS)
    const bind = canonicalHostName(init.host)
    if (bind !== undefined && !WILDCARDS.has(bind)) names.add(bind)
    for (const h of init.allowedHosts) {
      const c = canonicalHostName(h)
      if (c !== undefined) names.add(c)
    }
    if (init.publicUrl !== '') {
      const u = new URL(init.publicUrl)
      const c = canonicalHostName(u.hostname)
      if (c !== undefined) names.add(c)
      this.#publicOrigin = u.origin
    }
    this.names = names
  }

  /**
   * Throw unless the request may reach a route: a missing (HTTP/1.1), repeated or malformed
   * Host is a 400 naming `host`; a Host this API does not serve is PX_ERR_HOST (421); a
   * request from a page of another origin is PX_ERR_ORIGIN (403).
   */
  check (req: RequestOrigin): void {
    const host = this.#host(req)
    if (req.secFetchSite !== undefined && FOREIGN_FETCH_SITES.has(req.secFetchSite.trim().toLowerCase())) {
      throw new PhalanxError('PX_ERR_ORIGIN', `the request comes from a page of another site (Sec-Fetch-Site: ${req.secFetchSite.slice(0, 40)}); this API answers no cross-origin request`, { field: 'sec-fetch-site' })
    }
    if (req.origin !== undefined && !this.#originAllowed(req.origin, host)) {
      throw new PhalanxError('PX_ERR_ORIGIN', `the request comes from a page of another origin (${req.origin.slice(0, 200)}); this API answers no cross-origin request`, { field: 'origin' })
    }
  }

  /** the Host header's name and port, checked */
  #host (req: RequestOrigin): { name: string, port: number | undefined } | undefined {
    if (req.hostLines > 1) throw new ValidationError('host', 'the request has more than one Host header')
    if (req.host === undefined || req.host === '') {
      // HTTP/1.0 has no Host; every browser sends one, so its absence is no rebinding
      if (req.httpVersion === '1.0' && req.host === undefined) return undefined
      throw new ValidationError('host', 'the request has no Host header (HTTP/1.1 requires one)')
    }
    const m = HOST_HEADER_RE.exec(req.host)
    const name = m === null ? undefined : canonicalHostName(m[1])
    if (m === null || name === undefined || (m[2] !== undefined && m[2] !== '' && Number(m[2]) > 65535)) {
      throw new ValidationError('host', `the Host header "${req.host.slice(0, 200)}" is not a host name with an optional port`)
    }
    if (!this.names.has(name)) {
      // the configured names stay out of the answer: a rebinding page reads it
      throw new PhalanxError('PX_ERR_HOST', `this API does not serve the host "${name.slice(0, 200)}" (Host header): it answers to 127.0.0.1, localhost, [::1] and the names of its configuration (api.host, api.publicUrl, api.allowedHosts)`, { field: 'host' })
    }
    return { name, port: m[2] === undefined || m[2] === '' ? undefined : Number(m[2]) }
  }

  /** whether a page of origin `origin` may call this API through host `host` */
  #originAllowed (origin: string, host: { name: string, port: number | undefined } | undefined): boolean {
    let u: URL
    try { u = new URL(origin) } catch { return false } // `null` (a sandboxed frame, a file: page) too
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
    if (this.#publicOrigin !== undefined && u.origin === this.#publicOrigin) return true
    if (host === undefined) return false
    const port = u.port === '' ? defaultPort(u.protocol) : Number(u.port)
    return canonicalHostName(u.hostname) === host.name && port === (host.port ?? defaultPort(u.protocol))
  }
}
