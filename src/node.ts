/**
 * The composition root: the only place that constructs components. Start order: identity →
 * store → ingest → api; stop in reverse. The operations the API offers (publish, revoke,
 * sightings, lookup, query, status) live here, above the store and below the API.
 */
import { createHash } from 'node:crypto'
import { writeFileSync, rmSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Logger } from 'pino'
import { PhalanxError, ValidationError, withFieldPrefix } from './errors.js'
import type { PhalanxConfig } from './config/index.js'
import { createLogger, childLogger } from './log.js'
import { initIdentity, loadIdentity, loadToken, peerIdFromSeed, API_URL_FILE, type Identity } from './identity/index.js'
import {
  LOCAL_CIRCLE, isRedLog, redLogOf, detectType, indicatorId, normalizeValue, parseIndicatorInput, parseTime, isIndicatorType,
  checkKeys, isObject, optionalText, LIMITS, isIndicatorId, WELL_FORMED_MESSAGE, sameAddressForms,
  type Entry, type IndicatorType, type Item, type SightingItem, type StoredIndicator
} from './records/index.js'
import { entryLabelFor, passOnViolation, publishViolation, reachOf, redDeliveryViolation, relabelViolation, reshareViolation, refuse, parseTlp, type HeldRecord, type LogKind, type Tlp } from './tlp/index.js'
import { BoxKey, fingerprint, isPublicKeyHex } from './identity/index.js'
import { CircleManager, membershipLogOf, parseDuration, type CircleView, type MemberView } from './circles/index.js'
import type { Network, PeerView, JoinOutcome, SyncStats, SyncOutcome, OutboxItem } from './p2p/index.js'
import {
  LevelStore, Ingest, STORE_DIR, lookupValue, queryIndicators, type EntryPolicy, type LookupResult, type QueryFilter,
  type QueryPage, type EntryReceipt, type SightingSummary, type StoreCounts, type PublishBatch, type ForkEvidence
} from './store/index.js'

export { STORE_DIR }
/** indicators per POST /v1/indicators (issue #2: up to 10,000) */
export const MAX_BULK_INDICATORS = 10_000

export interface NodeStatus {
  version: string
  apiUrl: string | null
  peerId: string
  publicKey: string
  fingerprint: string
  org: string
  dataDir: string
  startedAt: string
  counts: StoreCounts
  circles: CircleStatus[]
  /** origins caught signing two histories (details: GET /v1/forks) */
  forks: number
  /** what an operator should look at (forks, …); empty when all is well */
  warnings: string[]
  /** totals of the anti-entropy syncs since start */
  sync: SyncStats | null
  /** dialable libp2p addresses (empty when the network is not started) */
  multiaddrs: string[]
  peers: number
  ingestQueue: number
}

export interface CircleStatus extends CircleView {
  /** records in the circle's data log entries this node holds (all origins); null for a log
   * stored before heads counted records */
  records: number | null
  entries: number
  origins: number
  /** when this node last compared version vectors with a member of the circle */
  lastSync: string | null
  /** members whose vector equalled ours when last compared, of the other current members */
  inSync: { members: number, of: number }
}

export interface PublishOutcome {
  /** ids of the published inputs, in input order (the skipped ones left out) */
  ids: string[]
  entries: EntryReceipt[]
  /** inputs left out because publishing them would break TLP (only with skipTlpViolations) */
  skipped?: Array<{ index: number, code: string, message: string }>
}

/**
 * Until circles exist (issue "Core 2"), entries from outside are accepted only if this
 * node signed them itself (e.g. a re-import), and never into another origin's private scope.
 */
export function ownEntriesOnlyPolicy (ownKey: string): EntryPolicy {
  return {
    check (entry: Entry) {
      if (entry.origin !== ownKey) {
        throw new PhalanxError('PX_ERR_FORBIDDEN', entry.circle === LOCAL_CIRCLE
          ? 'entries of another origin\'s private scope are never accepted'
          : `unknown circle "${entry.circle}"`, { field: 'circle' })
      }
    }
  }
}

/** a request body: a JSON object with only the named fields (asserts the type for the caller) */
function bodyWith (raw: unknown, keys: ReadonlySet<string>): asserts raw is Record<string, unknown> {
  if (!isObject(raw)) throw new ValidationError('', 'the body must be a JSON object')
  checkKeys(raw, keys, '')
}

