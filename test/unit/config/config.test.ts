/**
 * loadConfig: embedded default → file → PHALANX_* env → flags, validated once and frozen.
 * Every unknown key or bad value is a PX_ERR_CONFIG whose `field` and message name the key.
 * `env` is always passed explicitly so the real environment plays no part.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PhalanxError } from '../../../src/errors.js'
import { loadConfig, type LoadConfigOptions } from '../../../src/config/index.js'

let dir: string

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'phalanx-config-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

/** write a config file (an object is JSON-encoded, a string written as is) */
function configFile (content: unknown, name = 'config.json'): string {
  const path = join(dir, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** loadConfig must throw PX_ERR_CONFIG naming `key` in both `field` and the message */
function expectConfigError (opts: LoadConfigOptions, key: string): PhalanxError {
  let caught: unknown
  try {
    loadConfig(opts)
  } catch (err) {
    caught = err
  }
  expect(caught, `expected loadConfig to throw for ${key}`).toBeInstanceOf(PhalanxError)
  const e = caught as PhalanxError
  expect(e.code).toBe('PX_ERR_CONFIG')
  expect(e.exitCode).toBe(2)
  expect(e.field).toBe(key)
  expect(e.message).toContain(key)
  return e
}

describe('loadConfig: defaults and precedence', () => {
  it('gives the documented defaults with no file, env or flags', () => {
    const c = loadConfig({ env: {} })
    expect(c.api.host).toBe('127.0.0.1')
    expect(c.api.port).toBe(7300)
    expect(c.api.auth).toBe(true)
    expect(c.api.bodyLimitBytes).toBe(16 * 1024 * 1024)
    expect(c.api.maxQueuedItems).toBe(50_000)
    expect(c.api.allowedHosts).toEqual([])
    expect(c.api.publicUrl).toBe('')
    expect(c.dataDir).toBe('./data')
    expect(c.logLevel).toBe('info')
    expect(c.p2p).toEqual({ host: '0.0.0.0', port: 7400, dialIntervalMs: 5000, syncIntervalMs: 10000, connect: [], onlyPeers: [], pending: { perLogEntries: 64, perLogBytes: 1048576, entries: 1024, bytes: 16777216, maxAgeMs: 60000 }, quota: { entriesPerSecond: 100, bytesPerSecond: 262144, burstEntries: 2000, burstBytes: 8388608, holdMs: 30000, maxQueuedItems: 20000 }, junk: { halfLifeMs: 60000, disconnectAt: 50, epochGraceMs: 300000 } })
    expect(c.store).toEqual({ sync: true, purgeExpiredAfterDays: 90, purgeIntervalMs: 3_600_000, lingerMs: 2, paceMs: 0 })
    expect(c.publish).toEqual({ defaultTlp: 'AMBER', defaultConfidence: 50 })
    // an empty org means the host name
    expect(c.org).toBe(hostname())
  })

  it('a config file overrides the defaults and leaves the other keys alone', () => {
    const file = configFile({ org: 'ACME Bank', logLevel: 'warn', api: { port: 8111 }, store: { sync: false }, publish: { defaultTlp: 'GREEN' } })
    const c = loadConfig({ file, env: {} })
    expect(c.org).toBe('ACME Bank')
    expect(c.logLevel).toBe('warn')
    expect(c.api.port).toBe(8111)
    expect(c.api.host).toBe('127.0.0.1')
    expect(c.api.auth).toBe(true)
    expect(c.store.sync).toBe(false)
    expect(c.publish.defaultTlp).toBe('GREEN')
    expect(c.publish.defaultConfidence).toBe(50)
  })

  it('PHALANX_* environment variables override the file, with their types parsed', () => {
    const file = configFile({ api: { port: 8111, host: '127.0.0.2', auth: true }, logLevel: 'warn', store: { sync: true } })
    const c = loadConfig({
      file,
      env: {
        PHALANX_API_PORT: '8222',
        PHALANX_API_HOST: '::1',
        PHALANX_API_AUTH: 'false',
        PHALANX_LOG_LEVEL: 'debug',
        PHALANX_STORE_SYNC: '0',
        PHALANX_DATA: '/srv/phalanx',
        PHALANX_ORG: 'Env Org',
        PHALANX_P2P_PORT: '0',
        PHALANX_DEFAULT_TLP: 'RED',
        PHALANX_DEFAULT_CONFIDENCE: '90',
        PHALANX_API_BODY_LIMIT_BYTES: '4096',
        PHALANX_STORE_PACE_MS: '100'
      }
    })
    expect(c.api.port).toBe(8222)
    expect(c.api.host).toBe('::1')
    expect(c.api.auth).toBe(false)
    expect(c.logLevel).toBe('debug')
    expect(c.store.sync).toBe(false)
    expect(c.dataDir).toBe('/srv/phalanx')
    expect(c.org).toBe('Env Org')
    expect(c.p2p.port).toBe(0)
    expect(c.publish.defaultTlp).toBe('RED')
    expect(c.publish.defaultConfidence).toBe(90)
    expect(c.api.bodyLimitBytes).toBe(4096)
    expect(c.store.paceMs).toBe(100)
  })

  it('flags override the environment and the file', () => {
    const file = configFile({ api: { port: 8111 }, logLevel: 'warn' })
    const c = loadConfig({
      file,
      env: { PHALANX_API_PORT: '8222', PHALANX_LOG_LEVEL: 'debug', PHALANX_DATA: '/from/env' },
      flags: { api: { port: 0 }, dataDir: '/from/flag' }
    })
    expect(c.api.port).toBe(0)
    expect(c.dataDir).toBe('/from/flag')
    // not given as a flag: the env value stays
    expect(c.logLevel).toBe('debug')
  })

  it('ignores PHALANX_TOKEN and PHALANX_API_URL (read by the CLI, not node configuration)', () => {
    const c = loadConfig({ env: { PHALANX_TOKEN: 'abc', PHALANX_API_URL: 'http://127.0.0.1:1', PATH: '/usr/bin', HOME: '/root' } })
    expect(c.api.port).toBe(7300)
    expect(JSON.stringify(c)).not.toContain('abc')
  })

  it('returns a deeply frozen object', () => {
    const c = loadConfig({ env: {} })
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.api)).toBe(true)
    expect(Object.isFrozen(c.publish)).toBe(true)
    // test modules are ES modules, hence strict mode: writing to a frozen object throws
    expect(() => { (c as { logLevel: string }).logLevel = 'trace' }).toThrow(TypeError)
    expect(() => { (c.api as { port: number }).port = 1 }).toThrow(TypeError)
    expect(c.logLevel).toBe('info')
    expect(c.api.port).toBe(7300)
    // a second load is not affected by the first
    expect(loadConfig({ env: {}, flags: { api: { port: 9 } } }).api.port).toBe(9)
  })
})

