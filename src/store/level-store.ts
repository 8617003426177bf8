/**
 * The LevelDB store: opening (with a format-version check), the buckets, and reads.
 * Writes go only through Ingest (ingest.ts), one atomic batch per group of entries.
 * Hot reads (lookup) use getSync: ~1 µs instead of ~40 µs for an async get here.
 */
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import { mkdirSync } from 'node:fs'
import { PhalanxError } from '../errors.js'
import type { Entry, StoredIndicator } from '../records/index.js'
import { BUCKET, META_KEY, STORE_FORMAT_VERSION, entryKey, headKey, valueKey, type BucketName } from './keys.js'

export type Sub = AbstractSublevel<Level<string, unknown>, string | Buffer | Uint8Array, string, any>

export interface LogHead {
  seq: number
  hash: string
}

export interface StoreCounts {
  entries: number
  indicators: number
  revoked: number
  sightings: number
}

export interface SightingSummary {
  type: string
  value: string
  count: number
  firstSeen: string
  lastSeen: string
  /** per reporting origin */
  origins: Record<string, { count: number, firstSeen: string, lastSeen: string }>
}

export interface PendingRevoke {
  origin: string
  created: string
  entry: string
  reason?: string
}

export interface StoreOptions {
  /** directory of the LevelDB */
  path: string
}

export class LevelStore {
  readonly db: Level<string, unknown>
  readonly b: Record<BucketName, Sub>
  #open = false

  constructor (readonly options: StoreOptions) {
    this.db = new Level<string, unknown>(options.path, { valueEncoding: 'json' })
    const b: Partial<Record<BucketName, Sub>> = {}
    for (const [name, prefix] of Object.entries(BUCKET) as Array<[BucketName, string]>) {
      b[name] = this.db.sublevel<string, any>(prefix, { valueEncoding: 'json' }) as unknown as Sub
    }
    this.b = b as Record<BucketName, Sub>
  }

  get isOpen (): boolean { return this.#open }

  async open (): Promise<void> {
    mkdirSync(this.options.path, { recursive: true, mode: 0o700 })
    try {
      await this.db.open()
      // sublevels open after their parent; getSync needs them open
      await Promise.all(Object.values(this.b).map(async s => { await s.open() }))
    } catch (err) {
      throw new PhalanxError('PX_ERR_STORE', `cannot open the store at ${this.options.path}: ${(err as Error).message}` +
        ((err as { code?: string }).code === 'LEVEL_DATABASE_NOT_OPEN' ? ' (is another node running on this data dir?)' : ''), { cause: err })
    }
    const format = this.b.meta.getSync(META_KEY.format) as number | undefined
    if (format === undefined) {
      const empty = (await this.db.keys({ limit: 1 }).all()).length === 0
      if (!empty) {
        await this.db.close()
        throw new PhalanxError('PX_ERR_STORE', `the store at ${this.options.path} has no format version: it was not written by Phalanx`)
      }
      await this.b.meta.put(META_KEY.format, STORE_FORMAT_VERSION)
    } else if (format !== STORE_FORMAT_VERSION) {
      await this.db.close()
      throw new PhalanxError('PX_ERR_STORE', `the store at ${this.options.path} has format version ${String(format)}; this Phalanx reads version ${STORE_FORMAT_VERSION}`)
    }
    this.#open = true
  }

  async close (): Promise<void> {
    this.#open = false
    await this.db.close()
  }

  assertOpen (): void {
    if (!this.#open) throw new PhalanxError('PX_ERR_CLOSED', 'the store is closed')
  }

  // --- reads -------------------------------------------------------------------------

  getIndicator (id: string): StoredIndicator | undefined {
    this.assertOpen()
    return this.b.indicators.getSync(id) as StoredIndicator | undefined
  }

  getIndicators (ids: string[]): Array<StoredIndicator | undefined> {
    this.assertOpen()
    return ids.map(id => this.b.indicators.getSync(id) as StoredIndicator | undefined)
  }

  idsByValue (type: string, value: string): string[] {
    this.assertOpen()
    return (this.b.byValue.getSync(valueKey(type, value)) as string[] | undefined) ?? []
  }

  sightings (type: string, value: string): SightingSummary | undefined {
    this.assertOpen()
    return this.b.sightings.getSync(valueKey(type, value)) as SightingSummary | undefined
  }

  head (circle: string, origin: string): LogHead | undefined {
    this.assertOpen()
    return this.b.heads.getSync(headKey(circle, origin)) as LogHead | undefined
  }

  getEntry (circle: string, origin: string, seq: number): Entry | undefined {
    this.assertOpen()
    return this.b.entries.getSync(entryKey(circle, origin, seq)) as Entry | undefined
  }

  getEntryByHash (hash: string): Entry | undefined {
    this.assertOpen()
    const k = this.b.entryByHash.getSync(hash) as string | undefined
    return k === undefined ? undefined : this.b.entries.getSync(k) as Entry | undefined
  }

  hasEntryHash (hash: string): boolean {
    return this.b.entryByHash.getSync(hash) !== undefined
  }

  counts (): StoreCounts {
    this.assertOpen()
    return (this.b.meta.getSync(META_KEY.counts) as StoreCounts | undefined) ?? { entries: 0, indicators: 0, revoked: 0, sightings: 0 }
  }

  cidrLengths (): { v4: number[], v6: number[] } {
    return (this.b.meta.getSync(META_KEY.cidrLengths) as { v4: number[], v6: number[] } | undefined) ?? { v4: [], v6: [] }
  }

  lastCursor (): number {
    return (this.b.meta.getSync(META_KEY.cursor) as number | undefined) ?? 0
  }

  /** every log head, for status and (later) sync */
  async heads (): Promise<Array<{ circle: string, origin: string } & LogHead>> {
    const out: Array<{ circle: string, origin: string } & LogHead> = []
    for await (const [k, v] of this.b.heads.iterator()) {
      const [circle, origin] = k.split('\x00')
      out.push({ circle, origin, ...(v as LogHead) })
    }
    return out
  }
}
