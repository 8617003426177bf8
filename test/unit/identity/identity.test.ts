import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PhalanxError } from '../../../src/errors.js'
import {
  IDENTITY_FILE, KEY_FILE, TOKEN_FILE, OrgKey, base32, fingerprint, initIdentity, libp2pPrivateKeyFromSeed,
  loadIdentity, loadToken, peerIdFromSeed
} from '../../../src/identity/index.js'
import { makeTempDir, removeTempDir } from '../../utils/store.js'

const FINGERPRINT_RE = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$/
const posix = process.platform !== 'win32'

function mode (path: string): number {
  return statSync(path).mode & 0o777
}

function errorOf (fn: () => unknown): PhalanxError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(PhalanxError)
    return err as PhalanxError
  }
  throw new Error('expected a PhalanxError, nothing was thrown')
}

let tmp: string
let dataDir: string

beforeEach(() => {
  tmp = makeTempDir('phalanx-identity-')
  dataDir = join(tmp, 'data')
})

afterEach(() => {
  removeTempDir(tmp)
})

describe('initIdentity', () => {
  it('creates identity.key and api.token with mode 0600, and a 0700 data dir', () => {
    const { identity, created } = initIdentity(dataDir, 'ACME CERT')
    expect(created).toBe(true)
    for (const f of [KEY_FILE, TOKEN_FILE, IDENTITY_FILE]) expect(existsSync(join(dataDir, f))).toBe(true)
    if (posix) {
      expect(mode(join(dataDir, KEY_FILE))).toBe(0o600)
      expect(mode(join(dataDir, TOKEN_FILE))).toBe(0o600)
      expect(mode(dataDir) & 0o077).toBe(0)
    }
    expect(identity.org).toBe('ACME CERT')
    expect(identity.publicKey).toMatch(/^[0-9a-f]{64}$/)
    expect(identity.key.publicKeyHex).toBe(identity.publicKey)
    expect(identity.seed).toHaveLength(32)
    expect(Date.parse(identity.created)).not.toBeNaN()
  })

  it('stores the seed that gives the public key, and public facts in identity.json', () => {
    const { identity } = initIdentity(dataDir, 'org')
    const keyFile = JSON.parse(readFileSync(join(dataDir, KEY_FILE), 'utf8')) as { v: number, seed: string }
    expect(keyFile.v).toBe(1)
    expect(OrgKey.fromSeed(Buffer.from(keyFile.seed, 'hex')).publicKeyHex).toBe(identity.publicKey)
    const info = JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), 'utf8')) as Record<string, unknown>
    expect(info).toMatchObject({ v: 1, org: 'org', publicKey: identity.publicKey, fingerprint: identity.fingerprint })
    expect(JSON.stringify(info)).not.toContain(keyFile.seed)
  })

  it('makes a usable API token', () => {
    initIdentity(dataDir, 'org')
    const token = loadToken(dataDir)
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('is idempotent: a second call keeps the key and the token', () => {
    const first = initIdentity(dataDir, 'org').identity
    const token = loadToken(dataDir)
    const again = initIdentity(dataDir, 'other name')
    expect(again.created).toBe(false)
    expect(again.identity.publicKey).toBe(first.publicKey)
    expect(again.identity.org).toBe('org')
    expect(loadToken(dataDir)).toBe(token)
  })

  it('gives each data dir its own key', () => {
    const a = initIdentity(join(tmp, 'a'), 'a').identity
    const b = initIdentity(join(tmp, 'b'), 'b').identity
    expect(a.publicKey).not.toBe(b.publicKey)
    expect(a.fingerprint).not.toBe(b.fingerprint)
  })

  it('never shows the seed through JSON or inspection of the key', () => {
    const { identity } = initIdentity(dataDir, 'org')
    const seedHex = Buffer.from(identity.seed).toString('hex')
    expect(JSON.stringify(identity.key)).toBe(JSON.stringify({ publicKey: identity.publicKey }))
    expect(JSON.stringify(identity.key)).not.toContain(seedHex)
  })
})

