/**
 * Store format upgrades (src/store/upgrade.ts) on real old stores. test/fixtures/store-v2 was
 * written by the code of v0.1 (format 2; test/fixtures/store-v2.make.mjs says how). Its origin
 * published reshared.example in isac-fixture and then in finance-fixture (a re-share of its own
 * record), red.example to two recipients at once, amber.example in one circle and
 * private.example in its private scope. test/fixtures/store-v3 was written by the code before
 * the host index (format 3; store-v3.make.mjs): URLs, an email and a domain on and below
 * login-micros0ft.example, a URL on an IP, a revoked URL, a purged one and a sighting alone.
 */
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { Level } from 'level'
import { fileURLToPath } from 'node:url'
import { OrgKey } from '../../../src/identity/keys.js'
import { indicatorId, redLogOf } from '../../../src/records/index.js'
import { Ingest, LevelStore, STORE_FORMAT_VERSION, checkStore, lookupValue } from '../../../src/store/index.js'
import { reachOf } from '../../../src/tlp/index.js'
import { makeTempDir, removeTempDir } from '../../utils/store.js'

const FIXTURE = fileURLToPath(new URL('../../fixtures/store-v2', import.meta.url))
const FIXTURE_V3 = fileURLToPath(new URL('../../fixtures/store-v3', import.meta.url))
const key = OrgKey.fromSeed(Buffer.alloc(32, 7))
const other = OrgKey.fromSeed(Buffer.alloc(32, 9)).publicKeyHex
const third = OrgKey.fromSeed(Buffer.alloc(32, 11)).publicKeyHex
const id = (value: string): string => indicatorId(key.publicKeyHex, 'domain', value)

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) removeTempDir(d) })

function copyOfFixture (fixture = FIXTURE): string {
  const dir = makeTempDir('phalanx-upgrade-')
  dirs.push(dir)
  cpSync(fixture, join(dir, 'db'), { recursive: true })
  return join(dir, 'db')
}

describe('store format 2 (v0.1) → 3 → 4', () => {
  it('opening a v0.1 store upgrades it: each record keeps every log its origin published it in', async () => {
    const store = new LevelStore({ path: copyOfFixture() })
    await store.open()
    try {
      expect(STORE_FORMAT_VERSION).toBe(4)
      expect(store.read('meta', 'format')).toBe(4)
      expect(reachOf(store.getIndicator(id('reshared.example'))!)).toEqual(['finance-fixture', 'isac-fixture'])
      expect(reachOf(store.getIndicator(id('red.example'))!)).toEqual([redLogOf(other), redLogOf(third)].sort())
      // one log: nothing added
      expect(store.getIndicator(id('amber.example'))!.reach).toBeUndefined()
      expect(reachOf(store.getIndicator(id('amber.example'))!)).toEqual(['isac-fixture'])
      expect(reachOf(store.getIndicator(id('private.example'))!)).toEqual(['local'])
      // nothing else changed
      expect(store.counts()).toMatchObject({ indicators: 4, revoked: 0 })
      expect(store.getIndicator(id('reshared.example'))).toMatchObject({ circle: 'finance-fixture', tlp: 'CLEAR', version: 2 })
    } finally {
      await store.close()
    }
  })

  it('the upgraded store takes new entries, and a revoke sent to every log of the reach is applied once', async () => {
    const path = copyOfFixture()
    const store = new LevelStore({ path })
    await store.open()
    const ingest = new Ingest({ store, key, policy: { check () {} }, log: pino({ level: 'silent' }) })
    await ingest.start()
    try {
      const ind = store.getIndicator(id('reshared.example'))!
      const before = await store.heads()
      await ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: ind.tlp, items: [{ kind: 'revoke' as const, id: ind.id }] })))
      const after = await store.heads()
      for (const log of ['isac-fixture', 'finance-fixture']) {
        const seq = (list: typeof before): number => list.find(h => h.circle === log && h.origin === key.publicKeyHex)!.seq
        expect(seq(after)).toBe(seq(before) + 1)
      }
      expect(store.getIndicator(ind.id)!.revoked).toBeDefined()
      expect(store.counts()).toMatchObject({ indicators: 4, revoked: 1 })
    } finally {
      await ingest.stop()
      await store.close()
    }
    // reopened: format 4, no second upgrade, the reach still there
    const again = new LevelStore({ path })
    await again.open()
    try {
      expect(again.read('meta', 'format')).toBe(4)
      expect(reachOf(again.getIndicator(id('reshared.example'))!)).toEqual(['finance-fixture', 'isac-fixture'])
    } finally {
      await again.close()
    }
  })

  it('a store of a newer format is still refused', async () => {
    const path = copyOfFixture()
    // written straight into LevelDB, as the store writes its meta: JSON text under the meta bucket
    const db = new Level<string, string>(path)
    await db.put(LevelStore.fullKey('meta', 'format'), JSON.stringify(5))
    await db.close()
    const newer = new LevelStore({ path })
    await expect(newer.open()).rejects.toThrow(/format version 5; this Phalanx reads version 4/)
  })
})