describe('loadConfig: unknown keys', () => {
  it('refuses an unknown top-level key in the file', () => {
    expectConfigError({ file: configFile({ logLevel: 'info', colour: 'blue' }), env: {} }, 'colour')
  })

  it('refuses an unknown nested key (a typo like api.prot) in the file', () => {
    const e = expectConfigError({ file: configFile({ api: { prot: 8000 } }), env: {} }, 'api.prot')
    expect(e.message).toMatch(/unknown/i)
  })

  it('refuses unknown keys in other sections too', () => {
    expectConfigError({ file: configFile({ store: { fsync: true } }), env: {} }, 'store.fsync')
    expectConfigError({ file: configFile({ publish: { defaultTLP: 'RED' } }), env: {} }, 'publish.defaultTLP')
  })

  it('refuses a "__proto__" key in the file instead of silently dropping it', () => {
    // JSON.parse makes "__proto__" an own key; it must not turn into the object's prototype
    expectConfigError({ file: configFile('{"__proto__": {"api": {"port": 1}}}'), env: {} }, '__proto__')
    expectConfigError({ file: configFile('{"api": {"__proto__": {"port": 1}}}'), env: {} }, 'api.__proto__')
  })

  it('refuses an unknown key given as a flag', () => {
    expectConfigError({ env: {}, flags: { api: { prot: 1 } } }, 'api.prot')
  })

  it('refuses an unknown PHALANX_* environment variable, naming it', () => {
    const e = expectConfigError({ env: { PHALANX_FOO: '1' } }, 'PHALANX_FOO')
    expect(e.message).toMatch(/unknown environment variable/)
    // a near miss of a real one is unknown too
    expectConfigError({ env: { PHALANX_APIPORT: '8000' } }, 'PHALANX_APIPORT')
  })
})