function readPackageVersion (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    try { return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version } catch { return '0.0.0' }
  }
}

export class PhalanxNode {
  readonly config: Readonly<PhalanxConfig>
  readonly log: Logger
  readonly dataDir: string
  identity!: Identity
  peerId!: string
  store!: LevelStore
  ingest!: Ingest
  token!: string
  apiUrl: string | null = null
  startedAt = ''
  readonly version = readPackageVersion()
  circles!: CircleManager
  network: Network | undefined
  #box!: BoxKey
  #api: { start: () => Promise<string>, stop: () => Promise<void> } | undefined
  #started = false

  constructor (config: Readonly<PhalanxConfig>, log?: Logger) {
    this.config = config
    this.log = log ?? createLogger(config.logLevel)
    this.dataDir = resolve(config.dataDir)
  }

  /** start without the HTTP API (tests and benchmarks that drive the node in process) */
  async startCore (): Promise<void> {
    const log = childLogger(this.log, 'node')
    const { identity, created } = initIdentity(this.dataDir, this.config.org)
    if (created) log.info({ dataDir: this.dataDir, fingerprint: identity.fingerprint }, 'created a new organization identity')
    this.identity = loadIdentity(this.dataDir)
    this.token = loadToken(this.dataDir)
    this.peerId = await peerIdFromSeed(this.identity.seed)
    this.store = new LevelStore({ path: join(this.dataDir, STORE_DIR) })
    await this.store.open()
    const own = ownEntriesOnlyPolicy(this.identity.publicKey)
    this.ingest = new Ingest({
      store: this.store,
      key: this.identity.key,
      seed: this.identity.seed,
      // the private scope takes only our own entries; a shared circle, what its log allows
      policy: {
        check: (entry, source) => {
          if (entry.circle === LOCAL_CIRCLE) own.check(entry, source)
          else if (isRedLog(entry.circle)) this.#checkRed(entry, source)
          else this.circles.check(entry, source)
        }
      },
      onStored: (stored) => { this.circles.noteStored(stored); this.network?.noteStored(stored) },
      log: childLogger(this.log, 'store:ingest')
    }, { sync: this.config.store.sync })
    this.#box = BoxKey.fromSeed(this.identity.seed)
    this.circles = new CircleManager({ store: this.store, ingest: this.ingest, key: this.identity.key, box: this.#box, log: childLogger(this.log, 'circles') })
    await this.circles.load()
    await this.ingest.start()
    this.startedAt = new Date().toISOString()
    this.#started = true
    if (this.config.store.purgeExpiredAfterDays > 0) {
      const purge = (): void => {
        const before = new Date(Date.now() - this.config.store.purgeExpiredAfterDays * 86_400_000).toISOString()
        this.purgeExpired({ expiredBefore: before }).catch((err) => {
          if (this.#started) childLogger(this.log, 'node').error({ err }, 'purge failed')
        })
      }
      // the first purge a minute after start, then every purgeIntervalMs
      this.#purgeTimers.push(setTimeout(purge, Math.min(60_000, this.config.store.purgeIntervalMs)).unref(), setInterval(purge, this.config.store.purgeIntervalMs).unref())
    }
    log.info({ org: this.identity.org, fingerprint: this.identity.fingerprint, peerId: this.peerId }, 'node core started')
  }

  /** a RED entry is accepted only delivered directly, for this node, from an org it shares a circle with */
  #checkRed (entry: Entry, source: string): void {
    if (entry.origin === this.identity.publicKey) {
      ownEntriesOnlyPolicy(this.identity.publicKey).check(entry, source)
      return
    }
    refuse(redDeliveryViolation({ direct: source === 'red', toMe: entry.circle === redLogOf(this.identity.publicKey), tlp: entry.tlp }))
    if (!this.circles.peerKeys().has(entry.origin)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `origin ${entry.origin.slice(0, 16)}… shares no circle with this node`)
  }

  /** start the libp2p network (after startCore): gossip, joins, member connections */
  async startNetwork (): Promise<void> {
    const { Network } = await import('./p2p/index.js')
    const network = new Network({ host: this.config.p2p.host, port: this.config.p2p.port, dialIntervalMs: this.config.p2p.dialIntervalMs, syncIntervalMs: this.config.p2p.syncIntervalMs, connect: this.config.p2p.connect }, {
      identity: this.identity, circles: this.circles, ingest: this.ingest, store: this.store, box: this.#box, log: childLogger(this.log, 'p2p')
    })
    try {
      await network.start()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'EADDRINUSE') throw new PhalanxError('PX_ERR_CONFIG', `p2p port ${this.config.p2p.port} on ${this.config.p2p.host} is in use; choose another with --p2p-port`, { field: 'p2p.port', cause: err })
      throw err
    }
    this.network = network
  }

  /** start everything, including the HTTP API; writes <data>/api.url */
  async start (): Promise<void> {
    await this.startCore()
    try {
      await this.startNetwork()
    } catch (err) {
      await this.stop()
      throw err
    }
    const { createApiServer } = await import('./api/index.js')
    const api = createApiServer(this)
    this.#api = api
    try {
      this.apiUrl = await api.start()
    } catch (err) {
      await this.stop()
      throw err
    }
    writeFileSync(join(this.dataDir, API_URL_FILE), this.apiUrl + '\n', { mode: 0o644 })
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    for (const t of this.#purgeTimers) clearTimeout(t)
    if (this.#api !== undefined) {
      try { rmSync(join(this.dataDir, API_URL_FILE), { force: true }) } catch { /* gone already */ }
      await this.#api.stop()
    }
    if (this.network !== undefined) {
      await this.network.stop()
      this.network = undefined
    }
    await this.ingest.stop()
    await this.store.close()
    childLogger(this.log, 'node').info('node stopped')
  }

  // --- operations --------------------------------------------------------------------

  #circleOf (circle: unknown, field: string): string {
    if (circle === undefined || circle === LOCAL_CIRCLE) return LOCAL_CIRCLE
    if (typeof circle !== 'string') throw new ValidationError(field, 'circle must be a string')
    if (this.circles.mine().some(s => s.id === circle)) return circle
    throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `this node is not in circle "${circle.slice(0, 140)}" (its circles: ${this.circles.mine().map(s => s.id).join(', ') || 'none'}; "${LOCAL_CIRCLE}" is the private scope)`, { field })
  }