describe('store format 3 → 4: the host index', () => {
  const v3key = OrgKey.fromSeed(Buffer.alloc(32, 13))

  it('opening a format-3 store files its urls, emails and domains by host: a domain lookup finds them', async () => {
    const path = copyOfFixture(FIXTURE_V3)
    const store = new LevelStore({ path })
    await store.open()
    try {
      expect(store.read('meta', 'format')).toBe(4)
      const r = lookupValue(store, 'domain', 'login-micros0ft.example')
      // nearest first; at one depth in the order filed (the upgrade files domains, emails, urls)
      expect(r.matches.map(m => [m.match, m.value])).toEqual([
        ['email-domain', 'billing@login-micros0ft.example'],
        ['url-host', 'https://login-micros0ft.example/auth'],
        ['subdomain', 'mail.login-micros0ft.example'],
        ['subdomain-url', 'http://cdn.login-micros0ft.example/kit.zip']
      ])
      expect(r.matches.every(m => m.origin === v3key.publicKeyHex)).toBe(true)
      expect(lookupValue(store, 'ipv4', '192.0.2.7').matches.map(m => [m.match, m.value])).toEqual([['url-host', 'http://192.0.2.7/bins/x86']])
      expect(lookupValue(store, 'url', 'https://mail.login-micros0ft.example/x').matches.map(m => [m.match, m.value])).toEqual([['host-domain', 'mail.login-micros0ft.example']])
      // a revoked URL is filed (hidden, as in the value index); a purged one and a sighting alone are not
      expect(lookupValue(store, 'domain', 'revoked.example').hidden).toEqual([expect.objectContaining({ match: 'url-host', why: 'revoked', reason: 'taken down' })])
      expect(store.hostRecord('purged.example')).toBeUndefined()
      expect(store.hostRecord('sighted-only.example')).toBeUndefined()
      expect(store.counts()).toMatchObject({ indicators: 6, revoked: 1 })
      expect((await checkStore(store)).ok).toBe(true)
    } finally {
      await store.close()
    }
  })

  it('the upgraded store keeps the index as it takes new records, and is not upgraded again', async () => {
    const path = copyOfFixture(FIXTURE_V3)
    const store = new LevelStore({ path })
    await store.open()
    const ingest = new Ingest({ store, key: v3key, policy: { check () {} }, log: pino({ level: 'silent' }) })
    await ingest.start()
    try {
      await ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'indicator', type: 'url', value: 'https://login-micros0ft.example/second', confidence: 50, tags: [] }] }])
      expect(store.hostRecord('login-micros0ft.example')).toMatchObject({ n: 5 })
    } finally {
      await ingest.stop()
      await store.close()
    }
    const again = new LevelStore({ path })
    await again.open()
    try {
      expect(again.read('meta', 'format')).toBe(4)
      expect(again.hostRecord('login-micros0ft.example')).toMatchObject({ n: 5 })
    } finally {
      await again.close()
    }
  })

  it('an upgrade cut short is done again from nothing', async () => {
    const path = copyOfFixture(FIXTURE_V3)
    // half an upgrade: a host record written, the format still 3
    const db = new Level<string, string>(path)
    await db.put(LevelStore.fullKey('byHost', 'login-micros0ft.example'), JSON.stringify({ n: 1, v: [['url', 'https://login-micros0ft.example/auth', 0]] }))
    await db.close()
    const store = new LevelStore({ path })
    await store.open()
    try {
      expect(store.hostRecord('login-micros0ft.example')).toMatchObject({ n: 4 })
    } finally {
      await store.close()
    }
  })
})
