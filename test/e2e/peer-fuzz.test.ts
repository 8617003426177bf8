/**
 * Fuzz of the peer protocols against a real node over real libp2p connections (TCP, noise,
 * yamux on 127.0.0.1). A hostile member M (a raw peer, test/utils/raw-peer.ts, that joined
 * the circle with a real invite) opens streams of each protocol — join, control, entries,
 * sync, RED — and writes valid requests mutated as JSON and as bytes, random frames and lying
 * length prefixes; it also publishes mutated gossip messages on the circle's topic.
 *
 * Properties: the node keeps serving (a valid request from M is answered after each bad one,
 * the API answers), refusals carry a known code and never PX_ERR_INTERNAL, nothing M did not
 * validly sign is stored (the node's entry count moves only by the valid entries), and the
 * store checks clean at the end. The unit fuzz (test/unit/p2p/fuzz) runs the same handlers
 * many more times without the network.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ERROR_CODES } from '../../src/errors.js'
import { canonicalJson, entryHash, redLogOf, type Entry, type Item } from '../../src/records/index.js'
import { membershipLogOf } from '../../src/circles/index.js'
import { encodeEnvelope } from '../../src/p2p/index.js'
import { checkStore } from '../../src/store/check.js'
import { RemoteLog } from '../utils/store.js'
import { PROTOCOLS, type RawPeer } from '../utils/raw-peer.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'
import { cluster } from '../utils/cluster.js'
import { frame, fuzzOptions, hostileValue, mutatedBytes, mutatedJson, randomBytesArb, varint } from '../unit/p2p/fuzz/fuzz.js'

const { start, raw } = cluster()

/** runs per protocol over the network (the unit fuzz runs the handlers many more times) */
const RUNS = Math.max(10, Math.round(Number(process.env.FUZZ_RUNS ?? 200) / 4))
const domain = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })
const asFrame = (json: string): Uint8Array => frame(Buffer.from(json))

/** request bytes: valid requests mutated as JSON and as framed bytes, hostile values, random bytes */
function requests (valid: unknown[]): fc.Arbitrary<Uint8Array> {
  const base = fc.constantFrom(...valid)
  return fc.oneof(
    { weight: 4, arbitrary: base.chain(v => mutatedJson(v)).filter(j => Buffer.byteLength(j) < 60_000).map(asFrame) },
    { weight: 2, arbitrary: base.chain(v => mutatedBytes(asFrame(JSON.stringify(v)))) },
    { weight: 1, arbitrary: hostileValue.map(v => asFrame(JSON.stringify(v) ?? 'null')).filter(b => b.length < 60_000) },
    { weight: 1, arbitrary: fc.oneof(randomBytesArb, randomBytesArb.map(frame)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(64 * 1024 + 1, 2 ** 31, 2 ** 53 - 1), fc.uint8Array({ maxLength: 32 })).map(([n, t]) => Buffer.concat([varint(n), t])) }
  )
}

