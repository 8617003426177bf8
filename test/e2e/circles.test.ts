/**
 * Trust circles over real libp2p nodes on 127.0.0.1 (in one process, each with its own
 * LevelDB and HTTP API): create, invite and join, manual add and connect, gossip of
 * indicators to every member (through a relay when two members are not connected),
 * removal with key rotation, and what non-members get: nothing readable, nothing stored.
 */
import { describe, expect, it } from 'vitest'
import { canonicalJson, entryHash } from '../../src/records/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { until } from '../utils/wait.js'
import { RemoteLog } from '../utils/store.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'

const { start, raw } = cluster()


async function lookupFound (n: TestNode, value: string): Promise<any> {
  const r = await n.api(`/v1/lookup?value=${encodeURIComponent(value)}`)
  expect(r.status).toBe(200)
  return r.body.found === true ? r.body : undefined
}

describe('circles: invite, join, add, gossip', () => {
  let a: TestNode, b: TestNode, c: TestNode, outsider: TestNode
  let circle: string

  it('A creates a circle, B joins with an invite code, both see each other\'s fingerprint', async () => {
    ;[a, b, c, outsider] = await Promise.all([start('Bank A'), start('Bank B'), start('Bank C'), start('Mallory')])
    const created = await a.api('/v1/circles', { json: { name: 'EU Finance ISAC' } })
    expect(created.status, created.text).toBe(201)
    circle = created.body.id
    expect(created.body).toMatchObject({ name: 'EU Finance ISAC', role: 'admin', members: 1, epoch: 1 })

    const inv = await a.api(`/v1/circles/${circle}/invites`, { json: { expires: '1h' } })
    expect(inv.status, inv.text).toBe(201)
    const joined = await b.api('/v1/circles/join', { json: { code: inv.body.code } })
    expect(joined.status, joined.text).toBe(200)
    expect(joined.body.inviter).toEqual({ publicKey: a.node.identity.publicKey, org: 'Bank A', fingerprint: a.node.identity.fingerprint })
    expect(joined.body.circle).toEqual({ id: circle, name: 'EU Finance ISAC' })

    const members = await until('A to list B', async () => {
      const r = await a.api(`/v1/circles/${circle}/members`)
      return r.body.members.length === 2 ? r.body.members : undefined
    })
    const bView = members.find((m: any) => m.publicKey === b.node.identity.publicKey)
    expect(bView).toMatchObject({ org: 'Bank B', role: 'member', fingerprint: b.node.identity.fingerprint })
    expect((await b.api('/v1/circles')).body.circles.map((x: any) => x.id)).toEqual([circle])

    // the code is one-time: with no invite open, A does not even let an unknown org in; the
    // joiner is told why in terms of the invite (a 4xx), not "could not reach"
    const closed = await outsider.api('/v1/circles/join', { json: { code: inv.body.code } })
    expect(closed.status, closed.text).toBe(400)
    expect(closed.body.error.code).toBe('PX_ERR_INVITE')
    expect(closed.body.error.message).toMatch(/answered but refused this node: the invite was most likely used already, or it was revoked, or its expiry/)
    // while another invite is open A answers, and refuses the used code by name
    const other = await a.api(`/v1/circles/${circle}/invites`, { json: { expires: '10m' } })
    expect(other.status).toBe(201)
    const again = await outsider.api('/v1/circles/join', { json: { code: inv.body.code } })
    expect(again.status, again.text).toBe(400)
    expect(again.body.error.code).toBe('PX_ERR_INVITE')
    expect(again.body.error.message).toMatch(/already used/)
    // an expired code is refused by name, before anything is dialled
    const short = await a.api(`/v1/circles/${circle}/invites`, { json: { expires: '1s' } })
    await new Promise(resolve => setTimeout(resolve, 1100))
    const expired = await outsider.api('/v1/circles/join', { json: { code: short.body.code } })
    expect(expired.status).toBe(400)
    expect(expired.body.error.code).toBe('PX_ERR_INVITE')
    expect(expired.body.error.message).toMatch(/expired/)
    // an altered code is refused before anything is dialled
    const tampered = await outsider.api('/v1/circles/join', { json: { code: inv.body.code.slice(0, -6) + 'AAAAAA' } })
    expect(tampered.status).toBe(400)
    expect(tampered.body.error.code).toBe('PX_ERR_INVITE')
  })

  it('a GREEN indicator published at A reaches B, verified as A\'s', async () => {
    const pub = await a.api('/v1/indicators', { json: { type: 'url', value: 'hxxp://phish[.]example/login', tlp: 'GREEN', circle, tags: ['phishing'] } })
    expect(pub.status, pub.text).toBe(201)
    const found = await until('B to store it', async () => await lookupFound(b, 'http://phish.example/login'))
    expect(found.matches[0]).toMatchObject({ origin: a.node.identity.publicKey, circle, tlp: 'GREEN', tags: ['phishing'] })
    // the proving entry is stored at B with A's signature
    const entry = b.node.store.getEntryByHash(found.matches[0].entry.hash)
    expect(entry?.origin).toBe(a.node.identity.publicKey)
  })

  it('C added by key connects by address; then A–B–C in a line: C gets A\'s records through B', async () => {
    const added = await a.api(`/v1/circles/${circle}/members`, { json: { publicKey: c.node.identity.publicKey, org: 'Bank C' } })
    expect(added.status, added.text).toBe(201)
    expect(added.body).toMatchObject({ org: 'Bank C', role: 'member', fingerprint: c.node.identity.fingerprint })
    // C and A never connect directly: C refuses A, A refuses C (a line A–B–C)
    a.node.network!.block(c.node.identity.publicKey)
    c.node.network!.block(a.node.identity.publicKey)
    const bAddr = `${b.node.network!.multiaddrs()[0]}`
    const conn = await c.api(`/v1/circles/${circle}/connect`, { json: { addr: bAddr } })
    expect(conn.status, conn.text).toBe(200)
    expect(conn.body.peer.publicKey).toBe(b.node.identity.publicKey)
    await until('C to be meshed on the topic', async () => c.node.network!.topicPeers(circle) > 0)
    await until('B to be meshed with A and C', async () => b.node.network!.topicPeers(circle) >= 2)

    const pub = await a.api('/v1/indicators', { json: { type: 'domain', value: 'c2.evil.example', tlp: 'AMBER', circle } })
    expect(pub.status, pub.text).toBe(201)
    const found = await until('C to store A\'s record', async () => await lookupFound(c, 'c2.evil.example'))
    expect(found.matches[0].origin).toBe(a.node.identity.publicKey)
    expect(c.node.network!.connectedKeys()).not.toContain(a.node.identity.publicKey)
  })

  it('the outsider, connected and subscribed, reads nothing; a record it forges is refused', async () => {
    // the outsider (a raw libp2p peer: it follows none of a node's rules) dials A, whose gater
    // lets unknown orgs in while an invite is open (one is, from the first test), and
    // subscribes to the circle topic (it knows the id)
    const o = await raw()
    const peers = a.node.network!.topicPeers(circle)
    await o.dial(a)
    o.subscribe(circle)
    await until('A to see the outsider on the topic', () => a.node.network!.topicPeers(circle) > peers)
    for (const [value, tlp] of [['203.0.113.9', 'GREEN'], ['203.0.113.10', 'AMBER'], ['203.0.113.11', 'CLEAR']]) {
      expect((await a.api('/v1/indicators', { json: { type: 'ipv4', value, tlp, circle } })).status).toBe(201)
    }
    await until('B to store them', async () => await lookupFound(b, '203.0.113.11'))
    // the CLEAR one, published last, reaches the outsider: the others had their chance
    await until('the outsider to receive the CLEAR record', () => o.messages(circle).some(d => o.read(circle, d).text?.includes('203.0.113.11') === true))
    const got = o.messages(circle).map(d => o.read(circle, d))
    expect(got.filter(r => r.sealed).length, 'the sealed records reached it too').toBeGreaterThanOrEqual(2)
    for (const r of got) {
      if (r.sealed) expect(r.text).toBeNull()
      expect(r.text ?? '').not.toMatch(/203\.0\.113\.(9|10)\b/)
    }
    // a record it signs into the circle is judged and refused by A, and stored nowhere
    const rejected = a.node.network!.gossipCounts.rejected
    const forged = new RemoteLog(o.key, circle).next([{ kind: 'indicator', type: 'ipv4', value: '198.51.100.1', confidence: 50, tags: [] }], { tlp: 'CLEAR' })
    await o.publish(circle, encodeEnvelope(canonicalJson(forged), entryHash(forged), null))
    await until('A to reject it (or take it)', () => a.node.network!.gossipCounts.rejected > rejected || a.node.ops.indicators.lookup('198.51.100.1').found)
    for (const n of [a, b, c]) expect(n.node.ops.indicators.lookup('198.51.100.1').found, n.node.identity.org).toBe(false)
    // the outsider node, in no circle, holds nothing, and its own API refuses to publish into the circle
    expect(outsider.node.store.counts().entries).toBe(0)
    const forgedApi = await outsider.api('/v1/indicators', { json: { type: 'ipv4', value: '198.51.100.1', circle } })
    expect(forgedApi.status).toBe(404)
    expect(forgedApi.body.error.code).toBe('PX_ERR_UNKNOWN_CIRCLE')
  })

  it('RED never goes to a circle', async () => {
    const r = await a.api('/v1/indicators', { json: { type: 'ipv4', value: '192.0.2.77', tlp: 'RED', circle } })
    expect(r.status).toBe(403)
    expect(r.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
  })

  it('a removed member gets nothing published after its removal; the key rotates', async () => {
    // A and C connect directly again (B is about to leave the line)
    a.node.network!.unblock(c.node.identity.publicKey)
    c.node.network!.unblock(a.node.identity.publicKey)
    await until('A and C connected', () => a.node.network!.connectedKeys().includes(c.node.identity.publicKey), 15_000)
    await until('A and C on the topic', () => c.node.network!.topicPeers(circle) >= 2)
    // B is also in a second circle with A and C, so it stays connected after its removal:
    // what it does not get, it does not get because of the rotation, not a hang-up
    const other = (await a.api('/v1/circles', { json: { name: 'second' } })).body.id
    for (const n of [b, c]) expect((await n.api('/v1/circles/join', { json: { code: (await a.api(`/v1/circles/${other}/invites`, { json: {} })).body.code } })).status).toBe(200)
    const del = await a.api(`/v1/circles/${circle}/members/${b.node.identity.publicKey}`, { method: 'DELETE' })
    expect(del.status, del.text).toBe(200)
    expect(a.node.circles.get(circle)!.epoch).toBe(2)
    await until('C to see epoch 2', () => c.node.circles.get(circle)?.epoch === 2, 15_000)
    expect(c.node.circles.members(circle).map(m => m.publicKey)).not.toContain(b.node.identity.publicKey)
    // B learns of its removal, and the new key is sealed to A and C, not to B
    await until('B to see its removal', () => b.node.circles.get(circle)?.members.get(b.node.identity.publicKey)?.removed !== undefined, 15_000)
    expect([...b.node.circles.get(circle)!.keys.get(2)!.keys()].sort()).toEqual([a.node.identity.publicKey, c.node.identity.publicKey].sort())
    expect(b.node.circles.circleKey(circle, 2)).toBeNull()
    expect(b.node.circles.circleKey(circle, 1)).not.toBeNull()
    const pub = await a.api('/v1/indicators', { json: { type: 'domain', value: 'after-removal.example', tlp: 'GREEN', circle } })
    expect(pub.status).toBe(201)
    await until('C to store it', async () => await lookupFound(c, 'after-removal.example'))
    // B is still connected to A (through the second circle) and A serves it that circle;
    // a sync of the removed circle is refused
    expect(b.node.network!.connectedKeys()).toContain(a.node.identity.publicKey)
    expect(await b.node.network!.syncNow(other, a.node.identity.publicKey)).toMatchObject({ circle: other })
    expect(await b.node.network!.syncNow(circle, a.node.identity.publicKey)).toBeNull()
    // and B, no longer in it, serves it to no one (A's sync of it from B is refused)
    expect(await a.node.network!.syncNow(other, b.node.identity.publicKey)).toMatchObject({ circle: other })
    expect(await a.node.network!.syncNow(circle, b.node.identity.publicKey)).toBeNull()
    expect((await b.api('/v1/lookup?value=after-removal.example')).body.found).toBe(false)

    // re-admission: B gets the current key and what is published from then on
    const again = await a.api(`/v1/circles/${circle}/members`, { json: { publicKey: b.node.identity.publicKey, org: 'Bank B' } })
    expect(again.status, again.text).toBe(201)
    const back = await b.api(`/v1/circles/${circle}/connect`, { json: { addr: a.node.network!.multiaddrs()[0] } })
    expect(back.status, back.text).toBe(200)
    expect(back.body.circle.epoch).toBe(2)
    await until('B meshed again', () => b.node.network!.topicPeers(circle) >= 1)
    const later = await a.api('/v1/indicators', { json: { type: 'domain', value: 'after-readmission.example', tlp: 'AMBER', circle } })
    expect(later.status).toBe(201)
    await until('B to store it', async () => await lookupFound(b, 'after-readmission.example'))
  })
})

describe('TLP:RED to a named recipient', () => {
  it('goes only to B, waits in A\'s outbox while B is offline, and is delivered when B returns', async () => {
    const [a, b, c] = await Promise.all([start('Red A'), start('Red B'), start('Red C')])
    const circle = (await a.api('/v1/circles', { json: { name: 'red test' } })).body.id
    for (const n of [b, c]) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await n.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    // B goes offline (its data dir stays)
    const bConfig = b.node.config
    await b.node.stop()
    const bKey = b.node.identity.publicKey
    const pub = await a.api('/v1/indicators', { json: { type: 'ipv4', value: '198.51.100.66', tlp: 'RED', to: bKey, tags: ['red-only'] } })
    expect(pub.status, pub.text).toBe(201)
    expect(pub.body.entries[0].circle).toBe(`red:${bKey}`)
    await until('the outbox to hold it', async () => (await a.api('/v1/outbox')).body.outbox.length === 1)
    // failed attempts back off: each doubles the wait (from p2p.dialIntervalMs, 300 ms here)
    const waiting = await until('two failed attempts', async () => {
      const o = (await a.api('/v1/outbox')).body.outbox[0]
      return o.attempts >= 2 ? o : undefined
    })
    expect(waiting).toMatchObject({ recipient: bKey, seq: 1 })
    expect(Date.parse(waiting.nextAttempt)).toBeGreaterThan(Date.now() - 1000)
    // RED to a circle, or to a stranger, or with another TLP is refused
    expect((await a.api('/v1/indicators', { json: { value: '198.51.100.67', tlp: 'RED', to: bKey, circle } })).body.error.code).toBe('PX_ERR_TLP_VIOLATION')
    expect((await a.api('/v1/indicators', { json: { value: '198.51.100.67', tlp: 'AMBER', to: bKey } })).body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'to' })
    expect((await a.api('/v1/indicators', { json: { value: '198.51.100.67', tlp: 'RED', to: 'ab'.repeat(32) } })).body.error).toMatchObject({ code: 'PX_ERR_NOT_MEMBER', field: 'to' })

    // B comes back with the same data dir
    const { PhalanxNode } = await import('../../src/node.js')
    const b2 = new PhalanxNode(bConfig)
    await b2.start()
    try {
      const got = await until('B to receive the RED record', () => {
        const r = b2.ops.indicators.lookup('198.51.100.66')
        return r.found ? r : undefined
      }, 15_000)
      expect(got.matches[0]).toMatchObject({ origin: a.node.identity.publicKey, tlp: 'RED', circle: `red:${bKey}`, tags: ['red-only'] })
      await until('the outbox to empty', async () => (await a.api('/v1/outbox')).body.outbox.length === 0)
      // C never stores it: a RED record of A's for C, sent after it on the same path, arrives first
      expect((await a.api('/v1/indicators', { json: { type: 'ipv4', value: '198.51.100.68', tlp: 'RED', to: c.node.identity.publicKey } })).status).toBe(201)
      await until('C to receive its own RED record', () => c.node.ops.indicators.lookup('198.51.100.68').found, 15_000)
      expect((await c.api('/v1/lookup?value=198.51.100.66')).body.found).toBe(false)
      expect(c.node.store.head(`red:${bKey}`, a.node.identity.publicKey)).toBeUndefined()
    } finally {
      await b2.stop()
    }
  })
})

