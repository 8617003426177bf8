/**
 * A circle's membership, folded from its control entries (DESIGN §1): the founder's genesis
 * entry, then `member`, `key` and `address` records. Pure: no I/O, no clock. Every node runs
 * the same fold over the same signed entries and so agrees on who is a member, who is an
 * admin, and which circle-key epoch is current.
 */
import { PhalanxError, ValidationError } from '../errors.js'
import type { ControlItem, Entry, MemberRole } from '../records/index.js'
import { isControlItem } from '../records/index.js'
import { entryLabelViolation, isTlp } from '../tlp/index.js'

/** a circle's membership log is a log of its own: `<circle>:members` (no gaps among data) */
export const MEMBERSHIP_SUFFIX = ':members'

export function membershipLogOf (circle: string): string { return circle + MEMBERSHIP_SUFFIX }

export function isMembershipLog (circle: string): boolean { return circle.endsWith(MEMBERSHIP_SUFFIX) }

/** the circle a log belongs to: itself, or the circle of a membership log */
export function circleOfLog (circle: string): string {
  return isMembershipLog(circle) ? circle.slice(0, -MEMBERSHIP_SUFFIX.length) : circle
}

export interface Member {
  key: string
  org: string
  role: MemberRole
  addedBy: string
  addedAt: string
  /** set once removed (or left: `by` is the member itself); entries of its log up to `upTo` still stand */
  removed?: { at: string, by: string, upTo: number }
  /** the multiaddrs it announced last */
  addrs: string[]
}

export interface SealedKey {
  /** the admin that sealed it (the box's sender) */
  by: string
  sealed: string
}

export interface CircleState {
  id: string
  name: string
  founder: string
  created: string
  members: Map<string, Member>
  /** epoch → member key → the circle key of that epoch sealed to that member */
  keys: Map<number, Map<string, SealedKey>>
  /** the current (highest) key epoch */
  epoch: number
  /** control entries folded so far */
  entries: number
  /**
   * members that left since the last key rotation: the circle key must rotate (an admin's node
   * does it, `rotator`), as on a removal
   */
  rekey: string[]
}

export function isCurrentMember (s: CircleState, key: string): boolean {
  const m = s.members.get(key)
  return m !== undefined && m.removed === undefined
}

export function isAdmin (s: CircleState, key: string): boolean {
  const m = s.members.get(key)
  return m !== undefined && m.removed === undefined && m.role === 'admin'
}

/** did the member leave by itself (a `leave` record), rather than being removed by an admin? */
export function hasLeft (m: Member): boolean {
  return m.removed !== undefined && m.removed.by === m.key
}

/**
 * The admin whose node rotates the circle key after a leave: the current admin with the
 * lowest public key. One designated admin, not every admin: two rotations of one epoch made
 * concurrently by two admins would leave members holding different keys for it. Undefined
 * when no rotation is due.
 */
export function rotator (s: CircleState): string | undefined {
  if (s.rekey.length === 0) return undefined
  return currentMembers(s).filter(m => m.role === 'admin').map(m => m.key).sort()[0]
}

export function currentMembers (s: CircleState): Member[] {
  return [...s.members.values()].filter(m => m.removed === undefined)
}

function cloneState (s: CircleState): CircleState {
  return {
    ...s,
    members: new Map([...s.members].map(([k, m]) => [k, { ...m, addrs: [...m.addrs] }])),
    keys: new Map([...s.keys].map(([e, m]) => [e, new Map(m)])),
    rekey: [...s.rekey]
  }
}

function notMember (message: string): PhalanxError {
  return new PhalanxError('PX_ERR_NOT_MEMBER', message)
}

/**
 * Fold one control entry into the state (undefined before the genesis). Returns the new
 * state; throws, leaving `state` untouched, when the entry breaks a rule.
 */
