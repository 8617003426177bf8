/**
 * Where an entry goes in its log. An own entry, signed ahead of the writer, must extend its
 * log exactly where the store ends (else the publish is signed again: ChainMovedError). An
 * entry from elsewhere is a duplicate, the next one (stored), an entry ahead of a gap, or a
 * fork: a second signed entry for one position, kept with the first as evidence.
 *
 * Ahead of a gap (DESIGN §1: no head-of-line blocking): an entry of a data log whose seq is
 * past the contiguous head + 1 is stored at its seq and its records derived at once; the log
 * keeps its contiguous head (`H`, what version vectors carry) and an ahead mark (`a`: the
 * highest seq held). Stored entries never contradict their stored neighbours: an entry whose
 * `prev` does not name the entry held at seq - 1, or that the entry held at seq + 1 does not
 * name, is a fork (the entry seen first stays). When the entry at head + 1 arrives, the head
 * moves over the run of held entries that follows it. Logs that must be read in order (the
 * membership logs, RED; `EntryPolicy.inOrder`) and this node's own logs still refuse a gap
 * (PX_ERR_SEQ_GAP).
 */
import { PhalanxError } from '../../errors.js'
import { type Entry, MAX_ENTRY_BYTES, entryHash, isRedLog } from '../../records/index.js'
import type { EntryToSeal, SealedOut } from '../../signer/index.js'
import { META_KEY, SEP, copyKey, entryKey, headKey, seqKey } from '../keys.js'
import type { AheadMark, CopyLink, ForkEvidence, LogHead } from '../level-store.js'
import { applyEntry, type DeriveContext } from './derive.js'
import type { AcceptedLoss } from '../own-seq.js'
import type { Tx } from './tx.js'
import type { ForkResult, IngestResult, PublishBatch, PublishResult } from './types.js'

export interface PlannedEntry {
  batch: PublishBatch
  entry: EntryToSeal
}

/** this origin's log moved under the writer (an own entry came in from outside): re-plan */
export class ChainMovedError extends Error {}

export interface ChainContext extends DeriveContext {
  /** this node's origin (public key hex) */
  own: string
  /**
   * own logs whose lost tail an operator accepted (own-seq.ts): the log goes on at `next`,
   * past the lost seqs, its first entry there chained on the head the store still held
   */
  jumps?: Map<string, AcceptedLoss>
  /** logs (head keys) that may hold entries beyond their head (a hint: loaded at start, never stale-false) */
  ahead: Set<string>
  /** logs whose entries must be stored in seq order (a gap is refused) */
  inOrder: (log: string) => boolean
}

/** a verified entry from elsewhere, queued for its log position */
export interface RemoteEntry {
  entry: Entry
  hash: string
  /** the entry's canonical JSON text, stored as is */
  json: string
  source: string
  /** why this code cannot read the entry (a later version): kept, its records not read */
  unknown?: string
}

/** store a publish job's sealed entries; each must extend its log exactly where the store ends */
export function applyPublish (tx: Tx, ctx: ChainContext, plan: PlannedEntry[], outs: SealedOut[]): PublishResult {
  const result: PublishResult = { entries: [], ids: [] }
  plan.forEach(({ entry: e }, i) => {
    const out = outs[i]
    const head = tx.get<LogHead>('heads', headKey(e.circle, e.origin))
    const at = head?.seq ?? 0
    // the one place a log may skip seqs: past a lost tail an operator accepted, never onto it
    const jump = ctx.jumps?.get(e.circle)
    const jumps = jump !== undefined && e.seq === jump.next && at >= jump.head && at < e.seq - 1
    if (out === undefined || (at !== e.seq - 1 && !jumps) || (head?.hash ?? null) !== out.prev) {
      throw new ChainMovedError(`own log ${e.circle} moved under the writer (expected seq ${e.seq - 1}, store has ${head?.seq ?? 0})`)
    }
    // packItems keeps every entry under the limit; a bigger one would break the chain
    if (out.size > MAX_ENTRY_BYTES) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `entry would be ${out.size} bytes; the limit is ${MAX_ENTRY_BYTES}`)
    const entry: Entry = { ...e, prev: out.prev, sig: out.sig }
    const first = result.ids.length
    applyEntry(tx, ctx, entry, out.hash, 'local', result.ids, out.json, head)
    const source = plan[i].batch.reshareOf
    if (source !== undefined) {
      // which own records copy another origin's indicator, written with them (withdrawals.ts)
      for (const copy of result.ids.slice(first)) if (copy !== null) tx.put('copies', copyKey(source, copy, entry.circle), { at: entry.created } satisfies CopyLink)
    }
    result.entries.push({ hash: out.hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length })
  })
  return result
}