describe('gossip loss is repaired', () => {
  it('a node that misses gossip while cut off still ends up with every entry (sync on a gap, on reconnecting and periodically)', async () => {
    const [a, b, c] = await Promise.all([start('Loss A'), start('Loss B'), start('Loss C')])
    const circle = (await a.api('/v1/circles', { json: { name: 'lossy' } })).body.id
    for (const n of [b, c]) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      expect((await n.api('/v1/circles/join', { json: { code } })).status).toBe(200)
    }
    await until('C meshed', () => c.node.network!.topicPeers(circle) >= 2)
    const [aKey, bKey, cKey] = [a, b, c].map(n => n.node.identity.publicKey)
    // C is cut off from A and B (it keeps running, subscribed): what they gossip meanwhile is lost to it
    for (const n of [a, b]) { n.node.network!.block(cKey); c.node.network!.block(n.node.identity.publicKey) }
    await until('C cut off', () => c.node.network!.connectedKeys().length === 0 && !a.node.network!.connectedKeys().includes(cKey) && !b.node.network!.connectedKeys().includes(cKey))
    // single publishes (those that wait together share entries: group commit) and a bulk one,
    // from two origins; A's log ends at the highest seq its answers name
    const seqsOf = async (from: number): Promise<number> => Math.max(...await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const r = await a.api('/v1/indicators', { json: { type: 'domain', value: `loss-${from + i}.example`, tlp: 'GREEN', circle } })
      expect(r.status).toBe(201)
      return r.body.entries.at(-1).seq as number
    })))
    const aSeq = await seqsOf(0)
    const bulk = await b.api('/v1/indicators', { json: { indicators: Array.from({ length: 3000 }, (_, i) => ({ type: 'ipv4', value: `10.9.${i >> 8}.${i & 255}` })), tlp: 'AMBER', circle } })
    expect(bulk.status).toBe(201)
    await until('B to hold A\'s entries', () => b.node.store.head(circle, aKey)?.seq === aSeq)
    expect(c.node.store.head(circle, aKey)).toBeUndefined()
    expect(c.node.store.head(circle, bKey)).toBeUndefined()
    // back in touch: what A and B publish now reaches C by gossip, after a gap in both logs
    for (const n of [a, b]) { n.node.network!.unblock(cKey); c.node.network!.unblock(n.node.identity.publicKey) }
    await until('C connected again', () => c.node.network!.connectedKeys().length === 2)
    const aSeq2 = await seqsOf(30)
    expect(aSeq2).toBeGreaterThan(aSeq)
    const last = await b.api('/v1/indicators', { json: { type: 'ipv4', value: '10.9.200.1', tlp: 'AMBER', circle } })
    expect(last.status).toBe(201)
    const bSeq = last.body.entries.at(-1).seq
    expect(bSeq).toBeGreaterThan(bulk.body.entries.at(-1).seq)
    const want = (n: TestNode): boolean => n.node.store.head(circle, aKey)?.seq === aSeq2 && n.node.store.head(circle, bKey)?.seq === bSeq
    await until('B and C to hold every entry', () => want(b) && want(c), 30_000)
    expect(c.node.ops.indicators.lookup('loss-0.example').found).toBe(true)
    expect(c.node.ops.indicators.lookup('loss-59.example').found).toBe(true)
    expect(c.node.ops.indicators.lookup('10.9.11.183').found).toBe(true)
    // converged: the same digest of the circle's entry set everywhere
    const digests = async (): Promise<string[]> => await Promise.all([a, b, c].map(async n => (await n.api(`/v1/circles/${circle}/digest`)).body.digest as string))
    await until('equal digests', async () => new Set(await digests()).size === 1, 15_000)
    const d = (await a.api(`/v1/circles/${circle}/digest`)).body
    expect(d.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(d.logs[circle]).toEqual({ [aKey]: aSeq2, [bKey]: bSeq })
    // one more entry at A changes A's digest until the others have it too
    expect((await a.api('/v1/indicators', { json: { type: 'domain', value: 'one-more.example', tlp: 'GREEN', circle } })).status).toBe(201)
    expect((await a.api(`/v1/circles/${circle}/digest`)).body.digest).not.toBe(d.digest)
    await until('equal digests again', async () => new Set(await digests()).size === 1, 15_000)
    expect((await b.api('/v1/circles/no-such/digest')).status).toBe(404)
  })
})

