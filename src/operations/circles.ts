/**
 * Circle use cases: create, list, members, invites, join, connect, sync, add, remove and
 * rename members, leave, digest; the peers and the RED outbox. Circle state and its rules are src/circles'
 * (pure folds of the membership log); the network does the talking.
 */
import { createHash } from 'node:crypto'
import { PhalanxError, ValidationError } from '../errors.js'
import { fingerprint, isPublicKeyHex, type Identity } from '../identity/index.js'
import { CIRCLE_LIMITS, checkKeys, isObject, optionalName } from '../records/index.js'
import { membershipLogOf, parseDuration, type CircleManager, type CircleView, type MemberView } from '../circles/index.js'
import type { Network, PeerView, JoinOutcome, SyncOutcome, OutboxItem, OverQuota } from '../p2p/index.js'
import type { LevelStore } from '../store/index.js'
import type { CircleAdmin } from './circle-admin.js'
import { bodyWith, circleIdOf, orgKeyOf, requireCircle } from './input.js'

export interface CircleComponents {
  store: LevelStore
  circles: Pick<CircleManager, 'mine' | 'former' | 'formerError' | 'require' | 'view' | 'members'>
  admin: Pick<CircleAdmin, 'create' | 'createInvite' | 'addMember' | 'removeMember' | 'renameMember' | 'leave'>
  identity: Pick<Identity, 'publicKey' | 'org'>
  /** the network once started (undefined before, and on a node started without it) */
  network: () => Network | undefined
}

/** a member as `circle members` shows it: online, last seen, and whether it is past its gossip quota */
export interface MemberStatus extends MemberView {
  online: boolean
  lastSeen: string | null
  /** its gossip went past its quota (p2p.quota) within the hold time: messages past it are ignored */
  overQuota: boolean
  /** since when, and what was dropped; null when not over quota */
  quota: OverQuota | null
}

export class Circles {
  readonly #c: CircleComponents

  constructor (components: CircleComponents) {
    this.#c = components
  }

  /** a circle of this node by id or unique name (the route's `:id`, a CLI argument) */
  #id (ref: string): string {
    return requireCircle(this.#c.circles, ref, 'circle')
  }

  /** a circle's id when `ref` names one of this node's circles by name; otherwise `ref` as given (a filter may name a circle this node left) */
  idOf (ref: string): string {
    return circleIdOf(this.#c.circles, ref, 'circle') ?? ref
  }

  #requireNetwork (): Network {
    const network = this.#c.network()
    if (network === undefined) throw new PhalanxError('PX_ERR_PEER', 'the network is not started on this node')
    return network
  }

  async create (raw: unknown): Promise<CircleView> {
    bodyWith(raw, new Set(['name']))
    const name = optionalName(raw.name, 'name', CIRCLE_LIMITS.NAME_MAX)
    if (name === undefined) throw new ValidationError('name', 'a circle needs a name')
    return await this.#c.admin.create(name, this.#c.identity.org)
  }

