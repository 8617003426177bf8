/**
 * The node's own state kept by the store and written only through Ingest's writer: invites
 * (create, use once, reuse and expiry refused, two uses at once), the RED outbox (own RED
 * entries wait there until removed), and the store's narrow read methods for them and for the
 * control entries, indicators and pending revocations. Real LevelDB in temp dirs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { membershipLogOf, useKeptInvite } from '../../../src/circles/index.js'
import { indicatorId, redLogOf, validateItem, type Entry, type IndicatorItem, type Item } from '../../../src/records/index.js'
import { LevelStore, type ControlRecord, type InviteRecord } from '../../../src/store/index.js'
import { damageStore } from '../../utils/raw-store.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../utils/store.js'
import { codeOf } from '../../utils/outcome.js'

const CIRCLE = 'c-0123456789abcdef0123'
const MEMBERSHIP_LOG = membershipLogOf(CIRCLE)

function ind (value: string): IndicatorItem {
  return { kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] }
}

const later = (ms: number): string => new Date(Date.now() + ms).toISOString()

let h: StoreHarness

beforeEach(async () => {
  h = await openStore({ ingest: { sync: false } })
})

afterEach(async () => {
  await h.close()
})

describe('invites through Ingest', () => {
  it('createInvite keeps the invite under its secret hash; store.invite and store.invites read it back', async () => {
    const expires = later(60_000)
    await h.ingest.createInvite('aa'.repeat(32), { circle: CIRCLE, expires })
    await h.ingest.createInvite('bb'.repeat(32), { circle: CIRCLE, expires, usedBy: 'cc'.repeat(32), usedAt: expires })
    expect(h.store.invite('aa'.repeat(32))).toEqual({ circle: CIRCLE, expires })
    expect(h.store.invite('dd'.repeat(32))).toBeUndefined()
    const all: InviteRecord[] = []
    for await (const inv of h.store.invites()) all.push(inv)
    expect(all).toEqual([{ circle: CIRCLE, expires }, { circle: CIRCLE, expires, usedBy: 'cc'.repeat(32), usedAt: expires }])
  })

  it('useInvite marks an invite used once; a second use is refused and leaves the mark as it was', async () => {
    const k = 'aa'.repeat(32)
    const joiner = 'cc'.repeat(32)
    const expires = later(60_000)
    await h.ingest.createInvite(k, { circle: CIRCLE, expires })
    const now = new Date().toISOString()
    const used = await h.ingest.useInvite(k, inv => useKeptInvite(inv, CIRCLE, joiner, now))
    expect(used).toEqual({ circle: CIRCLE, expires, usedBy: joiner, usedAt: now })
    expect(h.store.invite(k)).toEqual(used)
    expect(await codeOf(h.ingest.useInvite(k, inv => useKeptInvite(inv, CIRCLE, 'dd'.repeat(32), new Date().toISOString()))))
      .toBe(`PX_ERR_INVITE: this invite was already used (at ${now})`)
    expect(h.store.invite(k)).toEqual(used)
  })

  it('an expired invite, an unknown one and one of another circle are refused, and nothing is written', async () => {
    const k = 'aa'.repeat(32)
    const expires = later(-1)
    await h.ingest.createInvite(k, { circle: CIRCLE, expires })
    const use = (circle: string) => (inv: InviteRecord | undefined): InviteRecord => useKeptInvite(inv, circle, 'cc'.repeat(32), new Date().toISOString())
    expect(await codeOf(h.ingest.useInvite(k, use(CIRCLE)))).toBe(`PX_ERR_INVITE: this invite expired at ${expires}`)
    expect(await codeOf(h.ingest.useInvite('ee'.repeat(32), use(CIRCLE)))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    expect(await codeOf(h.ingest.useInvite(k, use('c-ffffffffffffffffffff')))).toBe('PX_ERR_INVITE: no such invite (wrong code or another node\'s)')
    expect(h.store.invite(k)).toEqual({ circle: CIRCLE, expires })
    expect(h.store.invite('ee'.repeat(32))).toBeUndefined()
  })

  it('two uses of one invite queued together: the writer runs them one after the other, so exactly one succeeds', async () => {
    const k = 'aa'.repeat(32)
    await h.ingest.createInvite(k, { circle: CIRCLE, expires: later(60_000) })
    const results = await Promise.allSettled(['c1', 'c2', 'c3'].map(async who => await h.ingest.useInvite(k, inv => useKeptInvite(inv, CIRCLE, who, new Date().toISOString()))))
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'rejected', 'rejected'])
    for (const r of results.slice(1)) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'PX_ERR_INVITE' })
    expect(h.store.invite(k)?.usedBy).toBe('c1')
  })

  it('a used invite is still marked used after the store is closed and opened again', async () => {
    const k = 'aa'.repeat(32)
    await h.ingest.createInvite(k, { circle: CIRCLE, expires: later(60_000) })
    const used = await h.ingest.useInvite(k, inv => useKeptInvite(inv, CIRCLE, 'cc'.repeat(32), new Date().toISOString()))
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    const store = new LevelStore({ path })
    await store.open()
    try {
      expect(store.invite(k)).toEqual(used)
    } finally {
      await store.close()
    }
  })

  it('a stopped Ingest refuses invite writes with PX_ERR_CLOSED', async () => {
    await h.ingest.stop()
    expect(await codeOf(h.ingest.createInvite('aa'.repeat(32), { circle: CIRCLE, expires: later(60_000) }))).toBe('PX_ERR_CLOSED: the node is shutting down')
    expect(h.store.invite('aa'.repeat(32))).toBeUndefined()
  })
})

describe('the RED outbox', () => {
  it('an own RED entry waits in store.outbox until removeFromOutbox; entries of other logs stay', async () => {
    const bob = randomKey().publicKeyHex
    const carol = randomKey().publicKeyHex
    const r = await h.ingest.publish([
      { circle: redLogOf(bob), tlp: 'RED', items: [ind('one.red.example')] },
      { circle: redLogOf(carol), tlp: 'RED', items: [ind('two.red.example')] }
    ])
    const [toBob, toCarol] = r.entries
    expect(await h.store.outbox()).toEqual([
      { log: redLogOf(bob), seq: 1, hash: toBob.hash },
      { log: redLogOf(carol), seq: 1, hash: toCarol.hash }
    ].sort((a, b) => a.log < b.log ? -1 : 1))
    await h.ingest.removeFromOutbox(redLogOf(bob), 1)
    expect(await h.store.outbox()).toEqual([{ log: redLogOf(carol), seq: 1, hash: toCarol.hash }])
    // the entry itself stays stored
    expect(h.store.getEntry(redLogOf(bob), h.key.publicKeyHex, 1)).toBeDefined()
  })

  it('entries of other origins and of the private scope never enter the outbox', async () => {
    await h.ingest.publish([{ circle: 'local', tlp: 'RED', items: [ind('mine.example')] }])
    const other = new RemoteLog(randomKey(), redLogOf(h.key.publicKeyHex))
    await h.ingest.ingest(other.next([ind('theirs.red.example')], { tlp: 'RED' }), 'red')
    expect(await h.store.outbox()).toEqual([])
  })
})

describe('narrow reads', () => {
  it('controlEntries lists control entries in stored order, of every log or of one, and names an index key whose entry is gone', async () => {
    const admin = new RemoteLog(randomKey(), MEMBERSHIP_LOG)
    const otherLog = new RemoteLog(randomKey(), membershipLogOf('c-ffffffffffffffffffff'))
    const member = (key: string): Item => validateItem({ kind: 'member', op: 'add', key, role: 'member' })
    const e1 = admin.next([validateItem({ kind: 'circle', name: 'One' }), validateItem({ kind: 'member', op: 'add', key: admin.origin, role: 'admin' })], { tlp: 'AMBER' })
    const e2 = otherLog.next([validateItem({ kind: 'circle', name: 'Two' })], { tlp: 'AMBER' })
    const e3 = admin.next([member(randomKey().publicKeyHex)], { tlp: 'AMBER' })
    for (const e of [e1, e2, e3]) await h.ingest.ingest(e, 'sync')
    // a data entry is not a control entry
    await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('data.example')] }])

    const all: ControlRecord[] = []
    for await (const c of h.store.controlEntries()) all.push(c)
    expect(all.map(c => c.entry)).toEqual([e1, e3, e2].sort((a, b) => a.circle < b.circle ? -1 : a.circle > b.circle ? 1 : 0))
    const one: Array<Entry | undefined> = []
    for await (const c of h.store.controlEntries(MEMBERSHIP_LOG)) one.push(c.entry)
    expect(one).toEqual([e1, e3])

    // an index key whose entry was removed underneath (damage) is named, with no entry
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    const keyOf = (e: typeof e1): string => all.find(c => c.entry?.circle === e.circle && c.entry.seq === e.seq)!.key
    const gone = keyOf(e3)
    await damageStore(path, async b => { await b.entries.del(gone) })
    const store = new LevelStore({ path })
    await store.open()
    try {
      const after: ControlRecord[] = []
      for await (const c of store.controlEntries(MEMBERSHIP_LOG)) after.push(c)
      expect(after).toEqual([{ key: keyOf(e1), entry: e1 }, { key: gone, entry: undefined }])
    } finally {
      await store.close()
    }
  })

  it('scanIndicators yields every current indicator record by id; pendingRevokeIds the revocations waiting for theirs', async () => {
    const r = await h.ingest.publish([{ circle: 'local', tlp: 'GREEN', items: [ind('a.example'), ind('b.example')] }])
    const other = new RemoteLog(randomKey(), 'local')
    const early = indicatorId(other.origin, 'domain', 'later.example')
    await h.ingest.ingest(other.next([validateItem({ kind: 'revoke', id: early })]), 'sync')
    const seen: Array<[string, string]> = []
    for await (const [id, rec] of h.store.scanIndicators()) seen.push([id, rec.value])
    expect(seen).toEqual([[r.ids[0]!, 'a.example'], [r.ids[1]!, 'b.example']].sort((a, b) => a[0] < b[0] ? -1 : 1))
    expect(await h.store.pendingRevokeIds()).toEqual([early])
  })

  it('the read methods refuse a closed store with PX_ERR_CLOSED', async () => {
    await h.ingest.stop()
    await h.store.close()
    expect(() => h.store.invite('aa'.repeat(32))).toThrow(expect.objectContaining({ code: 'PX_ERR_CLOSED' }))
    expect(await codeOf(h.store.outbox())).toBe('PX_ERR_CLOSED: the store is closed')
    expect(await codeOf(h.store.pendingRevokeIds())).toBe('PX_ERR_CLOSED: the store is closed')
    expect(await codeOf(h.store.invites().next())).toBe('PX_ERR_CLOSED: the store is closed')
    expect(await codeOf(h.store.controlEntries().next())).toBe('PX_ERR_CLOSED: the store is closed')
    expect(await codeOf(h.store.scanIndicators().next())).toBe('PX_ERR_CLOSED: the store is closed')
  })
})
