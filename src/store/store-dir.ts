/**
 * What a store directory holds, looked at before LevelDB touches it. LevelDB opened with
 * `createIfMissing` over a directory whose CURRENT file is gone starts a new, empty database
 * there and deletes the old table files as obsolete; even a failed open rotates its LOG. So
 * the store reads the directory itself first and opens LevelDB only over a directory that is
 * new (nothing of LevelDB's in it) or whole (CURRENT names a manifest that exists); anything
 * else is refused with PX_ERR_STORE_DAMAGED, the directory untouched.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { PhalanxError } from '../errors.js'

export type StoreDirState =
  | { state: 'absent' }
  /** no database file in it (an empty directory, or only LOCK / LOG left by a failed open) */
  | { state: 'new' }
  | { state: 'whole', manifest: string }
  | { state: 'damaged', reason: string }

/** the files that hold a LevelDB's data: tables, write-ahead logs, manifests, CURRENT */
const DATA_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))$/

export function inspectStoreDir (path: string): StoreDirState {
  if (!existsSync(path)) return { state: 'absent' }
  const files = readdirSync(path).filter(f => DATA_FILE.test(f))
  if (files.length === 0) return { state: 'new' }
  const tables = files.filter(f => /\.(ldb|sst)$/.test(f)).length
  const logs = files.filter(f => f.endsWith('.log')).length
  const what = `${tables} table file${tables === 1 ? '' : 's'}, ${logs} write-ahead log${logs === 1 ? '' : 's'}`
  if (!files.includes('CURRENT')) {
    return { state: 'damaged', reason: `it holds LevelDB files (${what}, ${files.filter(f => f.startsWith('MANIFEST-')).length} manifests) but no CURRENT file` }
  }
  const manifest = readFileSync(join(path, 'CURRENT'), 'utf8').trim()
  if (!/^MANIFEST-\d+$/.test(manifest)) return { state: 'damaged', reason: `its CURRENT file does not name a manifest (${JSON.stringify(manifest.slice(0, 40))})` }
  if (!files.includes(manifest)) return { state: 'damaged', reason: `its CURRENT file names ${manifest}, which is missing (${what})` }
  return { state: 'whole', manifest }
}

/** the error for a damaged store directory: what is wrong and what to run */
export function damagedStore (path: string, reason: string): PhalanxError {
  return new PhalanxError('PX_ERR_STORE_DAMAGED', `the store at ${path} is damaged: ${reason}. Nothing was opened or changed. ` +
    'Stop the node and run `phalanx repair` (it copies the store aside first), then `phalanx verify`', { meta: { path, reason } })
}

/**
 * LevelDB's repair of the store at `path` (classic-level's static `repair`): it rebuilds the
 * manifest from the table files and write-ahead logs it finds and moves what it cannot read
 * to `lost/`. It takes no lock, so a readable store is opened once first: that fails while a
 * node holds it (a damaged one cannot be open anywhere). Copy the directory before.
 */
export async function repairStoreDir (path: string): Promise<void> {
  if (inspectStoreDir(path).state === 'whole') {
    const db = new Level(path, { createIfMissing: false })
    try {
      await db.open()
    } catch (err) {
      throw new PhalanxError('PX_ERR_STORE', `cannot open the store at ${path}: is the node running? stop it first (${(err as Error).message})`, { cause: err })
    }
    await db.close()
  }
  // `level`'s Level is classic-level's ClassicLevel in Node, whose static repair its types omit
  const repair = (Level as unknown as { repair: (location: string) => Promise<void> }).repair
  try {
    await repair.call(Level, path)
  } catch (err) {
    throw new PhalanxError('PX_ERR_STORE', `LevelDB's repair of ${path} failed: ${(err as Error).message}`, { cause: err })
  }
}
