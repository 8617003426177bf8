/**
 * The admin work of a circle: create it, add a member (sealing it the current circle key),
 * remove one (rotating the key to every remaining member), change a role or a member's org
 * name, rotate the key after members left, announce this node's addresses, leave, create an
 * invite and redeem one for a joiner. Each is an ordinary publish
 * of control entries (or an invite write) through the one ingest path; the membership rules
 * are src/circles' (the fold checks every control entry, local or remote, before it is stored).
 *
 * Guarantees: a joiner is added once per invite (redemptions run one at a time, the check and
 * the mark run in the store's writer); a removal names the removed member's last entry (`upTo`)
 * and seals the next key only to the members that remain; after a leave, only the designated
 * admin (`rotator`: the lowest key among current admins) rotates, once, so no two admins
 * make two keys of one epoch.
 */
import { randomBytes } from 'node:crypto'
import { PhalanxError, ValidationError } from '../errors.js'
import { SECRETBOX_KEY_BYTES, type BoxKey, type OrgKey } from '../identity/index.js'
import { validateItem, type ControlItem, type Entry, type Item, type MemberRole } from '../records/index.js'
import { MEMBERSHIP_LOG_LABEL } from '../tlp/index.js'
import {
  currentMembers, hasLeft, inviteSecretHash, isAdmin, rotator, isCurrentMember, makeInvite, memberView, membershipLogOf, useKeptInvite,
  type CircleManager, type CircleState, type CircleView, type MemberView
} from '../circles/index.js'
import type { Ingest, LevelStore } from '../store/index.js'

export interface CircleAdminComponents {
  circles: Pick<CircleManager, 'require' | 'get' | 'view' | 'circleKey' | 'controlEntries' | 'refreshOpenInvites'>
  ingest: Pick<Ingest, 'publish' | 'createInvite' | 'useInvite'>
  store: Pick<LevelStore, 'head'>
  key: OrgKey
  box: BoxKey
}

export class CircleAdmin {
  readonly #c: CircleAdminComponents
  #redeeming: Promise<unknown> = Promise.resolve()
  /** rotations after a leave run one at a time (each re-reads the state) */
  #rotating: Promise<unknown> = Promise.resolve()

  constructor (c: CircleAdminComponents) {
    this.#c = c
  }