  /** this node's circles, then those it was removed from or left (`status`, `removed`: when and by whom) */
  list (): CircleView[] { return [...this.#c.circles.mine(), ...this.#c.circles.former()].map(s => this.#c.circles.view(s)) }

  get (ref: string): CircleView & { memberList: MemberStatus[] } {
    const id = this.#id(ref)
    const s = this.#c.circles.require(id)
    return { ...this.#c.circles.view(s), memberList: this.members(id) }
  }

  members (ref: string): MemberStatus[] {
    const id = this.#id(ref)
    const network = this.#c.network()
    const online = new Set((network?.connectedKeys() ?? []))
    const now = new Date().toISOString()
    return this.#c.circles.members(id).map(m => {
      const self = m.publicKey === this.#c.identity.publicKey
      const quota = self ? null : network?.overQuota(m.publicKey) ?? null
      return { ...m, online: self || online.has(m.publicKey), lastSeen: self ? now : network?.lastSeen(m.publicKey) ?? null, overQuota: quota !== null, quota }
    })
  }

  async invite (ref: string, raw: unknown): Promise<{ code: string, expires: string, circle: string }> {
    const id = this.#id(ref)
    const body = raw === undefined || raw === null ? {} : raw
    if (!isObject(body)) throw new ValidationError('', 'the body must be a JSON object')
    checkKeys(body, new Set(['expires']), '')
    const ttl = parseDuration(body.expires ?? '24h', 'expires')
    const network = this.#requireNetwork()
    const addrs = network.multiaddrs().map(a => a.replace(/\/p2p\/[^/]+$/, ''))
    const r = await this.#c.admin.createInvite(id, ttl, this.#c.identity.org, addrs)
    return { ...r, circle: id }
  }

  async join (raw: unknown): Promise<JoinOutcome> {
    bodyWith(raw, new Set(['code']))
    if (typeof raw.code !== 'string') throw new ValidationError('code', 'code must be the invite code string')
    return await this.#requireNetwork().join(raw.code, this.#c.identity.org)
  }

  async connect (ref: string, raw: unknown): Promise<{ circle: CircleView, peer: { publicKey: string, org: string, fingerprint: string } }> {
    // not this node's circle yet (it was added by key and fetches the circle now): an id, or the name of one it is in
    const id = this.idOf(ref)
    bodyWith(raw, new Set(['addr']))
    if (typeof raw.addr !== 'string') throw new ValidationError('addr', 'addr must be a multiaddr string')
    const r = await this.#requireNetwork().connect(id, raw.addr)
    return { circle: this.#c.circles.view(this.#c.circles.require(id)), peer: r.peer }
  }

  /**
   * Run anti-entropy sync of a circle now: with one member (`member`, a public key) or with
   * every member connected now. Returns what each sync brought (null: not reachable).
   */
  async sync (ref: string, raw: unknown): Promise<{ circle: string, syncs: Array<{ member: string, outcome: SyncOutcome | null }> }> {
    const id = this.#id(ref)
    bodyWith(raw ?? {}, new Set(['member']))
    const given = (raw ?? {}) as { member?: unknown }
    // the member by key or fingerprint
    const body = given.member === undefined ? given : { member: orgKeyOf(this.#c.circles, given.member, 'member') }
    const s = this.#c.circles.require(id)
    const network = this.#requireNetwork()
    if (body.member !== undefined && (typeof body.member !== 'string' || !isPublicKeyHex(body.member))) throw new ValidationError('member', 'member must be a public key (64 hex)')
    const connected = new Set(network.connectedKeys())
    const targets = body.member !== undefined
      ? [body.member]
      : [...s.members.values()].filter(m => m.removed === undefined && m.key !== this.#c.identity.publicKey && connected.has(m.key)).map(m => m.key)
    if (body.member !== undefined && (s.members.get(body.member)?.removed !== undefined || !s.members.has(body.member))) {
      throw new PhalanxError('PX_ERR_NOT_MEMBER', `${fingerprint(body.member)} is not a current member of this circle`, { field: 'member' })
    }
    const syncs: Array<{ member: string, outcome: SyncOutcome | null }> = []
    for (const key of targets) syncs.push({ member: key, outcome: await network.syncNow(id, key) })
    return { circle: id, syncs }
  }

  async addMember (ref: string, raw: unknown): Promise<MemberView> {
    const id = this.#id(ref)
    bodyWith(raw, new Set(['publicKey', 'org', 'role']))
    if (!isPublicKeyHex(raw.publicKey)) throw new ValidationError('publicKey', 'publicKey must be 64 lower-case hex characters (phalanx id --json shows it)')
    if (raw.role !== undefined && raw.role !== 'admin' && raw.role !== 'member') throw new ValidationError('role', 'role must be admin or member')
    const org = optionalName(raw.org, 'org', CIRCLE_LIMITS.ORG_MAX) ?? ''
    return await this.#c.admin.addMember(id, raw.publicKey, org, (raw.role ?? 'member') as 'admin' | 'member')
  }

  /** remove a member (by key or fingerprint) and rotate the circle key; the removed key and the circle's id */
  async removeMember (ref: string, member: string): Promise<{ removed: string, circle: string }> {
    const id = this.#id(ref)
    // the member by key or fingerprint
    const key = orgKeyOf(this.#c.circles, member, 'key')
    if (!isPublicKeyHex(key)) throw new ValidationError('key', 'key must be the member\'s public key (64 lower-case hex characters) or its fingerprint')
    await this.#c.admin.removeMember(id, key)
    return { removed: key, circle: id }
  }

  /**
   * An admin records a member's org name anew (`{org}`, the same name rules as an add); every
   * member's node shows it from then on. A member cannot rename itself in others' eyes.
   */
  async renameMember (ref: string, member: string, raw: unknown): Promise<MemberView> {
    const id = this.#id(ref)
    const key = orgKeyOf(this.#c.circles, member, 'key')
    if (!isPublicKeyHex(key)) throw new ValidationError('key', 'key must be the member\'s public key (64 lower-case hex characters) or its fingerprint')
    bodyWith(raw, new Set(['org']))
    const org = optionalName(raw.org, 'org', CIRCLE_LIMITS.ORG_MAX)
    if (org === undefined) throw new ValidationError('org', 'org must be the organization name to show (not empty)')
    return await this.#c.admin.renameMember(id, key, org)
  }

  /**
   * This node leaves the circle: it signs a leave record the others apply, stops dialling and
   * syncing the circle, and keeps what it stored; an admin's node rotates the circle key.
   */
  async leave (ref: string, raw: unknown): Promise<{ circle: string, name: string, upTo: number }> {
    const id = this.#id(ref)
    bodyWith(raw ?? {}, new Set())
    const name = this.#c.circles.require(id).name
    const { upTo } = await this.#c.admin.leave(id)
    return { circle: id, name, upTo }
  }

  /**
   * A digest of the circle's entry set: SHA-256 over every log's (log, origin, seq, head hash),
   * sorted. A head hash commits to its whole chain (prev links), so two nodes holding the same
   * entries return the same digest, and any difference changes it.
   */
  async digest (ref: string): Promise<{ circle: string, digest: string, entries: number, logs: Record<string, Record<string, number>> }> {
    const id = this.#id(ref)
    this.#c.circles.require(id)
    const lines: string[] = []
    const logs: Record<string, Record<string, number>> = {}
    let entries = 0
    for (const log of [id, membershipLogOf(id)]) {
      const heads = await this.#c.store.logHeadsOf(log)
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
    return await this.#c.network()?.outbox() ?? []
  }

  async peers (): Promise<PeerView[]> {
    return await this.#c.network()?.peers() ?? []
  }
}
