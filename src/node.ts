/**
 * The composition root: the only place that constructs components. Start order: identity →
 * store → ingest → circles → operations → network → api; stop in reverse. It holds no use
 * case: those are in src/operations, which the API routes call through `node.ops`.
 */
import { writeFileSync, rmSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { PhalanxError } from './errors.js'
import type { PhalanxConfig } from './config/index.js'
import { createLogger, childLogger } from './log.js'
import { initIdentity, loadIdentity, loadToken, peerIdFromSeed, API_URL_FILE, BoxKey, type Identity } from './identity/index.js'
import { CircleManager } from './circles/index.js'
import type { Network } from './p2p/index.js'
import { LevelStore, Ingest, OWN_SEQ_FILE, STORE_DIR, queryIndicators } from './store/index.js'
import { Advisories, Reports, StreamEvents, CircleAdmin, Circles, Indicators, Sightings, Status, Taxii, Exports, Withdrawals, nodeEntryPolicy, orgNamesOf, type Operations } from './operations/index.js'

export { STORE_DIR }
export { MAX_BULK_INDICATORS, ownEntriesOnlyPolicy } from './operations/index.js'
export type { NodeStatus, CircleStatus, PublishOutcome } from './operations/index.js'

function readPackageVersion (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    try { return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version } catch { return '0.0.0' }
  }
}

/**
 * Why the p2p listener could not listen, from the error libp2p gives: its own
 * UnsupportedListenAddressesError names the socket error only in its message.
 */
