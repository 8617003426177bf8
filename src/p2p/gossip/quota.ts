/**
 * Per-member gossip quotas: a token bucket per origin for entries and one for bytes. What a
 * member's entries may cost this node over gossip is bounded in rate (`entriesPerSecond`,
 * `bytesPerSecond`) and burst (`burstEntries`, `burstBytes`); past it the validator IGNOREs
 * the message (not relayed, the sender penalized, see junk.ts) and the origin is shown as
 * over quota (status, circle members) until `holdMs` passed without a drop.
 *
 * Only gossip is charged: sync, gap fills and membership pulls are requests this node makes
 * and paces itself (one sync per circle at a time, at most 2 batches ingesting), so a
 * catch-up never counts against a member (docs/PROTOCOL.md, Limits).
 *
 * Guarantees: O(1) per check; at most MAX_TRACKED_ORIGINS buckets (origins are members: the
 * validator charges only after the membership pre-check); a charge for an entry that turns
 * out not to be surely the origin's (rejected: a bad signature, a forgery) or nothing new (a
 * duplicate) is refunded.
 */

export interface QuotaOptions {
  /** sustained entries per second per origin */
  entriesPerSecond: number
  /** sustained bytes per second per origin (gossip message bytes) */
  bytesPerSecond: number
  /** entries an origin may send at once after a quiet time */
  burstEntries: number
  /** bytes an origin may send at once after a quiet time */
  burstBytes: number
  /** an origin stays "over quota" this long after its last dropped message (ms) */
  holdMs: number
  /** gossip adds no entry to the ingest queue while it holds this many records */
  maxQueuedItems: number
}

/**
 * Defaults. A bulk publish packs ≤ 1,000 records / 64 KiB per entry; one node ingests such
 * entries at ~12–50k records/s depending on the records and the machine (../shared/STACK.md,
 * `npm run bench`). The burst, 2,000 entries and 8 MiB (~130 full entries, ~80–130k
 * records: several bulk requests of 10,000 records, as `phalanx import` sends them) lets a bulk
 * publish through untouched; sustained, 100 entries/s and 256 KiB/s (~4 full entries, ~2.5–4k
 * records a second) leave the node time for lookups and other members even while one member
 * floods at its maximum. Past that a larger import is a flood like any other: what gossip
 * drops, sync brings at this node's own pace. The gossip queue bound is below
 * api.maxQueuedItems (50,000) so a flood never makes local publishes wait (429).
 */
export const DEFAULT_QUOTA_OPTIONS: QuotaOptions = Object.freeze({
  entriesPerSecond: 100,
  bytesPerSecond: 256 * 1024,
  burstEntries: 2000,
  burstBytes: 8 * 1024 * 1024,
  holdMs: 30_000,
  maxQueuedItems: 20_000
})

/** origins with a bucket at most (full, idle buckets are forgotten first) */
export const MAX_TRACKED_ORIGINS = 4096

/** a token bucket: `rate` tokens per second, at most `burst` held; starts full */
export class TokenBucket {
  readonly rate: number
  readonly burst: number
  #tokens: number
  #at: number

  constructor (rate: number, burst: number, now: number = Date.now()) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('a token bucket needs a positive rate and burst')
    this.rate = rate
    this.burst = burst
    this.#tokens = burst
    this.#at = now
  }

  /** tokens held at `now` */
  tokens (now: number = Date.now()): number {
    this.#refill(now)
    return this.#tokens
  }

  /** whether `n` tokens are held at `now` (takes nothing) */
  has (n: number, now: number = Date.now()): boolean {
    this.#refill(now)
    return this.#tokens >= n
  }

  /** take `n` tokens if held; false (and nothing taken) otherwise */
  take (n: number, now: number = Date.now()): boolean {
    this.#refill(now)
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** give back `n` tokens taken before (never above the burst) */
  refund (n: number, now: number = Date.now()): void {
    this.#refill(now)
    this.#tokens = Math.min(this.burst, this.#tokens + n)
  }

  /** full at `now` (nothing to remember) */
  full (now: number = Date.now()): boolean { return this.tokens(now) >= this.burst }

  #refill (now: number): void {
    // a clock that goes backwards refills nothing
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#at) * this.rate / 1000)
      this.#at = now
    }
  }
}

