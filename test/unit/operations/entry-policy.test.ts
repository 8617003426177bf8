/**
 * `nodeEntryPolicy` by log kind (src/operations/entry-policy.ts). ownEntriesOnlyPolicy and the
 * private scope are covered in test/unit/node/own-entries.test.ts; here: the RED route (only
 * delivered directly, source 'red'; only into this node's own recipient log; only from an org
 * it shares a circle with; RED-labelled only), this node's own entries in a recipient log, and
 * that a circle's logs are the circles' decision, asked at check time. `circles` is a small
 * object in place of the CircleManager (its `check` and `peerKeys`); entries are really signed.
 */
import { describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { LOCAL_CIRCLE, makeIndicatorItem, redLogOf, type Entry } from '../../../src/records/index.js'
import { nodeEntryPolicy } from '../../../src/operations/index.js'
import type { CircleManager } from '../../../src/circles/index.js'
import type { Tlp } from '../../../src/tlp/index.js'
import { RemoteLog, openStore, randomKey } from '../../utils/store.js'

type PolicyCircles = Pick<CircleManager, 'check' | 'peerKeys'>

const me = randomKey()
const peer = randomKey()
const stranger = randomKey()
const RED_ONLY_DIRECT = 'a RED entry is accepted only from its origin, delivered directly to its recipient'

/** the circles as the policy sees them: these peers; `check` records what it was asked */
function circlesWith (peers: string[], refuse?: PhalanxError): PolicyCircles & { asked: Array<[string, string, boolean | undefined]> } {
  const asked: Array<[string, string, boolean | undefined]> = []
  return {
    asked,
    check (entry: Entry, source: string, unreadable?: boolean) {
      asked.push([entry.circle, source, unreadable])
      if (refuse !== undefined) throw refuse
    },
    peerKeys: () => new Set(peers)
  }
}

/** a signed entry of `key` in `log` at `tlp` */
function entryOf (key: typeof me, log: string, tlp: Tlp = 'RED'): Entry {
  return new RemoteLog(key, log).next([makeIndicatorItem({ type: 'domain', value: 'policy.example', confidence: 60, tags: [] })], { tlp })
}

/** how `check` ended: 'accepted', or 'CODE field: message' */
function outcome (fn: () => void): string {
  try { fn() } catch (err) {
    if (!(err instanceof PhalanxError)) throw err
    return `${err.code} ${err.field ?? '-'}: ${err.message}`
  }
  return 'accepted'
}

describe('nodeEntryPolicy: RED from another organization', () => {
  const circles = circlesWith([peer.publicKeyHex])
  const policy = nodeEntryPolicy(me.publicKeyHex, () => circles)
  const toMe = redLogOf(me.publicKeyHex)

  it('is accepted delivered directly (source "red") into this node\'s recipient log from an org it shares a circle with', () => {
    expect(outcome(() => { policy.check(entryOf(peer, toMe), 'red') })).toBe('accepted')
    // a recipient log is not a circle's: the circles' check is not asked
    expect(circles.asked).toEqual([])
  })

  it('is refused from any other source (sync, gossip, a file, a relay): PX_ERR_TLP_VIOLATION on circle', () => {
    for (const source of ['sync', 'gossip', 'remote', 'local', 'import']) {
      expect({ source, out: outcome(() => { policy.check(entryOf(peer, toMe), source) }) }).toEqual({ source, out: `PX_ERR_TLP_VIOLATION circle: ${RED_ONLY_DIRECT}` })
    }
  })

  it('is refused for another recipient\'s log, even delivered directly', () => {
    expect(outcome(() => { policy.check(entryOf(peer, redLogOf(stranger.publicKeyHex)), 'red') })).toBe(`PX_ERR_TLP_VIOLATION circle: ${RED_ONLY_DIRECT}`)
    expect(outcome(() => { policy.check(entryOf(peer, redLogOf(peer.publicKeyHex)), 'red') })).toBe(`PX_ERR_TLP_VIOLATION circle: ${RED_ONLY_DIRECT}`)
  })

  it('a recipient log carries RED only: another label delivered directly is PX_ERR_TLP_VIOLATION on tlp', () => {
    for (const tlp of ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const) {
      expect({ tlp, out: outcome(() => { policy.check(entryOf(peer, toMe, tlp), 'red') }) }).toEqual({ tlp, out: 'PX_ERR_TLP_VIOLATION tlp: a recipient log carries TLP:RED only' })
    }
  })

  it('from an org that shares no circle with this node: PX_ERR_NOT_MEMBER', () => {
    expect(outcome(() => { policy.check(entryOf(stranger, toMe), 'red') })).toBe(`PX_ERR_NOT_MEMBER -: origin ${stranger.publicKeyHex.slice(0, 16)}… shares no circle with this node`)
  })

  it('asks the circles who the peers are at each check: an org no longer in a shared circle is refused from then on', () => {
    const peers = [peer.publicKeyHex]
    const live: PolicyCircles = { check () {}, peerKeys: () => new Set(peers) }
    const p = nodeEntryPolicy(me.publicKeyHex, () => live)
    expect(outcome(() => { p.check(entryOf(peer, toMe), 'red') })).toBe('accepted')
    peers.length = 0
    expect(outcome(() => { p.check(entryOf(peer, toMe), 'red') })).toMatch(/^PX_ERR_NOT_MEMBER /)
  })
})

describe('nodeEntryPolicy: this node\'s own entries in a recipient log', () => {
  it('are accepted from any source (its own RED to a recipient, re-imported or synced back)', () => {
    const policy = nodeEntryPolicy(me.publicKeyHex, () => circlesWith([]))
    for (const source of ['red', 'sync', 'gossip', 'import']) {
      expect({ source, out: outcome(() => { policy.check(entryOf(me, redLogOf(peer.publicKeyHex)), source) }) }).toEqual({ source, out: 'accepted' })
    }
  })
})

describe('nodeEntryPolicy: the other log kinds', () => {
  it('the private scope takes this node\'s own entries only, without asking the circles', () => {
    const circles = circlesWith([peer.publicKeyHex])
    const policy = nodeEntryPolicy(me.publicKeyHex, () => circles)
    expect(outcome(() => { policy.check(entryOf(me, LOCAL_CIRCLE, 'AMBER'), 'sync') })).toBe('accepted')
    expect(outcome(() => { policy.check(entryOf(peer, LOCAL_CIRCLE, 'AMBER'), 'sync') })).toBe('PX_ERR_FORBIDDEN circle: entries of another origin\'s private scope are never accepted')
    expect(circles.asked).toEqual([])
  })

  it('a circle\'s data and membership logs are the circles\' decision: asked with the entry, source and unreadable flag; a refusal passes through', () => {
    const circles = circlesWith([])
    const policy = nodeEntryPolicy(me.publicKeyHex, () => circles)
    policy.check(entryOf(peer, 'c-data', 'GREEN'), 'gossip')
    policy.check(entryOf(me, 'c-data', 'AMBER'), 'sync', true)
    policy.check(entryOf(peer, 'c-data:members', 'AMBER'), 'sync', false)
    expect(circles.asked).toEqual([['c-data', 'gossip', undefined], ['c-data', 'sync', true], ['c-data:members', 'sync', false]])
    const refusing = nodeEntryPolicy(me.publicKeyHex, () => circlesWith([], new PhalanxError('PX_ERR_NOT_MEMBER', 'not a member of c-data')))
    expect(outcome(() => { refusing.check(entryOf(peer, 'c-data', 'GREEN'), 'gossip') })).toBe('PX_ERR_NOT_MEMBER -: not a member of c-data')
  })

  it('the circles are asked for when an entry is checked, not when the policy is made (they are built after Ingest)', () => {
    let circles: PolicyCircles | undefined
    const policy = nodeEntryPolicy(me.publicKeyHex, () => {
      if (circles === undefined) throw new Error('circles asked for before they exist')
      return circles
    })
    // an entry that needs no circles is checked before they exist
    expect(outcome(() => { policy.check(entryOf(me, LOCAL_CIRCLE, 'GREEN'), 'sync') })).toBe('accepted')
    circles = circlesWith([peer.publicKeyHex])
    expect(outcome(() => { policy.check(entryOf(peer, redLogOf(me.publicKeyHex)), 'red') })).toBe('accepted')
  })
})

describe('nodeEntryPolicy: the last gate of what this node signs (checkPublish)', () => {
  it('a label that does not fit its log is refused whichever use case built the batch: RED in a circle\'s data log, not-RED in a recipient log, a membership log not at its label', () => {
    const policy = nodeEntryPolicy(me.publicKeyHex, () => circlesWith([peer.publicKeyHex]))
    const publish = (circle: string, tlp: Tlp): string => outcome(() => { policy.checkPublish!({ circle, tlp }) })
    expect(publish('c-data', 'RED')).toBe('PX_ERR_TLP_VIOLATION tlp: RED never enters a circle log: it goes to named recipients only')
    expect(publish(redLogOf(peer.publicKeyHex), 'AMBER')).toBe('PX_ERR_TLP_VIOLATION tlp: a recipient log carries TLP:RED only')
    expect(publish('c-data:members', 'GREEN')).toMatch(/^PX_ERR_TLP_VIOLATION tlp: a membership log entry is /)
    for (const tlp of ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as Tlp[]) expect(publish('c-data', tlp)).toBe('accepted')
    for (const tlp of ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'] as Tlp[]) expect(publish(LOCAL_CIRCLE, tlp)).toBe('accepted')
    expect(publish(redLogOf(peer.publicKeyHex), 'RED')).toBe('accepted')
  })

  it('Ingest.publish asks it before signing: a RED batch into a circle log is refused and nothing is stored', async () => {
    const h = await openStore({ key: me, policy: nodeEntryPolicy(me.publicKeyHex, () => circlesWith([peer.publicKeyHex])) })
    try {
      const item = makeIndicatorItem({ type: 'domain', value: 'gate.example', confidence: 60, tags: [] })
      const err = await h.ingest.publish([{ circle: 'c-data', tlp: 'RED', items: [item] }]).then(() => null, (e: unknown) => e)
      expect(err).toBeInstanceOf(PhalanxError)
      expect({ code: (err as PhalanxError).code, field: (err as PhalanxError).field }).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      expect(h.store.counts().entries).toBe(0)
      expect((await h.ingest.publish([{ circle: 'c-data', tlp: 'AMBER', items: [item] }])).entries).toHaveLength(1)
    } finally { await h.close() }
  })
})