export function runEntry (tx: Tx, ctx: ChainContext, job: RemoteEntry): IngestResult | ForkResult {
  const { entry, hash } = job
  const receipt = { hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length }
  if (tx.get<string>('entryByHash', hash) !== undefined) return { ...receipt, status: 'duplicate' }
  const hk = headKey(entry.circle, entry.origin)
  const head = tx.get<LogHead>('heads', hk)
  const headSeq = head?.seq ?? 0
  if (entry.seq <= headSeq) return { ...receipt, ...fork(tx, job, entry.seq, 'seq') }
  // a log that may hold entries past its head (a hint; in-order logs without one read nothing more)
  const mark = ctx.ahead.has(hk) ? tx.get<AheadMark>('ahead', hk) : undefined
  let aheadOf: number | undefined
  if (entry.seq > headSeq + 1) {
    if (ctx.inOrder(entry.circle) || isRedLog(entry.circle) || entry.origin === ctx.own) {
      throw new PhalanxError('PX_ERR_SEQ_GAP', `entry ${entry.circle} seq ${entry.seq} arrived before seq ${headSeq + 1} of its origin`, { meta: { circle: entry.circle, origin: entry.origin, have: headSeq, got: entry.seq } })
    }
    if (mark !== undefined) {
      // a different entry already held at this seq
      const held = heldEntry(tx, entry.circle, entry.origin, entry.seq)
      if (held !== undefined) return { ...receipt, ...fork(tx, job, entry.seq, 'seq', held) }
      // the entry held just before must be the one this entry's prev names
      const before = heldEntry(tx, entry.circle, entry.origin, entry.seq - 1)
      if (before !== undefined && tx.get<string>('entryByHash', entry.prev ?? '') !== entryKey(entry.circle, entry.origin, entry.seq - 1)) {
        return { ...receipt, ...fork(tx, job, entry.seq, 'prev', before) }
      }
    }
    aheadOf = headSeq
  } else if (entry.prev !== (head?.hash ?? null)) {
    return { ...receipt, ...fork(tx, job, entry.seq, 'prev') }
  }
  // the entry held just after must name this one
  const after = mark !== undefined && entry.seq < mark.max ? heldEntry(tx, entry.circle, entry.origin, entry.seq + 1) : undefined
  if (after !== undefined && after.prev !== hash) return { ...receipt, ...fork(tx, job, entry.seq + 1, 'prev', after) }
  applyEntry(tx, ctx, entry, hash, job.source, undefined, job.json, head, job.unknown, aheadOf !== undefined)
  if (aheadOf !== undefined) {
    tx.put('ahead', hk, { max: Math.max(mark?.max ?? 0, entry.seq) } satisfies AheadMark)
    ctx.ahead.add(hk)
  } else if (mark !== undefined) {
    advanceHead(tx, entry, mark)
  }
  if (entry.origin !== ctx.own && !tx.store.mayHoldForeign()) {
    // the first entry of another origin: from now on publishes are checked against others' records
    tx.store.noteForeign()
    tx.put('meta', META_KEY.foreign, true)
  }
  const stored: IngestResult = { ...receipt, status: 'stored', ...(aheadOf !== undefined ? { ahead: aheadOf } : {}) }
  return job.unknown === undefined ? stored : { ...stored, unknown: job.unknown }
}

/** an entry of a shared log stored by this group, one still being written, or the store */
function heldEntry (tx: Tx, circle: string, origin: string, seq: number): Entry | undefined {
  if (seq < 1) return undefined
  return tx.storedEntry(circle, origin, seq) ?? tx.store.readUncached<Entry>('entries', entryKey(circle, origin, seq))
}

/**
 * `entry` (just stored at head + 1) closed a gap: move the contiguous head over the run of
 * held entries that follows it. Each held entry names the one before it (checked when the
 * later of two neighbours was stored; checked again here). The mark goes once the head
 * reaches the highest seq held.
 */
function advanceHead (tx: Tx, entry: Entry, mark: AheadMark): void {
  const hk = headKey(entry.circle, entry.origin)
  let head = tx.get<LogHead>('heads', hk)!
  let last: Entry | undefined
  let records = head.records
  for (let seq = entry.seq + 1; seq <= mark.max; seq++) {
    const next = heldEntry(tx, entry.circle, entry.origin, seq)
    if (next === undefined) break
    if (tx.get<string>('entryByHash', next.prev ?? '') !== entryKey(entry.circle, entry.origin, seq - 1)) break
    if (records !== undefined) records += next.items.length
    last = next
  }
  if (last !== undefined) {
    head = { seq: last.seq, hash: entryHash(last), ...(records !== undefined ? { records } : {}) }
    tx.put('heads', hk, head)
  }
  if (head.seq >= mark.max) tx.del('ahead', hk)
}

/**
 * A signed entry (its signature was checked before it was queued) that conflicts with the
 * log: keep it, with the entry it conflicts with, as evidence, in this group's batch. The
 * first evidence per log position is kept; later ones only report the fork.
 */
function fork (tx: Tx, job: RemoteEntry, seq: number, kind: 'seq' | 'prev', held?: Entry): { status: 'fork', fork: ForkEvidence, recorded: boolean } {
  const { entry } = job
  // for a broken prev, the stored side of the proof is the entry the prev should have named
  // (or, `held`, the entry held ahead that does not name this one)
  const at = kind === 'seq' ? seq : seq - 1
  // an entry stored by this group or one still being written is not readable from LevelDB yet
  const ours = held ?? tx.get<Entry>('entries', entryKey(entry.circle, entry.origin, at)) ?? tx.storedEntry(entry.circle, entry.origin, at)
  const fk = `${entry.circle}${SEP}${entry.origin}${SEP}${seqKey(seq)}`
  const known = tx.get<ForkEvidence>('forks', fk)
  if (known !== undefined || ours === undefined) return { status: 'fork', fork: known ?? { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [entry, entry] }, recorded: false }
  const fork: ForkEvidence = { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [ours, entry] }
  tx.put('forks', fk, fork)
  return { status: 'fork', fork, recorded: true }
}