  // --- circles and peers ------------------------------------------------------------------

  #requireNetwork (): Network {
    if (this.network === undefined) throw new PhalanxError('PX_ERR_PEER', 'the network is not started on this node')
    return this.network
  }

  async createCircle (raw: unknown): Promise<CircleView> {
    bodyWith(raw, new Set(['name']))
    const name = optionalText(raw.name, 'name', 200)
    if (name === undefined) throw new ValidationError('name', 'a circle needs a name')
    return await this.circles.create(name, this.identity.org)
  }

  listCircles (): CircleView[] { return this.circles.mine().map(s => this.circles.view(s)) }

  getCircle (id: string): CircleView & { memberList: Array<MemberView & { online: boolean, lastSeen: string | null }> } {
    const s = this.circles.require(id)
    return { ...this.circles.view(s), memberList: this.circleMembers(id) }
  }

  circleMembers (id: string): Array<MemberView & { online: boolean, lastSeen: string | null }> {
    const online = new Set((this.network?.connectedKeys() ?? []))
    const now = new Date().toISOString()
    return this.circles.members(id).map(m => {
      const self = m.publicKey === this.identity.publicKey
      return { ...m, online: self || online.has(m.publicKey), lastSeen: self ? now : this.network?.lastSeen(m.publicKey) ?? null }
    })
  }

  async createInvite (id: string, raw: unknown): Promise<{ code: string, expires: string, circle: string }> {
    const body = raw === undefined || raw === null ? {} : raw
    if (!isObject(body)) throw new ValidationError('', 'the body must be a JSON object')
    checkKeys(body, new Set(['expires']), '')
    const ttl = parseDuration(body.expires ?? '24h', 'expires')
    const network = this.#requireNetwork()
    const addrs = network.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, ''))
    const r = await this.circles.createInvite(id, ttl, this.identity.org, addrs)
    return { ...r, circle: id }
  }

  async joinCircle (raw: unknown): Promise<JoinOutcome> {
    bodyWith(raw, new Set(['code']))
    if (typeof raw.code !== 'string') throw new ValidationError('code', 'code must be the invite code string')
    return await this.#requireNetwork().join(raw.code, this.identity.org)
  }

  async connectCircle (id: string, raw: unknown): Promise<{ circle: CircleView, peer: { publicKey: string, org: string, fingerprint: string } }> {
    bodyWith(raw, new Set(['addr']))
    if (typeof raw.addr !== 'string') throw new ValidationError('addr', 'addr must be a multiaddr string')
    const r = await this.#requireNetwork().connect(id, raw.addr)
    return { circle: this.circles.view(this.circles.require(id)), peer: r.peer }
  }

  /**
   * Run anti-entropy sync of a circle now: with one member (`member`, a public key) or with
   * every member connected now. Returns what each sync brought (null: not reachable).
   */
  async syncCircle (id: string, raw: unknown): Promise<{ circle: string, syncs: Array<{ member: string, outcome: SyncOutcome | null }> }> {
    bodyWith(raw ?? {}, new Set(['member']))
    const body = (raw ?? {}) as { member?: unknown }
    const s = this.circles.require(id)
    const network = this.#requireNetwork()
    if (body.member !== undefined && (typeof body.member !== 'string' || !isPublicKeyHex(body.member))) throw new ValidationError('member', 'member must be a public key (64 hex)')
    const connected = new Set(network.connectedKeys())
    const targets = body.member !== undefined
      ? [body.member]
      : [...s.members.values()].filter(m => m.removed === undefined && m.key !== this.identity.publicKey && connected.has(m.key)).map(m => m.key)
    if (body.member !== undefined && (s.members.get(body.member)?.removed !== undefined || !s.members.has(body.member))) {
      throw new PhalanxError('PX_ERR_NOT_MEMBER', `${fingerprint(body.member)} is not a current member of this circle`, { field: 'member' })
    }
    const syncs: Array<{ member: string, outcome: SyncOutcome | null }> = []
    for (const key of targets) syncs.push({ member: key, outcome: await network.syncNow(id, key) })
    return { circle: id, syncs }
  }

  async addMember (id: string, raw: unknown): Promise<MemberView> {
    bodyWith(raw, new Set(['publicKey', 'org', 'role']))
    if (!isPublicKeyHex(raw.publicKey)) throw new ValidationError('publicKey', 'publicKey must be 64 lower-case hex characters (phalanx id --json shows it)')
    if (raw.role !== undefined && raw.role !== 'admin' && raw.role !== 'member') throw new ValidationError('role', 'role must be admin or member')
    const org = optionalText(raw.org, 'org', 200) ?? ''
    return await this.circles.addMember(id, raw.publicKey, org, (raw.role ?? 'member') as 'admin' | 'member')
  }

  async removeMember (id: string, key: string): Promise<void> {
    if (!isPublicKeyHex(key)) throw new ValidationError('key', 'key must be 64 lower-case hex characters')
    await this.circles.removeMember(id, key)
  }

  /**
   * A digest of the circle's entry set: SHA-256 over every log's (log, origin, seq, head hash),
   * sorted. A head hash commits to its whole chain (prev links), so two nodes holding the same
   * entries return the same digest, and any difference changes it.
   */
  async circleDigest (id: string): Promise<{ circle: string, digest: string, entries: number, logs: Record<string, Record<string, number>> }> {
    this.circles.require(id)
    const lines: string[] = []
    const logs: Record<string, Record<string, number>> = {}
    let entries = 0
    for (const log of [id, membershipLogOf(id)]) {
      const heads = await this.store.logHeadsOf(log)
      logs[log] = {}
      for (const [origin, h] of Object.entries(heads)) {
        lines.push(`${log}\x00${origin}\x00${h.seq}\x00${h.hash}`)
        logs[log][origin] = h.seq
        entries += h.seq
      }
    }
    lines.sort()
    return { circle: id, digest: createHash('sha256').update(`phalanx/circle-digest/v1\n${lines.join('\n')}`).digest('hex'), entries, logs }
  }

  /** TLP:RED entries still waiting for their recipient's acknowledgement */
  async redOutbox (): Promise<OutboxItem[]> {
    return this.network === undefined ? [] : await this.network.outbox()
  }

  async peers (): Promise<PeerView[]> {
    return this.network === undefined ? [] : await this.network.peers()
  }

  /** a RED recipient must be an org this node shares a circle with (its key is verified there) */
  #checkRecipient (key: string, field: string): void {
    if (key === this.identity.publicKey) throw new ValidationError(field, 'a RED recipient is another organization, not this one')
    if (!this.circles.peerKeys().has(key)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `recipient ${key.slice(0, 16)}… is not a member of any circle this node is in: exchange keys first`, { field })
  }

  #checkBackpressure (): void {
    if (this.ingest.queuedItems > this.config.api.maxQueuedItems) {
      throw new PhalanxError('PX_ERR_RATE_LIMITED', 'the node is busy writing earlier publishes; retry shortly', { meta: { retryAfter: 1 } })
    }
  }

  /**
   * Why publishing (type, value) at `tlp` to `target` would pass on what another organization
   * shared with us, against its TLP; null when it would not. Such a value goes to no other
   * circle or recipient unless it is CLEAR (GREEN: by an explicit re-share), and is never
   * published at a looser TLP than it came with (not even in its own circle or the private
   * scope, whose records exports and read tokens see). Updating this node's own record of the
   * value in `target` is always allowed. An IP is also checked in its other written forms (a
   * /32 or /128 network, an IPv4-mapped IPv6 address); reads bypass the lookup cache.
   */
  reshareViolation (type: string, value: string, tlp: Tlp, target: string, explicit = false): string | null {
    // a store that never took another origin's entry has nothing to pass on
    if (!this.store.mayHoldForeign()) return null
    const held: HeldRecord[] = []
    /** this node's own record of the value in the target: publishing is updating it */
    let ownInTarget = false
    for (const [t, v] of sameAddressForms(type, value)) {
      for (const ind of this.store.indicatorsOfValueUncached(t, v)) {
        if (ind.origin !== this.identity.publicKey) {
          held.push({ id: ind.id, tlp: ind.tlp, log: ind.circle, from: `org ${fingerprint(ind.origin)} ${isRedLog(ind.circle) ? 'directly (RED)' : `in circle ${ind.circle}`}` })
        } else if (ind.circle === target && t === type && v === value) ownInTarget = true
      }
    }
    return passOnViolation(held, { tlp, target, local: target === LOCAL_CIRCLE, explicit, ownInTarget })
  }

  /**
   * Publish indicators given by a user (API, CLI, import). Every input is validated first;
   * one bad input refuses the whole call (nothing stored) with the field named, e.g.
   * `indicators[3].value`. The call is written in one atomic batch.
   */
  async publishIndicators (inputs: unknown[], opts: { fieldPrefix?: string, defaults?: { tlp?: Tlp, circle?: string, to?: string[] }, explicitReshare?: boolean, skipTlpViolations?: boolean } = {}): Promise<PublishOutcome> {
    if (inputs.length > MAX_BULK_INDICATORS) {
      throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_BULK_INDICATORS} indicators per call; got ${inputs.length}`, { field: 'indicators' })
    }
    this.#checkBackpressure()
    const defaults = { tlp: opts.defaults?.tlp ?? this.config.publish.defaultTlp, confidence: this.config.publish.defaultConfidence }
    const groups = new Map<string, PublishBatch>()
    /** inputs left out as TLP violations (only with skipTlpViolations) */
    const skipped: Array<{ index: number, code: string, message: string }> = []
    // where each input lands: its batch and position, to give ids back in input order
    const places: Array<[PublishBatch, number]> = []
    inputs.forEach((raw, i) => {
      try {
        const p = parseIndicatorInput(raw, defaults)
        const to = p.to ?? opts.defaults?.to
        let targets: string[]
        if (to !== undefined) {
          // RED to named recipients: one direct log per recipient (never a circle)
          refuse(publishViolation(p.tlp, { to: 'recipients', circleNamed: (p.circle ?? opts.defaults?.circle) !== undefined }))
          targets = to.map((r, j) => { this.#checkRecipient(r, to.length === 1 ? 'to' : `to[${j}]`); return redLogOf(r) })
        } else {
          const circle = this.#circleOf(p.circle ?? opts.defaults?.circle, 'circle')
          refuse(publishViolation(p.tlp, { to: circle === LOCAL_CIRCLE ? 'local' : 'circle' }))
          targets = [circle]
        }
        for (const circle of targets) {
          const why = this.reshareViolation(p.item.type, p.item.value, p.tlp, circle, opts.explicitReshare === true)
          if (why !== null) {
            const e = new PhalanxError('PX_ERR_TLP_VIOLATION', why, { field: 'value' })
            if (opts.skipTlpViolations !== true) throw e
            skipped.push({ index: i, code: e.code, message: why })
            return
          }
        }
        targets.forEach((circle, j) => {
          const k = `${circle}\x00${p.tlp}`
          let g = groups.get(k)
          if (g === undefined) { g = { circle, tlp: p.tlp, items: [] }; groups.set(k, g) }
          if (j === 0) places.push([g, g.items.length])
          g.items.push(p.item)
        })
      } catch (err) {
        throw opts.fieldPrefix === undefined ? err : withFieldPrefix(err, `${opts.fieldPrefix}[${i}]`)
      }
    })
    const batches = [...groups.values()]
    const res = await this.ingest.publish(batches)
    // ingest reports ids batch after batch, in item order
    const offset = new Map<PublishBatch, number>()
    let o = 0
    for (const b of batches) { offset.set(b, o); o += b.items.length }
    const ids = places.map(([b, pos]) => res.ids[offset.get(b)! + pos] as string)
    return { ids, entries: res.entries, ...(opts.skipTlpViolations === true ? { skipped } : {}) }
  }

  getIndicator (id: string): StoredIndicator {
    if (!isIndicatorId(id)) throw new ValidationError('id', 'id must be 32 lower-case hex characters')
    const ind = this.store.getIndicator(id)
    if (ind === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no indicator ${id}`, { field: 'id' })
    return ind
  }

  async revoke (id: string, reason?: unknown): Promise<{ indicator: StoredIndicator, entry: EntryReceipt }> {
    const r = optionalText(reason, 'reason', LIMITS.REASON_MAX)
    const ind = this.getIndicator(id)
    if (ind.origin !== this.identity.publicKey) {
      throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} was published by another organization; only its origin can revoke it`, { field: 'id' })
    }
    if (ind.revoked !== undefined) throw new PhalanxError('PX_ERR_CONFLICT', `indicator ${id} is already revoked (${ind.revoked.at})`, { field: 'id' })
    const item: Item = r === undefined ? { kind: 'revoke', id } : { kind: 'revoke', id, reason: r }
    // to every log the record went to (a re-share to another circle, RED to several recipients)
    const res = await this.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), ind.tlp), items: [item] })))
    return { indicator: this.getIndicator(id), entry: res.entries[0] }
  }

  /**
   * The origin loosens its own indicator's TLP with a signed relabel record, in the log the
   * indicator lives in (TLP 2.0 lets the source re-label; nobody else may).
   */
  async relabel (id: string, rawTlp: unknown): Promise<{ indicator: StoredIndicator, entry: EntryReceipt }> {
    const ind = this.getIndicator(id)
    if (ind.origin !== this.identity.publicKey) throw new PhalanxError('PX_ERR_FORBIDDEN', `indicator ${id} was published by another organization; only its origin can relabel it`, { field: 'id' })
    const tlp = parseTlp(rawTlp, 'tlp')
    refuse(relabelViolation(ind.tlp, tlp))
    // to every log the record went to; a recipient log carries RED entries only, a circle log the new label
    const res = await this.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), tlp), items: [{ kind: 'relabel', id, tlp }] })))
    return { indicator: this.getIndicator(id), entry: res.entries[0] }
  }

  /**
   * Share an indicator this node holds into another of its circles, as this org's own record
   * (same value, TLP and context). TLP decides (DESIGN §2): CLEAR may go anywhere, GREEN only
   * by this explicit call, AMBER, AMBER+STRICT and RED never leave their circle.
   */
  async reshare (id: string, raw: unknown): Promise<PublishOutcome & { from: string, to: string }> {
    bodyWith(raw, new Set(['circle']))
    const ind = this.getIndicator(id)
    if (typeof raw.circle !== 'string') throw new ValidationError('circle', 'circle (the target) is required')
    const target = this.#circleOf(raw.circle, 'circle')
    if (target === ind.circle) throw new PhalanxError('PX_ERR_CONFLICT', `indicator ${id} is already in ${target}`, { field: 'circle' })
    refuse(reshareViolation(ind.tlp))
    if (target === LOCAL_CIRCLE) throw new PhalanxError('PX_ERR_VALIDATION', 're-share targets a circle', { field: 'circle' })
    const input: Record<string, unknown> = { type: ind.type, value: ind.value, tlp: ind.tlp, confidence: ind.confidence, tags: ind.tags, circle: target }
    for (const k of ['description', 'validFrom', 'validUntil', 'firstSeen', 'lastSeen'] as const) if (ind[k] !== undefined) input[k] = ind[k]
    const out = await this.publishIndicators([input], { explicitReshare: true })
    return { ...out, from: ind.circle, to: target }
  }

  /** resolve a user-given value (and optional type) to its normalized form */
  normalizeLookup (rawValue: unknown, rawType?: unknown): { type: IndicatorType, value: string } {
    if (typeof rawValue !== 'string' || rawValue.trim() === '') throw new ValidationError('value', 'value is required')
    if (rawValue.length > LIMITS.VALUE_MAX) throw new ValidationError('value', `value has at most ${LIMITS.VALUE_MAX} characters`)
    if (!rawValue.isWellFormed()) throw new ValidationError('value', WELL_FORMED_MESSAGE)
    let type: IndicatorType
    if (rawType === undefined || rawType === '') {
      const t = detectType(rawValue)
      if (t === undefined) throw new ValidationError('value', `cannot tell what kind of indicator "${rawValue.slice(0, 100)}" is; pass type`)
      type = t
    } else {
      // quote only a (short) string: JSON.stringify of a deeply nested value overflows the stack
      if (typeof rawType !== 'string') throw new ValidationError('type', 'type must be a string naming an indicator type')
      if (!isIndicatorType(rawType)) throw new ValidationError('type', `unknown indicator type ${JSON.stringify(rawType.slice(0, 100))}`)
      type = rawType
    }
    return { type, value: normalizeValue(type, rawValue) }
  }

  lookup (rawValue: unknown, rawType?: unknown, opts: { includeRevoked?: boolean, includeExpired?: boolean } = {}): LookupResult {
    const { type, value } = this.normalizeLookup(rawValue, rawType)
    return lookupValue(this.store, type, value, opts)
  }

  async query (filter: QueryFilter): Promise<QueryPage> {
    return await queryIndicators(this.store, filter)
  }

  async recordSighting (raw: unknown): Promise<{ entry: EntryReceipt, sightings: SightingSummary | undefined }> {
    if (!isObject(raw)) throw new ValidationError('', 'a sighting must be a JSON object')
    checkKeys(raw, new Set(['type', 'value', 'count', 'firstSeen', 'lastSeen', 'note', 'tlp', 'circle']), '')
    const { type, value } = this.normalizeLookup(raw.value, raw.type)
    const count = raw.count ?? 1
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LIMITS.SIGHTING_COUNT_MAX) {
      throw new ValidationError('count', `count must be an integer from 1 to ${LIMITS.SIGHTING_COUNT_MAX}`)
    }
    const now = new Date().toISOString()
    const firstSeen = raw.firstSeen === undefined ? (raw.lastSeen === undefined ? now : parseTime(raw.lastSeen, 'lastSeen')) : parseTime(raw.firstSeen, 'firstSeen')
    const lastSeen = raw.lastSeen === undefined ? (raw.firstSeen === undefined ? now : firstSeen) : parseTime(raw.lastSeen, 'lastSeen')
    if (lastSeen < firstSeen) throw new ValidationError('lastSeen', 'lastSeen must not be before firstSeen')
    const note = optionalText(raw.note, 'note', LIMITS.REASON_MAX)
    const item: SightingItem = { kind: 'sighting', type, value, count, firstSeen, lastSeen, ...(note !== undefined ? { note } : {}) }
    const tlp = raw.tlp === undefined ? this.config.publish.defaultTlp : parseTlp(raw.tlp)
    const circle = this.#circleOf(raw.circle, 'circle')
    // a sighting names the value: it passes on no more than a publish of it would
    const why = this.reshareViolation(type, value, tlp, circle)
    if (why !== null) throw new PhalanxError('PX_ERR_TLP_VIOLATION', why, { field: 'value' })
    const res = await this.ingest.publish([{ circle, tlp, items: [item] }])
    return { entry: res.entries[0], sightings: this.store.sightings(type, value) }
  }

  /** per circle: what this node holds of its data log, and how it last compared with members */
  async circleStatus (s: CircleView): Promise<CircleStatus> {
    const heads = Object.values(await this.store.logHeadsOf(s.id))
    const sync = this.network?.syncState(s.id)
    const others = (this.circles.get(s.id)?.members ?? new Map()).values()
    let of = 0
    let members = 0
    for (const m of others) {
      if (m.removed !== undefined || m.key === this.identity.publicKey) continue
      of++
      if (sync?.peers.get(m.key)?.inSync === true) members++
    }
    return {
      ...s,
      // heads written before heads counted records leave the sum unknown
      records: heads.some(h => h.records === undefined) ? null : heads.reduce((n, h) => n + (h.records ?? 0), 0),
      entries: heads.reduce((n, h) => n + h.seq, 0),
      origins: heads.length,
      lastSync: sync?.lastSync ?? null,
      inSync: { members, of }
    }
  }

  readonly #purgeTimers: NodeJS.Timeout[] = []
  #purging: Promise<void> | undefined

  /**
   * Purge indicators whose validUntil is before `expiredBefore` (default: now): their records
   * and value index ids go, their signed entries stay. One purge at a time.
   */
  async purgeExpired (raw: unknown = {}): Promise<{ scanned: number, purged: number, expiredBefore: string }> {
    bodyWith(raw ?? {}, new Set(['expiredBefore']))
    const body = (raw ?? {}) as { expiredBefore?: unknown }
    const expiredBefore = body.expiredBefore === undefined ? new Date().toISOString() : parseTime(body.expiredBefore, 'expiredBefore')
    const log = childLogger(this.log, 'node')
    // one purge at a time: a request waits for the one running, then runs its own
    const run = async (): Promise<{ scanned: number, purged: number, expiredBefore: string }> => {
      const t0 = Date.now()
      const r = await this.ingest.purgeExpired(expiredBefore)
      if (r.purged > 0) log.info({ ...r, expiredBefore, ms: Date.now() - t0 }, 'purged expired indicators (their entries stay)')
      return { ...r, expiredBefore }
    }
    const p = (this.#purging ?? Promise.resolve()).then(run, run)
    this.#purging = p.then(() => {}, () => {})
    return await p
  }

  /** forks this node holds evidence of (both signed entries each) */
  async forks (): Promise<ForkEvidence[]> {
    return await this.store.forks()
  }

  async status (): Promise<NodeStatus> {
    const forks = await this.store.forkPositions()
    const flagged = [...new Set(forks.map(f => f.origin))]
    return {
      version: this.version,
      apiUrl: this.apiUrl,
      peerId: this.peerId,
      publicKey: this.identity.publicKey,
      fingerprint: this.identity.fingerprint,
      org: this.identity.org,
      dataDir: this.dataDir,
      startedAt: this.startedAt,
      counts: this.store.counts(),
      circles: await Promise.all(this.listCircles().map(async c => await this.circleStatus(c))),
      forks: forks.length,
      warnings: flagged.map(o => `FORK: origin ${fingerprint(o)} signed two different entries for one log position (${forks.filter(f => f.origin === o).length} known); see GET /v1/forks`),
      sync: this.network?.syncStats ?? null,
      multiaddrs: this.network?.multiaddrs() ?? [],
      peers: this.network?.connectedKeys().length ?? 0,
      ingestQueue: this.ingest.queueLength
    }
  }
}

/** the kind of log an indicator's record can live in (never a membership log) */
function logKindOf (log: string): LogKind {
  return isRedLog(log) ? 'red' : log === LOCAL_CIRCLE ? 'local' : 'circle'
}