describe('the door of a node with an invite', () => {
  it('closes when its last invite expires unused: an unknown org gets in before, not after', async () => {
    const x = await start('Bank X')
    const id = (await x.api('/v1/circles', { json: { name: 'short-lived' } })).body.id
    const inv = await x.api(`/v1/circles/${id}/invites`, { json: { expires: '2s' } })
    expect(inv.status).toBe(201)
    const before = await raw()
    await before.dial(x)
    await until('X to keep the unknown org connected', () => before.isConnectedTo(x.node.identity.publicKey) ? true : undefined)
    await new Promise(resolve => setTimeout(resolve, Date.parse(inv.body.expires) - Date.now() + 200))
    const after = await raw()
    const dialled = await after.dial(x).then(() => true, () => false)
    // the gater refuses after the handshake: give X a moment to hang up
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(dialled && after.isConnectedTo(x.node.identity.publicKey)).toBe(false)
    // a code that was not used is refused with its reason, in terms of the invite
    const joiner = await start('Bank Y')
    const late = await joiner.api('/v1/circles/join', { json: { code: inv.body.code } })
    expect(late.status).toBe(400)
    expect(late.body.error.code).toBe('PX_ERR_INVITE')
  })
})

describe('joining a circle from the config file', () => {
  it('an org added by key fetches the circle at start from p2p.connect, and members show when they were last seen', async () => {
    const [a, d] = await Promise.all([start('Cfg A'), start('Cfg D')])
    const circle = (await a.api('/v1/circles', { json: { name: 'by config' } })).body.id
    expect((await a.api(`/v1/circles/${circle}/members`, { json: { publicKey: d.node.identity.publicKey, org: 'Cfg D' } })).status).toBe(201)
    const { loadConfig } = await import('../../src/config/index.js')
    const { PhalanxNode } = await import('../../src/node.js')
    const base = d.node.config
    await d.node.stop()
    const config = loadConfig({ env: {}, flags: { ...base, api: { ...base.api }, p2p: { ...base.p2p, connect: [{ circle, addr: a.node.network!.multiaddrs()[0] }] } } as any })
    const d2 = new PhalanxNode(config)
    await d2.start()
    try {
      await until('D to know the circle', () => d2.ops.circles.list().some(c => c.id === circle), 15_000)
      await until('A to see D online', () => a.node.ops.circles.members(circle).find(m => m.publicKey === d2.identity.publicKey)?.online === true, 15_000)
      const seen = a.node.ops.circles.members(circle).find(m => m.publicKey === d2.identity.publicKey)!
      expect(Date.parse(seen.lastSeen!)).toBeGreaterThan(Date.now() - 60_000)
    } finally {
      await d2.stop()
    }
    await until('A to see D offline, last seen just now', () => a.node.ops.circles.members(circle).find(m => m.publicKey === d2.identity.publicKey)?.online === false, 15_000)
    expect(a.node.ops.circles.members(circle).find(m => m.publicKey === d2.identity.publicKey)!.lastSeen).not.toBeNull()
  })
})
