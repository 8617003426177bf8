/**
 * The circles this node knows: their membership state (folded from the control entries in
 * the store, as Ingest stores them), the circle keys this node can open, the entry policy of
 * circle logs, and whether an invite is open. It writes nothing: the admin use cases (create,
 * add, remove with key rotation, role, invites) are src/operations/circle-admin.ts, which
 * publish control entries through the one ingest path.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { PhalanxError } from '../errors.js'
import type { BoxKey, OrgKey } from '../identity/index.js'
import { SECRETBOX_KEY_BYTES, fingerprint } from '../identity/index.js'
import { entryLabelViolation, refuse } from '../tlp/index.js'
import { LOCAL_CIRCLE, type Entry, type MemberRole } from '../records/index.js'
import type { LevelStore, StoredEntry } from '../store/index.js'
import { isOpenInvite } from './invite.js'
import { applyControlEntry, checkDataEntry, circleOfLog, isMembershipLog, membershipLogOf, currentMembers, hasLeft, isCurrentMember, admissionViolation, type CircleState, type ReceivedEntryFields, type Member } from './state.js'

/** the longest delay setTimeout takes */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface CircleManagerComponents {
  store: Pick<LevelStore, 'controlEntries' | 'invites'>
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
  /** removed by itself (a leave record) rather than by an admin */
  left?: true
}

export interface CircleView {
  id: string
  name: string
  founder: string
  created: string
  epoch: number
  role: MemberRole | null
  members: number
  /** this node's place in it: a current member, removed by an admin, or left by itself */
  status: 'member' | 'removed' | 'left'
  /** when removed or left: when, and by whom (the admin's key and fingerprint; this node's own when it left) */
  removed?: { at: string, by: string, byFingerprint: string }
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
  /** circle → digest of the membership log held (controlDigest), until an entry of it is stored */
  readonly #digests = new Map<string, string>()
  /** bumped whenever a membership entry is stored: a digest computed across a bump is not cached */
  #digestGen = 0
  #invitesOpen = false
  #inviteTimer: NodeJS.Timeout | undefined
  #closed = false

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