describe('loadConfig: bad values name the key', () => {
  it.each([
    ['api.port out of range', { api: { port: 70000 } }, 'api.port'],
    ['api.port negative', { api: { port: -1 } }, 'api.port'],
    ['api.port a string', { api: { port: 'abc' } }, 'api.port'],
    ['api.port not an integer', { api: { port: 80.5 } }, 'api.port'],
    ['logLevel unknown', { logLevel: 'loud' }, 'logLevel'],
    ['publish.defaultTlp unknown', { publish: { defaultTlp: 'PURPLE' } }, 'publish.defaultTlp'],
    ['publish.defaultConfidence over 100', { publish: { defaultConfidence: 101 } }, 'publish.defaultConfidence'],
    ['store.sync a string', { store: { sync: 'yes' } }, 'store.sync'],
    ['store.purgeExpiredAfterDays negative', { store: { purgeExpiredAfterDays: -1 } }, 'store.purgeExpiredAfterDays'],
    ['api.auth a string', { api: { auth: 'true' } }, 'api.auth'],
    ['api not an object', { api: 5 }, 'api'],
    ['dataDir empty', { dataDir: '' }, 'dataDir'],
    ['p2p.port out of range', { p2p: { port: 65536 } }, 'p2p.port'],
    ['p2p.connect entry without addr', { p2p: { connect: [{ circle: 'c-1' }] } }, 'p2p.connect.0.addr']
  ])('in the file: %s', (_name, content, key) => {
    expectConfigError({ file: configFile(content), env: {} }, key)
  })

  it('in the environment: a non-number, a bad boolean, an out-of-range number, a bad enum', () => {
    expectConfigError({ env: { PHALANX_API_PORT: 'abc' } }, 'PHALANX_API_PORT')
    expectConfigError({ env: { PHALANX_API_PORT: '' } }, 'PHALANX_API_PORT')
    expectConfigError({ env: { PHALANX_STORE_SYNC: 'yes' } }, 'PHALANX_STORE_SYNC')
    expectConfigError({ env: { PHALANX_API_AUTH: 'off' } }, 'PHALANX_API_AUTH')
    expectConfigError({ env: { PHALANX_API_PORT: '70000' } }, 'api.port')
    expectConfigError({ env: { PHALANX_LOG_LEVEL: 'loud' } }, 'logLevel')
    expectConfigError({ env: { PHALANX_DEFAULT_TLP: 'PURPLE' } }, 'publish.defaultTlp')
  })

  it('a value out of range that the environment set names its variable too; one a flag overrode does not', () => {
    const e = expectConfigError({ env: { PHALANX_STORE_PACE_MS: '-5' } }, 'store.paceMs')
    expect(e.message).toMatch(/^config store\.paceMs \(PHALANX_STORE_PACE_MS="-5"\): /)
    const f = expectConfigError({ env: { PHALANX_API_PORT: '8000' }, flags: { api: { port: 70000 } } }, 'api.port')
    expect(f.message).not.toContain('PHALANX_API_PORT')
    const g = expectConfigError({ file: configFile({ store: { paceMs: 5000 } }), env: {} }, 'store.paceMs')
    expect(g.message).not.toContain('PHALANX_')
  })

  it('in the flags', () => {
    expectConfigError({ env: {}, flags: { api: { port: 70000 } } }, 'api.port')
    expectConfigError({ env: {}, flags: { logLevel: 'loud' } }, 'logLevel')
  })

  it('a later layer does not hide a bad earlier value it does not touch', () => {
    // the file's bad value stays even when env and flags set other keys
    expectConfigError({ file: configFile({ logLevel: 'loud' }), env: { PHALANX_API_PORT: '1' }, flags: { api: { port: 2 } } }, 'logLevel')
  })

  it('a later layer replaces a bad earlier value', () => {
    const c = loadConfig({ file: configFile({ api: { port: 70000 } }), env: {}, flags: { api: { port: 8000 } } })
    expect(c.api.port).toBe(8000)
  })
})

