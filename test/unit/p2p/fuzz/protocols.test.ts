/**
 * Fuzz of the request/response protocols' handlers (join, control, entries, RED) as a node
 * serves them: `serveRequest` (framing.ts) on one end of a real in-memory libp2p stream pair,
 * the handler over a real LevelDB (temp dir) with the one ingest path, real keys and boxes.
 * The other end writes raw bytes: valid requests mutated as JSON and as bytes, random frames,
 * lying length prefixes, then closes its side.
 *
 * The requesting side too: `exchange` reading a hostile peer's reply bytes, and
 * `takeControlLog` (a joiner taking the circle's log) fed hostile entries.
 *
 * Properties: the server never throws and always ends its stream; an answer, when there is
 * one, is JSON: a reply, or `{error: {code}}` with a known PX_ERR_* code that is never
 * PX_ERR_INTERNAL (an untyped error leaking); nothing but the valid RED entry is ever stored,
 * and the store checks clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { lpStream, streamPair } from '@libp2p/utils'
import type { PeerId } from '@libp2p/interface'
import { ERROR_CODES, PhalanxError } from '../../../../src/errors.js'
import { BoxKey, OrgKey } from '../../../../src/identity/index.js'
import { canonicalJson, entryHash, redLogOf, type Entry, type IndicatorItem } from '../../../../src/records/index.js'
import { membershipLogOf, type CircleState } from '../../../../src/circles/index.js'
import { MAX_REQUEST_FRAME, exchange, serveRequest, type RequestHandler } from '../../../../src/p2p/protocols/framing.js'
import { controlHandler, takeControlLog } from '../../../../src/p2p/protocols/control.js'
import { entriesHandler } from '../../../../src/p2p/protocols/entries.js'
import { joinHandler } from '../../../../src/p2p/protocols/join.js'
import { redHandler } from '../../../../src/p2p/protocols/red.js'
import { MEMBERSHIP_LOG_LABEL } from '../../../../src/tlp/index.js'
import { checkStore } from '../../../../src/store/check.js'
import { RemoteLog, openStore, type StoreHarness } from '../../../utils/store.js'
import { circleState, orgPeerId } from '../../../utils/p2p.js'
import { RUNS, frame, fuzzOptions, hostileValue, mutatedBytes, mutatedJson, randomBytesArb, varint, fuzzLog } from './fuzz.js'

const CIRCLE = 'c-proto-fuzz'
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'ipv4', value, confidence: 70, tags: [] })

interface Org { seed: Uint8Array, key: OrgKey, box: BoxKey, peer: PeerId }
async function org (): Promise<Org> {
  const seed = randomBytes(32)
  return { seed, key: OrgKey.fromSeed(seed), box: BoxKey.fromSeed(seed), peer: await orgPeerId(seed) }
}

/** what the client end writes: whole frames, or raw bytes (a lying or missing length prefix) */
const asFrame = (json: string): Uint8Array => frame(Buffer.from(json))

/**
 * Write `bytes` to a server running `handle` (as the org `peer`), close the write side, and
 * read what it answers. The server must end whatever comes; its answer is returned (null: it
 * aborted, or answered nothing).
 */
async function serve (handle: RequestHandler, peer: PeerId, bytes: Uint8Array): Promise<any> {
  const [client, server] = await streamPair()
  const serving = serveRequest(server, { remotePeer: peer }, 'fuzz', fuzzLog, handle)
  let answer: any = null
  try {
    if (bytes.length > 0) client.send(bytes)
    await client.close()
    const got = await lpStream(client, { maxDataLength: 16 * 1024 * 1024 }).read({ signal: AbortSignal.timeout(10_000) })
    answer = JSON.parse(Buffer.from(got.subarray()).toString('utf8'))
  } catch {
    answer = null
  }
  // serveRequest catches everything: it must settle, never reject
  await expect(serving).resolves.toBeUndefined()
  expect(['closed', 'aborted', 'reset']).toContain(server.status)
  if (answer?.error !== undefined) {
    expect(typeof answer.error.code).toBe('string')
    expect(Object.keys(ERROR_CODES)).toContain(answer.error.code)
    expect(answer.error.code, answer.error.message).not.toBe('PX_ERR_INTERNAL')
  }
  return answer
}

/** request bytes: valid requests mutated as JSON and as framed bytes, hostile values, random bytes */
function requests (valid: unknown[]): fc.Arbitrary<Uint8Array> {
  const base = fc.constantFrom(...valid)
  return fc.oneof(
    { weight: 1, arbitrary: base.map(v => asFrame(JSON.stringify(v))) },
    { weight: 4, arbitrary: base.chain(v => mutatedJson(v)).filter(j => Buffer.byteLength(j) < MAX_REQUEST_FRAME).map(asFrame) },
    { weight: 2, arbitrary: base.chain(v => mutatedBytes(asFrame(JSON.stringify(v)))) },
    { weight: 1, arbitrary: hostileValue.map(v => asFrame(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: randomBytesArb },
    { weight: 1, arbitrary: randomBytesArb.map(frame) },
    // a length prefix that promises more than comes, or more than the limit
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(MAX_REQUEST_FRAME, MAX_REQUEST_FRAME + 1, 2 ** 31, 2 ** 53 - 1), fc.uint8Array({ maxLength: 64 })).map(([n, tail]) => Buffer.concat([varint(n), tail])) }
  )
}

