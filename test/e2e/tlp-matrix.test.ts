/**
 * TLP 2.0 enforced across real nodes: 6 organizations, two overlapping circles (X: o1–o4,
 * Y: o3–o5), o6 in none. Every org publishes every circle TLP into each of its circles, a
 * RED record to one named member, and a private one; re-shares of each level from X into Y
 * are attempted. Each node must store exactly what it may: no leak, nothing missing. Then
 * hostile gossip from a member (forged signature, wrong circle, oversize, garbage, a
 * stranger's entry sealed with a leaked key) is refused and stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../../src/p2p/envelope.js'
import { canonicalJson, entryHash, type Entry, type Item } from '../../src/records/index.js'
import { RemoteLog } from '../utils/store.js'
import { RawPeer } from '../utils/raw-peer.js'
import { until as untilValue } from '../utils/wait.js'
import { startTestNode, type TestNode } from '../utils/node.js'

const nodes: TestNode[] = []
const raws: RawPeer[] = []
afterAll(async () => {
  await Promise.all(raws.map(async r => { await r.stop() }))
  await Promise.all(nodes.map(async n => { await n.stop() }))
})

async function until (what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  await untilValue(what, fn, timeoutMs, 100)
}

/** every indicator a node stores, as "origin-index:value" */
async function holdings (n: TestNode, keys: string[]): Promise<Set<string>> {
  const out = new Set<string>()
  let cursor: string | undefined
  do {
    const page = await n.node.ops.indicators.query({ limit: 1000, includeRevoked: true, includeExpired: true, ...(cursor !== undefined ? { cursor } : {}) })
    for (const i of page.indicators) out.add(`${keys.indexOf(i.origin)}:${i.value}`)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return out
}

const CIRCLE_TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const
const slug = (t: string): string => t.toLowerCase().replace('+', '-')

describe('TLP matrix: 6 orgs, 2 overlapping circles', () => {
  let o: TestNode[]
  let keys: string[]
  let X: string, Y: string
  const X_MEMBERS = [0, 1, 2, 3]
  const Y_MEMBERS = [2, 3, 4]
  /** expected holdings per node index */
  const expected: Array<Set<string>> = Array.from({ length: 6 }, () => new Set())

  beforeAll(async () => {
    o = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const n = await startTestNode({ flags: { org: `org${i}`, logLevel: process.env.PX_TEST_LOG ?? 'silent', p2p: { dialIntervalMs: 300, syncIntervalMs: 300 } } })
      nodes.push(n)
      return n
    }))
    keys = o.map(n => n.node.identity.publicKey)
    X = (await o[0].api('/v1/circles', { json: { name: 'X' } })).body.id
    Y = (await o[4].api('/v1/circles', { json: { name: 'Y' } })).body.id
    for (const [admin, circle, members] of [[0, X, X_MEMBERS], [4, Y, Y_MEMBERS]] as const) {
      for (const m of members) {
        if (m === admin) continue
        const code = (await o[admin].api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
        const j = await o[m].api('/v1/circles/join', { json: { code } })
        expect(j.status, j.text).toBe(200)
      }
    }
    // every member meshed on its circles' topics
    await until('topics meshed', () => X_MEMBERS.every(i => o[i].node.network!.topicPeers(X) >= X_MEMBERS.length - 1) && Y_MEMBERS.every(i => o[i].node.network!.topicPeers(Y) >= Y_MEMBERS.length - 1))
  }, 60_000)

  it('each node stores exactly what TLP allows it to, and forbidden re-shares are refused', async () => {
    const circles: Array<[string, number[], string]> = [[X, X_MEMBERS, 'x'], [Y, Y_MEMBERS, 'y']]
    for (let i = 0; i < 6; i++) {
      // private scope: never leaves the node
      const local = `o${i}-local.example`
      expect((await o[i].api('/v1/indicators', { json: { type: 'domain', value: local, tlp: 'AMBER' } })).status).toBe(201)
      expected[i].add(`${i}:${local}`)
      for (const [circle, members, name] of circles) {
        if (!members.includes(i)) {
          // publishing into a circle one is not in is refused
          expect((await o[i].api('/v1/indicators', { json: { type: 'domain', value: `o${i}-${name}-sneak.example`, tlp: 'CLEAR', circle } })).status).toBe(404)
          continue
        }
        for (const tlp of CIRCLE_TLPS) {
          const value = `o${i}-${name}-${slug(tlp)}.example`
          const r = await o[i].api('/v1/indicators', { json: { type: 'domain', value, tlp, circle } })
          expect(r.status, r.text).toBe(201)
          for (const m of members) expected[m].add(`${i}:${value}`)
        }
        // RED to one named member of this circle
        const to = members.find(m => m !== i)!
        const value = `o${i}-${name}-red.example`
        const r = await o[i].api('/v1/indicators', { json: { type: 'domain', value, tlp: 'RED', to: keys[to] } })
        expect(r.status, r.text).toBe(201)
        expected[i].add(`${i}:${value}`)
        expected[to].add(`${i}:${value}`)
      }
    }

    // o3 is in both circles: re-share what o0 published in X into Y
    await until('o3 to hold o0\'s X records', async () => {
      const h = await holdings(o[3], keys)
      return CIRCLE_TLPS.every(t => h.has(`0:o0-x-${slug(t)}.example`))
    })
    for (const tlp of CIRCLE_TLPS) {
      const value = `o0-x-${slug(tlp)}.example`
      const id = o[3].node.ops.indicators.lookup(value).matches.find(m => m.origin === keys[0])!.id
      const r = await o[3].api(`/v1/indicators/${id}/reshare`, { json: { circle: Y } })
      if (tlp === 'CLEAR' || tlp === 'GREEN') {
        expect(r.status, r.text).toBe(201)
        for (const m of Y_MEMBERS) expected[m].add(`3:${value}`)
      } else {
        expect(r.status, r.text).toBe(403)
        expect(r.body.error.code).toBe('PX_ERR_TLP_VIOLATION')
      }
    }
    // a RED record o3 received is never re-shared either
    const redTo3 = [...expected[3]].find(x => x.endsWith('-red.example') && !x.startsWith('3:'))
    if (redTo3 !== undefined) {
      const [origin, value] = redTo3.split(':')
      const id = o[3].node.ops.indicators.lookup(value).matches.find(m => m.origin === keys[Number(origin)])!.id
      const r = await o[3].api(`/v1/indicators/${id}/reshare`, { json: { circle: Y } })
      expect(r.status).toBe(403)
    }

    // last on every path: each member publishes a CLEAR marker into each of its circles
    for (const [circle, members, name] of circles) {
      for (const i of members) {
        const value = `o${i}-${name}-marker.example`
        expect((await o[i].api('/v1/indicators', { json: { type: 'domain', value, tlp: 'CLEAR', circle } })).status).toBe(201)
        for (const m of members) expected[m].add(`${i}:${value}`)
      }
    }
    // everything intended arrives, the markers included …
    await until('every node to hold what it should', async () => {
      for (let i = 0; i < 6; i++) {
        const h = await holdings(o[i], keys)
        for (const x of expected[i]) if (!h.has(x)) return false
      }
      return true
    }, 30_000)
    // … and nothing else: what came before the markers on their paths has arrived by now
    let delivered = 0
    for (let i = 0; i < 6; i++) {
      const h = await holdings(o[i], keys)
      expect([...h].filter(x => !expected[i].has(x)), `leaks at org${i}`).toEqual([])
      expect([...expected[i]].filter(x => !h.has(x)), `missing at org${i}`).toEqual([])
      delivered += h.size
    }
    expect(delivered).toBe(expected.reduce((n, s) => n + s.size, 0))
    // o6 (in no circle) holds only its own private record
    expect([...await holdings(o[5], keys)]).toEqual(['5:o5-local.example'])
  }, 90_000)

  it('an org in no circle, let in by open invites and subscribed to both topics, reads nothing but CLEAR', async () => {
    const e = await RawPeer.start()
    raws.push(e)
    // the admins' open invites make their gaters let an unknown org in (to redeem them)
    for (const [admin, circle] of [[0, X], [4, Y]] as const) expect((await o[admin].api(`/v1/circles/${circle}/invites`, { json: {} })).status).toBe(201)
    await e.dial(o[0])
    await e.dial(o[4])
    e.subscribe(X)
    e.subscribe(Y)
    await until('o0 and o4 to see the outsider on their topics', () => o[0].node.network!.topicPeers(X) >= X_MEMBERS.length && o[4].node.network!.topicPeers(Y) >= Y_MEMBERS.length, 10_000)
    const circles: Array<[string, number[], string]> = [[X, X_MEMBERS, 'x'], [Y, Y_MEMBERS, 'y']]
    const secret: string[] = []
    for (const [circle, members, name] of circles) {
      for (const i of members) {
        for (const tlp of ['GREEN', 'AMBER', 'AMBER+STRICT'] as const) {
          const value = `eaves-o${i}-${name}-${slug(tlp)}.example`
          secret.push(value)
          expect((await o[i].api('/v1/indicators', { json: { type: 'domain', value, tlp, circle } })).status).toBe(201)
        }
      }
    }
    // the markers, last on the paths to the outsider: CLEAR records of the two nodes it can
    // connect to (only admins with an open invite let it in), so what those two send it, their
    // own records and what they relay, is what this test covers
    for (const [admin, circle] of [[0, X], [4, Y]] as const) {
      expect((await o[admin].api('/v1/indicators', { json: { type: 'domain', value: `eaves-marker-o${admin}.example`, tlp: 'CLEAR', circle } })).status).toBe(201)
    }
    const readable = (circle: string): string[] => e.messages(circle).map(d => e.read(circle, d)).filter(r => r.text !== null).map(r => r.text!)
    await until('the outsider to receive both CLEAR markers', () => readable(X).some(t => t.includes('eaves-marker-o0.example')) && readable(Y).some(t => t.includes('eaves-marker-o4.example')), 10_000)
    // it received sealed messages too (the GREEN and AMBER ones), and could open none
    const sealed = [...e.messages(X), ...e.messages(Y)].filter(d => e.read(X, d).sealed)
    expect(sealed.length).toBeGreaterThan(0)
    for (const [circle] of circles) {
      for (const d of e.messages(circle)) {
        const r = e.read(circle, d)
        if (r.sealed) { expect(r.text).toBeNull(); continue }
        for (const entry of [JSON.parse(r.text!)].flat() as Entry[]) expect(entry.tlp, r.text!.slice(0, 200)).toBe('CLEAR')
        // no non-CLEAR value in the clear bytes either
        const text = Buffer.from(d).toString('latin1')
        expect(secret.filter(v => text.includes(v))).toEqual([])
      }
    }
    // and o5, the node in no circle, still holds only its own private record
    expect([...await holdings(o[5], keys)]).toEqual(['5:o5-local.example'])
    await e.stop()
  })

  it('what another org shared is not passed on by publishing it again: not by publish, bulk import or TAXII add', async () => {
    // o3 (in X and Y) holds o0's X records at every TLP, and a RED record sent to it
    const redTo3 = [...expected[3]].find(x => x.endsWith('-red.example') && !x.startsWith('3:'))!.split(':')[1]
    const pub = async (value: string, extra: Record<string, unknown>) => await o[3].api('/v1/indicators', { json: { type: 'domain', value, ...extra } })
    for (const tlp of ['GREEN', 'AMBER', 'AMBER+STRICT'] as const) {
      const value = `o0-x-${slug(tlp)}.example`
      // into the other circle: refused, naming the rule; GREEN o3 already re-shared into Y
      // explicitly, so that is an update of its own record there
      const r = await pub(value, { tlp, circle: Y })
      if (tlp === 'GREEN') expect(r.status, r.text).toBe(201)
      else {
        expect([r.status, r.body.error?.code, r.body.error?.field], value).toEqual([403, 'PX_ERR_TLP_VIOLATION', 'value'])
        expect(r.body.error.message).toMatch(new RegExp(`TLP:${tlp.replace('+', '\\+')} is never passed on`))
      }
      // to a named recipient (RED): refused (GREEN: only by the explicit re-share); into its own circle, or the private scope: fine
      const red = await pub(value, { tlp: 'RED', to: keys[4] })
      expect(red.status).toBe(403)
      if (tlp === 'GREEN') expect(red.body.error.message).toMatch(/explicit re-share \(phalanx reshare [0-9a-f]{32} --circle/)
      expect((await pub(value, { tlp, circle: X })).status).toBe(201)
      expect((await pub(value, { tlp })).status).toBe(201)
      // never at a looser TLP, not even in its own circle or the private scope
      const looser = await pub(value, { tlp: 'CLEAR', circle: X })
      expect([looser.status, looser.body.error?.message]).toEqual([403, expect.stringMatching(new RegExp(`publish it at TLP:${tlp.replace('+', '\\+')} or stricter`))])
      expect((await pub(value, { tlp: 'CLEAR' })).status).toBe(403)
      // a sighting names the value: it goes where a publish may go. o3's own record of the
      // value went to X (and the private scope); GREEN went to Y too (o3's explicit re-share
      // above: the record keeps every log it reached), so Y is another circle for the others
      const sighting = await o[3].api('/v1/sightings', { json: { value, tlp: 'AMBER+STRICT', circle: Y } })
      expect(sighting.status, sighting.text).toBe(tlp === 'GREEN' ? 201 : 403)
    }
    // an address is the same address in its other written forms
    expect((await o[0].api('/v1/indicators', { json: { type: 'ipv4', value: '198.18.7.7', tlp: 'AMBER', circle: X } })).status).toBe(201)
    await until('o3 to hold o0\'s AMBER address', () => o[3].node.ops.indicators.lookup('198.18.7.7').matches.length > 0)
    for (const [type, value] of [['cidr', '198.18.7.7/32'], ['ipv6', '::ffff:198.18.7.7'], ['ipv4', '198.18.7.7']]) {
      const r = await o[3].api('/v1/indicators', { json: { type, value, tlp: 'AMBER', circle: Y } })
      expect([r.status, r.body.error?.code], `${type} ${value}`).toEqual([403, 'PX_ERR_TLP_VIOLATION'])
    }
    // CLEAR goes anywhere; RED sent to o3 goes nowhere but its private scope
    expect((await pub('o0-x-clear.example', { tlp: 'CLEAR', circle: Y })).status).toBe(201)
    expect((await pub(redTo3, { tlp: 'AMBER', circle: X })).body.error.message).toMatch(/reached you as TLP:RED .* directly \(RED\)/)
    // an import asks for such rows to be left out and listed, the others stored
    const bulk = await o[3].api('/v1/indicators?skip_tlp_violations=true', { json: { circle: Y, tlp: 'GREEN', indicators: [{ value: 'o3-own-fresh.example' }, { value: 'o0-x-amber.example' }, { value: redTo3 }] } })
    expect(bulk.status, bulk.text).toBe(201)
    expect(bulk.body.count).toBe(1)
    expect(bulk.body.skipped.map((x: any) => [x.index, x.code, x.field])).toEqual([[1, 'PX_ERR_TLP_VIOLATION', 'indicators[1].value'], [2, 'PX_ERR_TLP_VIOLATION', 'indicators[2].value']])
    // a TAXII add into Y's collection: the object fails with the reason, the others are stored
    const TAXII = 'application/taxii+json;version=2.1'
    const cols = (await o[3].api('/taxii2/api/collections/', { headers: { Accept: TAXII } })).body.collections
    const yCol = cols.find((c: any) => c.description === `trust circle ${Y}`).id
    const obj = (n: number, v: string): Record<string, unknown> => ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, pattern: `[domain-name:value = '${v}']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', object_marking_refs: ['marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'] })
    const add = await o[3].api(`/taxii2/api/collections/${yCol as string}/objects/`, { raw: JSON.stringify({ objects: [obj(1, 'o0-x-amber-strict.example'), obj(2, 'o3-taxii-fresh.example')] }), contentType: TAXII, headers: { Accept: TAXII } })
    expect(add.status, add.text).toBe(202)
    expect(add.body).toMatchObject({ success_count: 1, failure_count: 1 })
    expect(add.body.failures[0].message).toMatch(/reached you as TLP:AMBER\+STRICT/)
    // o4 (in Y, not in X) got o3's own values and none of o0's X values under o3's name
    await until('o4 to hold o3\'s fresh values', async () => { const h = await holdings(o[4], keys); return h.has('3:o3-own-fresh.example') && h.has('3:o3-taxii-fresh.example') })
    const h4 = await holdings(o[4], keys)
    expect(['GREEN', 'AMBER', 'AMBER+STRICT'].map(t => h4.has(`3:o0-x-${slug(t)}.example`))).toEqual([true, false, false])
    expect(h4.has(`3:${redTo3}`)).toBe(false)
  }, 60_000)

  it('hostile gossip from a member is refused and stores nothing', async () => {
    // hostile members are raw libp2p peers (test/utils/raw-peer.ts) that joined X; each sends at
    // most two refused messages and then a marker (gossipsub graylists a peer after three)
    const indicator = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })
    const wire = (e: Entry): { json: string, hash: string } => ({ json: canonicalJson(e), hash: entryHash(e) })
    const member = async (name: string): Promise<{ r: RawPeer, key: { epoch: number, key: Uint8Array }, xLog: RemoteLog, send: (e: { json: string, hash: string }, sealed?: boolean) => Promise<void> }> => {
      const r = await RawPeer.start()
      raws.push(r)
      await r.join((await o[0].api(`/v1/circles/${X}/invites`, { json: {} })).body.code, name)
      await until('X\'s members to know the raw member', () => X_MEMBERS.every(i => o[i].node.circles.get(X)?.members.has(r.publicKey) === true))
      for (const i of X_MEMBERS) await r.dial(o[i])
      r.subscribe(X)
      await until('the raw member and X\'s members to see each other on the topic', () => X_MEMBERS.every(i => r.seesOnTopic(X, keys[i])))
      const key = r.circleKey(X, 1)!
      const send = async (e: { json: string, hash: string }, sealed = true): Promise<void> => { await r.publish(X, encodeEnvelope(e.json, e.hash, sealed ? key : null)) }
      // its real log in X: one CLEAR entry every member stores
      const xLog = new RemoteLog(r.key, X)
      await send(wire(xLog.next([indicator(`${name}-hello.example`)], { tlp: 'CLEAR' })), false)
      await until('X\'s members to store the raw member\'s first entry', () => X_MEMBERS.every(i => o[i].node.ops.indicators.lookup(`${name}-hello.example`).found))
      return { r, key, xLog, send }
    }
    const members = [await member('raw1'), await member('raw2'), await member('raw3'), await member('raw4')]
    const before = o.map(n => n.node.store.counts().entries)
    const rejectedBefore = o.map(n => n.node.network!.gossipCounts.rejected)
    const stranger = new RemoteLog(undefined, X)
    const good = stranger.next([indicator('forged.example')])
    const groups: Array<(m: typeof members[number]) => Promise<void>> = [
      async ({ send, xLog }) => {
        // an AMBER entry of the member itself, sent in the clear, continuing its real log (the
        // next seq after its head, the head's hash as prev): only its clear-text AMBER is wrong
        await send(wire(xLog.peek([indicator('in-the-clear.example')], { tlp: 'AMBER' })), false)
        // a stranger's entry, altered after signing
        await send({ json: canonicalJson({ ...good, items: [{ ...good.items[0], value: 'other.example' }] }), hash: entryHash(good) })
      },
      async ({ send, r }) => {
        // a stranger's correctly signed entry, sealed with the (leaked) circle key
        await send(wire(good))
        // an entry of circle Y on X's topic
        await send(wire(new RemoteLog(r.key, Y).next([indicator('wrong-circle.example')])))
      },
      async ({ send, r }) => {
        // garbage, sealed and clear
        await send({ json: 'not json at all', hash: 'ab'.repeat(32) })
        await r.publish(X, new Uint8Array([1, 0, 0, 0, 0, 0, ...new Array(40).fill(7)]))
      },
      async ({ r }) => {
        // oversize (over the 64 KiB entry limit, under the transport's frame limit)
        await r.publish(X, new Uint8Array(100 * 1024).fill(1))
      }
    ]
    const FORBIDDEN = ['forged.example', 'other.example', 'wrong-circle.example', 'in-the-clear.example']
    const leaked = (n: TestNode): string[] => FORBIDDEN.filter(v => n.node.ops.indicators.lookup(v).found)
    const scores = (r: RawPeer): number[] => X_MEMBERS.map(i => o[i].node.network!.peerScore(r.publicKey))
    // the rejections cost the senders: members score each one that sent two refused messages
    // below zero, however long it has been in their mesh (CIRCLE_TOPIC_SCORE). The penalty
    // decays (×0.9 a second), so each sender's scores are read right after its group, not after
    // all four; gossipsub recomputes them on its heartbeat
    const scoredBelowZero: string[] = []
    for (const [g, send] of groups.entries()) {
      const m = members[g]
      await send(m)
      // the marker: the member's real next entry, sealed, on the same path after them
      const marker = `raw${g + 1}-marker.example`
      await m.send(wire(m.xLog.next([indicator(marker)], { tlp: 'GREEN' })))
      // (a leak ends the wait too, and is reported below rather than as a timeout)
      await until(`X's members to store ${marker}`, () => X_MEMBERS.every(i => leaked(o[i]).length > 0 || o[i].node.ops.indicators.lookup(marker).found))
      if (g < 3) {
        await until(`the members to score raw${g + 1} below zero`, () => Math.max(...scores(m.r)) < 0, 10_000).catch(() => {})
        scoredBelowZero.push(`raw${g + 1}: ${Math.max(...scores(m.r)) < 0 ? 'below zero' : scores(m.r).join(', ')}`)
      }
    }
    expect(scoredBelowZero, 'the senders of two refused messages, as each member of X scores them').toEqual(['raw1', 'raw2', 'raw3'].map(r => `${r}: below zero`))
    for (const n of o) expect(leaked(n), `at ${n.node.identity.org}`).toEqual([])
    // nothing stored but the markers' entries, at each member; nothing at all elsewhere
    expect(o.map(n => n.node.store.counts().entries)).toEqual(before.map((c, i) => c + (X_MEMBERS.includes(i) ? groups.length : 0)))
    // each member judged the 7 refused messages and rejected them
    const rejected = (): number[] => o.map((n, i) => n.node.network!.gossipCounts.rejected - rejectedBefore[i])
    await until('the members to count the rejections', () => X_MEMBERS.every(i => rejected()[i] >= 7), 10_000).catch(() => {})
    expect(X_MEMBERS.map(i => rejected()[i]), 'rejections at each member of X').toEqual(X_MEMBERS.map(() => 7))
  })
})
