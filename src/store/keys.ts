/**
 * Buckets (LevelDB sublevels) and their key layouts. Like Lodestar's bucket enum, a bucket's
 * prefix is fixed forever: a retired bucket's prefix is never reused for something else.
 * Key parts are joined with NUL, which no normalized value, tag, id or circle contains.
 */

export const BUCKET = {
  /** entries: circle \0 origin \0 seq16 → Entry */
  entries: 'e',
  /** entry hash → entries key */
  entryByHash: 'h',
  /** log heads: circle \0 origin → { seq, hash } */
  heads: 'H',
  /** current indicators: id → StoredIndicator */
  indicators: 'i',
  /** value index: type \0 value → ValueRecord { ids, sightings? } (one getSync per lookup) */
  byValue: 'xv',
  /**
   * host index (hosts.ts): a host or parent domain → HostRecord { n, v: [type, value, below][] },
   * the urls, emails and domains filed under it (format 4; one getSync per domain lookup)
   */
  byHost: 'xh',
  /**
   * values filed under a host beyond its full record (hosts.ts): host → HostMore { more, far };
   * present only while the `xh` record lists HOST_LIST_MAX values and counts more than that
   */
  hostMore: 'xm',
  /** tag index, posting blocks (postings.ts): lower-cased tag \0 first cursor → pairs */
  byTag: 'pt',
  /** origin index, posting blocks: originKey(origin) \0 first cursor → pairs */
  byOrigin: 'po',
  /** type index, posting blocks: type \0 first cursor → pairs */
  byType: 'py',
  /** change feed, posting blocks: first cursor → pairs (the node's "everything since") */
  changes: 'pc',
  // 'xt', 'xo', 'xy', 'xc' (one key per indexed indicator, format 1) are retired. Never reuse.
  // 's' (sightings by value) is retired: sightings live in the value record. Never reuse 's'.
  /** control entries (circle membership logs), in the order stored: circle \0 cursor → entries key */
  control: 'k',
  /** RED entries this node signed and has not yet seen acknowledged: red log \0 seq16 → entry hash */
  outbox: 'o',
  /** invites this node made: hash of the one-time secret → { circle, expires, usedBy?, usedAt? } */
  invites: 'v',
  /** revocations that arrived before their indicator: id → PendingRevoke */
  pendingRevokes: 'r',
  /** relabels that arrived before their indicator: id → PendingRelabel (the latest one) */
  pendingRelabels: 'l',
  /** logs holding entries stored beyond their contiguous head: circle \0 origin → AheadMark */
  ahead: 'a',
  /** fork evidence: log \0 origin \0 seq16 → ForkEvidence (both signed entries) */
  forks: 'f',
  /** ids of indicators purged after expiry (their entries stay): id → when */
  purged: 'u',
  /**
   * this node's re-shares of other organizations' indicators: source id \0 copy id \0 circle
   * → { at } (written with the copy; operations/withdrawals.ts withdraws the copy when the
   * source is revoked)
   */
  copies: 'w',
  /** advisories (issue 15): advisory id → StoredAdvisory (few: listed by a scan) */
  advisories: 'ad',
  /**
   * acks of advisories: advisory id \0 circle \0 acker → AckRecord; kept by advisory id
   * whether or not the advisory has arrived (an ack may come first), counted only in the
   * advisory's own circle
   */
  acks: 'ak',
  /**
   * the stream's events other than indicator versions (advisories, acks, sightings of this
   * node's own indicators): cursor → StoreEvent, the cursor from the counter that orders the
   * change feed, written in the same batch as what it tells
   */
  events: 'ev',
  /** reports (issue 16): report id → StoredReport, the latest version (few: listed by a scan) */
  reports: 'rp',
  /**
   * which reports link an indicator: indicator id → report ids (sorted), kept whether or not
   * the indicator has arrived; one getSync per exact match of a lookup
   */
  reportLinks: 'rl',
  /** ATT&CK technique names the operator imported (local, never shared): technique id → AttackTechnique */
  attack: 'ta',
  /**
   * entries kept unread (a later version's record kind or entry version): entries key → why;
   * re-read when the code learns to read more (ingest/reread.ts)
   */
  unread: 'ur',
  /** store metadata: format version, counters, cidr prefix lengths */
  meta: 'm'
} as const

export type BucketName = keyof typeof BUCKET

/** the root-level key prefix of each bucket: the same bytes the bucket's sublevel writes (`!name!`) */
export const ROOT_PREFIX = Object.fromEntries(Object.entries(BUCKET).map(([name, prefix]) => [name, `!${prefix}!`])) as Record<BucketName, string>

export const SEP = '\x00'
/** greater than any character a key part may hold: the upper bound of a prefix range */
export const HIGH = '\xff'

/** the on-disk format this code reads and writes; checked on open */
export const STORE_FORMAT_VERSION = 4

export const META_KEY = {
  format: 'format',
  counts: 'counts',
  cidrLengths: 'cidr-lengths',
  cursor: 'cursor',
  /** false while the store holds only this node's own entries (written false when created) */
  foreign: 'foreign',
  /** READ_SIGNATURE of the code that last read the unread entries (absent: a store from before it) */
  read: 'read'
} as const

export function seqKey (seq: number): string {
  return seq.toString(16).padStart(16, '0')
}

export function entryKey (circle: string, origin: string, seq: number): string {
  return `${circle}${SEP}${origin}${SEP}${seqKey(seq)}`
}

export function headKey (circle: string, origin: string): string {
  return `${circle}${SEP}${origin}`
}

/** an own record (`copy`) that re-shares another origin's indicator (`source`) into `circle` */
/** an ack of `advisory` in `circle` by `origin` (the acks bucket) */
export function ackKey (advisory: string, circle: string, origin: string): string {
  return `${advisory}${SEP}${circle}${SEP}${origin}`
}

export function copyKey (source: string, copy: string, circle: string): string {
  return `${source}${SEP}${copy}${SEP}${circle}`
}

/**
 * An origin in index keys: the first 64 bits of its key in hex. Among the few hundred
 * origins a node knows a clash is out of reach (birthday bound ~2^32), and queries compare
 * the full origin of every record they return anyway. Saves 48 bytes per indicator.
 */
export function originKey (origin: string): string {
  return origin.slice(0, 16)
}

export function valueKey (type: string, value: string): string {
  return `${type}${SEP}${value}`
}

/** the key prefix of one index value in a posting bucket (the change feed has none) */
export function postingPrefix (value: string): string {
  return value + SEP
}

/**
 * Cursors order the change feed: microseconds since the epoch, strictly increasing per
 * store, as 14 hex digits (sorts as text). A time bound maps straight to a cursor bound.
 */
export function cursorFromMicros (micros: number): string {
  // runs once per stored version: consecutive cursors share all but the last 3 hex digits
  const high = Math.floor(micros / 4096)
  if (high !== lastHigh) { lastHigh = high; lastHighHex = high.toString(16).padStart(11, '0') }
  return lastHighHex + LOW_HEX[micros - high * 4096]
}
let lastHigh = -1
let lastHighHex = ''
const LOW_HEX = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'))

export function cursorFromTime (iso: string | number): string {
  const ms = typeof iso === 'number' ? iso : Date.parse(iso)
  return cursorFromMicros(ms * 1000)
}

export function timeOfCursor (cursor: string): string {
  return new Date(Math.floor(parseInt(cursor, 16) / 1000)).toISOString()
}

export const CURSOR_RE = /^[0-9a-f]{14}$/
