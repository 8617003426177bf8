/**
 * `/phalanx/notice/1.0.0`: a membership change told directly to the org it is about, which
 * gossip and the membership log pull cannot reach once the change is folded (the members hang
 * up a removed org, and a node that left hangs up the members):
 * - a removal: a current admin's node sends the removed org the signed control entries that
 *   remove it (first the removing entry alone, then, if that does not fold there, the log up
 *   to it in this node's order);
 * - a leave: the node that left sends its signed leave entry (then the log up to it) to the
 *   members, one at a time, until one has applied it (the others get it from that one).
 *
 * Guarantees (server): only from a current member of a circle this node is in (in this node's
 * state before the notice); every entry goes through ingest, which verifies its signature and
 * folds it by the membership rules of this node's state: a notice a member forged (a remove
 * it signed without being an admin) changes nothing. At most NOTICE_MAX_ENTRIES entries of
 * that one circle's membership log per request. (Client): a notice is retried with backoff
 * (NOTICE_BACKOFF_BASE_MS doubling to NOTICE_BACKOFF_MAX_MS) until it is applied there, for
 * NOTICE_MAX_AGE_MS after the change at most; what was delivered is kept in memory only (a
 * restart sends it again, which the receiver takes as a duplicate).
 */
import type { Logger } from 'pino'
import { PhalanxError, ValidationError } from '../../errors.js'
import { applyControlEntry, circleOfLog, hasLeft, isAdmin, isMembershipLog, type CircleManager, type CircleState, type Member } from '../../circles/index.js'
import type { Entry } from '../../records/index.js'
import type { Ingest } from '../../store/index.js'
import { circleForMember } from './authorize.js'
import { MAX_REQUEST_FRAME, type RequestHandler } from './framing.js'
import type { Requester } from './request.js'

export const NOTICE_PROTOCOL = '/phalanx/notice/1.0.0'
/** concurrent inbound streams of this protocol per connection (one notice at a time is the norm) */
export const NOTICE_MAX_INBOUND_STREAMS = 2
/** entries in one notice at most (a membership log is tens of entries; the frame bounds bytes) */
export const NOTICE_MAX_ENTRIES = 256
/** a notice is sent for this long after the change at most: an org offline longer learns at its next contact with an admin it is not told */
export const NOTICE_MAX_AGE_MS = 7 * 86_400_000
/** the wait before a second attempt to the same org … */
export const NOTICE_BACKOFF_BASE_MS = 2000
/** … doubling up to this */
export const NOTICE_BACKOFF_MAX_MS = 60_000
/** a request's entries take at most this many bytes of JSON (the request frame is MAX_REQUEST_FRAME) */
const NOTICE_CHUNK_BYTES = MAX_REQUEST_FRAME - 4096

export interface NoticeReply {
  /** the receiver is still a current member of the circle */
  member: boolean
  /** the sender is still a current member in the receiver's state */
  senderMember: boolean
}

export interface NoticeHandlerComponents {
  circles: Pick<CircleManager, 'get' | 'mine'>
  ingest: Pick<Ingest, 'ingest'>
  /** this node's org key */
  self: string
  log: Logger
}

export function noticeHandler (c: NoticeHandlerComponents): RequestHandler {
  return async (req, key) => {
    const s = circleForMember(c.circles, req?.circle, key)
    const entries: unknown = req.entries
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > NOTICE_MAX_ENTRIES) throw new ValidationError('entries', `a notice holds 1 to ${NOTICE_MAX_ENTRIES} entries`)
    for (const e of entries) {
      const ec = (e as { circle?: unknown })?.circle
      if (typeof ec !== 'string' || !isMembershipLog(ec) || circleOfLog(ec) !== s.id) throw new ValidationError('entries', 'a notice holds entries of the circle\'s membership log only')
    }
    for (const e of entries) {
      try {
        await c.ingest.ingest(e, 'notice')
      } catch (err) {
        // a duplicate, or an entry the rules refuse (a forged removal): it changes nothing
        c.log.debug({ circle: s.id, from: key.slice(0, 16), code: (err as PhalanxError).code, message: (err as Error).message }, 'notice entry not applied')
      }
    }
    const now = c.circles.get(s.id)
    return { member: now?.members.get(c.self)?.removed === undefined, senderMember: now?.members.get(key)?.removed === undefined } satisfies NoticeReply
  }
}

export interface NoticeDeliveryComponents {
  circles: Pick<CircleManager, 'all' | 'controlEntries'>
  requester: Pick<Requester, 'toAddrs'>
  self: string
  log: Logger
  signal: AbortSignal
}

interface Notice {
  /** done-set key: per removed org, or per leave */
  id: string
  circle: CircleState
  /** the member the change is about */
  about: Member
  /** the orgs to tell, in turn (a removal: the removed org; a leave: the members) */
  to: Member[]
}

/**
 * Sends removal and leave notices (see the file comment): `deliver()` runs at each dial tick
 * and after a membership change.
 */
export class NoticeDelivery {
  readonly #c: NoticeDeliveryComponents
  /** notices applied at their receiver (since this process started) */
  readonly #done = new Set<string>()
  /** org key → next attempt and the current wait */
  readonly #backoff = new Map<string, { next: number, delay: number }>()
  #running = false

