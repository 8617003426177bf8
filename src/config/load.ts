/**
 * Configuration: the embedded default (config/default.json), then a file (--config), then
 * PHALANX_* environment variables, then command-line flags; validated once, then frozen.
 * An unknown key or bad value is a PX_ERR_CONFIG naming the key (the CLI exits with 2).
 */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import { PhalanxError } from '../errors.js'
import { configSchema, type PhalanxConfig } from './schema.js'

/** env var → config path; the parser turns the text into the key's type */
export const ENV_KEYS: Record<string, { path: string, kind: 'string' | 'number' | 'boolean' | 'list' }> = {
  PHALANX_DATA: { path: 'dataDir', kind: 'string' },
  PHALANX_ORG: { path: 'org', kind: 'string' },
  PHALANX_LOG_LEVEL: { path: 'logLevel', kind: 'string' },
  PHALANX_API_HOST: { path: 'api.host', kind: 'string' },
  PHALANX_API_PORT: { path: 'api.port', kind: 'number' },
  PHALANX_API_AUTH: { path: 'api.auth', kind: 'boolean' },
  PHALANX_API_BODY_LIMIT_BYTES: { path: 'api.bodyLimitBytes', kind: 'number' },
  PHALANX_API_ALLOWED_HOSTS: { path: 'api.allowedHosts', kind: 'list' },
  PHALANX_API_PUBLIC_URL: { path: 'api.publicUrl', kind: 'string' },
  PHALANX_P2P_HOST: { path: 'p2p.host', kind: 'string' },
  PHALANX_P2P_PORT: { path: 'p2p.port', kind: 'number' },
  PHALANX_P2P_DIAL_INTERVAL_MS: { path: 'p2p.dialIntervalMs', kind: 'number' },
  PHALANX_P2P_SYNC_INTERVAL_MS: { path: 'p2p.syncIntervalMs', kind: 'number' },
  PHALANX_P2P_ONLY_PEERS: { path: 'p2p.onlyPeers', kind: 'list' },
  PHALANX_STORE_SYNC: { path: 'store.sync', kind: 'boolean' },
  PHALANX_STORE_PURGE_EXPIRED_AFTER_DAYS: { path: 'store.purgeExpiredAfterDays', kind: 'number' },
  PHALANX_STORE_PURGE_INTERVAL_MS: { path: 'store.purgeIntervalMs', kind: 'number' },
  PHALANX_STORE_LINGER_MS: { path: 'store.lingerMs', kind: 'number' },
  PHALANX_STORE_PACE_MS: { path: 'store.paceMs', kind: 'number' },
  PHALANX_DEFAULT_TLP: { path: 'publish.defaultTlp', kind: 'string' },
  PHALANX_DEFAULT_CONFIDENCE: { path: 'publish.defaultConfidence', kind: 'number' }
}
/** PHALANX_* variables the CLI reads itself (not node configuration) */
const CLI_ENV = new Set(['PHALANX_TOKEN', 'PHALANX_API_URL'])

export function defaultConfigPath (): string {
  // dist/src/config/load.js and src/config/load.ts both sit three levels below the package root
  const here = dirname(fileURLToPath(import.meta.url))
  for (const up of ['../..', '../../..']) {
    const p = resolve(here, up, 'config/default.json')
    try { readFileSync(p); return p } catch { /* try the next */ }
  }
  return join(process.cwd(), 'config/default.json')
}

type Json = Record<string, unknown>

function setPath (obj: Json, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = obj
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {}
    cur = cur[p] as Json
  }
  cur[parts[parts.length - 1]] = value
}

function merge (base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(over)) {
    // a JSON "__proto__" key must stay an own (hence unknown, rejected) key, not set the prototype
    const known = Object.hasOwn(base, k)
    const value = typeof v === 'object' && v !== null && !Array.isArray(v) && known && typeof base[k] === 'object' && base[k] !== null
      ? merge(base[k] as Json, v as Json)
      : v
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

function readJson (path: string, what: string): Json {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch (err) {
    throw new PhalanxError('PX_ERR_CONFIG', `cannot read ${what} ${path}: ${(err as Error).message}`, { field: what })
  }
  try {
    const v = JSON.parse(text) as unknown
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object')
    return v as Json
  } catch (err) {
    throw new PhalanxError('PX_ERR_CONFIG', `${what} ${path} is not a JSON object: ${(err as Error).message}`, { field: what })
  }
}

export function envOverrides (env: NodeJS.ProcessEnv): Json {
  const out: Json = {}
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('PHALANX_') || raw === undefined || CLI_ENV.has(name)) continue
    const spec = ENV_KEYS[name]
    if (spec === undefined) throw new PhalanxError('PX_ERR_CONFIG', `unknown environment variable ${name}; known: ${Object.keys(ENV_KEYS).join(', ')}`, { field: name })
    let v: unknown = raw
    if (spec.kind === 'number') {
      v = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(v)) throw new PhalanxError('PX_ERR_CONFIG', `${name} must be a number, got "${raw}"`, { field: name })
    } else if (spec.kind === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(raw)) throw new PhalanxError('PX_ERR_CONFIG', `${name} must be true or false, got "${raw}"`, { field: name })
      v = raw === 'true' || raw === '1'
    } else if (spec.kind === 'list') {
      // comma-separated; empty: an empty list
      v = raw.split(',').map(s => s.trim()).filter(s => s !== '')
    }
    setPath(out, spec.path, v)
  }
  return out
}

/** does a partial config set this dotted path? */
function hasPath (obj: Json | undefined, path: string): boolean {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return false
    cur = (cur as Record<string, unknown>)[part]
  }
  return true
}

export interface LoadConfigOptions {
  /** a JSON config file (--config) */
  file?: string
  env?: NodeJS.ProcessEnv
  /** flag overrides as a partial config, e.g. { api: { port: 0 } } */
  flags?: Json
}

export function loadConfig (opts: LoadConfigOptions = {}): Readonly<PhalanxConfig> {
  let raw = readJson(defaultConfigPath(), 'default config')
  if (opts.file !== undefined) raw = merge(raw, readJson(opts.file, 'config file'))
  raw = merge(raw, envOverrides(opts.env ?? process.env))
  if (opts.flags !== undefined) raw = merge(raw, opts.flags)
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    let path = issue.path.join('.')
    let message = issue.message
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]
      path = path === '' ? key : `${path}.${key}`
      message = `unknown configuration key "${path}"`
    }
    // a value the environment set (and no flag overrode) is named by its variable too: that is what the operator typed
    const env = opts.env ?? process.env
    const fromEnv = Object.keys(ENV_KEYS).find(name => ENV_KEYS[name].path === path && env[name] !== undefined)
    const source = fromEnv !== undefined && !hasPath(opts.flags, path) ? ` (${fromEnv}="${String(env[fromEnv])}")` : ''
    throw new PhalanxError('PX_ERR_CONFIG', `config ${path}${source}: ${message}`, { field: path })
  }
  const cfg = parsed.data
  if (cfg.org === '') cfg.org = hostname()
  return deepFreeze(cfg)
}

function deepFreeze<T> (o: T): Readonly<T> {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
