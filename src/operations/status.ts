/**
 * Status use cases: the node's status (counts, circles and how in sync they are, forks,
 * warnings, network) and the fork evidence it holds.
 */
import { fingerprint, type Identity } from '../identity/index.js'
import type { CircleManager, CircleView } from '../circles/index.js'
import type { Network, OverQuota, SyncStats } from '../p2p/index.js'
import { behindMessage, type BehindOwnTail, type ForkEvidence, type Ingest, type LevelStore, type StoreCounts } from '../store/index.js'

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
  /**
   * own logs that end below the seq this node last signed in them (a lost tail: a truncated
   * write-ahead log, an older backup); it signs nothing in them until they are back there.
   * Empty when all is well.
   */
  behindOwnTail: BehindOwnTail[]
  /**
   * members whose gossip went past their quota (p2p.quota) within its hold time: their
   * messages past it are ignored (not relayed) and their peers penalized. Empty when all is well.
   */
  overQuota: OverQuotaMember[]
  /** gossip messages ignored since start because of a bound, and the gossip queue bound; null without the network */
  gossipDrops: { queueFull: number, overQuota: number, maxQueuedItems: number } | null
}

export interface OverQuotaMember extends OverQuota {
  origin: string
  fingerprint: string
  /** the org name its circles know it by ('' if none) */
  org: string
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

/** what the node says about itself (known once it started) */
export interface NodeFacts {
  version: string
  apiUrl: string | null
  peerId: string
  dataDir: string
  startedAt: string
}

export interface StatusComponents {
  store: LevelStore
  ingest: Pick<Ingest, 'queueLength' | 'behindOwnTail'>
  circles: Pick<CircleManager, 'mine' | 'former' | 'view' | 'get'>
  identity: Pick<Identity, 'publicKey' | 'fingerprint' | 'org'>
  network: () => Network | undefined
  about: () => NodeFacts
}

export class Status {
  readonly #c: StatusComponents

  constructor (components: StatusComponents) {
    this.#c = components
  }

  async status (): Promise<NodeStatus> {
    const forks = await this.#c.store.forkPositions()
    const flagged = [...new Set(forks.map(f => f.origin))]
    const behind = this.#c.ingest.behindOwnTail()
    const over = this.overQuota()
    return {
      version: this.#c.about().version,
      apiUrl: this.#c.about().apiUrl,
      peerId: this.#c.about().peerId,
      publicKey: this.#c.identity.publicKey,
      fingerprint: this.#c.identity.fingerprint,
      org: this.#c.identity.org,
      dataDir: this.#c.about().dataDir,
      startedAt: this.#c.about().startedAt,
      counts: this.#c.store.counts(),
      // the circles this node is in, then those it was removed from or left (shown as such, with when and by whom)
      circles: await Promise.all([...this.#c.circles.mine(), ...this.#c.circles.former()].map(s => this.#c.circles.view(s)).map(async c => await this.circleStatus(c))),
      forks: forks.length,
      warnings: [
        ...behind.map(b => `BEHIND OWN TAIL: ${behindMessage(b)}`),
        ...flagged.map(o => `FORK: origin ${fingerprint(o)} signed two different entries for one log position (${forks.filter(f => f.origin === o).length} known); see GET /v1/forks`),
        ...over.map(o => `OVER QUOTA: member ${o.fingerprint}${o.org !== '' ? ` (${o.org})` : ''} sends more gossip than its quota (p2p.quota) since ${o.since}: ${o.dropped} entries (${o.droppedBytes} bytes) ignored; sync brings them at this node's pace`)
      ],
      sync: this.#c.network()?.syncStats ?? null,
      multiaddrs: this.#c.network()?.multiaddrs() ?? [],
      peers: this.#c.network()?.connectedKeys().length ?? 0,
      ingestQueue: this.#c.ingest.queueLength,
      behindOwnTail: behind,
      overQuota: over,
      gossipDrops: this.#c.network()?.gossipDrops ?? null
    }
  }

  /** members past their gossip quota now, with the org name their circles know */
  overQuota (): OverQuotaMember[] {
    const list = this.#c.network()?.overQuotaAll() ?? []
    if (list.length === 0) return []
    const orgs = new Map<string, string>()
    for (const c of this.#c.circles.mine()) for (const m of c.members.values()) if (m.org !== '') orgs.set(m.key, m.org)
    return list.map(o => ({ ...o, fingerprint: fingerprint(o.origin), org: orgs.get(o.origin) ?? '' }))
  }

  /** forks this node holds evidence of (both signed entries each) */
  async forks (): Promise<ForkEvidence[]> {
    return await this.#c.store.forks()
  }

  /** per circle: what this node holds of its data log, and how it last compared with members */
  async circleStatus (s: CircleView): Promise<CircleStatus> {
    const heads = Object.values(await this.#c.store.logHeadsOf(s.id))
    const sync = this.#c.network()?.syncState(s.id)
    // in sync: the last sync with it found the same heads, and it is connected now (an offline
    // member misses what was published since)
    const online = new Set(this.#c.network()?.connectedKeys() ?? [])
    const others = (this.#c.circles.get(s.id)?.members ?? new Map()).values()
    let of = 0
    let members = 0
    for (const m of others) {
      // a circle this node is no longer in: no member to be in sync with
      if (s.status !== 'member') break
      if (m.removed !== undefined || m.key === this.#c.identity.publicKey) continue
      of++
      if (sync?.peers.get(m.key)?.inSync === true && online.has(m.key)) members++
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
}