  /** circles this node was a member of and is no more: removed by an admin, or left */
  former (): CircleState[] {
    return [...this.#circles.values()].filter(s => s.members.get(this.#c.key.publicKeyHex)?.removed !== undefined)
  }

  all (): CircleState[] { return [...this.#circles.values()] }

  /**
   * The refusal for a circle this node was removed from or left, named by id or by name
   * (ignoring case): PX_ERR_NOT_MEMBER saying when and by whom; null when `ref` names none.
   */
  formerError (ref: string): PhalanxError | null {
    const wanted = ref.trim().toLowerCase()
    const s = this.former().find(x => x.id === ref) ?? this.former().find(x => x.name.toLowerCase() === wanted)
    return s === undefined ? null : formerCircleError(s, this.#c.key.publicKeyHex)
  }

  require (circle: string): CircleState {
    const s = this.#circles.get(circle)
    if (s !== undefined && !isCurrentMember(s, this.#c.key.publicKeyHex)) {
      const gone = formerCircleError(s, this.#c.key.publicKeyHex)
      if (gone !== null) throw gone
    }
    if (s === undefined || !isCurrentMember(s, this.#c.key.publicKeyHex)) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `this node is not in circle "${circle}"`, { field: 'circle' })
    return s
  }

  view (s: CircleState): CircleView {
    const me = s.members.get(this.#c.key.publicKeyHex)
    const gone = me?.removed
    return {
      id: s.id,
      name: s.name,
      founder: s.founder,
      created: s.created,
      epoch: s.epoch,
      role: me !== undefined && me.removed === undefined ? me.role : null,
      members: currentMembers(s).length,
      status: me === undefined || gone === undefined ? 'member' : hasLeft(me) ? 'left' : 'removed',
      ...(gone !== undefined ? { removed: { at: gone.at, by: gone.by, byFingerprint: fingerprint(gone.by) } } : {})
    }
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

  /**
   * The gossip validator's pre-check of an entry not yet verified (fields as received): is its
   * origin a member that may write to this log (`originViolation`), and does its label fit
   * the log kind (the TLP policy)? Fields of the wrong type are left to ingest's schema check.
   */
  admit (raw: ReceivedEntryFields): PhalanxError | null {
    return admissionViolation(this.#circles.get(circleOfLog(raw.circle)), raw)
  }

  /** ingest's onStored: fold control entries as they become durable */
  noteStored (stored: StoredEntry[]): void {
    for (const { entry, unknown } of stored) {
      if (entry.circle === LOCAL_CIRCLE || !isMembershipLog(entry.circle)) continue
      const id = circleOfLog(entry.circle)
      // the log served to pullers changed, whether or not this code can fold the entry
      this.#digests.delete(id)
      this.#digestGen++
      if (unknown !== undefined) continue
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

  /** stop the invite expiry timer (the node stops) */
  close (): void {
    this.#closed = true
    clearTimeout(this.#inviteTimer)
  }

  /** is any invite still open (unused, unexpired)? the gater lets unknown peers in then */
  hasOpenInvites (): boolean { return this.#invitesOpen }

  /**
   * Recompute whether any invite is open (after one is created or used, and at start), and
   * arm a timer for the first expiry of those still open: an invite that expires unused closes
   * the door at once, not at the next join or restart.
   */
  async refreshOpenInvites (): Promise<void> {
    const now = new Date().toISOString()
    let next: string | undefined
    for await (const inv of this.#c.store.invites()) {
      if (isOpenInvite(inv, now) && (next === undefined || inv.expires < next)) next = inv.expires
    }
    this.#invitesOpen = next !== undefined
    clearTimeout(this.#inviteTimer)
    this.#inviteTimer = undefined
    if (next === undefined || this.#closed) return
    // setTimeout takes at most 2^31-1 ms (~24.8 days): a later expiry re-arms on the way
    const wait = Math.min(Math.max(0, Date.parse(next) - Date.now()) + 1, MAX_TIMER_MS)
    this.#inviteTimer = setTimeout(() => {
      this.refreshOpenInvites().catch((err) => { if (!this.#closed) this.#log.error({ err }, 'could not recompute the open invites') })
    }, wait).unref()
  }

  /**
   * What this node holds of a circle's membership log, in one value: SHA-256 over the sorted
   * keys (origin and seq) of its entries. Two nodes with the same digest hold the
   * same entries (an origin that signs two entries for one seq is a fork, never both stored),
   * so a membership pull that would bring nothing is answered `same` (protocols/control.ts).
   * Cached until an entry of the log is stored.
   */
  async controlDigest (circle: string): Promise<string> {
    const cached = this.#digests.get(circle)
    if (cached !== undefined) return cached
    const gen = this.#digestGen
    const keys: string[] = []
    for await (const { key } of this.#c.store.controlEntries(membershipLogOf(circle))) keys.push(key)
    // sorted: two nodes that stored the same entries in different orders agree
    const digest = createHash('sha256').update(keys.sort().join('\n')).digest('hex')
    if (gen === this.#digestGen) this.#digests.set(circle, digest)
    return digest
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
}

/**
 * What a user reads about a circle this node is no longer in (removed by an admin, or left):
 * PX_ERR_NOT_MEMBER naming when and by whom; null when `me` is a current member or a stranger.
 */
export function formerCircleError (s: CircleState, me: string): PhalanxError | null {
  const m = s.members.get(me)
  if (m?.removed === undefined) return null
  const how = hasLeft(m) ? 'this node left' : `this node was removed from it by the admin ${fingerprint(m.removed.by)}`
  return new PhalanxError('PX_ERR_NOT_MEMBER', `circle "${s.name}" (${s.id}): ${how} at ${m.removed.at}; it can no longer publish or sync there (what it stored stays)`, { field: 'circle' })
}

export function memberView (m: Member): MemberView {
  return {
    publicKey: m.key,
    org: m.org,
    fingerprint: fingerprint(m.key),
    role: m.role,
    addedAt: m.addedAt,
    addedBy: m.addedBy,
    addrs: m.addrs,
    ...(m.removed !== undefined ? { removed: { at: m.removed.at, by: m.removed.by } } : {}),
    ...(hasLeft(m) ? { left: true as const } : {})
  }
}