  constructor (c: NoticeDeliveryComponents) {
    this.#c = c
  }

  /** the notices still to deliver: removals this node (a current admin) knows of, and its own leaves */
  due (now = Date.now()): Notice[] {
    const out: Notice[] = []
    for (const s of this.#c.circles.all()) {
      const me = s.members.get(this.#c.self)
      if (me === undefined) continue
      const recent = (m: Member): boolean => m.removed !== undefined && now - Date.parse(m.removed.at) < NOTICE_MAX_AGE_MS
      if (isAdmin(s, this.#c.self)) {
        for (const m of s.members.values()) {
          if (m.removed === undefined || hasLeft(m) || !recent(m) || m.addrs.length === 0) continue
          const id = `${s.id}\0removed\0${m.key}\0${m.removed.at}`
          if (!this.#done.has(id)) out.push({ id, circle: s, about: m, to: [m] })
        }
      } else if (me.removed !== undefined && hasLeft(me) && recent(me)) {
        const id = `${s.id}\0left\0${me.removed.at}`
        const to = [...s.members.values()].filter(m => m.removed === undefined && m.addrs.length > 0)
        if (!this.#done.has(id) && to.length > 0) out.push({ id, circle: s, about: me, to })
      }
    }
    return out
  }

  /** one pass over the due notices (none while the last pass runs) */
  async deliver (): Promise<void> {
    if (this.#running || this.#c.signal.aborted) return
    this.#running = true
    try {
      for (const n of this.due()) {
        for (const to of n.to) {
          if (this.#c.signal.aborted) return
          const b = this.#backoff.get(to.key)
          const now = Date.now()
          if (b !== undefined && b.next > now) continue
          try {
            if (await this.#send(n, to)) {
              this.#done.add(n.id)
              this.#backoff.delete(to.key)
              this.#c.log.info({ circle: n.circle.id, to: to.key.slice(0, 16), about: n.about.key.slice(0, 16) }, hasLeft(n.about) ? 'leave told to a member' : 'removal told to the removed org')
              break
            }
          } catch (err) {
            this.#c.log.debug({ circle: n.circle.id, to: to.key.slice(0, 16), err: (err as Error).message }, 'notice not delivered; backing off')
          }
          const delay = Math.min((b?.delay ?? NOTICE_BACKOFF_BASE_MS / 2) * 2, NOTICE_BACKOFF_MAX_MS)
          this.#backoff.set(to.key, { next: now + delay, delay })
        }
      }
    } finally {
      this.#running = false
    }
  }

  /** tell `to`: the changing entry alone, then the log up to it; true once applied there */
  async #send (n: Notice, to: Member): Promise<boolean> {
    const prefix = await this.#prefix(n)
    if (prefix.length === 0) return false
    const applied = (r: NoticeReply): boolean => hasLeft(n.about) ? r.senderMember === false : r.member === false
    const ask = async (entries: Entry[]): Promise<NoticeReply | 'known'> => {
      try {
        return await this.#c.requester.toAddrs(to.key, to.addrs, NOTICE_PROTOCOL, { circle: n.circle.id, entries }) as NoticeReply
      } catch (err) {
        // it no longer takes notices from this node about this circle: it knows already (or left)
        if (err instanceof PhalanxError && (err.code === 'PX_ERR_NOT_MEMBER' || err.code === 'PX_ERR_UNKNOWN_CIRCLE')) return 'known'
        throw err
      }
    }
    const first = await ask(prefix.slice(-1))
    if (first === 'known' || applied(first)) return true
    let last: NoticeReply | 'known' = first
    for (const chunk of chunks(prefix)) {
      last = await ask(chunk)
      if (last === 'known') return true
    }
    return applied(last)
  }

  /** this circle's membership log in this node's order, up to the entry that removed (or let leave) `about` */
  async #prefix (n: Notice): Promise<Entry[]> {
    const entries = await this.#c.circles.controlEntries(n.circle.id)
    const want = n.about.removed!
    let s: CircleState | undefined
    for (let i = 0; i < entries.length; i++) {
      try { s = applyControlEntry(s, entries[i]) } catch { continue }
      const r = s.members.get(n.about.key)?.removed
      if (r !== undefined && r.at === want.at && r.by === want.by) return entries.slice(0, i + 1)
    }
    return []
  }
}

/** entries in requests of at most NOTICE_MAX_ENTRIES entries and about NOTICE_CHUNK_BYTES of JSON */
function chunks (entries: Entry[]): Entry[][] {
  const out: Entry[][] = []
  let cur: Entry[] = []
  let bytes = 0
  for (const e of entries) {
    const size = Buffer.byteLength(JSON.stringify(e))
    if (cur.length > 0 && (bytes + size > NOTICE_CHUNK_BYTES || cur.length >= NOTICE_MAX_ENTRIES)) { out.push(cur); cur = []; bytes = 0 }
    cur.push(e)
    bytes += size
  }
  if (cur.length > 0) out.push(cur)
  return out
}
