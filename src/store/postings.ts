/**
 * Posting blocks: the type, origin, tag and change-feed indexes. Instead of one LevelDB key
 * per (index value, indicator), a write group stores one key per index value holding every
 * (cursor, id) pair the group added to it, in cursor order:
 *
 *     prefix ‖ first cursor  →  "cursor₁id₁cursor₂id₂…"   (14 + 32 characters a pair)
 *
 * `prefix` is the index value and a NUL (`phishing\0`), or nothing for the change feed.
 * Cursors grow with every write group, so the blocks of one prefix cover disjoint, ordered
 * cursor ranges and a scan reads them in key order. A bulk import writes 4–5 keys per
 * thousand indicators instead of 4–5 per indicator.
 *
 * Pairs are never rewritten: when an indicator gets a new version (supersede, revoke,
 * relabel) its old pair stays and readers skip it, because the indicator's current cursor
 * differs from the pair's. `checkStore` verifies that every current version has its pairs.
 */
import { ID_HEX_CHARS } from '../records/index.js'
import { HIGH, type BucketName } from './keys.js'
import { readBucket, type LevelStore } from './level-store.js'

export type PostingBucket = Extract<BucketName, 'changes' | 'byType' | 'byOrigin' | 'byTag'>
export const POSTING_BUCKETS: readonly PostingBucket[] = ['changes', 'byType', 'byOrigin', 'byTag']

const CURSOR_LEN = 14
const ID_LEN = ID_HEX_CHARS
export const PAIR_LEN = CURSOR_LEN + ID_LEN
/** pairs per block at most (~46 KiB): a page read never pulls a huge value */
export const MAX_BLOCK_PAIRS = 1024

/** pairs collected for one (bucket, prefix) during a write group */
export interface PostingList {
  bucket: PostingBucket
  prefix: string
  /** concatenated pairs, in cursor order */
  pairs: string[]
}

export function pair (cursor: string, id: string): string {
  return cursor + id
}

/** the tag index values of an indicator: its tags lower-cased, each once */
export function postingTags (tags: readonly string[]): string[] {
  if (tags.length === 0) return []
  if (tags.length === 1) return [tags[0].toLowerCase()]
  return [...new Set(tags.map(t => t.toLowerCase()))]
}

/** the keys and values a list becomes: blocks of at most MAX_BLOCK_PAIRS pairs */
export function blocksOf (list: PostingList): Array<[key: string, value: string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i < list.pairs.length; i += MAX_BLOCK_PAIRS) {
    const chunk = list.pairs.length <= MAX_BLOCK_PAIRS ? list.pairs : list.pairs.slice(i, i + MAX_BLOCK_PAIRS)
    out.push([list.prefix + chunk[0].slice(0, CURSOR_LEN), chunk.join('')])
  }
  return out
}

/** the pairs of a stored block; a malformed block is an error naming its key */
export function pairsOf (key: string, block: unknown): Array<[cursor: string, id: string]> {
  if (typeof block !== 'string' || block.length === 0 || block.length % PAIR_LEN !== 0) {
    throw new Error(`posting block ${JSON.stringify(key)} is malformed`)
  }
  const out: Array<[string, string]> = []
  for (let i = 0; i < block.length; i += PAIR_LEN) {
    out.push([block.slice(i, i + CURSOR_LEN), block.slice(i + CURSOR_LEN, i + PAIR_LEN)])
  }
  return out
}

export interface PostingRange {
  /** pairs with a cursor strictly after this */
  after?: string
  /** pairs with a cursor at or after this */
  from?: string
  /** pairs with a cursor strictly before this */
  before?: string
}

/** blocks read per iterator step: a block is up to ~46 KiB */
const BLOCKS_PER_STEP = 4

/**
 * Every (cursor, id) pair of one index value within a range, in cursor order, stale pairs
 * included (the caller compares the indicator's current cursor).
 */
export async function * scanPostings (store: LevelStore, bucket: PostingBucket, prefix: string, range: PostingRange = {}): AsyncGenerator<[cursor: string, id: string]> {
  const sub = readBucket(store, bucket)
  const lo = range.after !== undefined && (range.from === undefined || range.after >= range.from)
    ? { cursor: range.after, inclusive: false }
    : range.from !== undefined ? { cursor: range.from, inclusive: true } : undefined
  const before = range.before ?? HIGH
  // the first block to read is the last one starting at or before the lower bound
  let start = prefix
  if (lo !== undefined) {
    for await (const k of sub.keys({ gte: prefix, lte: prefix + lo.cursor, reverse: true, limit: 1 })) start = k
  }
  const it = sub.iterator({ gte: start, lt: prefix + before })
  try {
    while (true) {
      const blocks = await it.nextv(BLOCKS_PER_STEP) as Array<[string, unknown]>
      if (blocks.length === 0) return
      for (const [key, block] of blocks) {
        for (const p of pairsOf(key, block)) {
          if (p[0] >= before) return
          if (lo !== undefined && (lo.inclusive ? p[0] < lo.cursor : p[0] <= lo.cursor)) continue
          yield p
        }
      }
    }
  } finally {
    await it.close()
  }
}

/** the id a pair at exactly `cursor` points at, if the index holds one */
export async function findPosting (store: LevelStore, bucket: PostingBucket, prefix: string, cursor: string): Promise<string | undefined> {
  for await (const [c, id] of scanPostings(store, bucket, prefix, { from: cursor })) {
    return c === cursor ? id : undefined
  }
  return undefined
}