describe('fuzz: the request/response protocols (join, control, entries, RED)', () => {
  let self: Org, member: Org, outsider: Org
  let h: StoreHarness
  let state: CircleState
  /** the only entries that may ever be stored: those the test stored, and the one valid RED entry */
  const valid: Entry[] = []
  let red: Entry
  const redeemed: Array<{ circle: unknown, secret: unknown, key: unknown, org: unknown }> = []
  let handlers: Record<'join' | 'control' | 'entries' | 'red', RequestHandler>

  beforeAll(async () => {
    ;[self, member, outsider] = await Promise.all([org(), org(), org()])
    h = await openStore({
      key: self.key,
      policy: { check: (e) => { if (e.origin !== member.key.publicKeyHex) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'not a member') } }
    })
    state = circleState(CIRCLE, [self.key, member.key])
    // what the node holds: the member's data log (served by entries) and membership log (control)
    const data = new RemoteLog(member.key, CIRCLE)
    const control = new RemoteLog(member.key, membershipLogOf(CIRCLE))
    for (let i = 1; i <= 3; i++) valid.push(data.next([ind(`192.0.2.${i}`)]))
    valid.push(control.next([ind('198.51.100.1')], { tlp: MEMBERSHIP_LOG_LABEL }))
    for (const e of valid) await h.ingest.ingest(e, 'sync')
    red = new RemoteLog(member.key, redLogOf(self.key.publicKeyHex)).next([ind('203.0.113.1')], { tlp: 'RED' })
    valid.push(red)
    const circles = {
      get: (id: string) => id === CIRCLE ? state : undefined,
      mine: () => [state],
      controlDigest: async (id: string) => `digest of ${id}`,
      controlEntries: async (id: string) => {
        const out: Entry[] = []
        for (let seq = 1; ; seq++) {
          const e = h.store.getEntry(membershipLogOf(id), member.key.publicKeyHex, seq)
          if (e === undefined) return out
          out.push(e)
        }
      }
    }
    handlers = {
      // no open invite: every secret is refused, after the handler's own checks
      join: joinHandler({
        admin: { redeemInvite: async (circle, secret, key, o) => { redeemed.push({ circle, secret, key, org: o }); throw new PhalanxError('PX_ERR_INVITE', 'no such invite') } },
        identity: { org: 'Self' },
        log: fuzzLog
      }),
      control: controlHandler(circles),
      entries: entriesHandler({ circles, store: h.store }),
      red: redHandler({ identity: { publicKey: self.key.publicKeyHex }, box: self.box, ingest: h.ingest })
    }
  })
  afterAll(async () => { await h?.close() })

  const storedOnlyValid = (): void => {
    expect(h.store.counts().entries).toBe(valid.filter(e => h.store.hasEntryHash(entryHash(e))).length)
  }

  it('the valid requests are served (the fuzz starts from requests that pass)', async () => {
    expect((await serve(handlers.control, member.peer, asFrame(JSON.stringify({ circle: CIRCLE })))).entries).toHaveLength(1)
    expect((await serve(handlers.entries, member.peer, asFrame(JSON.stringify({ circle: CIRCLE, origin: member.key.publicKeyHex, from: 1, to: 3 })))).entries).toHaveLength(3)
    expect((await serve(handlers.join, outsider.peer, asFrame(JSON.stringify({ circle: CIRCLE, secret: 's', org: 'Outsider' })))).error.code).toBe('PX_ERR_INVITE')
    expect(redeemed).toHaveLength(1)
    expect(await serve(handlers.control, outsider.peer, asFrame(JSON.stringify({ circle: CIRCLE })))).toMatchObject({ error: { code: 'PX_ERR_NOT_MEMBER' } })
  })

  it('control: mutated and random requests, from a member and from an outsider', async () => {
    await fc.assert(fc.asyncProperty(requests([{ circle: CIRCLE }, { circle: membershipLogOf(CIRCLE) }, { circle: CIRCLE, have: `digest of ${CIRCLE}` }]), fc.boolean(), async (bytes, asMember) => {
      const a = await serve(handlers.control, asMember ? member.peer : outsider.peer, bytes)
      if (!asMember) expect(a?.entries ?? a?.same).toBeUndefined()
    }), fuzzOptions(RUNS))
    storedOnlyValid()
  })

  it('entries: mutated and random requests, from a member and from an outsider', async () => {
    const req = { circle: CIRCLE, origin: member.key.publicKeyHex, from: 1, to: 3 }
    await fc.assert(fc.asyncProperty(requests([req, { ...req, circle: membershipLogOf(CIRCLE), to: 1 }, { ...req, from: 2 ** 53 - 2, to: 2 ** 53 - 1 }]), fc.boolean(), async (bytes, asMember) => {
      const a = await serve(handlers.entries, asMember ? member.peer : outsider.peer, bytes)
      if (!asMember) expect(a?.entries).toBeUndefined()
      // an answer holds only stored entries of a log of this circle
      for (const e of a?.entries ?? []) expect(valid.map(entryHash)).toContain(entryHash(e))
    }), fuzzOptions(RUNS))
    storedOnlyValid()
  })

  it('join: mutated and random requests; the invite is only ever looked up with strings and a display-safe org name', async () => {
    await fc.assert(fc.asyncProperty(requests([{ circle: CIRCLE, secret: randomBytes(16).toString('hex'), org: 'Joiner Org' }]), async (bytes) => {
      await serve(handlers.join, outsider.peer, bytes)
    }), fuzzOptions(RUNS))
    for (const r of redeemed) {
      expect([typeof r.circle, typeof r.secret, typeof r.org]).toEqual(['string', 'string', 'string'])
      expect((r.org as string).length).toBeLessThanOrEqual(200)
      // eslint-disable-next-line no-control-regex
      expect(r.org).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f]/)
    }
    storedOnlyValid()
  })

  it('RED: mutated entries sealed to this node by the member, mutated boxes, random requests', async () => {
    const box = (json: string): { sealed: string } => ({ sealed: member.box.seal(self.key.publicKeyHex, Buffer.from(json)) })
    const sealedMutations = mutatedJson(red).map(j => asFrame(JSON.stringify(box(j))))
    const boxMutations = fc.constant(box(canonicalJson(red))).chain(b => fc.tuple(fc.nat(b.sealed.length - 1), fc.constantFrom('A', '/', '=', '\u0000', '')).map(([i, c]) => ({ sealed: b.sealed.slice(0, i) + c + b.sealed.slice(i + 1) })))
    const bytes = fc.oneof(requests([box(canonicalJson(red))]), sealedMutations, boxMutations.map(b => asFrame(JSON.stringify(b))))
    await fc.assert(fc.asyncProperty(bytes, fc.boolean(), async (b, fromMember) => {
      const a = await serve(handlers.red, fromMember ? member.peer : outsider.peer, b)
      if (a?.ack !== undefined) expect(a.ack).toBe(entryHash(red))
      storedOnlyValid()
    }), fuzzOptions(RUNS))
  })

  it('the requesting side: any reply a hostile peer writes gives a parsed reply or a PhalanxError (exchange)', async () => {
    const replies = requests([{ entries: valid }, { org: 'Inviter', entries: valid.slice(3, 4) }, { error: { code: 'PX_ERR_NOT_MEMBER', message: 'no' } }, { error: { code: { toString: 1 }, message: { toString: 1 } } }])
    await fc.assert(fc.asyncProperty(replies, async (bytes) => {
      const [client, server] = await streamPair()
      const answering = (async () => {
        try {
          await lpStream(server).read({ signal: AbortSignal.timeout(5_000) })
          if (bytes.length > 0) server.send(bytes)
          await server.close()
        } catch (err) { server.abort(err as Error) }
      })()
      const got = await exchange(client, { circle: CIRCLE }, AbortSignal.timeout(5_000)).then(r => ({ r }), (e: unknown) => ({ e }))
      await answering
      if ('e' in got) {
        expect(got.e).toBeInstanceOf(PhalanxError)
        expect(Object.keys(ERROR_CODES)).toContain((got.e as PhalanxError).code)
      }
    }), fuzzOptions(RUNS))
  })

  it('the joining side: a hostile circle log (takeControlLog) is refused with a PhalanxError and stores nothing unsigned', async () => {
    const control = valid[3]
    const log = fc.array(fc.oneof(fc.constant<unknown>(control), mutatedJson(control).map(t => JSON.parse(t) as unknown), hostileValue), { maxLength: 4 })
    const c = { circles: { expect: () => {}, get: () => undefined, mine: () => [] }, ingest: h.ingest }
    await fc.assert(fc.asyncProperty(fc.oneof(log, hostileValue), async (entries) => {
      const err = await takeControlLog(c, CIRCLE, entries).then(() => null, (e: unknown) => e)
      // this node is never made a member here: every log is refused, and always by a typed error
      expect(err).toBeInstanceOf(PhalanxError)
      storedOnlyValid()
    }), fuzzOptions(RUNS))
  })

  it('the store holds only valid entries and checks clean', async () => {
    storedOnlyValid()
    expect((await checkStore(h.store)).problems).toEqual([])
  })
})