function listenFailure (err: unknown): 'EADDRINUSE' | 'EACCES' | 'EADDRNOTAVAIL' | undefined {
  const e = err as NodeJS.ErrnoException | undefined
  for (const code of ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'] as const) {
    if (e?.code === code || (e?.name === 'UnsupportedListenAddressesError' && String(e.message).includes(code))) return code
  }
  return undefined
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
  /** the circle admin work (create, members, invites), as the API and the join protocol ask it */
  admin!: CircleAdmin
  network: Network | undefined
  /** the use cases, built once the core started */
  ops!: Operations
  #box!: BoxKey
  #withdrawals: Withdrawals | undefined
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
    // the name was fixed by the first start (it is part of the identity partners pinned); a
    // different one given now is ignored, and said so. The host name is what an unset org
    // becomes (config/load.ts): a plain start of a node named otherwise is not a request to rename
    else if (this.config.org !== identity.org && this.config.org !== hostname()) {
      log.warn({ org: identity.org, ignored: this.config.org }, 'this node keeps the organization name of its first start; the name given now is ignored')
    }
    this.identity = loadIdentity(this.dataDir)
    this.token = loadToken(this.dataDir)
    this.peerId = await peerIdFromSeed(this.identity.seed)
    this.store = new LevelStore({ path: join(this.dataDir, STORE_DIR) })
    await this.store.open()
    this.ingest = new Ingest({
      store: this.store,
      key: this.identity.key,
      seed: this.identity.seed,
      // the private scope takes only our own entries; RED only delivered to us; a circle, what its log allows
      policy: nodeEntryPolicy(this.identity.publicKey, () => this.circles),
      onStored: (stored) => { this.circles.noteStored(stored); this.network?.noteStored(stored); this.#withdrawals?.noteStored(stored) },
      log: childLogger(this.log, 'store:ingest'),
      // the last own seq of each log, outside LevelDB: a lost tail is seen, never signed again
      ownSeqPath: join(this.dataDir, OWN_SEQ_FILE)
    }, { sync: this.config.store.sync, lingerMs: this.config.store.lingerMs })
    this.#box = BoxKey.fromSeed(this.identity.seed)
    this.circles = new CircleManager({ store: this.store, key: this.identity.key, box: this.#box, log: childLogger(this.log, 'circles') })
    await this.circles.load()
    this.admin = new CircleAdmin({ circles: this.circles, ingest: this.ingest, store: this.store, key: this.identity.key, box: this.#box })
    await this.ingest.start()
    // after a leave, the designated admin's node rotates the circle key, as a removal does
    const rotate = (id: string): void => {
      this.admin.rotateAfterLeave(id).catch((err) => { if (this.#started) log.warn({ err, circle: id }, 'could not rotate the circle key after a leave') })
    }
    this.#offRotate = this.circles.onChange((s) => { if (s.rekey.length > 0) rotate(s.id) })
    for (const s of this.circles.all()) if (s.rekey.length > 0) rotate(s.id)
    const network = (): Network | undefined => this.network
    const reports = new Reports({ store: this.store, ingest: this.ingest, circles: this.circles, identity: this.identity })
    const indicators = new Indicators({ store: this.store, ingest: this.ingest, circles: this.circles, identity: this.identity, publish: this.config.publish, reports, maxQueuedItems: this.config.api.maxQueuedItems, log: childLogger(this.log, 'indicators'), reshared: () => { void this.#withdrawals?.sweep() } })
    // a re-shared copy follows its source's revoke; a revoke stored while the node was down is found by the sweep
    this.#withdrawals = new Withdrawals({ store: this.store, own: this.identity.publicKey, revoke: async (id, reason) => await indicators.revoke(id, reason), log: childLogger(this.log, 'withdrawals') })
    void this.#withdrawals.sweep()
    const advisories = new Advisories({ store: this.store, ingest: this.ingest, circles: this.circles, identity: this.identity })
    this.ops = {
      indicators,
      advisories,
      reports,
      events: new StreamEvents({ store: this.store, advisories, reports, circles: this.circles, identity: this.identity }),
      sightings: new Sightings({ store: this.store, ingest: this.ingest, circles: this.circles, indicators, identity: this.identity, publish: this.config.publish }),
      circles: new Circles({ store: this.store, circles: this.circles, admin: this.admin, identity: this.identity, network }),
      status: new Status({ store: this.store, ingest: this.ingest, circles: this.circles, identity: this.identity, network, about: () => this }),
      taxii: new Taxii({ store: this.store, indicators, reports, circles: this.circles, identity: this.identity, publish: this.config.publish, log: childLogger(this.log, 'taxii') }),
      exports: new Exports({ query: async (f) => await queryIndicators(this.store, f), lastCursor: () => this.store.lastCursor(), sightings: { any: () => this.store.counts().sightings > 0, of: (type, value) => this.store.sightings(type, value) }, orgNames: () => orgNamesOf(this.circles, this.identity), reports: async (circle) => await reports.forExport(circle), own: () => this.identity })
    }
    this.startedAt = new Date().toISOString()
    this.#started = true
    if (this.config.store.purgeExpiredAfterDays > 0) {
      const purge = (): void => {
        const before = new Date(Date.now() - this.config.store.purgeExpiredAfterDays * 86_400_000).toISOString()
        this.ops.indicators.purgeExpired({ expiredBefore: before }).catch((err) => {
          if (this.#started) childLogger(this.log, 'node').error({ err }, 'purge failed')
        })
      }
      // the first purge a minute after start, then every purgeIntervalMs
      this.#purgeTimers.push(setTimeout(purge, Math.min(60_000, this.config.store.purgeIntervalMs)).unref(), setInterval(purge, this.config.store.purgeIntervalMs).unref())
    }
    log.info({ org: this.identity.org, fingerprint: this.identity.fingerprint, peerId: this.peerId }, 'node core started')
  }

  /** start the libp2p network (after startCore): gossip, joins, member connections */
  async startNetwork (): Promise<void> {
    const { Network, ownEntryPaceMs } = await import('./p2p/index.js')
    const network = new Network({ host: this.config.p2p.host, port: this.config.p2p.port, dialIntervalMs: this.config.p2p.dialIntervalMs, syncIntervalMs: this.config.p2p.syncIntervalMs, connect: this.config.p2p.connect, onlyPeers: this.config.p2p.onlyPeers, pending: this.config.p2p.pending, quota: { ...this.config.p2p.quota, maxQueuedItems: Math.min(this.config.p2p.quota.maxQueuedItems, this.config.api.maxQueuedItems) }, junk: this.config.p2p.junk }, {
      identity: this.identity, circles: this.circles, admin: this.admin, ingest: this.ingest, store: this.store, box: this.#box, log: childLogger(this.log, 'p2p')
    })
    try {
      await network.start()
      // own entries are gossiped now: sustained single publishes share entries, within the quota
      // members grant, or at the slower pace the operator chose (store.paceMs)
      this.ingest.paceGroups(ownEntryPaceMs(this.config.p2p.quota, this.config.store.paceMs))
    } catch (err) {
      await network.stop().catch(() => {})
      const listen = listenFailure(err)
      if (listen === 'EADDRINUSE') throw new PhalanxError('PX_ERR_CONFIG', `p2p port ${this.config.p2p.port} on ${this.config.p2p.host} is in use (another node?); choose another with --p2p-port (0 = any free port)`, { field: 'p2p.port', cause: err })
      if (listen !== undefined) throw new PhalanxError('PX_ERR_CONFIG', `cannot listen for peers on ${this.config.p2p.host} port ${this.config.p2p.port} (${listen}); check p2p.host and --p2p-port`, { field: listen === 'EADDRNOTAVAIL' ? 'p2p.host' : 'p2p.port', cause: err })
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
    this.#offRotate?.()
    if (this.#api !== undefined) {
      try { rmSync(join(this.dataDir, API_URL_FILE), { force: true }) } catch { /* gone already */ }
      await this.#api.stop()
    }
    if (this.network !== undefined) {
      await this.network.stop()
      this.network = undefined
    }
    this.circles.close()
    await this.#withdrawals?.close()
    await this.ingest.stop()
    await this.store.close()
    childLogger(this.log, 'node').info('node stopped')
  }

  readonly #purgeTimers: NodeJS.Timeout[] = []
  #offRotate: (() => void) | undefined
}