/** an origin past its quota: when it started, what was dropped */
export interface OverQuota {
  /** first drop of this episode (ISO time) */
  since: string
  /** last drop (ISO time) */
  last: string
  /** gossip messages (entries) dropped in this episode */
  dropped: number
  /** bytes dropped in this episode */
  droppedBytes: number
}

interface OriginQuota {
  entries: TokenBucket
  bytes: TokenBucket
  over?: { since: number, last: number, dropped: number, droppedBytes: number }
}

export class MemberQuotas {
  readonly options: QuotaOptions
  readonly #origins = new Map<string, OriginQuota>()
  /** drops since start, all origins */
  dropped = 0

  constructor (options: Partial<QuotaOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_QUOTA_OPTIONS, ...options })
  }

  /**
   * Charge `entries` entries of `bytes` bytes to `origin`: true when within its quota (the
   * tokens are taken), false when over it (nothing taken, the drop is recorded).
   */
  take (origin: string, entries: number, bytes: number, now: number = Date.now()): boolean {
    const q = this.#quota(origin, now)
    if (q.entries.has(entries, now) && q.bytes.has(bytes, now)) {
      q.entries.take(entries, now)
      q.bytes.take(bytes, now)
      return true
    }
    this.drop(origin, entries, bytes, now)
    return false
  }

  /**
   * Record that `origin`'s entries were dropped for sending more than this node takes (past
   * its buckets, or past its share of the ingest queue): it shows as over quota.
   */
  drop (origin: string, entries: number, bytes: number, now: number = Date.now()): void {
    const q = this.#quota(origin, now)
    this.dropped += entries
    if (q.over === undefined || now - q.over.last > this.options.holdMs) q.over = { since: now, last: now, dropped: 0, droppedBytes: 0 }
    q.over.last = now
    q.over.dropped += entries
    q.over.droppedBytes += bytes
  }

  /** give back a charge (a bad signature, a duplicate: nothing the origin sent us) */
  refund (origin: string, entries: number, bytes: number, now: number = Date.now()): void {
    const q = this.#origins.get(origin)
    if (q === undefined) return
    q.entries.refund(entries, now)
    q.bytes.refund(bytes, now)
  }

  /** whether `origin` dropped a message within the last `holdMs`; the episode if so */
  overQuota (origin: string, now: number = Date.now()): OverQuota | null {
    const over = this.#origins.get(origin)?.over
    if (over === undefined || now - over.last > this.options.holdMs) return null
    return { since: new Date(over.since).toISOString(), last: new Date(over.last).toISOString(), dropped: over.dropped, droppedBytes: over.droppedBytes }
  }

  /** every origin over quota now */
  overQuotaAll (now: number = Date.now()): Array<{ origin: string } & OverQuota> {
    const out: Array<{ origin: string } & OverQuota> = []
    for (const origin of this.#origins.keys()) {
      const o = this.overQuota(origin, now)
      if (o !== null) out.push({ origin, ...o })
    }
    return out
  }

  #quota (origin: string, now: number): OriginQuota {
    let q = this.#origins.get(origin)
    if (q === undefined) {
      if (this.#origins.size >= MAX_TRACKED_ORIGINS) this.#forget(now)
      const o = this.options
      q = { entries: new TokenBucket(o.entriesPerSecond, o.burstEntries, now), bytes: new TokenBucket(o.bytesPerSecond, o.burstBytes, now) }
      this.#origins.set(origin, q)
    }
    return q
  }

  /**
   * forget full buckets of origins not over quota (a new bucket starts full: nothing lost);
   * else the oldest origin not over quota; else the oldest
   */
  #forget (now: number): void {
    let oldestUnder: string | undefined
    for (const [origin, q] of this.#origins) {
      if (this.overQuota(origin, now) !== null) continue
      if (q.entries.full(now) && q.bytes.full(now)) this.#origins.delete(origin)
      else oldestUnder ??= origin
    }
    if (this.#origins.size >= MAX_TRACKED_ORIGINS) this.#origins.delete(oldestUnder ?? this.#origins.keys().next().value!)
  }
}
