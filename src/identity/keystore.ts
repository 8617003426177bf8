/**
 * Files of an organization's identity in the data dir:
 *   identity.key   {"v":1,"seed":"<hex>"}               mode 0600, never logged
 *   identity.json  {"v":1,"org","publicKey","fingerprint","created"}  public facts
 *   api.token      the local API bearer token            mode 0600
 *   api.url        the running node's API URL (the CLI finds the node by it)
 * Like ssh, a secret file readable by group or others is refused.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { PhalanxError } from '../errors.js'
import { OrgKey, SEED_BYTES } from './keys.js'
import { fingerprint } from './fingerprint.js'
import { assertDisplaySafeName } from '../records/text.js'

export const KEY_FILE = 'identity.key'
export const IDENTITY_FILE = 'identity.json'
export const TOKEN_FILE = 'api.token'
/** written by a running node: the URL of its API (removed on a clean stop) */
export const API_URL_FILE = 'api.url'

export interface IdentityInfo {
  org: string
  publicKey: string
  fingerprint: string
  created: string
}

export interface Identity extends IdentityInfo {
  key: OrgKey
  /** the raw seed, only for deriving the libp2p key; never serialized */
  seed: Uint8Array
}

/** write a file atomically (tmp + fsync + rename) with the given mode */
export function writeFileAtomic (path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, data, { mode })
  const fd = openSync(tmp, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
  renameSync(tmp, path)
}

/** refuse a secret file that group or others can read or write */
export function checkSecretFileMode (path: string): void {
  const st = statSync(path)
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new PhalanxError('PX_ERR_KEY_PERMISSIONS',
      `${path} has mode ${(st.mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600 ${path})`,
      { meta: { path } })
  }
}

export function ensureDataDir (dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
}

export function hasIdentity (dataDir: string): boolean {
  return existsSync(join(dataDir, KEY_FILE))
}

/** create identity and token if missing; returns whether it created them */
export function initIdentity (dataDir: string, org: string): { identity: Identity, created: boolean } {
  // the name partners see next to this org's fingerprint (records/text.ts)
  if (!hasIdentity(dataDir)) assertDisplaySafeName(org, 'org')
  ensureDataDir(dataDir)
  let created = false
  if (!hasIdentity(dataDir)) {
    const seed = randomBytes(SEED_BYTES)
    const key = OrgKey.fromSeed(seed)
    const info: IdentityInfo = { org, publicKey: key.publicKeyHex, fingerprint: fingerprint(key.publicKeyHex), created: new Date().toISOString() }
    writeFileAtomic(join(dataDir, KEY_FILE), JSON.stringify({ v: 1, seed: seed.toString('hex') }) + '\n', 0o600)
    writeFileAtomic(join(dataDir, IDENTITY_FILE), JSON.stringify({ v: 1, ...info }, null, 2) + '\n', 0o644)
    created = true
  }
  if (!existsSync(join(dataDir, TOKEN_FILE))) {
    writeFileAtomic(join(dataDir, TOKEN_FILE), randomBytes(32).toString('base64url') + '\n', 0o600)
  }
  return { identity: loadIdentity(dataDir), created }
}

export function loadIdentity (dataDir: string): Identity {
  const keyPath = join(dataDir, KEY_FILE)
  if (!existsSync(keyPath)) throw new PhalanxError('PX_ERR_IDENTITY', `no identity in ${dataDir}; run \`phalanx init --data ${dataDir} --org NAME\``)
  checkSecretFileMode(keyPath)
  let seed: Buffer
  try {
    const parsed = JSON.parse(readFileSync(keyPath, 'utf8')) as { v?: unknown, seed?: unknown }
    if (parsed.v !== 1 || typeof parsed.seed !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.seed)) throw new Error('bad format')
    seed = Buffer.from(parsed.seed, 'hex')
  } catch (err) {
    // never include the file's content: it is the secret
    // never include the parser's message either: it quotes the file
    void err
    throw new PhalanxError('PX_ERR_IDENTITY', `${keyPath} is not a valid Phalanx key file (expected {"v":1,"seed":"<64 hex>"})`)
  }
  const key = OrgKey.fromSeed(seed)
  let org = 'unnamed organization'
  let created = ''
  try {
    const info = JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), 'utf8')) as Partial<IdentityInfo>
    if (typeof info.org === 'string') org = info.org
    if (typeof info.created === 'string') created = info.created
  } catch { /* identity.json is informative; the key is the identity */ }
  return { key, seed, org, publicKey: key.publicKeyHex, fingerprint: fingerprint(key.publicKeyHex), created }
}

export function loadToken (dataDir: string): string {
  const path = join(dataDir, TOKEN_FILE)
  if (!existsSync(path)) throw new PhalanxError('PX_ERR_IDENTITY', `no API token at ${path}; run \`phalanx init\``)
  checkSecretFileMode(path)
  return readFileSync(path, 'utf8').trim()
}
