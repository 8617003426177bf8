/**
 * Raw access to a closed store's LevelDB, for tests that damage a store on purpose (the
 * store itself writes only through Ingest). Opens the directory with `level` directly and
 * exposes each bucket's sublevel by its name in BUCKET, with the same key layout and JSON
 * values the store uses. Close it before the store is opened again (LevelDB locks the dir).
 */
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import { BUCKET, type BucketName } from '../../src/store/keys.js'

export type RawBucket = AbstractSublevel<Level<string, unknown>, string | Buffer | Uint8Array, string, any>

export interface RawStore {
  b: Record<BucketName, RawBucket>
  close: () => Promise<void>
}

/** open the LevelDB at `path` (a closed store's directory); it must exist */
export async function openRawStore (path: string): Promise<RawStore> {
  const db = new Level<string, unknown>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing: false })
  await db.open()
  const b: Partial<Record<BucketName, RawBucket>> = {}
  for (const [name, prefix] of Object.entries(BUCKET) as Array<[BucketName, string]>) {
    b[name] = db.sublevel<string, any>(prefix, { valueEncoding: 'json' }) as unknown as RawBucket
  }
  return { b: b as Record<BucketName, RawBucket>, close: async () => { await db.close() } }
}

/** open the store's LevelDB at `path`, run `damage` on its buckets, and close it again */
export async function damageStore (path: string, damage: (b: RawStore['b']) => Promise<void>): Promise<void> {
  const raw = await openRawStore(path)
  try {
    await damage(raw.b)
  } finally {
    await raw.close()
  }
}
