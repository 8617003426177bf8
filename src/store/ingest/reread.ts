/**
 * Re-reading what an earlier version kept unread. An entry holding a record kind (or version)
 * the code does not read is stored as signed, for sync and its log position, and its records
 * are not derived (DESIGN §3 Versions). When a node is upgraded to a version that reads them
 * (reports, say), those records must count: nothing a member sent is lost to an upgrade.
 *
 * The store keeps the entries it left unread (the `unread` bucket) and the READ_SIGNATURE of
 * the code that last went through them. At start, a different signature means: check each
 * unread entry again; what now reads is derived (in the writer, like any entry) and leaves the
 * bucket. A store from before the bucket (no signature) is scanned once for the kinds whose
 * derivation is idempotent (reports, advisories, acks): a node before them kept them unread,
 * and deriving one already derived changes nothing.
 */
import { ENTRY_VERSION, READ_SIGNATURE, checkEntry, isLaterVersion, unknownRecord, type Entry } from '../../records/index.js'
import { readBucket, type LevelStore } from '../level-store.js'

/** kinds a full scan may derive again without changing what was derived (latest or first version wins) */
const IDEMPOTENT_KINDS: ReadonlySet<string> = new Set(['report', 'advisory', 'ack'])

/** an entry to derive now: its key, and the entry as this code reads it */
export interface Reread {
  key: string
  entry: Entry
}

/** what a start finds to re-read: entries that now read, and those still unread (to keep in the bucket) */
export interface RereadPlan {
  read: Reread[]
  unread: Array<{ key: string, why: string }>
  /** the store recorded no signature: it was scanned whole */
  scanned: boolean
}

function isObject (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/**
 * The entries to re-read, or undefined when the store was last read by this very code. Each
 * candidate is checked as a stored entry (`stored`: v0.1's text rule) with this code's kinds.
 */
export async function rereadPlan (store: LevelStore): Promise<RereadPlan | undefined> {
  const signature = store.readUncached<string>('meta', 'read')
  if (signature === READ_SIGNATURE) return undefined
  const plan: RereadPlan = { read: [], unread: [], scanned: signature === undefined }
  const consider = (key: string, raw: unknown): void => {
    let checked: ReturnType<typeof checkEntry>
    try {
      checked = checkEntry(raw, { stored: true })
    } catch {
      return // held as signed; verify reports it
    }
    if (checked.unknown !== undefined) plan.unread.push({ key, why: checked.unknown })
    else plan.read.push({ key, entry: checked.entry })
  }
  if (plan.scanned) {
    for await (const [key, raw] of readBucket(store, 'entries').iterator()) {
      if (!isObject(raw) || !Array.isArray(raw.items) || raw.items.length === 0) continue
      // what this code cannot read either: kept in the bucket, for the version that will
      const why = isLaterVersion(raw.v, ENTRY_VERSION) ? `entry version ${String(raw.v)}` : raw.items.map(unknownRecord).find(u => u !== undefined)
      if (why !== undefined) plan.unread.push({ key: key as string, why })
      else if (raw.items.every(i => isObject(i) && typeof i.kind === 'string' && IDEMPOTENT_KINDS.has(i.kind))) consider(key as string, raw)
    }
  } else {
    for await (const key of readBucket(store, 'unread').keys()) {
      const raw = readBucket(store, 'entries').getSync(key as string)
      if (raw !== undefined) consider(key as string, raw)
    }
  }
  return plan
}
