/**
 * verifyStoreAt: the store's one function for offline checks. It opens an existing store
 * without writing to it, returns checkStore's report, and closes it; a missing store is not
 * created, and a store in use is refused. Real LevelDB in temp dirs.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { type IndicatorItem } from '../../../src/records/index.js'
import { LevelStore, verifyStoreAt } from '../../../src/store/index.js'
import { damageStore } from '../../utils/raw-store.js'
import { makeTempDir, openStore, removeTempDir, type StoreHarness } from '../../utils/store.js'

function ind (value: string): IndicatorItem {
  return { kind: 'indicator', type: 'domain', value, confidence: 70, tags: ['v'] }
}

async function errorOf (p: Promise<unknown>): Promise<PhalanxError> {
  try {
    await p
  } catch (err) {
    if (err instanceof PhalanxError) return err
    throw err
  }
  throw new Error('resolved')
}

let h: StoreHarness
let path: string

beforeEach(async () => {
  h = await openStore({ ingest: { sync: false } })
  path = h.store.options.path
  await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('a.verify.example'), ind('b.verify.example')] }])
  await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('c.verify.example')] }])
})

afterEach(async () => {
  await h.close()
})

async function closeHarness (): Promise<void> {
  await h.ingest.stop()
  await h.store.close()
}

describe('verifyStoreAt', () => {
  it('reports a healthy closed store as ok, with its entries, indicators and index keys counted', async () => {
    await closeHarness()
    const report = await verifyStoreAt(path)
    expect(report).toMatchObject({ ok: true, entries: 2, indicators: 3, problems: [] })
    // change feed, type and origin pairs for each indicator, a tag pair each, three value records,
    // and one host record (verify.example: the parent domain of all three)
    expect(report.indexKeys).toBe(3 * 4 + 3 + 1)
    // closed again: the store opens normally afterwards
    const store = new LevelStore({ path })
    await store.open()
    expect(store.counts()).toMatchObject({ entries: 2, indicators: 3 })
    await store.close()
  })

  it('finds a damaged store\'s problems: an altered entry, a hole in the log, a dangling index pair', async () => {
    await closeHarness()
    await damageStore(path, async b => {
      const keys = await b.entries.keys().all()
      const e2 = await b.entries.get(keys[1]) as any
      await b.entries.put(keys[1], { ...e2, items: [{ ...e2.items[0], value: 'x.verify.example' }] })
      await b.entries.del(keys[0])
      await b.byType.put('domain\x00fffffffffffff0', 'fffffffffffff0' + 'ab'.repeat(16))
    })
    const report = await verifyStoreAt(path)
    expect(report.ok).toBe(false)
    const messages = report.problems.map(p => p.message)
    expect(messages).toContain('signature does not verify')
    expect(messages).toContain('seq 2 follows 0')
    expect(messages).toContain(`points at missing indicator ${'ab'.repeat(16)}`)
    expect(new Set(report.problems.map(p => p.kind))).toEqual(new Set(['entry', 'chain', 'indicator', 'index', 'counts']))
  })

  it('passes its options to the check: signatures off skips the signature check; maxProblems caps the list', async () => {
    await closeHarness()
    await damageStore(path, async b => {
      const keys = await b.entries.keys().all()
      const e2 = await b.entries.get(keys[1]) as any
      await b.entries.put(keys[1], { ...e2, items: [{ ...e2.items[0], value: 'x.verify.example' }] })
    })
    expect((await verifyStoreAt(path)).problems.map(p => p.message)).toContain('signature does not verify')
    expect((await verifyStoreAt(path, { signatures: false })).problems.map(p => p.message)).not.toContain('signature does not verify')
    expect((await verifyStoreAt(path, { maxProblems: 1 })).problems).toHaveLength(1)
  })

  it('refuses a store in use by an open LevelStore with PX_ERR_STORE naming the cause', async () => {
    const err = await errorOf(verifyStoreAt(path))
    expect(err.code).toBe('PX_ERR_STORE')
    expect(err.message).toMatch(/^cannot open the store at .*: is the node running\? stop it first/)
    // the path and the question once each (LevelStore's own error already named them)
    expect(err.message.split('cannot open the store').length).toBe(2)
  })

  it('creates nothing where there is no store, and writes no format into an empty one', async () => {
    const dir = makeTempDir('phalanx-verify-')
    try {
      const missing = join(dir, 'store')
      expect(await errorOf(verifyStoreAt(missing))).toMatchObject({ code: 'PX_ERR_STORE', message: `no store at ${missing}` })
      expect(existsSync(missing)).toBe(false)
      // an empty LevelDB (no Phalanx store): refused, and still empty afterwards
      const empty = join(dir, 'empty')
      const { Level } = await import('level')
      const db = new Level(empty)
      await db.open()
      await db.close()
      expect((await errorOf(verifyStoreAt(empty))).message).toMatch(/is empty: no node has written it/)
      const again = new Level(empty)
      await again.open()
      expect(await again.keys().all()).toEqual([])
      await again.close()
    } finally {
      removeTempDir(dir)
    }
  })
})
