/**
 * Hostile organizations against real nodes. Three nodes (A admin, B, C) share circle X and
 * circle Z; the hostile parties are raw libp2p peers built test-side (test/utils/raw-peer.ts):
 * - an outsider that connects while an invite is open, subscribes to X's topic and asks for
 *   sync, entries, the control log and RED delivery;
 * - a member M of X and Z that breaks the RED rules (RED meant for B delivered to C, RED
 *   relayed, RED offered by gossip and by sync, an entry labelled RED in a circle log);
 * - the same M removed from X: it stays connected (it is still in Z) and subscribed, and
 *   must read nothing published after its removal nor pull it.
 * "Nothing arrived" is asserted only after a positive marker arrived on the same path, or
 * after the node's refusal was seen (a request's error, a gossip verdict counted).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson, entryHash, redLogOf, type Entry, type Item } from '../../src/records/index.js'
import { membershipLogOf } from '../../src/circles/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { BATCH_ENVELOPE_VERSION, batchHash, encodeEntries } from '../../src/p2p/envelope.js'
import { RemoteLog } from '../utils/store.js'
import { PROTOCOLS, type RawPeer } from '../utils/raw-peer.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()


const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })

/** every value stored anywhere (any circle, revoked or not) by these nodes */
function holds (n: TestNode, value: string): boolean { return n.node.ops.indicators.lookup(value).found }

async function invite (admin: TestNode, circle: string, expires = '10m'): Promise<string> {
  const r = await admin.api(`/v1/circles/${circle}/invites`, { json: { expires } })
  expect(r.status, r.text).toBe(201)
  return r.body.code
}

