/**
 * What each kind of log accepts, for Ingest (which asks before it stores any entry, local or
 * remote): the private scope takes only this node's own entries; a recipient log only RED
 * delivered directly to this node by an org it shares a circle with (the TLP policy decides
 * the route); a circle's logs what its membership log allows (src/circles).
 */
import { PhalanxError } from '../errors.js'
import { LOCAL_CIRCLE, isRedLog, redLogOf, type Entry } from '../records/index.js'
import { entryLabelViolation, redDeliveryViolation, refuse } from '../tlp/index.js'
import { isMembershipLog, type CircleManager } from '../circles/index.js'
import type { EntryPolicy } from '../store/index.js'

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

/** the node's entry policy: by log kind; `circles` is asked at check time (it is built after Ingest) */
export function nodeEntryPolicy (ownKey: string, circles: () => Pick<CircleManager, 'check' | 'peerKeys'>): EntryPolicy {
  const own = ownEntriesOnlyPolicy(ownKey)
  return {
    check: (entry, source, unreadable) => {
      if (entry.circle === LOCAL_CIRCLE) own.check(entry, source)
      else if (isRedLog(entry.circle)) checkRed(entry, source)
      else circles().check(entry, source, unreadable)
    },
    // the membership logs are folded in order (circles/state.ts): a gap there waits (bounded,
    // p2p/gossip/pending.ts); RED entries come acknowledged and in order from their outbox
    inOrder: (log) => isMembershipLog(log) || isRedLog(log),
    // what this node signs fits its log as a receiver would judge it: RED only in a recipient
    // log, a membership log at its label, no RED in a circle's data log
    checkPublish: ({ circle, tlp }) => {
      const kind = circle === LOCAL_CIRCLE ? 'local' : isRedLog(circle) ? 'red' : isMembershipLog(circle) ? 'membership' : 'circle'
      refuse(entryLabelViolation(kind, tlp))
    }
  }

  /** a RED entry is accepted only delivered directly, for this node, from an org it shares a circle with */
  function checkRed (entry: Entry, source: string): void {
    if (entry.origin === ownKey) {
      own.check(entry, source)
      return
    }
    refuse(redDeliveryViolation({ direct: source === 'red', toMe: entry.circle === redLogOf(ownKey), tlp: entry.tlp }))
    if (!circles().peerKeys().has(entry.origin)) throw new PhalanxError('PX_ERR_NOT_MEMBER', `origin ${entry.origin.slice(0, 16)}… shares no circle with this node`)
  }
}
