/**
 * The writer's transaction: reads see the writes of this group and of the groups still being
 * written before it; a group's writes become one LevelDB batch (Ingest's atomicity).
 */
import type { Entry } from '../../records/index.js'
import { BUCKET, type BucketName } from '../keys.js'
import { blocksOf, type PostingBucket, type PostingList } from '../postings.js'
import { LevelStore, writeBatch, type StoreCounts } from '../level-store.js'
import type { StoredEntry } from './types.js'

export interface State {
  counts: StoreCounts
  cidr: { v4: number[], v6: number[] }
  cursor: number
  /** pending revocations this group resolved (dropped from memory once written) */
  pendingRemoved: string[]
}

/** a value already serialized as JSON text (written as is) */
export class RawJson {
  constructor (readonly text: string) {}
}

/** copy what a transaction may change in place (cidr lists are replaced, never mutated) */
export function cloneState (s: State): State {
  return { counts: { ...s.counts }, cidr: s.cidr, cursor: s.cursor, pendingRemoved: [...s.pendingRemoved] }
}

/**
 * A write transaction over the store with read-your-writes. Writes collect in an overlay
 * (root key → value, `undefined` = delete) that becomes one chained LevelDB batch; a key
 * written twice in a group is written once. Children (one per job) commit into the group
 * so that a job refused half-way leaves nothing behind.
 */
/** main-thread time (ms) spent building a write batch before I/O gets in (lookups wait at most about this) */
const WRITE_SLICE_MS = 5

export class Tx {
  overlay = new Map<string, unknown>()
  /** write-only keys (entry bodies, hash index): flat [key, value, key, value…], in order */
  log: unknown[] = []
  /** posting pairs added by this transaction, by bucket and prefix (postings.ts) */
  postings = new Map<string, PostingList>()
  #pairs = 0
  /** entries of shared circles this transaction stores (for onStored) */
  stored: StoredEntry[] = []
  state: State

  /** reads fall through to the parent: a job's group, or the group still being written */
  parent: Tx | undefined

  constructor (readonly store: LevelStore, state: State, parent?: Tx) {
    this.state = cloneState(state)
    this.parent = parent
  }

  get<T> (bucket: BucketName, key: string): T | undefined {
    const k = LevelStore.fullKey(bucket, key)
    for (let tx: Tx | undefined = this; tx !== undefined; tx = tx.parent) {
      if (tx.overlay.has(k)) return tx.overlay.get(k) as T | undefined
    }
    return this.store.readUncached<T>(bucket, key)
  }

  put (bucket: BucketName, key: string, value: unknown): void {
    this.overlay.set(LevelStore.fullKey(bucket, key), value)
  }

  del (bucket: BucketName, key: string): void {
    this.overlay.set(LevelStore.fullKey(bucket, key), undefined)
  }

  /** a write that this transaction never reads back (cheaper than put) */
  append (bucket: BucketName, key: string, value: unknown): void {
    this.log.push(LevelStore.fullKey(bucket, key), value)
  }

  remove (bucket: BucketName, key: string): void {
    this.log.push(LevelStore.fullKey(bucket, key), undefined)
  }

  /** index `id` at `cursor` under `prefix` (cursors only grow within a store) */
  /** index a version (its `pair(cursor, id)`) under `prefix` (cursors only grow within a store) */
  post (bucket: PostingBucket, prefix: string, p: string): void {
    const k = BUCKET[bucket] + prefix
    let list = this.postings.get(k)
    if (list === undefined) this.postings.set(k, list = { bucket, prefix, pairs: [] })
    list.pairs.push(p)
    this.#pairs++
  }

  get size (): number { return this.overlay.size + this.log.length + this.#pairs }

  /** an entry of a shared circle stored by this transaction or one it reads through */
  storedEntry (circle: string, origin: string, seq: number): Entry | undefined {
    for (let tx: Tx | undefined = this; tx !== undefined; tx = tx.parent) {
      for (const s of tx.stored) if (s.entry.seq === seq && s.entry.origin === origin && s.entry.circle === circle) return s.entry
    }
    return undefined
  }

  child (): Tx { return new Tx(this.store, this.state, this) }

  commitInto (parent: Tx): void {
    if (parent.overlay.size === 0) parent.overlay = this.overlay
    else for (const [k, v] of this.overlay) parent.overlay.set(k, v)
    if (parent.log.length === 0) parent.log = this.log
    else for (const x of this.log) parent.log.push(x)
    if (parent.postings.size === 0) parent.postings = this.postings
    else {
      for (const [k, list] of this.postings) {
        const into = parent.postings.get(k)
        if (into === undefined) parent.postings.set(k, list)
        else for (const p of list.pairs) into.pairs.push(p)
      }
    }
    parent.#pairs += this.#pairs
    if (this.stored.length > 0) parent.stored.push(...this.stored)
    parent.state = this.state
  }

  async write (sync: boolean): Promise<void> {
    const batch = writeBatch(this.store)
    // building a large group's batch is main-thread work: let I/O in between slices
    let slice = performance.now()
    let n = 0
    /** every 1,024 keys: has the slice been used up? */
    const due = (): boolean => (++n & 1023) === 0 && performance.now() - slice >= WRITE_SLICE_MS
    const pace = async (): Promise<void> => {
      await new Promise(resolve => setImmediate(resolve))
      slice = performance.now()
    }
    const log = this.log
    for (let i = 0; i < log.length; i += 2) {
      const v = log[i + 1]
      if (v === undefined) batch.del(log[i] as string)
      else batch.put(log[i] as string, v instanceof RawJson ? v.text : JSON.stringify(v))
      if (due()) await pace()
    }
    for (const list of this.postings.values()) {
      for (const [key, block] of blocksOf(list)) batch.put(LevelStore.fullKey(list.bucket, key), JSON.stringify(block))
      if (due()) await pace()
    }
    const [valuePrefix, hostPrefix] = LevelStore.FILTERED_PREFIXES
    const valueKeys: string[] = []
    for (const [k, v] of this.overlay) {
      if (v === undefined) batch.del(k)
      else {
        batch.put(k, JSON.stringify(v))
        if (k.startsWith(valuePrefix) || k.startsWith(hostPrefix)) valueKeys.push(k)
      }
      if (due()) await pace()
    }
    this.store.stageValueKeys(valueKeys)
    try {
      await batch.write({ sync })
    } finally {
      this.store.valueKeysWritten(valueKeys)
      // written or not, what the cache held for these keys may be stale now
      this.store.evict(this.overlay.keys())
    }
  }
}