describe('fuzz: the peer protocols against a real node', () => {
  let a: TestNode
  let m: RawPeer
  let X: string
  /** entries M validly signed: the only ones of M's that may be stored */
  const signed: Entry[] = []
  let mX: RemoteLog
  let entriesBefore = 0

  beforeAll(async () => {
    a = await start('Fuzz A')
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    m = await raw()
    const code = (await a.api(`/v1/circles/${X}/invites`, { json: { expires: '10m' } })).body.code
    await m.join(code, 'Mallory')
    await m.dial(a)
    m.subscribe(X)
    await until('A to see M on X\'s topic', () => a.node.network!.topicPeers(X) >= 1, 15_000)
    expect((await a.api('/v1/indicators', { json: { type: 'domain', value: 'a-own.example', tlp: 'GREEN', circle: X } })).status).toBe(201)
    mX = new RemoteLog(m.key, X)
    const e1 = mX.next([domain('m-one.example')])
    signed.push(e1)
    await until('M to see A on X\'s topic', () => m.topicPeers(X) >= 1, 15_000)
    await m.publish(X, encodeEnvelope(canonicalJson(e1), entryHash(e1), m.circleKey(X, 1)))
    await until('A to store M\'s first entry (gossip works)', () => a.node.store.hasEntryHash(entryHash(e1)), 15_000)
    entriesBefore = a.node.store.counts().entries
  }, 60_000)

  /** the node still serves M after a bad request: the control log comes back, the API answers */
  async function stillServes (): Promise<void> {
    const r = await m.request(a, PROTOCOLS.control, { circle: X })
    expect(Array.isArray(r.entries), JSON.stringify(r).slice(0, 200)).toBe(true)
  }

  function checkAnswer (answer: any): void {
    if (answer?.error === undefined) return
    expect(Object.keys(ERROR_CODES)).toContain(answer.error.code)
    expect(answer.error.code, answer.error.message).not.toBe('PX_ERR_INTERNAL')
  }

  const storedOnlyValid = (): void => {
    const mine = signed.filter(e => a.node.store.hasEntryHash(entryHash(e))).length
    expect(a.node.store.counts().entries).toBe(entriesBefore - 1 + mine)
  }

  it.each([
    ['control', () => [{ circle: X }, { circle: membershipLogOf(X) }]],
    ['entries', () => [{ circle: X, origin: m.publicKey, from: 1, to: 5 }, { circle: X, origin: a.node.identity.publicKey, from: 1, to: 1 }]],
    ['join', () => [{ circle: X, secret: 'f'.repeat(64), org: 'Mallory again' }]],
    ['sync', () => [{ circle: X, heads: {} }, { circle: X, heads: { [m.publicKey]: [1, entryHash(signed[0])] } }, { circle: X, heads: {}, only: { [a.node.identity.publicKey]: 1 } }]]
  ] as const)('%s: mutated and random requests; the node keeps serving and stores nothing', async (name, valid) => {
    await fc.assert(fc.asyncProperty(requests(valid()), async (bytes) => {
      checkAnswer(await m.rawRequest(a, PROTOCOLS[name], bytes))
      await stillServes()
    }), fuzzOptions(RUNS))
    storedOnlyValid()
    // the node ended every stream it was sent junk on (none left open, holding a slot or a buffer)
    await until('the fuzzed streams to be closed', () => !m.openStreams(a.node.identity.publicKey).includes(PROTOCOLS[name]), 10_000)
  })

  it('RED: mutated entries sealed to the node by M, mutated boxes, random requests', async () => {
    const red = new RemoteLog(m.key, redLogOf(a.node.identity.publicKey)).next([domain('m-red.example')], { tlp: 'RED' })
    signed.push(red)
    const box = (json: string): { sealed: string } => ({ sealed: m.box.seal(a.node.identity.publicKey, Buffer.from(json)) })
    const bytes = fc.oneof(requests([box(canonicalJson(red))]), mutatedJson(red).map(j => asFrame(JSON.stringify(box(j)))))
    await fc.assert(fc.asyncProperty(bytes, async (b) => {
      const answer = await m.rawRequest(a, PROTOCOLS.red, b)
      checkAnswer(answer)
      if (answer?.ack !== undefined) expect(answer.ack).toBe(entryHash(red))
      await stillServes()
    }), fuzzOptions(RUNS))
    storedOnlyValid()
    await until('the fuzzed streams to be closed', () => !m.openStreams(a.node.identity.publicKey).includes(PROTOCOLS.red), 10_000)
  })

  it('gossip: mutated messages on the circle\'s topic are judged, none stored; the node keeps serving', async () => {
    const key = m.circleKey(X, 1)
    expect(key).not.toBeNull()
    const e = mX.peek([domain('m-gossip.example')])
    // a mutation may leave the message as it was (a swap of a field with itself): then it is stored
    signed.push(e)
    const valid = encodeEnvelope(canonicalJson(e), entryHash(e), key)
    // a copy: the network's counts are live
    const before = { ...a.node.network!.gossipCounts }
    const judged = (): number => { const c = a.node.network!.gossipCounts; return c.accepted + c.ignored + c.rejected }
    const start = before.accepted + before.ignored + before.rejected
    const messages = fc.sample(fc.oneof(mutatedBytes(valid), mutatedJson(e).map(j => encodeEnvelope(j, entryHash(e), key))), { numRuns: RUNS, ...(process.env.FUZZ_SEED !== undefined ? { seed: Number(process.env.FUZZ_SEED) } : {}) })
    await until('M and A to see each other on X\'s topic', () => m.topicPeers(X) >= 1 && a.node.network!.topicPeers(X) >= 1, 15_000)
    for (const data of messages) await m.publish(X, data)
    // the marker: the node judged M's messages (gossipsub graylists M after a few rejections)
    await until('A to judge M\'s mutated messages', () => judged() > start && a.node.network!.gossipCounts.rejected > before.rejected, 15_000)
    await stillServes()
    expect((await a.api('/v1/status')).status).toBe(200)
    storedOnlyValid()
  })

  it('the node\'s store checks clean and it still answers lookups', async () => {
    expect((await checkStore(a.node.store)).problems).toEqual([])
    expect(a.node.ops.indicators.lookup('a-own.example').found).toBe(true)
    expect((await a.api('/v1/lookup?value=a-own.example')).status).toBe(200)
  })
})
