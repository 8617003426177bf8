/**
 * The configuration schema: every key, its type and range. Unknown keys are errors (a typo
 * must not silently fall back to a default).
 */
import { z } from 'zod'
import { LOG_LEVELS } from '../log.js'
import { TLP_LEVELS } from '../tlp/index.js'
import { unsafeCharOf, unsafeMessage } from '../records/text.js'
import { MAX_ALLOWED_HOSTS, hostNameProblem, publicUrlProblem } from '../api/hosts.js'

const port = z.number().int().min(0).max(65535)

export const configSchema = z.strictObject({
  /** where identity, token and LevelDB live */
  dataDir: z.string().min(1),
  /** the organization's display name; empty = the host name (first start only) */
  org: z.string().max(200).superRefine((s, ctx) => {
    // printed next to this org's fingerprint at every partner: no control, bidi or invisible character
    const c = unsafeCharOf(s)
    if (c !== undefined) ctx.addIssue({ code: 'custom', message: unsafeMessage('org', c) })
  }),
  logLevel: z.enum(LOG_LEVELS),
  api: z.strictObject({
    /** bind address; 127.0.0.1 unless you put a TLS proxy in front */
    host: z.string().min(1),
    /** 0 = any free port */
    port,
    /** require the bearer token (turning this off is only for throwaway test nodes) */
    auth: z.boolean(),
    /** largest request body; larger gets 413 */
    bodyLimitBytes: z.number().int().min(1024).max(1024 * 1024 * 1024),
    /** records waiting to be written before publishes get 429 */
    maxQueuedItems: z.number().int().min(1000),
    /**
     * host names (besides 127.0.0.1, localhost, [::1], api.host and publicUrl's host) that a
     * request's Host header may name: anything else is refused (DNS rebinding; docs/API.md,
     * "Host and Origin")
     */
    allowedHosts: z.array(z.string().superRefine((s, ctx) => {
      const why = hostNameProblem(s)
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: why })
    })).max(MAX_ALLOWED_HOSTS),
    /** the API's URL as its clients reach it (TAXII discovery URLs); empty: the listen address */
    publicUrl: z.string().max(2048).superRefine((s, ctx) => {
      const why = s === '' ? undefined : publicUrlProblem(s)
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: why })
    })
  }),
  p2p: z.strictObject({
    host: z.string().min(1),
    port,
    /** how often to dial circle members this node is not connected to (ms) */
    dialIntervalMs: z.number().int().min(100).max(3_600_000),
    syncIntervalMs: z.number().int().min(100).max(86_400_000),
    /**
     * an allow-list of peers: the public keys (hex) of the members this node connects to (dials,
     * accepts); empty: every member of its circles. Gossip still reaches the others through
     * them (a line A–B–C: A and C meet only through B)
     */
    onlyPeers: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a public key: 64 lower-case hex characters')).max(1000),
    /** circles this org was added to by key: where to fetch each from until it is known */
    connect: z.array(z.strictObject({ circle: z.string().min(1).max(128), addr: z.string().startsWith('/').max(512) })).max(64),
    /**
     * membership entries that arrived before an earlier seq of their log, held until it is
     * stored: per (log, origin) and in all, in count and bytes, and in age (docs/PROTOCOL.md, Limits)
     */
    pending: z.strictObject({
      perLogEntries: z.number().int().min(1).max(100_000),
      perLogBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024),
      entries: z.number().int().min(1).max(1_000_000),
      bytes: z.number().int().min(64 * 1024).max(4 * 1024 * 1024 * 1024),
      maxAgeMs: z.number().int().min(1000).max(86_400_000)
    }),
    /**
     * per-member gossip quota (a token bucket per origin, src/p2p/gossip/quota.ts) and the
     * bound of the ingest queue for gossip; sync is not charged (docs/PROTOCOL.md, Limits)
     */
    quota: z.strictObject({
      entriesPerSecond: z.number().min(1).max(1_000_000),
      bytesPerSecond: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024),
      /** at least a full batch message (256 entries) */
      burstEntries: z.number().int().min(256).max(10_000_000),
      /** at least two full messages */
      burstBytes: z.number().int().min(128 * 1024).max(16 * 1024 * 1024 * 1024),
      holdMs: z.number().int().min(1000).max(86_400_000),
      /** at least one full entry (1,000 records) */
      maxQueuedItems: z.number().int().min(1000).max(10_000_000)
    }),
    /** what ignored junk (over quota, unknown key epochs past the grace) costs a peer (src/p2p/gossip/junk.ts) */
    junk: z.strictObject({
      /** the penalty halves this often (ms) */
      halfLifeMs: z.number().int().min(1000).max(86_400_000),
      /** close a peer's connection above this penalty and refuse it for a minute (gossipsub graylists at ~90, and counts no junk after) */
      disconnectAt: z.number().min(1).max(1000),
      /** an unknown key epoch is honest this long after this node first saw it (ms) */
      epochGraceMs: z.number().int().min(0).max(86_400_000)
    })
  }),
  store: z.strictObject({
    /** fsync every write batch (group commit): acknowledged publishes survive power loss */
    sync: z.boolean(),
    /** purge indicators this many days past their validUntil (0: never); their entries stay */
    purgeExpiredAfterDays: z.number().int().min(0).max(36_500),
    /** how often the purge runs (ms) */
    purgeIntervalMs: z.number().int().min(1000).max(86_400_000),
    /** ms an idle writer waits after a small publish for others to share its entry (group commit at the origin); 0: off */
    lingerMs: z.number().int().min(0).max(1000),
    /**
     * at least this many ms between write groups with small publishes to circles (0: the pace
     * p2p.quota gives, ~12 ms); larger: more records per entry, fewer entries for every member
     * to open, and each small publish waits up to this long
     */
    paceMs: z.number().int().min(0).max(1000)
  }),
  publish: z.strictObject({
    defaultTlp: z.enum(TLP_LEVELS),
    defaultConfidence: z.number().int().min(0).max(100)
  })
})

export type PhalanxConfig = z.infer<typeof configSchema>
