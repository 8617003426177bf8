/**
 * The membership fold (every node must reach the same verdicts from the same signed
 * entries), box keys derived from the org key, invite codes, and the gossip envelope.
 */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import nacl from 'tweetnacl'
import { applyControlEntry, checkDataEntry, makeInvite, membershipLogOf, parseInvite, parseDuration, type CircleState } from '../../../src/circles/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { BoxKey, OrgKey, x25519FromEd25519Public } from '../../../src/identity/index.js'
import { validateItem, type Entry, type Item } from '../../../src/records/index.js'
import { BATCH_ENVELOPE_VERSION, batchHash, decodeEnvelope, encodeEntries, encodeEnvelope, openBody } from '../../../src/p2p/envelope.js'
import { RemoteLog } from '../../utils/store.js'

const CIRCLE = 'c-0123456789abcdef0123'
const item = (raw: Record<string, unknown>): Item => validateItem(raw)
const sealedFor = (...keys: string[]): Record<string, string> => Object.fromEntries(keys.map(k => [k, Buffer.from(randomBytes(72)).toString('base64')]))

function codeOf (fn: () => unknown): string {
  try { fn() } catch (err) { return err instanceof PhalanxError ? err.code : String(err) }
  return 'ok'
}

function genesis (founder: RemoteLog): { state: CircleState, entry: Entry } {
  const entry = founder.next([
    item({ kind: 'circle', name: 'ISAC' }),
    item({ kind: 'member', op: 'add', key: founder.origin, role: 'admin', org: 'A' }),
    item({ kind: 'key', epoch: 1, sealed: sealedFor(founder.origin) })
  ], { tlp: 'AMBER' })
  return { state: applyControlEntry(undefined, entry), entry }
}

