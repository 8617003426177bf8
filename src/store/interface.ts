/**
 * What the store keeps and answers, as types: log heads, fork evidence, counters, value
 * records, and the node's own state (invites, outbox, control index); the store's options.
 * level-store.ts re-exports them.
 */
import type { AdvisorySeverity, Entry, ReportContent, SightingAction } from '../records/index.js'
import type { Tlp } from '../tlp/index.js'

/**
 * An invite this node made, as kept under the hash of its one-time secret. Its rules (who
 * may use it, when) live in src/circles/invite.ts; the store only keeps it.
 */
export interface InviteRecord {
  circle: string
  expires: string
  usedBy?: string
  usedAt?: string
}

/** a RED entry of this node waiting for its recipient's acknowledgement */
export interface OutboxRecord {
  /** the recipient's RED log (the entry's circle) */
  log: string
  seq: number
  /** the entry's hash: what the recipient acknowledges */
  hash: string
}

/** a control entry in the order it was stored; `entry` is undefined if the index points at nothing */
export interface ControlRecord {
  /** the entries key the control index holds */
  key: string
  entry: Entry | undefined
}

export interface LogHead {
  seq: number
  hash: string
  /** records (items) in the log's entries 1..seq; absent in heads written before it existed */
  records?: number
}

/** an origin caught signing two entries for one log position: both are kept as proof */
export interface ForkEvidence {
  circle: string
  origin: string
  seq: number
  /** `seq`: two entries with the same seq; `prev`: an entry whose prev names another entry at seq - 1 */
  kind: 'seq' | 'prev'
  detected: string
  source: string
  /** the entry this node holds, and the conflicting one (both verify against origin) */
  entries: [Entry, Entry]
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
  origins: Record<string, OriginSightings>
}

/** one origin's sightings of a value (summaries written before actions have no action: seen) */
export interface OriginSightings {
  count: number
  firstSeen: string
  lastSeen: string
  /**
   * the action of its latest sighting: the greatest (lastSeen, action in SIGHTING_ACTIONS
   * order, note), so that arrival order does not matter
   */
  action?: SightingAction
  /** that sighting's note */
  note?: string
  /** per action: the sightings counted and the last time */
  actions?: Partial<Record<SightingAction, { count: number, lastSeen: string }>>
}

/** what the node knows about one (type, value): the indicators that carry it, its sightings */
export interface ValueRecord {
  ids: string[]
  sightings?: SightingSummary
}

/**
 * A log that holds entries stored beyond its contiguous head (they arrived before an earlier
 * seq): `max` is the highest seq held. Removed when the head reaches it.
 */
export interface AheadMark {
  max: number
}

/** an own record that re-shares another origin's indicator (the `copies` bucket): when it was made */
export interface CopyLink {
  at: string
}

/** a re-share link read back: the source indicator, the own copy, the circle it went to */
export interface Copy extends CopyLink {
  source: string
  copy: string
  circle: string
}

/** a relabel that arrived before its indicator (the latest one, by created and log position) */
export interface PendingRelabel {
  origin: string
  tlp: string
  created: string
  /** the relabel's entry hash */
  entry: string
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
  /** LevelDB memtable size (default 16 MiB) */
  writeBufferSize?: number
  /** LevelDB block cache (default 16 MiB) */
  cacheSize?: number
  /** parsed records kept for lookups (default 20,000; 0 turns the cache off) */
  readCacheEntries?: number
  /** the least number of keys the value filter is sized for (default 2^20; tests make it small) */
  valueFilterCapacity?: number
  /**
   * Open only a store that exists (offline checks): no directory or database is created and
   * an empty store is not given a format version. An older format is still upgraded (the
   * node would do it at its next start; upgrade.ts).
   */
  existing?: boolean
}

/** an advisory as the store keeps it (the `advisories` bucket, by id): its record and where it came from */
export interface StoredAdvisory {
  id: string
  origin: string
  circle: string
  tlp: Tlp
  title: string
  text: string
  severity?: AdvisorySeverity
  cves?: string[]
  indicators?: string[]
  /** its entry's `created` */
  created: string
  /** when this node stored it */
  received: string
  entry: { hash: string, seq: number }
}

/**
 * A report as the store keeps it (the `reports` bucket, by id): its latest version and where
 * it came from. A revoked report holds no content: its revocation is a version of its own.
 */
export type StoredReport = {
  id: string
  nonce: string
  origin: string
  circle: string
  tlp: Tlp
  /** its latest version's entry `created` */
  created: string
  /** when this node stored that version */
  received: string
  entry: { hash: string, seq: number }
} & ({ revoked?: undefined } & ReportContent | { revoked: { at: string, reason?: string } })

/** an ATT&CK technique as the operator's ATT&CK bundle names it (the `attack` bucket, by id) */
export interface AttackTechnique {
  name: string
  /** tactics (kill chain phases), e.g. initial-access */
  tactics?: string[]
  /** deprecated or revoked in the bundle */
  deprecated?: boolean
}

/** an ack (the `acks` bucket, by advisory id \0 circle \0 acker): the earliest the acker made */
export interface AckRecord {
  /** its entry's `created` */
  at: string
  /** its entry's hash */
  entry: string
}

/** an ack read back: who acknowledged, when */
export interface Ack extends AckRecord {
  origin: string
}

/**
 * What the stream tells besides indicator versions (the `events` bucket, by cursor: the same
 * counter that orders indicator versions, so both interleave in the order stored). An event
 * names what it is about; the stream reads the rest when it sends it.
 */
export type StoreEvent =
  | { kind: 'advisory', id: string }
  | { kind: 'ack', advisory: string, circle: string, origin: string, at: string }
  /** a report's version (new, updated or revoked) */
  | { kind: 'report', id: string, revoked?: boolean, update?: boolean }
  /** another organization's sighting of a value this node has its own indicator of */
  | { kind: 'sighting', type: string, value: string, circle: string, origin: string, action: SightingAction, count: number, lastSeen: string, note?: string }