export function applyControlEntry (state: CircleState | undefined, entry: Entry): CircleState {
  const items = entry.items
  if (!isMembershipLog(entry.circle)) throw new ValidationError('circle', 'membership records go to the circle\'s membership log')
  if (items.length === 0 || !items.every(isControlItem)) throw new ValidationError('items', 'a membership log entry holds only circle, member, key, address, leave and rename records')
  const circle = circleOfLog(entry.circle)
  const control = items as ControlItem[]
  let s: CircleState
  let rest: ControlItem[]
  if (control[0].kind === 'circle') {
    if (state !== undefined) throw new ValidationError('items[0]', `circle ${circle} already has a genesis`)
    if (entry.seq !== 1) throw new ValidationError('seq', 'the genesis is the first entry of its founder\'s log')
    const self = control[1]
    if (self?.kind !== 'member' || self.op !== 'add' || self.key !== entry.origin || self.role !== 'admin') {
      throw new ValidationError('items[1]', 'the genesis adds its founder as the first admin')
    }
    s = {
      id: circle,
      name: control[0].name,
      founder: entry.origin,
      created: entry.created,
      members: new Map([[entry.origin, { key: entry.origin, org: self.org ?? '', role: 'admin', addedBy: entry.origin, addedAt: entry.created, addrs: [] }]]),
      keys: new Map(),
      epoch: 0,
      entries: 0,
      rekey: []
    }
    rest = control.slice(2)
  } else {
    if (state === undefined) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `circle ${circle} is not known here (no genesis)`)
    s = cloneState(state)
    rest = control
  }
  rest.forEach((item, i) => {
    const at = `items[${items.length - rest.length + i}]`
    switch (item.kind) {
      case 'circle':
        throw new ValidationError(at, 'only the first record of the genesis names the circle')
      case 'member': {
        if (!isAdmin(s, entry.origin)) throw notMember(`${entry.origin.slice(0, 16)}… is not an admin of circle ${circle}`)
        const m = s.members.get(item.key)
        if (item.op === 'add') {
          if (m !== undefined && m.removed === undefined) throw new ValidationError(at, `${item.key.slice(0, 16)}… is already a member`)
          s.members.set(item.key, { key: item.key, org: item.org ?? m?.org ?? '', role: item.role!, addedBy: entry.origin, addedAt: entry.created, addrs: m?.addrs ?? [] })
          s.rekey = s.rekey.filter(k => k !== item.key)
        } else if (item.op === 'remove') {
          // the rotation after a leave also removes the member that left (nodes before leave
          // records read the removal): the leave stands as it is
          if (m !== undefined && hasLeft(m)) break
          if (m === undefined || m.removed !== undefined) throw new ValidationError(at, `${item.key.slice(0, 16)}… is not a member`)
          if (m.role === 'admin' && currentMembers(s).filter(x => x.role === 'admin').length === 1) throw new ValidationError(at, 'the last admin cannot be removed')
          m.removed = { at: entry.created, by: entry.origin, upTo: item.upTo ?? 0 }
        } else {
          if (m === undefined || m.removed !== undefined) throw new ValidationError(at, `${item.key.slice(0, 16)}… is not a member`)
          if (m.role === 'admin' && item.role !== 'admin' && currentMembers(s).filter(x => x.role === 'admin').length === 1) throw new ValidationError(at, 'the last admin cannot step down')
          m.role = item.role!
        }
        break
      }
      case 'key': {
        if (!isAdmin(s, entry.origin)) throw notMember(`${entry.origin.slice(0, 16)}… is not an admin of circle ${circle}`)
        if (item.epoch < s.epoch) throw new ValidationError(`${at}.epoch`, `epoch ${item.epoch} is older than the current ${s.epoch}`)
        if (item.epoch > s.epoch + 1) throw new ValidationError(`${at}.epoch`, `epoch ${item.epoch} skips epoch ${s.epoch + 1}`)
        for (const k of Object.keys(item.sealed)) {
          if (!isCurrentMember(s, k)) throw new ValidationError(`${at}.sealed`, `${k.slice(0, 16)}… is not a member`)
        }
        if (item.epoch > s.epoch) {
          // a rotation: every current member gets the new key
          const missing = currentMembers(s).filter(m => item.sealed[m.key] === undefined)
          if (missing.length > 0) throw new ValidationError(`${at}.sealed`, `a new epoch is sealed to every member; ${missing.length} missing`)
          s.epoch = item.epoch
          s.rekey = []
        }
        let byMember = s.keys.get(item.epoch)
        if (byMember === undefined) s.keys.set(item.epoch, byMember = new Map())
        for (const [k, sealed] of Object.entries(item.sealed)) byMember.set(k, { by: entry.origin, sealed })
        break
      }
      case 'address': {
        const m = s.members.get(entry.origin)
        if (m === undefined || m.removed !== undefined) throw notMember(`${entry.origin.slice(0, 16)}… is not a member of circle ${circle}`)
        m.addrs = [...item.addrs]
        break
      }
      case 'leave': {
        const m = s.members.get(entry.origin)
        if (m === undefined || m.removed !== undefined) throw notMember(`${entry.origin.slice(0, 16)}… is not a member of circle ${circle}`)
        const admins = currentMembers(s).filter(x => x.role === 'admin')
        if (m.role === 'admin' && admins.length === 1 && currentMembers(s).length > 1) {
          throw new ValidationError(at, 'the last admin cannot leave while other members remain: make another member an admin first')
        }
        m.removed = { at: entry.created, by: entry.origin, upTo: item.upTo }
        if (currentMembers(s).length > 0) s.rekey.push(entry.origin)
        break
      }
      case 'rename': {
        if (!isAdmin(s, entry.origin)) throw notMember(`${entry.origin.slice(0, 16)}… is not an admin of circle ${circle}`)
        const m = s.members.get(item.key)
        if (m === undefined || m.removed !== undefined) throw new ValidationError(`${at}.key`, `${item.key.slice(0, 16)}… is not a member`)
        m.org = item.org
        break
      }
    }
  })
  if (s.epoch === 0) throw new ValidationError('items', 'the genesis seals the first circle key (epoch 1) to its founder')
  s.entries++
  return s
}

