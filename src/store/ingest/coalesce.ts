/**
 * Group commit at the origin (issue 17, part 1). Publish calls that wait in the writer's queue
 * together — they arrived while the previous group was being signed or written, or within the
 * linger — are signed as one publish: their records of the same (circle, TLP) share entries,
 * in call order, up to the entry limits (packItems). Every peer then verifies one signature,
 * decrypts one message and stores one entry for what used to be many.
 *
 * Each call still gets its own answer: the ids of its own records, in its own order, and the
 * receipts of the entries that hold them (an entry shared with other calls appears in each of
 * their answers), after the write that made them durable. A composite is all or nothing, as
 * the group it is written in already was: the one way a publish fails once it is queued is a
 * failed write or a chain moved under the writer, and both concern every call of the group.
 *
 * A call that re-shares another origin's indicator (`reshareOf`) keeps entries of its own: the
 * store remembers which records copy the source, entry by entry.
 */
import type { EntryReceipt, PublishBatch, PublishResult } from './types.js'

/** one publish call as the writer's queue holds it */
export interface PublishCall {
  batches: PublishBatch[]
  resolve: (r: PublishResult) => void
  reject: (e: unknown) => void
  items: number
}

/** may a call share entries with other calls? */
export function mergeable (call: Pick<PublishCall, 'batches'>): boolean {
  return call.batches.every(b => b.reshareOf === undefined)
}

/** where a call's batch went: merged batch `k`, at `offset`, `n` records */
interface Segment { k: number, offset: number, n: number }

/**
 * One publish made of several calls: the batches (one per circle and TLP, in order of first
 * use), and the split of the composite's result into each call's own.
 */
export function coalesce (calls: readonly PublishCall[]): { batches: PublishBatch[], split: (r: PublishResult) => PublishResult[] } {
  const batches: PublishBatch[] = []
  const byKey = new Map<string, number>()
  const segments: Segment[][] = calls.map(call => call.batches.map(b => {
    const key = `${b.circle}\x00${b.tlp}`
    let k = byKey.get(key)
    if (k === undefined) {
      k = batches.length
      byKey.set(key, k)
      batches.push({ circle: b.circle, tlp: b.tlp, items: [] })
    }
    const m = batches[k]
    const offset = m.items.length
    m.items.push(...b.items)
    // every call's `after` holds for the shared entries: the latest of them
    if (b.after !== undefined && (m.after === undefined || b.after > m.after)) m.after = b.after
    return { k, offset, n: b.items.length }
  }))
  const split = (r: PublishResult): PublishResult[] => {
    // the result lists each merged batch's entries in turn (packItems keeps its records in order)
    const first: number[] = []
    const entries: Array<Array<{ e: EntryReceipt, from: number }>> = []
    let e = 0
    let id = 0
    for (const b of batches) {
      first.push(id)
      const mine: Array<{ e: EntryReceipt, from: number }> = []
      for (let held = 0; held < b.items.length; e++) {
        mine.push({ e: r.entries[e], from: held })
        held += r.entries[e].items
      }
      entries.push(mine)
      id += b.items.length
    }
    return segments.map(segs => {
      const out: PublishResult = { entries: [], ids: [] }
      for (const { k, offset, n } of segs) {
        out.ids.push(...r.ids.slice(first[k] + offset, first[k] + offset + n))
        for (const { e: receipt, from } of entries[k]) {
          if (from < offset + n && from + receipt.items > offset && !out.entries.includes(receipt)) out.entries.push(receipt)
        }
      }
      return out
    })
  }
  return { batches, split }
}