describe('loadIdentity', () => {
  it('loads what init made', () => {
    const { identity } = initIdentity(dataDir, 'org')
    const loaded = loadIdentity(dataDir)
    expect(loaded.publicKey).toBe(identity.publicKey)
    expect(loaded.fingerprint).toBe(identity.fingerprint)
    expect(Buffer.from(loaded.seed).equals(Buffer.from(identity.seed))).toBe(true)
    const msg = Buffer.from('hello')
    expect(loaded.key.sign(msg).equals(identity.key.sign(msg))).toBe(true)
  })

  it('refuses a missing identity with PX_ERR_IDENTITY', () => {
    expect(errorOf(() => loadIdentity(dataDir)).code).toBe('PX_ERR_IDENTITY')
    expect(errorOf(() => loadToken(dataDir)).code).toBe('PX_ERR_IDENTITY')
  })

  it.runIf(posix).each([0o644, 0o640, 0o604, 0o660, 0o606])('refuses a key file with mode %o (PX_ERR_KEY_PERMISSIONS)', (m) => {
    initIdentity(dataDir, 'org')
    chmodSync(join(dataDir, KEY_FILE), m)
    const err = errorOf(() => loadIdentity(dataDir))
    expect(err.code).toBe('PX_ERR_KEY_PERMISSIONS')
    expect(err.message).toContain('chmod 600')
    expect(err.exitCode).toBe(9)
  })

  it.runIf(posix)('refuses a token readable by others, and accepts 0400', () => {
    initIdentity(dataDir, 'org')
    chmodSync(join(dataDir, TOKEN_FILE), 0o644)
    expect(errorOf(() => loadToken(dataDir)).code).toBe('PX_ERR_KEY_PERMISSIONS')
    chmodSync(join(dataDir, TOKEN_FILE), 0o600)
    expect(loadToken(dataDir)).toMatch(/^[A-Za-z0-9_-]+$/)
    chmodSync(join(dataDir, KEY_FILE), 0o400)
    expect(loadIdentity(dataDir).publicKey).toMatch(/^[0-9a-f]{64}$/)
  })

  describe('a corrupted key file', () => {
    const secretSeed = randomBytes(32).toString('hex')
    const CORRUPT: Array<[string, string]> = [
      ['not JSON', `SECRET-${secretSeed}`],
      ['JSON, seed one character short', JSON.stringify({ v: 1, seed: secretSeed.slice(1) })],
      ['JSON, upper-case seed', JSON.stringify({ v: 1, seed: secretSeed.toUpperCase() })],
      ['JSON, wrong version', JSON.stringify({ v: 2, seed: secretSeed })],
      ['truncated JSON', `{"v":1,"seed":"${secretSeed}`],
      ['a bare seed', secretSeed]
    ]

    it.each(CORRUPT)('(%s) gives PX_ERR_IDENTITY without the file content in the message', (_name, content) => {
      initIdentity(dataDir, 'org')
      const path = join(dataDir, KEY_FILE)
      writeFileSync(path, content, { mode: 0o600 })
      chmodSync(path, 0o600)
      const err = errorOf(() => loadIdentity(dataDir))
      expect(err.code).toBe('PX_ERR_IDENTITY')
      const shown = [err.message, String(err), JSON.stringify(err), err.stack ?? '']
      for (const text of shown) {
        expect(text).not.toContain(content)
        // not even a piece of the secret: no 12-character window of the seed
        for (let i = 0; i + 12 <= secretSeed.length; i += 4) {
          expect(text.toLowerCase()).not.toContain(secretSeed.slice(i, i + 12))
        }
      }
      expect(err.message).toContain(KEY_FILE)
    })
  })
})

describe('fingerprint', () => {
  it('is 8 groups of 4 base32 characters, deterministic', () => {
    const pub = OrgKey.fromSeed(Buffer.alloc(32, 7)).publicKeyHex
    const fp = fingerprint(pub)
    expect(fp).toMatch(FINGERPRINT_RE)
    expect(fingerprint(pub)).toBe(fp)
    expect(fp.replace(/-/g, '')).toHaveLength(32)
  })

  it('is the first 160 bits of SHA-256(purpose tag, raw key) in RFC 4648 base32', () => {
    const key = OrgKey.fromSeed(Buffer.alloc(32, 9))
    const digest = createHash('sha256').update('phalanx/fingerprint/v1\n').update(key.publicKey).digest()
    const want = base32(digest.subarray(0, 20)).match(/.{4}/g)!.join('-')
    expect(fingerprint(key.publicKeyHex)).toBe(want)
  })

  it('differs between keys (no collisions among 200 random keys)', () => {
    const fps = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const fp = fingerprint(OrgKey.fromSeed(randomBytes(32)).publicKeyHex)
      expect(fp).toMatch(FINGERPRINT_RE)
      fps.add(fp)
    }
    expect(fps.size).toBe(200)
  })

  it('matches the identity made at init and reloaded', () => {
    const { identity } = initIdentity(dataDir, 'org')
    expect(identity.fingerprint).toBe(fingerprint(identity.publicKey))
    expect(loadIdentity(dataDir).fingerprint).toBe(identity.fingerprint)
  })

  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI']
  ])('base32 follows the RFC 4648 vectors (unpadded): %j → %s', (input, want) => {
    expect(base32(Buffer.from(input))).toBe(want)
  })
})

describe('peerIdFromSeed', () => {
  it('gives the PeerId libp2p derives from the same public key', async () => {
    for (const seed of [Buffer.alloc(32, 1), randomBytes(32), randomBytes(32)]) {
      const pub = OrgKey.fromSeed(seed).publicKey
      const want = peerIdFromPublicKey(publicKeyFromRaw(pub)).toString()
      expect(await peerIdFromSeed(seed)).toBe(want)
      expect(want).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)
    }
  })

  it('uses the same key pair as the signing key', async () => {
    const seed = randomBytes(32)
    const org = OrgKey.fromSeed(seed)
    const p2p = await libp2pPrivateKeyFromSeed(seed)
    expect(Buffer.from(p2p.publicKey.raw).equals(org.publicKey)).toBe(true)
    const msg = Buffer.from('one key for everything')
    expect(await p2p.publicKey.verify(msg, org.sign(msg))).toBe(true)
  })

  it('differs between seeds, and matches the identity from init', async () => {
    const { identity } = initIdentity(dataDir, 'org')
    const a = await peerIdFromSeed(identity.seed)
    expect(a).toBe(peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(identity.publicKey, 'hex'))).toString())
    expect(await peerIdFromSeed(randomBytes(32))).not.toBe(a)
  })
})

describe('initIdentity: the org name is display-safe', () => {
  it('refuses a new identity whose org holds a control, bidirectional or invisible character, and writes nothing', () => {
    for (const [org, cp] of [['Bank B\r\u001b[2K', 'U+000D'], ['Bank\u202eB', 'U+202E'], ['\ufeffBank', 'U+FEFF']]) {
      let err: unknown
      try { initIdentity(dataDir, org) } catch (e) { err = e }
      expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'org' })
      expect((err as Error).message).toContain(cp)
      expect(existsSync(join(dataDir, KEY_FILE))).toBe(false)
    }
    expect(initIdentity(dataDir, 'Bank B').identity.org).toBe('Bank B')
  })
})