/**
 * May `entry` (a data entry: indicators, revokes, sightings, relabels) enter this circle?
 * Its origin must be a current member, or a removed one whose entry precedes its removal.
 */
export function checkDataEntry (s: CircleState, entry: Entry): void {
  if (entry.circle !== s.id) throw new ValidationError('circle', `entry of ${entry.circle}, not ${s.id}`)
  const bad = entry.items.findIndex(isControlItem)
  if (bad >= 0) throw new ValidationError(`items[${bad}]`, 'membership records go to the circle\'s membership log, not among indicators')
  const m = s.members.get(entry.origin)
  if (m === undefined) throw notMember(`origin ${entry.origin.slice(0, 16)}… is not a member of circle ${entry.circle}`)
  if (m.removed !== undefined && entry.seq > m.removed.upTo) {
    throw notMember(`origin ${entry.origin.slice(0, 16)}… was removed from circle ${entry.circle} (its entries after seq ${m.removed.upTo} are refused)`)
  }
}

/**
 * The gossip validator's pre-check, before an entry's signature is verified or anything is
 * stored: may `origin` write entry `seq` to `log` of this circle at all? A data log takes a
 * member's entries, a removed member's only up to its removal; a membership log only a current
 * member's (every control record needs one). Cheap and pure: the full rules (checkDataEntry,
 * applyControlEntry) still run in ingest for every entry, whatever path it came by. Returns
 * the refusal, or null; a genesis (no state yet) is left to ingest.
 */
export function originViolation (s: CircleState | undefined, log: string, origin: string, seq: number): PhalanxError | null {
  if (s === undefined) return isMembershipLog(log) ? null : new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `circle ${log} is not known here`, { field: 'circle' })
  const m = s.members.get(origin)
  if (m === undefined) return notMember(`origin ${origin.slice(0, 16)}… is not a member of circle ${s.id}`)
  if (m.removed === undefined) return null
  if (isMembershipLog(log)) return notMember(`origin ${origin.slice(0, 16)}… was removed from circle ${s.id}`)
  return seq > m.removed.upTo ? notMember(`origin ${origin.slice(0, 16)}… was removed from circle ${s.id} (its entries after seq ${m.removed.upTo} are refused)`) : null
}

/** the fields of a received entry the pre-check reads, not yet validated */
export interface ReceivedEntryFields { circle: string, origin?: unknown, seq?: unknown, tlp?: unknown }

/**
 * The gossip validator's pre-check of an entry not yet verified (`s`: the state of the
 * entry's circle, undefined when unknown): is its origin a member that may write to this log
 * (`originViolation`), and does its label fit the log kind (the TLP policy)? Fields of the
 * wrong type are left to ingest's schema check. Returns the refusal, or null.
 */
export function admissionViolation (s: CircleState | undefined, raw: ReceivedEntryFields): PhalanxError | null {
  if (typeof raw.origin !== 'string' || !Number.isSafeInteger(raw.seq) || (raw.seq as number) < 1) return null
  const denied = originViolation(s, raw.circle, raw.origin, raw.seq as number)
  if (denied !== null) return denied
  const label = isTlp(raw.tlp) ? entryLabelViolation(isMembershipLog(raw.circle) ? 'membership' : 'circle', raw.tlp) : null
  return label === null ? null : new PhalanxError('PX_ERR_TLP_VIOLATION', label.message, { field: label.field })
}
