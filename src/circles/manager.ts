/**
 * The circles this node is in: their membership state (folded from the control entries in
 * the store), the circle keys this node can open, and the admin operations (create, add,
 * remove with key rotation, role). Admin operations are ordinary publishes of control
 * entries through the one ingest path; the network carries them like any entry.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { PhalanxError, ValidationError } from '../errors.js'
import type { BoxKey, OrgKey } from '../identity/index.js'
import { SECRETBOX_KEY_BYTES, fingerprint } from '../identity/index.js'
import { MEMBERSHIP_LOG_LABEL, entryLabelViolation, refuse } from '../tlp/index.js'
import { LOCAL_CIRCLE, validateItem, type ControlItem, type Entry, type Item, type MemberRole } from '../records/index.js'
import type { Ingest, LevelStore, StoredEntry } from '../store/index.js'
import { inviteSecretHash, isOpenInvite, makeInvite, useKeptInvite } from './invite.js'
import { applyControlEntry, checkDataEntry, circleOfLog, isMembershipLog, membershipLogOf, currentMembers, isAdmin, isCurrentMember, type CircleState, type Member } from './state.js'

export interface CircleManagerComponents {
  store: LevelStore
  ingest: Ingest
  key: OrgKey
  box: BoxKey
  log: Logger
}

export interface MemberView {
  publicKey: string
  org: string
  fingerprint: string
  role: MemberRole
  addedAt: string
  addedBy: string
  addrs: string[]
  removed?: { at: string, by: string }
}

export interface CircleView {
  id: string
  name: string
  founder: string
  created: string
  epoch: number
  role: MemberRole | null
  members: number
}

export type CircleListener = (circle: CircleState, entry: Entry) => void

export class CircleManager {
  readonly #c: CircleManagerComponents
  readonly #log: Logger
  readonly #circles = new Map<string, CircleState>()
  /** circle → epoch → key this node opened */
  readonly #keys = new Map<string, Map<number, Uint8Array>>()
  /** circles whose genesis this node expects from a peer (join, connect) */
  readonly #expected = new Set<string>()
  readonly #listeners = new Set<CircleListener>()
  #invitesOpen = false
  #redeeming: Promise<unknown> = Promise.resolve()

  constructor (c: CircleManagerComponents) {
    this.#c = c
    this.#log = c.log
  }

  /** fold every stored control entry, in the order they were stored */
  async load (): Promise<void> {
    for await (const { key, entry } of this.#c.store.controlEntries()) {
      if (entry === undefined) { this.#log.error({ key }, 'control index points at a missing entry'); continue }
      try {
        const id = circleOfLog(entry.circle)
        this.#circles.set(id, applyControlEntry(this.#circles.get(id), entry))
      } catch (err) {
        this.#log.error({ err, circle: entry.circle, seq: entry.seq }, 'stored control entry does not fold')
      }
    }
    await this.refreshOpenInvites()
    this.#log.info({ circles: this.#circles.size }, 'circles loaded')
  }

  onChange (fn: CircleListener): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** accept the genesis of this circle when a peer sends it (join, connect) */
  expect (circle: string): void { this.#expected.add(circle) }

  get (circle: string): CircleState | undefined { return this.#circles.get(circle) }

  /** circles this node is a current member of */
  mine (): CircleState[] {
    return [...this.#circles.values()].filter(s => isCurrentMember(s, this.#c.key.publicKeyHex))
  }

  all (): CircleState[] { return [...this.#circles.values()] }

  require (circle: string): CircleState {
    const s = this.#circles.get(circle)
    if (s === undefined || !isCurrentMember(s, this.#c.key.publicKeyHex)) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `this node is not in circle "${circle}"`, { field: 'circle' })
    return s
  }

  view (s: CircleState): CircleView {
    const me = s.members.get(this.#c.key.publicKeyHex)
    return { id: s.id, name: s.name, founder: s.founder, created: s.created, epoch: s.epoch, role: me !== undefined && me.removed === undefined ? me.role : null, members: currentMembers(s).length }
  }

  members (circle: string, includeRemoved = false): MemberView[] {
    const s = this.require(circle)
    return [...s.members.values()].filter(m => includeRemoved || m.removed === undefined).map(memberView)
  }

  /** every current member of every circle this node is in (the connection allow list) */
  peerKeys (): Set<string> {
    const out = new Set<string>()
    for (const s of this.mine()) for (const m of currentMembers(s)) out.add(m.key)
    out.delete(this.#c.key.publicKeyHex)
    return out
  }

  /** the entry policy for shared circles: throws a PhalanxError to refuse */
  check (entry: Entry, source: string, unreadable = false): void {
    const id = circleOfLog(entry.circle)
    const s = this.#circles.get(id)
    if (unreadable) {
      // a later version's entry: kept for sync when its origin is a member and its label fits the
      // log; its records are not read, so they change no state here
      if (s === undefined) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `circle ${id} is not known here`, { field: 'circle' })
      refuse(entryLabelViolation(isMembershipLog(entry.circle) ? 'membership' : 'circle', entry.tlp))
      if (!isCurrentMember(s, entry.origin)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `origin ${entry.origin.slice(0, 16)}… is not a current member of circle ${id}`)
      return
    }
    if (isMembershipLog(entry.circle)) {
      if (s === undefined && entry.items[0]?.kind === 'circle' && source !== 'local' && !this.#expected.has(id)) {
        throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `genesis of circle ${id} was not asked for`)
      }
      refuse(entryLabelViolation('membership', entry.tlp))
      applyControlEntry(s, entry) // dry run: throws if it breaks a rule
      return
    }
    if (s === undefined) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `circle ${entry.circle} is not known here`, { field: 'circle' })
    refuse(entryLabelViolation('circle', entry.tlp))
    checkDataEntry(s, entry)
  }

  /** ingest's onStored: fold control entries as they become durable */
  noteStored (stored: StoredEntry[]): void {
    for (const { entry, unknown } of stored) {
      if (unknown !== undefined || entry.circle === LOCAL_CIRCLE || !isMembershipLog(entry.circle)) continue
      const id = circleOfLog(entry.circle)
      try {
        const s = applyControlEntry(this.#circles.get(id), entry)
        this.#circles.set(id, s)
        this.#expected.delete(id)
        for (const fn of this.#listeners) fn(s, entry)
      } catch (err) {
        // the policy checked it against the state of its time; a concurrent change may differ
        this.#log.warn({ err, circle: entry.circle, seq: entry.seq }, 'stored control entry does not fold')
      }
    }
  }

  /** the circle key of `epoch` (default: current) as this node can open it, or null */
  circleKey (circle: string, epoch?: number): { epoch: number, key: Uint8Array } | null {
    const s = this.#circles.get(circle)
    if (s === undefined) return null
    const e = epoch ?? s.epoch
    const cached = this.#keys.get(circle)?.get(e)
    if (cached !== undefined) return { epoch: e, key: cached }
    const sealed = s.keys.get(e)?.get(this.#c.key.publicKeyHex)
    if (sealed === undefined) return null
    const key = this.#c.box.open(sealed.by, sealed.sealed)
    if (key === null || key.length !== SECRETBOX_KEY_BYTES) {
      this.#log.error({ circle, epoch: e }, 'a circle key sealed to this node does not open')
      return null
    }
    let byEpoch = this.#keys.get(circle)
    if (byEpoch === undefined) this.#keys.set(circle, byEpoch = new Map())
    byEpoch.set(e, key)
    return { epoch: e, key }
  }

  // ---- admin operations -----------------------------------------------------------------

  async create (name: string, org: string): Promise<CircleView> {
    const id = `c-${randomBytes(10).toString('hex')}`
    const me = this.#c.key.publicKeyHex
    const key = randomBytes(SECRETBOX_KEY_BYTES)
    const items = [
      item({ kind: 'circle', name }, 'name'),
      item({ kind: 'member', op: 'add', key: me, role: 'admin', ...(org !== '' ? { org } : {}) }),
      item({ kind: 'key', epoch: 1, sealed: { [me]: this.#c.box.seal(me, key) } })
    ]
    await this.#publishControl(id, items)
    return this.view(this.require(id))
  }

  async addMember (circle: string, key: string, org: string, role: MemberRole = 'member'): Promise<MemberView> {
    const s = this.#requireAdmin(circle)
    if (isCurrentMember(s, key)) throw new PhalanxError('PX_ERR_CONFLICT', `${key.slice(0, 16)}… is already a member`, { field: 'publicKey' })
    const current = this.circleKey(circle)
    if (current === null) throw new PhalanxError('PX_ERR_INTERNAL', `this node cannot open the key of circle ${circle}`)
    const items = [
      item({ kind: 'member', op: 'add', key, role, ...(org !== '' ? { org } : {}) }, 'publicKey'),
      item({ kind: 'key', epoch: current.epoch, sealed: { [key]: this.#c.box.seal(key, current.key) } })
    ]
    await this.#publishControl(circle, items)
    return memberView(this.require(circle).members.get(key)!)
  }

  /** remove a member and rotate the circle key: the removed org cannot read anything new */
  async removeMember (circle: string, key: string): Promise<void> {
    const s = this.#requireAdmin(circle)
    if (!isCurrentMember(s, key)) throw new PhalanxError('PX_ERR_NOT_FOUND', `${key.slice(0, 16)}… is not a member of circle ${circle}`, { field: 'key' })
    const upTo = this.#c.store.head(circle, key)?.seq ?? 0
    const next = randomBytes(SECRETBOX_KEY_BYTES)
    const sealed: Record<string, string> = {}
    for (const m of currentMembers(s)) if (m.key !== key) sealed[m.key] = this.#c.box.seal(m.key, next)
    await this.#publishControl(circle, [
      item({ kind: 'member', op: 'remove', key, upTo }, 'key'),
      item({ kind: 'key', epoch: s.epoch + 1, sealed })
    ])
  }

  async setRole (circle: string, key: string, role: MemberRole): Promise<void> {
    const s = this.#requireAdmin(circle)
    if (!isCurrentMember(s, key)) throw new PhalanxError('PX_ERR_NOT_FOUND', `${key.slice(0, 16)}… is not a member of circle ${circle}`, { field: 'key' })
    await this.#publishControl(circle, [item({ kind: 'member', op: 'role', key, role }, 'role')])
  }

  /** announce where this node can be dialled, when that changed */
  async announceAddresses (circle: string, addrs: string[]): Promise<void> {
    const s = this.require(circle)
    const me = s.members.get(this.#c.key.publicKeyHex)!
    if (me.addrs.length === addrs.length && me.addrs.every((a, i) => a === addrs[i])) return
    await this.#publishControl(circle, [item({ kind: 'address', addrs })])
  }

  // ---- invites ---------------------------------------------------------------------------

  /** a one-time invite code to `circle`, valid for `ttlMs` */
  async createInvite (circle: string, ttlMs: number, org: string, addrs: string[]): Promise<{ code: string, expires: string }> {
    const s = this.#requireAdmin(circle)
    const expires = new Date(Date.now() + ttlMs).toISOString()
    const { code, invite } = makeInvite(this.#c.key, { circle, name: s.name, org, addrs, expires })
    await this.#c.ingest.createInvite(inviteSecretHash(invite.secret), { circle, expires })
    this.#invitesOpen = true
    return { code, expires }
  }

  /** is any invite still open (unused, unexpired)? the gater lets unknown peers in then */
  hasOpenInvites (): boolean { return this.#invitesOpen }

  async refreshOpenInvites (): Promise<void> {
    const now = new Date().toISOString()
    let open = false
    for await (const inv of this.#c.store.invites()) {
      if (isOpenInvite(inv, now)) { open = true; break }
    }
    this.#invitesOpen = open
  }

  /**
   * A joiner proved it holds the code's secret: mark the invite used (one time), add the
   * joiner as a member and seal it the circle key. Returns the circle's control entries.
   */
  async redeemInvite (circle: string, secret: string, joiner: string, org: string): Promise<Entry[]> {
    const k = inviteSecretHash(secret)
    // one redemption at a time: a joiner is added once; the check and the mark run in the writer
    const run = this.#redeeming.then(async () => {
      await this.#c.ingest.useInvite(k, inv => useKeptInvite(inv, circle, joiner, new Date().toISOString()))
      if (!isCurrentMember(this.require(circle), joiner)) await this.addMember(circle, joiner, org)
      await this.refreshOpenInvites()
      return this.controlEntries(circle)
    })
    this.#redeeming = run.catch(() => {})
    return await run
  }

  /** the circle's control entries in the order this node stored them */
  async controlEntries (circle: string): Promise<Entry[]> {
    const out: Entry[] = []
    const log = membershipLogOf(circle)
    for await (const { entry } of this.#c.store.controlEntries(log)) {
      if (entry !== undefined) out.push(entry)
    }
    return out
  }

  #requireAdmin (circle: string): CircleState {
    const s = this.require(circle)
    if (!isAdmin(s, this.#c.key.publicKeyHex)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `this node is not an admin of circle ${circle}`)
    return s
  }

  async #publishControl (circle: string, items: Item[]): Promise<void> {
    await this.#c.ingest.publish([{ circle: membershipLogOf(circle), tlp: MEMBERSHIP_LOG_LABEL, items }])
  }
}

function memberView (m: Member): MemberView {
  return {
    publicKey: m.key,
    org: m.org,
    fingerprint: fingerprint(m.key),
    role: m.role,
    addedAt: m.addedAt,
    addedBy: m.addedBy,
    addrs: m.addrs,
    ...(m.removed !== undefined ? { removed: { at: m.removed.at, by: m.removed.by } } : {})
  }
}

/** a control record in canonical form; a bad field is reported under `field` */
function item (raw: Record<string, unknown>, field?: string): ControlItem {
  try {
    return validateItem(raw) as ControlItem
  } catch (err) {
    if (err instanceof ValidationError && field !== undefined) throw new ValidationError(field, err.message)
    throw err
  }
}