describe('membership fold', () => {
  it('genesis, add, data from members only, remove with rotation, upTo', () => {
    const a = new RemoteLog(undefined, membershipLogOf(CIRCLE))
    const b = new RemoteLog()
    let { state } = genesis(a)
    expect(state).toMatchObject({ id: CIRCLE, name: 'ISAC', founder: a.origin, epoch: 1 })
    state = applyControlEntry(state, a.next([item({ kind: 'member', op: 'add', key: b.origin, role: 'member', org: 'B' }), item({ kind: 'key', epoch: 1, sealed: sealedFor(b.origin) })], { tlp: 'AMBER' }))
    expect(state.members.get(b.origin)).toMatchObject({ org: 'B', role: 'member' })

    const bData = new RemoteLog(b.key, CIRCLE)
    const d1 = bData.next([item({ kind: 'indicator', type: 'ipv4', value: '192.0.2.1', confidence: 50, tags: [] })])
    expect(codeOf(() => checkDataEntry(state, d1))).toBe('ok')
    const stranger = new RemoteLog(undefined, CIRCLE)
    expect(codeOf(() => checkDataEntry(state, stranger.next([item({ kind: 'indicator', type: 'ipv4', value: '192.0.2.2', confidence: 50, tags: [] })])))).toBe('PX_ERR_NOT_MEMBER')

    // a member cannot add anyone, nor seal keys
    const bCtl = new RemoteLog(b.key, membershipLogOf(CIRCLE))
    expect(codeOf(() => applyControlEntry(state, bCtl.peek([item({ kind: 'member', op: 'add', key: stranger.origin, role: 'admin' })], { tlp: 'AMBER' })))).toBe('PX_ERR_NOT_MEMBER')

    // a rotation must reach every remaining member
    expect(codeOf(() => applyControlEntry(state, a.peek([item({ kind: 'member', op: 'remove', key: b.origin, upTo: 1 }), item({ kind: 'key', epoch: 2, sealed: sealedFor(b.origin) })], { tlp: 'AMBER' })))).toBe('PX_ERR_VALIDATION')
    expect(codeOf(() => applyControlEntry(state, a.peek([item({ kind: 'key', epoch: 3, sealed: sealedFor(a.origin, b.origin) })], { tlp: 'AMBER' })))).toBe('PX_ERR_VALIDATION')
    state = applyControlEntry(state, a.next([item({ kind: 'member', op: 'remove', key: b.origin, upTo: 1 }), item({ kind: 'key', epoch: 2, sealed: sealedFor(a.origin) })], { tlp: 'AMBER' }))
    expect(state.epoch).toBe(2)
    expect(state.members.get(b.origin)?.removed).toMatchObject({ upTo: 1 })
    // entries up to the removal stand; later ones are refused
    expect(codeOf(() => checkDataEntry(state, d1))).toBe('ok')
    expect(codeOf(() => checkDataEntry(state, bData.next([item({ kind: 'indicator', type: 'ipv4', value: '192.0.2.3', confidence: 50, tags: [] })])))).toBe('PX_ERR_NOT_MEMBER')
    // the last admin stays
    expect(codeOf(() => applyControlEntry(state, a.peek([item({ kind: 'member', op: 'remove', key: a.origin })], { tlp: 'AMBER' })))).toBe('PX_ERR_VALIDATION')
    // re-admission works
    state = applyControlEntry(state, a.next([item({ kind: 'member', op: 'add', key: b.origin, role: 'member' }), item({ kind: 'key', epoch: 2, sealed: sealedFor(b.origin) })], { tlp: 'AMBER' }))
    expect(state.members.get(b.origin)?.removed).toBeUndefined()
    expect(state.members.get(b.origin)?.org).toBe('B')
  })

  it('refuses a genesis that is not the founder\'s first entry or does not make it admin, and data records in the membership log', () => {
    const a = new RemoteLog(undefined, membershipLogOf(CIRCLE))
    const other = new RemoteLog()
    expect(codeOf(() => applyControlEntry(undefined, a.peek([item({ kind: 'circle', name: 'x' }), item({ kind: 'member', op: 'add', key: other.origin, role: 'admin' }), item({ kind: 'key', epoch: 1, sealed: sealedFor(other.origin) })])))).toBe('PX_ERR_VALIDATION')
    expect(codeOf(() => applyControlEntry(undefined, a.peek([item({ kind: 'member', op: 'add', key: a.origin, role: 'admin' })])))).toBe('PX_ERR_UNKNOWN_CIRCLE')
    const { state } = genesis(a)
    expect(codeOf(() => applyControlEntry(state, a.peek([item({ kind: 'indicator', type: 'ipv4', value: '192.0.2.1', confidence: 50, tags: [] })])))).toBe('PX_ERR_VALIDATION')
    const data = new RemoteLog(a.key, CIRCLE)
    expect(codeOf(() => checkDataEntry(state, data.peek([item({ kind: 'address', addrs: ['/ip4/127.0.0.1/tcp/1'] })])))).toBe('PX_ERR_VALIDATION')
  })
})

describe('box keys from the org key', () => {
  it('the X25519 form of the Ed25519 public key matches the secret derived from the seed (50 random seeds)', () => {
    for (let i = 0; i < 50; i++) {
      const seed = randomBytes(32)
      const fromSecret = nacl.box.keyPair.fromSecretKey(new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32))).publicKey
      expect(Buffer.from(x25519FromEd25519Public(OrgKey.fromSeed(seed).publicKeyHex)).toString('hex')).toBe(Buffer.from(fromSecret).toString('hex'))
      expect(Buffer.from(BoxKey.fromSeed(seed).publicKey).toString('hex')).toBe(Buffer.from(fromSecret).toString('hex'))
    }
  })

  it('seals to a public key; only that org opens it, and a changed byte does not open', () => {
    const [sa, sb, sc] = [randomBytes(32), randomBytes(32), randomBytes(32)]
    const a = OrgKey.fromSeed(sa)
    const b = OrgKey.fromSeed(sb)
    const sealed = BoxKey.fromSeed(sa).seal(b.publicKeyHex, Buffer.from('circle key'))
    expect(Buffer.from(BoxKey.fromSeed(sb).open(a.publicKeyHex, sealed)!).toString()).toBe('circle key')
    expect(BoxKey.fromSeed(sc).open(a.publicKeyHex, sealed)).toBeNull()
    const raw = Buffer.from(sealed, 'base64'); raw[30] ^= 1
    expect(BoxKey.fromSeed(sb).open(a.publicKeyHex, raw.toString('base64'))).toBeNull()
  })
})