describe('loadConfig: the file itself', () => {
  it('a file that is not JSON is a PX_ERR_CONFIG', () => {
    const e = expectConfigError({ file: configFile('{ "api": { "port": 8000, } ', 'broken.json'), env: {} }, 'config file')
    expect(e.message).toContain('broken.json')
  })

  it('a JSON file that is not an object is a PX_ERR_CONFIG', () => {
    expectConfigError({ file: configFile('[1, 2]'), env: {} }, 'config file')
    expectConfigError({ file: configFile('null'), env: {} }, 'config file')
    expectConfigError({ file: configFile('"text"'), env: {} }, 'config file')
  })

  it('a missing file is a PX_ERR_CONFIG naming the path', () => {
    const missing = join(dir, 'nope.json')
    const e = expectConfigError({ file: missing, env: {} }, 'config file')
    expect(e.message).toContain(missing)
  })
})

describe('loadConfig: the org name is display-safe', () => {
  it('refuses an org with a control, bidirectional or invisible character, from the file, env or flags', () => {
    expect(expectConfigError({ env: { PHALANX_ORG: 'Bank B\r\u001b[2K' } }, 'org').message).toContain('U+000D')
    expect(expectConfigError({ env: {}, flags: { org: 'Bank\u202eB' } }, 'org').message).toContain('U+202E')
    expect(expectConfigError({ file: configFile({ org: 'Bank\u200bB' }, 'org.json'), env: {} }, 'org').message).toContain('U+200B')
    expect(loadConfig({ env: {}, flags: { org: 'Société Générale 銀行' } }).org).toBe('Société Générale 銀行')
  })
})

describe('loadConfig: api.allowedHosts and api.publicUrl (Host and Origin checks)', () => {
  it('takes host names and a public URL from the file, and a comma-separated list from the environment', () => {
    const c = loadConfig({ file: configFile({ api: { allowedHosts: ['phalanx.corp.example', '10.0.0.5', 'fd00::5'], publicUrl: 'https://phalanx.corp.example/px' } }), env: {} })
    expect(c.api.allowedHosts).toEqual(['phalanx.corp.example', '10.0.0.5', 'fd00::5'])
    expect(c.api.publicUrl).toBe('https://phalanx.corp.example/px')
    const e = loadConfig({ env: { PHALANX_API_ALLOWED_HOSTS: ' a.example , b.example,', PHALANX_API_PUBLIC_URL: 'http://a.example:7300' } })
    expect(e.api.allowedHosts).toEqual(['a.example', 'b.example'])
    expect(e.api.publicUrl).toBe('http://a.example:7300')
    expect(loadConfig({ env: { PHALANX_API_ALLOWED_HOSTS: '' } }).api.allowedHosts).toEqual([])
  })

  it('refuses a wildcard, a port, a scheme or a bind-all address in allowedHosts, naming the entry', () => {
    for (const bad of ['*', '*.corp.example', 'phalanx.corp.example:7300', 'http://phalanx.corp.example', '0.0.0.0', 'a b']) {
      expectConfigError({ env: {}, flags: { api: { allowedHosts: ['ok.example', bad] } } }, 'api.allowedHosts.1')
    }
    expectConfigError({ env: { PHALANX_API_ALLOWED_HOSTS: 'ok.example,*' } }, 'api.allowedHosts.1')
    expectConfigError({ env: {}, flags: { api: { allowedHosts: 'ok.example' } } }, 'api.allowedHosts')
    expectConfigError({ env: {}, flags: { api: { allowedHosts: Array.from({ length: 65 }, (_, i) => `h${i}.example`) } } }, 'api.allowedHosts')
  })

  it('refuses a public URL that is not http(s), holds a user, query or fragment, or is not a URL', () => {
    for (const bad of ['phalanx.corp.example', 'ftp://phalanx.corp.example', 'https://u:p@phalanx.corp.example', 'https://phalanx.corp.example/?a=1', 'https://phalanx.corp.example/#x']) {
      expectConfigError({ env: {}, flags: { api: { publicUrl: bad } } }, 'api.publicUrl')
    }
    expectConfigError({ env: { PHALANX_API_PUBLIC_URL: 'nope' } }, 'api.publicUrl')
  })
})
