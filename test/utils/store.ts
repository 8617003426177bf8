/**
 * Test helpers: temp dirs, a real LevelStore + Ingest pair, and signed entries made "elsewhere"
 * (by another organization's key) for the ingest path.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { OrgKey } from '../../src/identity/keys.js'
import {
  ENTRY_VERSION, entryHash, signEntry, type Entry, type Item
} from '../../src/records/index.js'
import { LevelStore, Ingest, type EntryPolicy, type IngestOptions } from '../../src/store/index.js'
import type { Tlp } from '../../src/tlp/index.js'

/** a fresh directory under the OS temp dir */
export function makeTempDir (prefix = 'phalanx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeTempDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export function randomKey (): OrgKey {
  return OrgKey.fromSeed(randomBytes(32))
}

export interface StoreHarness {
  dir: string
  store: LevelStore
  ingest: Ingest
  key: OrgKey
  /** stop ingest, close the store, remove the temp dir */
  close: () => Promise<void>
}

export interface StoreHarnessOptions {
  key?: OrgKey
  /** the key's seed: entries are then signed on the signer thread, as in a node */
  seed?: Uint8Array
  policy?: EntryPolicy
  ingest?: Partial<IngestOptions>
  /** size of the store's read cache */
  readCacheEntries?: number
  /** the least number of keys the store's value filter is sized for */
  valueFilterCapacity?: number
}

/** open a real LevelDB in a new temp dir with an Ingest over it (started) */
export async function openStore (opts: StoreHarnessOptions = {}): Promise<StoreHarness> {
  const dir = makeTempDir('phalanx-store-')
  const store = new LevelStore({
    path: join(dir, 'db'),
    ...(opts.readCacheEntries !== undefined ? { readCacheEntries: opts.readCacheEntries } : {}),
    ...(opts.valueFilterCapacity !== undefined ? { valueFilterCapacity: opts.valueFilterCapacity } : {})
  })
  const key = opts.seed !== undefined ? OrgKey.fromSeed(opts.seed) : opts.key ?? randomKey()
  let ingest: Ingest | undefined
  try {
    await store.open()
    ingest = new Ingest({
      store,
      key,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      policy: opts.policy ?? { check () {} },
      log: pino({ level: 'silent' })
    }, opts.ingest ?? {})
    await ingest.start()
  } catch (err) {
    if (store.isOpen) await store.close()
    removeTempDir(dir)
    throw err
  }
  const ing = ingest
  let closed = false
  return {
    dir,
    store,
    ingest: ing,
    key,
    close: async () => {
      if (closed) return
      closed = true
      try {
        await ing.stop()
        await store.close()
      } finally {
        removeTempDir(dir)
      }
    }
  }
}

/**
 * A per-(circle, origin) log kept by "another node": signs entries with its own key and
 * chains seq/prev the way a Phalanx node would.
 */
export class RemoteLog {
  seq = 0
  prev: string | null = null
  #lastCreated = 0

  constructor (readonly key: OrgKey = randomKey(), readonly circle = 'local') {}

  get origin (): string { return this.key.publicKeyHex }

  /** the next entry of this log (advances the log) */
  next (items: Item[], opts: { tlp?: Tlp, created?: string, v?: number } = {}): Entry {
    const e = this.peek(items, opts)
    this.seq = e.seq
    this.prev = entryHash(e)
    return e
  }

  /** an entry at the next position, without advancing the log */
  peek (items: Item[], opts: { tlp?: Tlp, created?: string, seq?: number, prev?: string | null, v?: number } = {}): Entry {
    const now = Math.max(Date.now(), this.#lastCreated)
    this.#lastCreated = now
    return signEntry({
      v: opts.v ?? ENTRY_VERSION,
      circle: this.circle,
      origin: this.origin,
      seq: opts.seq ?? this.seq + 1,
      prev: opts.prev !== undefined ? opts.prev : this.prev,
      tlp: opts.tlp ?? 'GREEN',
      created: opts.created ?? new Date(now).toISOString(),
      items
    }, this.key)
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
