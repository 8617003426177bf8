/**
 * Where an entry goes in its log. An own entry, signed ahead of the writer, must extend its
 * log exactly where the store ends (else the publish is signed again: ChainMovedError). An
 * entry from elsewhere is a duplicate, the next one (stored), a gap (PX_ERR_SEQ_GAP), or a
 * fork: a second signed entry for one position, kept with the first as evidence.
 */
import { PhalanxError } from '../../errors.js'
import { type Entry, MAX_ENTRY_BYTES } from '../../records/index.js'
import type { EntryToSeal, SealedOut } from '../../signer/index.js'
import { META_KEY, SEP, entryKey, headKey, seqKey } from '../keys.js'
import type { ForkEvidence, LogHead } from '../level-store.js'
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
    applyEntry(tx, ctx, entry, out.hash, 'local', result.ids, out.json, head)
    result.entries.push({ hash: out.hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length })
  })
  return result
}

export function runEntry (tx: Tx, ctx: ChainContext, job: RemoteEntry): IngestResult | ForkResult {
  const { entry, hash } = job
  const receipt = { hash, circle: entry.circle, origin: entry.origin, seq: entry.seq, items: entry.items.length }
  if (tx.get<string>('entryByHash', hash) !== undefined) return { ...receipt, status: 'duplicate' }
  const head = tx.get<LogHead>('heads', headKey(entry.circle, entry.origin))
  const headSeq = head?.seq ?? 0
  if (entry.seq <= headSeq) return { ...receipt, ...fork(tx, job, entry.seq, 'seq') }
  if (entry.seq > headSeq + 1) {
    throw new PhalanxError('PX_ERR_SEQ_GAP', `entry ${entry.circle} seq ${entry.seq} arrived before seq ${headSeq + 1} of its origin`, { meta: { circle: entry.circle, origin: entry.origin, have: headSeq, got: entry.seq } })
  }
  if (entry.prev !== (head?.hash ?? null)) return { ...receipt, ...fork(tx, job, entry.seq, 'prev') }
  applyEntry(tx, ctx, entry, hash, job.source, undefined, job.json, head, job.unknown)
  if (entry.origin !== ctx.own && !tx.store.mayHoldForeign()) {
    // the first entry of another origin: from now on publishes are checked against others' records
    tx.store.noteForeign()
    tx.put('meta', META_KEY.foreign, true)
  }
  return job.unknown === undefined ? { ...receipt, status: 'stored' } : { ...receipt, status: 'stored', unknown: job.unknown }
}

/**
 * A signed entry (its signature was checked before it was queued) that conflicts with the
 * log: keep it, with the entry it conflicts with, as evidence, in this group's batch. The
 * first evidence per log position is kept; later ones only report the fork.
 */
function fork (tx: Tx, job: RemoteEntry, seq: number, kind: 'seq' | 'prev'): { status: 'fork', fork: ForkEvidence, recorded: boolean } {
  const { entry } = job
  // for a broken prev, the stored side of the proof is the entry the prev should have named
  const at = kind === 'seq' ? seq : seq - 1
  // an entry stored by this group or one still being written is not readable from LevelDB yet
  const ours = tx.get<Entry>('entries', entryKey(entry.circle, entry.origin, at)) ?? tx.storedEntry(entry.circle, entry.origin, at)
  const fk = `${entry.circle}${SEP}${entry.origin}${SEP}${seqKey(seq)}`
  const known = tx.get<ForkEvidence>('forks', fk)
  if (known !== undefined || ours === undefined) return { status: 'fork', fork: known ?? { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [entry, entry] }, recorded: false }
  const fork: ForkEvidence = { circle: entry.circle, origin: entry.origin, seq, kind, detected: new Date().toISOString(), source: job.source, entries: [ours, entry] }
  tx.put('forks', fk, fork)
  return { status: 'fork', fork, recorded: true }
}
