/**
 * Store: LevelDB buckets for entries, derived indicators and their indexes, and the one
 * ingest path that writes them. Every entry is written with all it implies in one atomic
 * batch; indexes never point at missing records (checkStore proves it).
 */
export { LevelStore, STORE_DIR } from './level-store.js'
export type { StoreOptions, StoreCounts, SightingSummary, OriginSightings, LogHead, ValueRecord, ForkEvidence, InviteRecord, OutboxRecord, ControlRecord, Copy, StoredAdvisory, Ack, StoreEvent } from './level-store.js'
export type { StoredReport, AttackTechnique } from './interface.js'
export { reportOf, reportsIn, reportsLinking, attackTechnique, attackTechniqueCount } from './reports.js'
export { Ingest, defaultIngestOptions } from './ingest/index.js'
export { behindMessage } from './ingest/own-tail.js'
export type { BehindOwnTail } from './ingest/own-tail.js'
export type { IngestOptions, IngestComponents, StoredEntry, EntryPolicy, EntryReceipt, IngestResult, PublishResult, PublishBatch } from './ingest/index.js'
export { queryIndicators, lookupValue, isVisible } from './query.js'
export { MATCH_KINDS, RELATED_MAX } from './query.js'
export type { QueryFilter, QueryPage, LookupResult, LookupMatch, MatchKind, HiddenMatch, VisibilityOptions } from './query.js'
export { HOST_DEPTH, HOST_LIST_MAX } from './hosts.js'
export type { HostRecord, HostValue } from './hosts.js'
export { checkStore, verifyStoreAt, readHeadsAt } from './check.js'
export { OWN_SEQ_FILE, readOwnSeq, writeOwnSeqSync } from './own-seq.js'
export type { OwnSeqRecord, AcceptedLoss } from './own-seq.js'
export { inspectStoreDir, repairStoreDir } from './store-dir.js'
export type { CheckReport, StoreProblem, CheckOptions } from './check.js'
export { BUCKET, SEP, HIGH, seqKey, STORE_FORMAT_VERSION, CURSOR_RE, cursorFromTime, cursorFromMicros, timeOfCursor } from './keys.js'
export { scanPostings, findPosting, POSTING_BUCKETS } from './postings.js'
