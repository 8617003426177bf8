/**
 * Re-reading what an earlier version kept unread (src/store/ingest/reread.ts).
 * test/fixtures/store-v4-unread was written by the code before reports (commit 6c5e16b;
 * store-v4-unread.make.mjs): a member's indicator, a report linking it and its update, a
 * report revoked by a later entry, and an entry of a kind no version reads yet ("playbook").
 * That code kept the report entries unread. Opened by this code, the reports count — the
 * latest version, the revocation, the link a lookup follows — the playbook entry stays unread
 * and is remembered, and the next start re-reads nothing. A store that remembers its unread
 * entries re-reads only those.
 */
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { fileURLToPath } from 'node:url'
import { OrgKey } from '../../../src/identity/keys.js'
import { READ_SIGNATURE, entryHash, makeReportItem, reportId } from '../../../src/records/index.js'
import { Ingest, LevelStore, checkStore, reportOf, reportsLinking } from '../../../src/store/index.js'
import { LevelStore as RawStore, writeBatch, readBucket } from '../../../src/store/level-store.js'
import { entryKey, headKey } from '../../../src/store/keys.js'
import { RemoteLog, makeTempDir, removeTempDir } from '../../utils/store.js'

const FIXTURE = fileURLToPath(new URL('../../fixtures/store-v4-unread', import.meta.url))
const me = OrgKey.fromSeed(Buffer.alloc(32, 13))
const member = OrgKey.fromSeed(Buffer.alloc(32, 14))
const CIRCLE = 'c-fixture0000000000000'
const INDICATOR = '618fa4526765d3629807d853e2a01fb6'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) removeTempDir(d) })

function tempDb (fixture?: string): string {
  const dir = makeTempDir('phalanx-reread-')
  dirs.push(dir)
  if (fixture !== undefined) cpSync(fixture, join(dir, 'db'), { recursive: true })
  return join(dir, 'db')
}

async function withNode<T> (path: string, run: (store: LevelStore, ingest: Ingest, logged: unknown[]) => Promise<T>): Promise<T> {
  const store = new LevelStore({ path })
  await store.open()
  const logged: unknown[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => { logged.push(JSON.parse(s)) } })
  const ingest = new Ingest({ store, key: me, policy: { check () {} }, log }, { sync: false })
  try {
    await ingest.start()
    return await run(store, ingest, logged)
  } finally {
    await ingest.stop()
    await store.close()
  }
}

async function unreadKeys (store: LevelStore): Promise<string[]> {
  const out: string[] = []
  for await (const k of readBucket(store, 'unread').keys()) out.push(k as string)
  return out
}

describe('entries an earlier version kept unread', () => {
  it('a store written before reports: its reports count once this code opens it, the latest version and the revocation; a kind no version reads stays unread', async () => {
    const path = tempDb(FIXTURE)
    const id = reportId(member.publicKeyHex, '1a2b3c4d5e6f40718293a4b5c6d7e8f9')
    const gone = reportId(member.publicKeyHex, 'ffeeddccbbaa49988776655443322110')
    await withNode(path, async (store, _ingest, logged) => {
      expect(store.getIndicator(INDICATOR)?.value).toBe('reported.example')
      expect(reportOf(store, id)).toMatchObject({ title: 'Phishing wave (v2)', body: 'More detail.', attack: ['T1204.001', 'T1566.002'], actors: ['TA505'], indicators: [INDICATOR], circle: CIRCLE, origin: member.publicKeyHex })
      expect(reportOf(store, gone)).toMatchObject({ revoked: { reason: 'wrong' } })
      expect(reportsLinking(store, INDICATOR)).toEqual([id])
      expect(await unreadKeys(store)).toEqual([entryKey(CIRCLE, member.publicKeyHex, 6)])
      expect(store.readUncached('meta', 'read')).toBe(READ_SIGNATURE)
      expect(logged).toContainEqual(expect.objectContaining({ msg: 'read the entries an earlier version kept unread', read: 4, unread: 1, scanned: true }))
      // the log counts the records it now reads (the playbook entry's aside)
      expect(store.head(CIRCLE, member.publicKeyHex)).toMatchObject({ seq: 6, records: 5 })
      expect((await checkStore(store)).ok).toBe(true)
    })
    // the next start has nothing to re-read
    await withNode(path, async (store, _ingest, logged) => {
      expect(logged.filter((l: any) => l.msg === 'read the entries an earlier version kept unread')).toEqual([])
      expect(reportOf(store, id)).toMatchObject({ title: 'Phishing wave (v2)' })
      expect(await unreadKeys(store)).toHaveLength(1)
    })
  })

  it('this code remembers each entry it keeps unread; a store read by other code re-reads only those', async () => {
    const path = tempDb()
    const log = new RemoteLog(member, CIRCLE)
    const nonce = 'ab'.repeat(16)
    await withNode(path, async (store, ingest) => {
      await ingest.ingest(log.next([{ kind: 'playbook', steps: ['isolate'] } as any]), 'sync')
      expect(await unreadKeys(store)).toEqual([entryKey(CIRCLE, member.publicKeyHex, 1)])
      // what an earlier version with the bucket did with a report: stored unread, remembered
      const report = log.next([makeReportItem(nonce, { type: 'analysis', title: 'kept unread' })])
      const ek = entryKey(CIRCLE, member.publicKeyHex, 2)
      const b = writeBatch(store)
      b.put(RawStore.fullKey('entries', ek), JSON.stringify(report))
      b.put(RawStore.fullKey('entryByHash', entryHash(report)), JSON.stringify(ek))
      b.put(RawStore.fullKey('heads', headKey(CIRCLE, member.publicKeyHex)), JSON.stringify({ seq: 2, hash: entryHash(report), records: 0 }))
      b.put(RawStore.fullKey('unread', ek), JSON.stringify('record kind "report"'))
      b.put(RawStore.fullKey('meta', 'read'), JSON.stringify('{"kinds":["indicator"]}'))
      await b.write()
      store.evict([RawStore.fullKey('heads', headKey(CIRCLE, member.publicKeyHex)), RawStore.fullKey('meta', 'read')])
    })
    await withNode(path, async (store, _ingest, logged) => {
      expect(reportOf(store, reportId(member.publicKeyHex, nonce))).toMatchObject({ title: 'kept unread' })
      expect(await unreadKeys(store)).toEqual([entryKey(CIRCLE, member.publicKeyHex, 1)])
      expect(logged).toContainEqual(expect.objectContaining({ read: 1, unread: 1, scanned: false }))
      expect(store.head(CIRCLE, member.publicKeyHex)).toMatchObject({ seq: 2, records: 1 })
    })
  })
})