describe('hostile peers against a circle', () => {
  let a: TestNode, b: TestNode, c: TestNode
  let X: string, Z: string
  let m: RawPeer
  /** M's own log in X, continued across tests */
  let mX: RemoteLog

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([start('Host A'), start('Host B'), start('Host C')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    Z = (await a.api('/v1/circles', { json: { name: 'Z' } })).body.id
    for (const circle of [X, Z]) {
      for (const n of [b, c]) expect((await n.api('/v1/circles/join', { json: { code: await invite(a, circle) } })).status).toBe(200)
    }
    m = await raw()
    mX = new RemoteLog(m.key, X)
    for (const circle of [X, Z]) await m.join(await invite(a, circle), 'Mallory member')
    await until('B and C to know M as a member of X and Z', () => [b, c].every(n => [X, Z].every(s => n.node.circles.get(s)?.members.get(m.publicKey)?.removed === undefined && n.node.circles.get(s)?.members.has(m.publicKey))), 15_000)
    for (const n of [a, b, c]) await m.dial(n)
    m.subscribe(X)
    m.subscribe(Z)
    await until('every node meshed on X', () => [a, b, c].every(n => n.node.network!.topicPeers(X) >= 3), 15_000)
    await until('M to see the nodes on X', () => m.topicPeers(X) >= 3, 15_000)
  }, 60_000)

  it('a member reads the circle\'s gossip (the harness works: the circle key of epoch 1 opens it)', async () => {
    expect((await a.api('/v1/indicators', { json: { type: 'domain', value: 'members-only.example', tlp: 'GREEN', circle: X } })).status).toBe(201)
    const text = await until('M to read A\'s GREEN record', () => m.messages(X).map(d => m.read(X, d).text).find(t => t?.includes('members-only.example')))
    expect(text).toContain(a.node.identity.publicKey)
  })

  it('an outsider let in by an open invite can subscribe, but reads nothing and is refused sync, entries, control and RED', async () => {
    const o = await raw()
    // B has no open invite: its gater refuses an unknown org outright, so not even a request gets through
    await expect(o.request(b, PROTOCOLS.sync, { circle: X, heads: {} })).rejects.toThrow()
    expect(o.isConnectedTo(b.node.identity.publicKey)).toBe(false)
    const code = await invite(a, X) // an open invite: A's gater lets unknown orgs in to redeem it
    expect(code).toMatch(/^phx1\./)
    await o.dial(a)
    o.subscribe(X)
    await until('A to see the outsider on X\'s topic', () => a.node.network!.topicPeers(X) >= 4, 10_000)

    // every request about the circle is refused by name
    const refused = async (protocol: string, body: unknown): Promise<{ code: string, message: string }> => {
      const r = await o.request(a, protocol, body)
      expect(r.error, `${protocol} answered ${JSON.stringify(r).slice(0, 200)}`).toBeDefined()
      expect(r.entries).toBeUndefined()
      return r.error
    }
    expect((await refused(PROTOCOLS.sync, { circle: X, heads: {} })).code).toBe('PX_ERR_NOT_MEMBER')
    expect((await refused(PROTOCOLS.entries, { circle: X, origin: a.node.identity.publicKey, from: 1, to: 100 })).code).toBe('PX_ERR_NOT_MEMBER')
    expect((await refused(PROTOCOLS.entries, { circle: membershipLogOf(X), origin: a.node.identity.publicKey, from: 1, to: 100 })).code).toBe('PX_ERR_NOT_MEMBER')
    expect((await refused(PROTOCOLS.control, { circle: X })).code).toBe('PX_ERR_NOT_MEMBER')
    // a RED entry of its own, sealed to A and for A: A shares no circle with it
    const red = new RemoteLog(o.key, redLogOf(a.node.identity.publicKey)).next([domain('outsider-red.example')], { tlp: 'RED' })
    expect((await refused(PROTOCOLS.red, { sealed: o.box.seal(a.node.identity.publicKey, Buffer.from(canonicalJson(red))) })).code).toBe('PX_ERR_NOT_MEMBER')
    expect(holds(a, 'outsider-red.example')).toBe(false)

    // what A publishes in X after it subscribed: sealed, unreadable to it; the CLEAR marker
    // published after on the same path arrives, so the GREEN one had its chance to leak
    for (const [value, tlp] of [['outsider-green.example', 'GREEN'], ['outsider-amber.example', 'AMBER'], ['outsider-marker.example', 'CLEAR']]) {
      expect((await a.api('/v1/indicators', { json: { type: 'domain', value, tlp, circle: X } })).status).toBe(201)
    }
    await until('the outsider to receive the CLEAR marker', () => o.messages(X).some(d => o.read(X, d).text?.includes('outsider-marker.example') === true), 10_000)
    for (const d of o.messages(X)) {
      const seen = o.read(X, d)
      if (seen.text === null) continue
      expect(seen.sealed, 'only CLEAR travels in the clear').toBe(false)
      for (const e of [JSON.parse(seen.text)].flat() as Entry[]) expect(e.tlp, seen.text.slice(0, 200)).toBe('CLEAR')
      expect(seen.text).not.toContain('outsider-green.example')
      expect(seen.text).not.toContain('outsider-amber.example')
    }

    // its own entry published into X (in the clear: it has no key) is judged and refused
    const rejected = a.node.network!.gossipCounts.rejected
    const forged = new RemoteLog(o.key, X).next([domain('outsider-forged.example')], { tlp: 'CLEAR' })
    await o.publish(X, encodeEnvelope(canonicalJson(forged), entryHash(forged), null))
    await until('A to reject the outsider\'s entry (or to take it)', () => a.node.network!.gossipCounts.rejected > rejected || holds(a, 'outsider-forged.example'), 10_000)
    for (const n of [a, b, c]) expect(holds(n, 'outsider-forged.example')).toBe(false)
    await o.stop()
  })

  it('RED: meant for B and delivered to C, relayed, or offered by gossip or sync, is refused; RED for C from M is taken', async () => {
    const bKey = b.node.identity.publicKey
    const cKey = c.node.identity.publicKey
    const deliver = async (to: TestNode, entry: Entry): Promise<any> => await m.request(to, PROTOCOLS.red, { sealed: m.box.seal(to.node.identity.publicKey, Buffer.from(canonicalJson(entry))) })

    // a sealed RED entry meant for B, delivered to C: refused by the recipient check
    const forB = new RemoteLog(m.key, redLogOf(bKey)).next([domain('red-for-b.example')], { tlp: 'RED' })
    const r1 = await deliver(c, forB)
    expect(r1.error?.code, JSON.stringify(r1)).toBe('PX_ERR_TLP_VIOLATION')
    expect(r1.error.message).toMatch(/for another recipient/)
    // the store's policy refuses it too, whatever hands it over
    await expect(c.node.ingest.ingest(forB, 'red')).rejects.toMatchObject({ code: 'PX_ERR_TLP_VIOLATION' })
    // RED is never relayed: an entry of another origin, delivered by M
    const stranger = new RemoteLog(undefined, redLogOf(cKey)).next([domain('red-relayed.example')], { tlp: 'RED' })
    const r2 = await deliver(c, stranger)
    expect(r2.error?.code).toBe('PX_ERR_TLP_VIOLATION')
    expect(r2.error.message).toMatch(/never relayed/)
    // a recipient log carries RED only
    const notRed = new RemoteLog(m.key, redLogOf(cKey)).peek([domain('red-log-amber.example')], { tlp: 'AMBER' })
    const r3 = await deliver(c, notRed)
    expect(r3.error?.code).toBe('PX_ERR_TLP_VIOLATION')
    // the positive control on the same path: RED for C from M is delivered and acknowledged
    const redC = new RemoteLog(m.key, redLogOf(cKey))
    const forC = redC.next([domain('red-for-c.example')], { tlp: 'RED' })
    const ok = await deliver(c, forC)
    expect(ok).toEqual({ ack: entryHash(forC) })
    expect(holds(c, 'red-for-c.example')).toBe(true)
    // C's own RED entry for B, handed back to it (a re-import): its own, so it is taken
    const ownRed = new RemoteLog(c.node.identity.key, redLogOf(bKey)).next([domain('own-red-reimport.example')], { tlp: 'RED' })
    expect(await c.node.ingest.ingest(ownRed, 'sync')).toMatchObject({ status: 'stored' })
    expect(holds(c, 'own-red-reimport.example')).toBe(true)
    // RED for C that did not come by direct delivery is refused by the store's policy
    const forC2 = redC.peek([domain('red-for-c-by-sync.example')], { tlp: 'RED' })
    await expect(c.node.ingest.ingest(forC2, 'sync')).rejects.toMatchObject({ code: 'PX_ERR_TLP_VIOLATION' })
    await expect(c.node.ingest.ingest(forC2, 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_TLP_VIOLATION' })

    // by gossip, sealed with X's key: a RED log entry on X's topic, and an entry of X's log
    // labelled RED; then a GREEN marker of M on the same path
    const key = m.circleKey(X, 1)!
    const rejected = [a, b, c].map(n => n.node.network!.gossipCounts.rejected)
    const redOnTopic = new RemoteLog(m.key, redLogOf(cKey)).peek([domain('red-on-topic.example')], { tlp: 'RED', seq: 2, prev: entryHash(forC) })
    await m.publish(X, encodeEnvelope(canonicalJson(redOnTopic), entryHash(redOnTopic), key))
    const redInX = mX.peek([domain('red-in-circle-log.example')], { tlp: 'RED' })
    await m.publish(X, encodeEnvelope(canonicalJson(redInX), entryHash(redInX), key))
    const marker = mX.next([domain('m-marker-1.example')], { tlp: 'GREEN' })
    await m.publish(X, encodeEnvelope(canonicalJson(marker), entryHash(marker), key))
    // (a leak ends the wait too: it is reported by the assertions below, not as a timeout)
    const leaked = (n: TestNode): boolean => holds(n, 'red-on-topic.example') || holds(n, 'red-in-circle-log.example')
    await until('A, B and C to store M\'s marker and reject both RED messages', () => [a, b, c].every((n, i) => leaked(n) || (holds(n, 'm-marker-1.example') && n.node.network!.gossipCounts.rejected >= rejected[i] + 2)), 10_000)
    for (const n of [a, b, c]) {
      expect(holds(n, 'red-on-topic.example'), n.node.identity.org).toBe(false)
      expect(holds(n, 'red-in-circle-log.example'), n.node.identity.org).toBe(false)
    }

    // by sync: C asks M for X's log and gets the same two, and M's next GREEN entry
    const redInX2 = mX.peek([domain('red-in-circle-log-2.example')], { tlp: 'RED' })
    const syncMarker = mX.next([domain('m-sync-marker.example')], { tlp: 'GREEN' })
    const redForCBySync = redC.peek([domain('red-by-sync.example')], { tlp: 'RED' })
    // and M's own entry of circle Z (C is in Z too): a sync of X takes X's entries only
    const zInXSync = new RemoteLog(m.key, Z).next([domain('z-in-x-sync.example')], { tlp: 'GREEN' })
    await m.serveSync(circle => circle === X ? [redForCBySync, redInX2, zInXSync, syncMarker] : [])
    const out = await c.node.network!.syncNow(X, m.publicKey)
    expect(out, 'C could not sync with M').not.toBeNull()
    // (a periodic sync with M may have run first and stored the marker: then it is a duplicate)
    expect(out).toMatchObject({ entries: 4, rejected: 3 })
    expect(out!.stored + out!.duplicates).toBe(1)
    expect(holds(c, 'z-in-x-sync.example')).toBe(false)
    expect(holds(c, 'm-sync-marker.example')).toBe(true)
    // (C's syncs carry M's entry to A and B: M's log is at seq 2 everywhere)
    await until('A and B to hold M\'s sync marker', () => holds(a, 'm-sync-marker.example') && holds(b, 'm-sync-marker.example'))
    expect(holds(c, 'red-by-sync.example')).toBe(false)
    expect(holds(c, 'red-in-circle-log-2.example')).toBe(false)
    expect(c.node.store.head(redLogOf(cKey), m.publicKey)?.seq).toBe(1)
  })

  it('each malformed or misdirected gossip message gets its verdict: rejected (penalized), ignored, or accepted', async () => {
    const cKey = c.node.identity.publicKey
    const counts = (): { accepted: number, ignored: number, rejected: number } => ({ ...c.node.network!.gossipCounts })
    /** a fresh member of X and Z connected to C only: at most two rejections each (gossipsub graylists a peer after a few) */
    const fresh = async (): Promise<RawPeer> => {
      const p = await raw()
      for (const circle of [X, Z]) await p.join(await invite(a, circle), 'sender')
      await until('C to know the new member', () => c.node.circles.get(X)?.members.has(p.publicKey) === true && c.node.circles.get(Z)?.members.has(p.publicKey) === true)
      const peers = c.node.network!.topicPeers(X)
      await p.dial(c)
      p.subscribe(X)
      await until('C and the new member to see each other on X', () => c.node.network!.topicPeers(X) > peers && p.seesOnTopic(X, cKey))
      // the gossip of its joins may still be on its way to C: let C's verdict counts settle,
      // so that the next verdict counted is the message's
      let last = JSON.stringify(counts())
      let still = 0
      await until('C\'s verdict counts to settle', () => {
        const now = JSON.stringify(counts())
        still = now === last ? still + 1 : 0
        last = now
        return still >= 3
      }, 10_000, 100)
      return p
    }
    /** publish one message from `p` on X and return the verdict C gave it */
    const verdict = async (p: RawPeer, data: Uint8Array): Promise<string> => {
      const before = counts()
      await p.publish(X, data)
      const after = await until('C to judge the message', () => {
        const now = counts()
        return now.accepted + now.ignored + now.rejected > before.accepted + before.ignored + before.rejected ? now : undefined
      }, 10_000)
      return (['accepted', 'ignored', 'rejected'] as const).filter(k => after[k] > before[k]).join('+')
    }
    const sealedJson = (p: RawPeer, json: string, hash = 'cd'.repeat(32), version = 1): Uint8Array => encodeEnvelope(json, hash, p.circleKey(X, 1), version)

    let p = await fresh()
    // not an envelope at all
    expect(await verdict(p, new Uint8Array([9, 9, 9]))).toBe('rejected')
    // sealed with a key epoch C does not hold: not judged, not relayed (epoch 99, no rotation reaches it: a point of junk penalty)
    expect(await verdict(p, encodeEnvelope('{}', 'ef'.repeat(32), { epoch: 99, key: p.circleKey(X, 1)!.key }))).toBe('ignored')
    // a batch whose body is not an array
    expect(await verdict(p, sealedJson(p, '{"circle":"x"}', 'ab'.repeat(32), BATCH_ENVELOPE_VERSION))).toBe('rejected')

    p = await fresh()
    // a single entry that is null, a number, an array
    expect(await verdict(p, sealedJson(p, 'null'))).toBe('rejected')
    expect(await verdict(p, sealedJson(p, '7'))).toBe('rejected')
    p = await fresh()
    expect(await verdict(p, sealedJson(p, '[]'))).toBe('rejected')
    // an entry whose circle is not a string
    const log = new RemoteLog(p.key, X)
    const e1 = log.peek([domain('circle-number.example')], { tlp: 'GREEN' })
    expect(await verdict(p, sealedJson(p, canonicalJson({ ...e1, circle: 5 })))).toBe('rejected')

    p = await fresh()
    // its own, correctly signed entry of circle Z, sealed with X's key on X's topic: Z's
    // entries travel on Z's topic only, and C (in Z too) must not take it from X's
    const zEntry = new RemoteLog(p.key, Z).next([domain('z-on-x-topic.example')], { tlp: 'GREEN' })
    expect(await verdict(p, sealedJson(p, canonicalJson(zEntry), entryHash(zEntry)))).toBe('rejected')
    expect(holds(c, 'z-on-x-topic.example')).toBe(false)
    // a batch of one entry
    const one = new RemoteLog(p.key, X)
    const only = one.peek([domain('batch-of-one.example')], { tlp: 'GREEN' })
    expect(await verdict(p, encodeEnvelope(`[${canonicalJson(only)}]`, batchHash([entryHash(only)]), p.circleKey(X, 1), BATCH_ENVELOPE_VERSION))).toBe('rejected')

    p = await fresh()
    // a batch of two of its own entries, in order: both stored
    const two = new RemoteLog(p.key, X)
    const batch = [two.next([domain('batch-1.example')], { tlp: 'GREEN' }), two.next([domain('batch-2.example')], { tlp: 'AMBER' })]
    const [msg] = encodeEntries(batch.map(e => ({ json: canonicalJson(e), hash: entryHash(e) })), p.circleKey(X, 1))
    expect(await verdict(p, msg)).toBe('accepted')
    await until('C to store both', () => holds(c, 'batch-1.example') && holds(c, 'batch-2.example'))
    expect(c.node.store.head(X, p.publicKey)?.seq).toBe(2)
  })

  it('requests naming no circle, another type, or an unknown circle are refused as unknown circles', async () => {
    for (const protocol of [PROTOCOLS.sync, PROTOCOLS.entries, PROTOCOLS.control]) {
      for (const body of [null, { circle: 5 }, { circle: 'c-00000000000000000000' }, { circle: `${X}x` }]) {
        const r = await m.request(c, protocol, body === null ? null : { heads: {}, origin: a.node.identity.publicKey, from: 1, to: 1, ...body })
        expect(r.error?.code, `${protocol} ${JSON.stringify(body)}`).toBe('PX_ERR_UNKNOWN_CIRCLE')
      }
    }
  })

  it('a removed member that stays connected (still in Z) reads nothing new of X and cannot pull it', async () => {
    // M brings its view of X's membership up to date (members joined since it did)
    m.takeControl(X, (await m.request(a, PROTOCOLS.control, { circle: X })).entries)
    const del = await a.api(`/v1/circles/${X}/members/${m.publicKey}`, { method: 'DELETE' })
    expect(del.status, del.text).toBe(200)
    await until('B and C to see epoch 2 of X', () => [b, c].every(n => n.node.circles.get(X)?.epoch === 2), 15_000)
    // M reads the rotation (sealed with the key it replaces) and folds it: epoch 2 is not sealed to it
    const rotation = await until('M to receive the rotation', () => m.messages(X).map(d => m.read(X, d)).find(r => r.text?.includes('"op":"remove"') === true && r.text.includes(m.publicKey)))
    expect(rotation.epoch).toBe(1)
    for (const e of [JSON.parse(rotation.text!)].flat() as Entry[]) m.fold(X, e)
    expect(m.circles.get(X)!.epoch).toBe(2)
    expect(m.circleKey(X, 2)).toBeNull()

    // still connected to every node through Z, and still subscribed to X's topic
    for (const n of [a, b, c]) expect(m.isConnectedTo(n.node.identity.publicKey), n.node.identity.org).toBe(true)
    const before = m.messages(X).length
    for (const [value, tlp] of [['after-removal-green.example', 'GREEN'], ['after-removal-amber.example', 'AMBER']]) {
      expect((await a.api('/v1/indicators', { json: { type: 'domain', value, tlp, circle: X } })).status).toBe(201)
    }
    expect((await b.api('/v1/indicators', { json: { type: 'domain', value: 'after-removal-b.example', tlp: 'GREEN', circle: X } })).status).toBe(201)
    // the markers: a CLEAR record of A and of B after theirs, on the same paths, reach M
    expect((await a.api('/v1/indicators', { json: { type: 'domain', value: 'after-removal-marker.example', tlp: 'CLEAR', circle: X } })).status).toBe(201)
    expect((await b.api('/v1/indicators', { json: { type: 'domain', value: 'after-removal-marker-b.example', tlp: 'CLEAR', circle: X } })).status).toBe(201)
    await until('M to receive A\'s and B\'s CLEAR markers', () => ['after-removal-marker.example', 'after-removal-marker-b.example'].every(v => m.messages(X).slice(before).some(d => m.read(X, d).text?.includes(v) === true)), 10_000)
    const fresh = m.messages(X).slice(before).map(d => m.read(X, d))
    expect(fresh.filter(r => r.sealed).length, 'the sealed records reached M (so the test sees what it could read)').toBeGreaterThanOrEqual(1)
    for (const r of fresh) {
      if (r.sealed) expect([r.epoch, r.text]).toEqual([2, null])
      expect(r.text ?? '').not.toMatch(/after-removal-(green|amber|b)\.example/)
    }

    // pulling it is refused: sync, entries, the control log
    for (const n of [a, b, c]) {
      const s = await m.request(n, PROTOCOLS.sync, { circle: X, heads: {} })
      expect(s.error?.code, n.node.identity.org).toBe('PX_ERR_NOT_MEMBER')
      const e = await m.request(n, PROTOCOLS.entries, { circle: X, origin: a.node.identity.publicKey, from: 1, to: 100 })
      expect(e.error?.code).toBe('PX_ERR_NOT_MEMBER')
      const ctl = await m.request(n, PROTOCOLS.control, { circle: X })
      expect(ctl.error?.code).toBe('PX_ERR_NOT_MEMBER')
    }
    // Z still serves it: the refusals are about X, not about M
    const z = await m.request(a, PROTOCOLS.control, { circle: Z })
    expect(Array.isArray(z.entries)).toBe(true)

    // an entry it signs in X after its removal (sealed with the old key) is refused
    const rejected = [a, b, c].map(n => n.node.network!.gossipCounts.rejected)
    const late = mX.next([domain('after-removal-by-m.example')], { tlp: 'GREEN' })
    await m.publish(X, encodeEnvelope(canonicalJson(late), entryHash(late), m.circleKey(X, 1)))
    await until('the nodes to reject M\'s late entry (or to take it)', () => [a, b, c].every((n, i) => n.node.network!.gossipCounts.rejected > rejected[i] || holds(n, 'after-removal-by-m.example')), 10_000)
    for (const n of [a, b, c]) expect(holds(n, 'after-removal-by-m.example')).toBe(false)
  })
})
