/**
 * The private scope (circle `local`) takes only this node's own entries: `ownEntriesOnlyPolicy`
 * on its own, then through a real node's ingest path (real LevelDB, real signatures), where
 * another organization's correctly signed entry is refused and stores nothing while the node's
 * own re-signed entry is stored; and a RED entry for another recipient is refused too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import { ownEntriesOnlyPolicy } from '../../../src/node.js'
import { LOCAL_CIRCLE, makeIndicatorItem, redLogOf, verifyEntrySignature, type Entry } from '../../../src/records/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

const item = (value: string) => makeIndicatorItem({ type: 'domain', value, confidence: 60, tags: ['own-entries'] })

/** the PhalanxError `fn` throws (fails the test when it throws none, or something else) */
function thrown (fn: () => unknown): PhalanxError {
  try { fn() } catch (err) {
    expect(err).toBeInstanceOf(PhalanxError)
    return err as PhalanxError
  }
  throw new Error('expected a PhalanxError, nothing was thrown')
}

describe('ownEntriesOnlyPolicy', () => {
  const own = randomKey()
  const other = randomKey()
  const policy = ownEntriesOnlyPolicy(own.publicKeyHex)

  it('accepts this node\'s own entry in the private scope, from any source', () => {
    const e = new RemoteLog(own, LOCAL_CIRCLE).next([item('own.local.example')])
    for (const source of ['sync', 'gossip', 'remote']) expect(() => { policy.check(e, source) }).not.toThrow()
  })

  it('refuses another origin\'s entry in the private scope with PX_ERR_FORBIDDEN, naming the private scope', () => {
    const e = new RemoteLog(other, LOCAL_CIRCLE).next([item('other.local.example')])
    for (const source of ['sync', 'gossip']) {
      const err = thrown(() => { policy.check(e, source) })
      expect(err.code).toBe('PX_ERR_FORBIDDEN')
      expect(err.message).toBe('entries of another origin\'s private scope are never accepted')
      expect(err.field).toBe('circle')
    }
  })

  it('refuses another origin\'s entry in a circle it does not know, naming the circle', () => {
    const e = new RemoteLog(other, 'c-unknown').next([item('other.unknown.example')])
    const err = thrown(() => { policy.check(e, 'sync') })
    expect(err.code).toBe('PX_ERR_FORBIDDEN')
    expect(err.message).toBe('unknown circle "c-unknown"')
    expect(err.field).toBe('circle')
  })
})

describe('a real node\'s ingest: the private scope and RED logs', () => {
  let t: TestNode
  beforeAll(async () => { t = await startTestNode() })
  afterAll(async () => { await t?.stop() })

  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try { await p } catch (err) { return err instanceof PhalanxError ? `${err.code}: ${err.message}` : `non-phalanx: ${String(err)}` }
    return 'stored'
  }

  it('refuses another organization\'s correctly signed entry in `local` (sync and gossip) and stores nothing', async () => {
    const other = new RemoteLog(randomKey(), LOCAL_CIRCLE)
    const entry: Entry = other.next([item('intruder.local.example')], { tlp: 'GREEN' })
    // a valid entry: the refusal is the policy's, not the signature's
    expect(verifyEntrySignature(entry)).toBe(true)
    const before = t.node.store.counts()
    for (const source of ['sync', 'gossip']) {
      expect(await codeOf(t.node.ingest.ingest(entry, source))).toBe('PX_ERR_FORBIDDEN: entries of another origin\'s private scope are never accepted')
    }
    expect(t.node.ops.indicators.lookup('intruder.local.example').found).toBe(false)
    expect(t.node.store.head(LOCAL_CIRCLE, other.origin)).toBeUndefined()
    expect(t.node.store.counts()).toEqual(before)
  })

  it('stores the node\'s own entry re-imported into `local`, continuing its log', async () => {
    const pub = await t.api('/v1/indicators', { json: { value: 'published.local.example', tlp: 'AMBER' } })
    expect(pub.status, pub.text).toBe(201)
    const key = t.node.identity.key
    const head = t.node.store.head(LOCAL_CIRCLE, key.publicKeyHex)
    expect(head).toBeDefined()
    // an entry this node signed at the next position of its own private log (a re-import)
    const log = new RemoteLog(key, LOCAL_CIRCLE)
    log.seq = head!.seq
    log.prev = head!.hash
    const entry = log.next([item('reimported.local.example')], { tlp: 'AMBER' })
    const before = t.node.store.counts()
    const r = await t.node.ingest.ingest(entry, 'sync')
    expect(r).toMatchObject({ status: 'stored', circle: LOCAL_CIRCLE, origin: key.publicKeyHex, seq: head!.seq + 1 })
    expect(t.node.ops.indicators.lookup('reimported.local.example').matches[0]).toMatchObject({ origin: key.publicKeyHex, circle: LOCAL_CIRCLE, tlp: 'AMBER' })
    expect(t.node.store.head(LOCAL_CIRCLE, key.publicKeyHex)?.seq).toBe(head!.seq + 1)
    expect(t.node.store.counts()).toMatchObject({ entries: before.entries + 1, indicators: before.indicators + 1 })
  })

  it('refuses a RED entry of a circle member for another recipient\'s log, and stores nothing', async () => {
    // the third organization shares a circle with the node: its RED entries to this node are taken
    const third = randomKey()
    const circle = (await t.api('/v1/circles', { json: { name: 'red peers' } })).body.id as string
    const added = await t.api(`/v1/circles/${circle}/members`, { json: { publicKey: third.publicKeyHex, org: 'Third' } })
    expect(added.status, added.text).toBe(201)
    const elsewhere = randomKey().publicKeyHex
    const forOther = new RemoteLog(third, redLogOf(elsewhere)).next([item('red-for-other.example')], { tlp: 'RED' })
    expect(verifyEntrySignature(forOther)).toBe(true)
    const before = t.node.store.counts()
    for (const source of ['red', 'sync', 'gossip']) {
      expect(await codeOf(t.node.ingest.ingest(forOther, source))).toBe('PX_ERR_TLP_VIOLATION: a RED entry is accepted only from its origin, delivered directly to its recipient')
    }
    expect(t.node.ops.indicators.lookup('red-for-other.example').found).toBe(false)
    expect(t.node.store.head(redLogOf(elsewhere), third.publicKeyHex)).toBeUndefined()
    expect(t.node.store.counts()).toEqual(before)
    // the same organization's RED entry in this node's own recipient log, delivered directly, is stored
    const forMe = new RemoteLog(third, redLogOf(t.node.identity.publicKey)).next([item('red-for-me.example')], { tlp: 'RED' })
    expect(await codeOf(t.node.ingest.ingest(forMe, 'red'))).toBe('stored')
    expect(t.node.ops.indicators.lookup('red-for-me.example').matches[0]).toMatchObject({ origin: third.publicKeyHex, tlp: 'RED' })
  })
})