  async create (name: string, org: string): Promise<CircleView> {
    const id = `c-${randomBytes(10).toString('hex')}`
    const me = this.#c.key.publicKeyHex
    const key = randomBytes(SECRETBOX_KEY_BYTES)
    await this.#publishControl(id, [
      item({ kind: 'circle', name }, 'name'),
      item({ kind: 'member', op: 'add', key: me, role: 'admin', ...(org !== '' ? { org } : {}) }),
      item({ kind: 'key', epoch: 1, sealed: { [me]: this.#c.box.seal(me, key) } })
    ])
    return this.#c.circles.view(this.#c.circles.require(id))
  }

  async addMember (circle: string, key: string, org: string, role: MemberRole = 'member'): Promise<MemberView> {
    const s = this.#requireAdmin(circle)
    if (isCurrentMember(s, key)) throw new PhalanxError('PX_ERR_CONFLICT', `${key.slice(0, 16)}… is already a member`, { field: 'publicKey' })
    const current = this.#c.circles.circleKey(circle)
    if (current === null) throw new PhalanxError('PX_ERR_INTERNAL', `this node cannot open the key of circle ${circle}`)
    await this.#publishControl(circle, [
      item({ kind: 'member', op: 'add', key, role, ...(org !== '' ? { org } : {}) }, 'publicKey'),
      item({ kind: 'key', epoch: current.epoch, sealed: { [key]: this.#c.box.seal(key, current.key) } })
    ])
    return memberView(this.#c.circles.require(circle).members.get(key)!)
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

  /** record a member's organization name anew (the name every member's node shows for it) */
  async renameMember (circle: string, key: string, org: string): Promise<MemberView> {
    const s = this.#requireAdmin(circle)
    if (!isCurrentMember(s, key)) throw new PhalanxError('PX_ERR_NOT_FOUND', `${key.slice(0, 16)}… is not a member of circle ${circle}`, { field: 'key' })
    await this.#publishControl(circle, [item({ kind: 'rename', key, org }, 'org')])
    return memberView(this.#c.circles.require(circle).members.get(key)!)
  }

  /**
   * This node leaves the circle: a signed leave record naming its last entry (`upTo`). The
   * last admin cannot leave while other members remain. Returns the leave's `upTo`.
   */
  async leave (circle: string): Promise<{ upTo: number }> {
    const s = this.#c.circles.require(circle)
    const me = this.#c.key.publicKeyHex
    const others = currentMembers(s).filter(m => m.key !== me)
    if (isAdmin(s, me) && others.length > 0 && !others.some(m => m.role === 'admin')) {
      throw new PhalanxError('PX_ERR_CONFLICT', `this node is the last admin of circle ${circle}: make another member an admin first (or remove the other members)`, { field: 'circle' })
    }
    const upTo = this.#c.store.head(circle, me)?.seq ?? 0
    await this.#publishControl(circle, [item({ kind: 'leave', upTo })])
    return { upTo }
  }

  /**
   * After members left, rotate the circle key as a removal does, when this node is the
   * designated admin (`rotator`): the new key sealed to the members that remain, with a
   * `remove` of each member that left (nodes of versions before leave records read that).
   * One at a time; does nothing when no rotation is due or another admin is designated.
   */
  async rotateAfterLeave (circle: string): Promise<boolean> {
    const run = this.#rotating.then(async () => {
      const s = this.#c.circles.get(circle)
      if (s === undefined || rotator(s) !== this.#c.key.publicKeyHex) return false
      const next = randomBytes(SECRETBOX_KEY_BYTES)
      const sealed: Record<string, string> = {}
      for (const m of currentMembers(s)) sealed[m.key] = this.#c.box.seal(m.key, next)
      const removes = s.rekey.map(k => s.members.get(k)!).filter(hasLeft).map(m => item({ kind: 'member', op: 'remove', key: m.key, upTo: m.removed!.upTo }))
      await this.#publishControl(circle, [...removes, item({ kind: 'key', epoch: s.epoch + 1, sealed })])
      return true
    })
    this.#rotating = run.catch(() => {})
    return await run
  }

  /** announce where this node can be dialled, when that changed */
  async announceAddresses (circle: string, addrs: string[]): Promise<void> {
    const s = this.#c.circles.require(circle)
    const me = s.members.get(this.#c.key.publicKeyHex)!
    if (me.addrs.length === addrs.length && me.addrs.every((a, i) => a === addrs[i])) return
    await this.#publishControl(circle, [item({ kind: 'address', addrs })])
  }

  /** a one-time invite code to `circle`, valid for `ttlMs` */
  async createInvite (circle: string, ttlMs: number, org: string, addrs: string[]): Promise<{ code: string, expires: string }> {
    const s = this.#requireAdmin(circle)
    const expires = new Date(Date.now() + ttlMs).toISOString()
    const { code, invite } = makeInvite(this.#c.key, { circle, name: s.name, org, addrs, expires })
    await this.#c.ingest.createInvite(inviteSecretHash(invite.secret), { circle, expires })
    await this.#c.circles.refreshOpenInvites()
    return { code, expires }
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
      if (!isCurrentMember(this.#c.circles.require(circle), joiner)) await this.addMember(circle, joiner, org)
      await this.#c.circles.refreshOpenInvites()
      return await this.#c.circles.controlEntries(circle)
    })
    this.#redeeming = run.catch(() => {})
    return await run
  }

  #requireAdmin (circle: string): CircleState {
    const s = this.#c.circles.require(circle)
    if (!isAdmin(s, this.#c.key.publicKeyHex)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `this node is not an admin of circle ${circle}`)
    return s
  }

  async #publishControl (circle: string, items: Item[]): Promise<void> {
    await this.#c.ingest.publish([{ circle: membershipLogOf(circle), tlp: MEMBERSHIP_LOG_LABEL, items }])
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