describe('invite codes', () => {
  it('round-trip, and any altered character is refused', () => {
    const key = OrgKey.fromSeed(randomBytes(32))
    const { code, invite } = makeInvite(key, { circle: CIRCLE, name: 'ISAC', org: 'A', addrs: ['/ip4/127.0.0.1/tcp/7400'], expires: '2030-01-01T00:00:00.000Z' })
    expect(parseInvite(code)).toEqual(invite)
    const json = JSON.parse(Buffer.from(code.slice(5), 'base64url').toString())
    const moved = 'phx1.' + Buffer.from(JSON.stringify({ ...json, addrs: ['/ip4/203.0.113.1/tcp/7400'] })).toString('base64url')
    expect(() => parseInvite(moved)).toThrow(/signature/)
    expect(() => parseInvite('phx1.@@@')).toThrow(PhalanxError)
    expect(() => parseInvite('hello')).toThrow(/starts with/)
  })

  it('durations', () => {
    expect(parseDuration('30m', 'e')).toBe(1_800_000)
    expect(parseDuration('24h', 'e')).toBe(86_400_000)
    expect(() => parseDuration('31d', 'e')).toThrow(/between/)
    expect(() => parseDuration('soon', 'e')).toThrow(/duration/)
  })
})

describe('gossip envelope', () => {
  it('seals with the circle key; the same entry gives the same bytes; a wrong key or a changed byte does not open', () => {
    const key = { epoch: 3, key: randomBytes(32) }
    const hash = randomBytes(32).toString('hex')
    const m1 = encodeEnvelope('{"x":1}', hash, key)
    expect(Buffer.from(encodeEnvelope('{"x":1}', hash, key)).equals(Buffer.from(m1))).toBe(true)
    const env = decodeEnvelope(m1)
    expect(env).toMatchObject({ sealed: true, epoch: 3, hash })
    expect(openBody(env, key.key)).toBe('{"x":1}')
    expect(openBody(env, randomBytes(32))).toBeNull()
    const bad = Buffer.from(m1); bad[bad.length - 1] ^= 1
    expect(openBody(decodeEnvelope(bad), key.key)).toBeNull()
    expect(decodeEnvelope(encodeEnvelope('{"x":1}', hash, null))).toMatchObject({ sealed: false, epoch: 0 })
    expect(() => decodeEnvelope(new Uint8Array(10))).toThrow(/short/)
    expect(() => decodeEnvelope(new Uint8Array(200 * 1024))).toThrow(/limit/)
  })

  it('packs the entries of one write group into batch messages under the size limit, in order', () => {
    const key = { epoch: 1, key: randomBytes(32) }
    const entries = Array.from({ length: 50 }, (_, i) => ({ json: JSON.stringify({ n: i, pad: 'x'.repeat(3000) }), hash: randomBytes(32).toString('hex') }))
    const msgs = encodeEntries(entries, key)
    expect(msgs.length).toBeGreaterThan(1)
    const back: any[] = []
    for (const m of msgs) {
      const env = decodeEnvelope(m)
      expect(env.version).toBe(BATCH_ENVELOPE_VERSION)
      expect(env.body.length).toBeLessThanOrEqual(64 * 1024 + 16)
      const arr = JSON.parse(openBody(env, key.key)!)
      expect(env.hash).toBe(batchHash(entries.slice(back.length, back.length + arr.length).map(e => e.hash)))
      back.push(...arr)
    }
    expect(back.map(x => x.n)).toEqual(entries.map((_, i) => i))
    // one entry alone stays a version 1 message
    expect(decodeEnvelope(encodeEntries(entries.slice(0, 1), key)[0])).toMatchObject({ version: 1, hash: entries[0].hash })
  })
})
