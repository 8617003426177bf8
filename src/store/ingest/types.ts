/**
 * What Ingest takes and answers: the policy hook, receipts and results, the publish batch.
 * Shared by the writer (index.ts) and the record derivation (chain.ts, derive.ts).
 */
import type { Entry, Item } from '../../records/index.js'
import type { Tlp } from '../../tlp/index.js'
import type { ForkEvidence } from '../level-store.js'

/** decides whether a verified entry from outside may be stored (membership, TLP route) */
export interface EntryPolicy {
  /**
   * throw a PhalanxError to refuse the entry. `unreadable`: an entry of a later version, or
   * with a record this code does not know — check its route and origin, never its records.
   */
  check: (entry: Entry, source: string, unreadable?: boolean) => void
  /**
   * throw a PhalanxError to refuse a batch this node is about to sign into `circle` (a log)
   * at `tlp`: the last gate of a local publish, whichever use case built it
   */
  checkPublish?: (batch: { circle: string, tlp: Tlp }) => void
  /**
   * logs whose entries must be stored in seq order (an entry ahead of a gap is refused with
   * PX_ERR_SEQ_GAP): the membership logs, folded in order. Other logs of other origins store
   * an entry ahead of a gap (chain.ts). Absent: none.
   */
  inOrder?: (log: string) => boolean
}

export interface StoredEntry {
  entry: Entry
  hash: string
  /** 'local' for this node's publishes, else the ingest source (e.g. 'gossip') */
  source: string
  /** why this code cannot read the entry (kept for sync, its records not read); absent: read */
  unknown?: string
}

export interface EntryReceipt {
  hash: string
  circle: string
  origin: string
  seq: number
  items: number
}

export interface IngestResult extends EntryReceipt {
  status: 'stored' | 'duplicate'
  /**
   * stored beyond its log's contiguous head (an earlier seq is missing): the head it was
   * stored after. The gap is for sync to fill.
   */
  ahead?: number
  /**
   * stored, but of a later version or with a record this code does not know (the reason): kept
   * for sync, its records not read; the sender is not at fault (a gossip validator ignores it)
   */
  unknown?: string
}

/** what the writer returns for an entry that proves a fork (ingest() turns it into PX_ERR_FORK) */
export interface ForkResult extends EntryReceipt {
  status: 'fork'
  fork: ForkEvidence
  recorded: boolean
}

/** records of one circle and one TLP (an entry has exactly one of each) */
export interface PublishBatch {
  circle: string
  tlp: Tlp
  items: Item[]
  /**
   * The entries' `created` is later than this: the newest own version of one of the records in
   * another log (a re-share, a re-publish elsewhere). Versions in two logs are ordered by
   * `created` alone, so the new one must not share the old one's millisecond.
   */
  after?: string
  /**
   * The batch re-shares another origin's indicator (its id): the store remembers which own
   * records copy it (the `copies` bucket, in the same write), so that this node can withdraw
   * them when the source is revoked (operations/withdrawals.ts).
   */
  reshareOf?: string
}

export interface PublishResult {
  entries: EntryReceipt[]
  /** the indicator id of each published indicator record, in input order (null for other kinds) */
  ids: Array<string | null>
}
