/**
 * The verify use case (`phalanx verify`): the store of a data dir checked offline, with the
 * options and timing the CLI prints. Real LevelDB in temp dirs.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { PhalanxError } from '../../../src/errors.js'
import { verifyDataDir } from '../../../src/operations/verify.js'
import { Ingest, LevelStore, STORE_DIR } from '../../../src/store/index.js'
import { makeTempDir, randomKey, removeTempDir } from '../../utils/store.js'

let dir: string | undefined
afterEach(() => { if (dir !== undefined) removeTempDir(dir); dir = undefined })

/** a data dir whose store holds `n` published indicators, closed */
async function dataDirWith (n: number): Promise<string> {
  dir = makeTempDir('phalanx-op-verify-')
  const store = new LevelStore({ path: join(dir, STORE_DIR) })
  await store.open()
  const ingest = new Ingest({ store, key: randomKey(), policy: { check () {} }, log: pino({ level: 'silent' }) }, { sync: false })
  await ingest.start()
  await ingest.publish([{ circle: 'local', tlp: 'GREEN', items: Array.from({ length: n }, (_, i) => ({ kind: 'indicator' as const, type: 'domain' as const, value: `d${i}.op.example`, confidence: 50, tags: [] })) }])
  await ingest.stop()
  await store.close()
  return dir
}

describe('verifyDataDir', () => {
  it('checks the store under <data>/store and adds whether signatures were checked and how long it took', async () => {
    const data = await dataDirWith(5)
    const r = await verifyDataDir(data, { signatures: true, maxProblems: 1000 })
    expect(r).toMatchObject({ ok: true, entries: 1, indicators: 5, problems: [], signatures: true })
    expect(r.seconds).toBeGreaterThanOrEqual(0)
    expect(Object.keys(r)).toEqual(['ok', 'entries', 'indicators', 'indexKeys', 'problems', 'signatures', 'seconds'])
    expect((await verifyDataDir(data, { signatures: false, maxProblems: 1000 })).signatures).toBe(false)
  })

  it('a data dir without a store is PX_ERR_STORE on field data, naming the path', async () => {
    dir = makeTempDir('phalanx-op-verify-')
    mkdirSync(join(dir, 'other'))
    let err: unknown
    try { await verifyDataDir(dir, { signatures: true, maxProblems: 1000 }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(PhalanxError)
    expect(err).toMatchObject({ code: 'PX_ERR_STORE', field: 'data', message: `no store at ${join(dir, STORE_DIR)} (wrong --data?)` })
  })
})
