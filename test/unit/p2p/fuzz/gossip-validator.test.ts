/**
 * Fuzz of the gossip validator (src/p2p/gossip/validator.ts) with the real ingest path behind
 * it (a real LevelDB in a temp dir), the membership pre-check over a circle's state, and the
 * real bounded buffer of early membership entries and its gap fills (pending.ts). Inputs: the messages the real
 * publisher makes (sealed single entry, sealed batch, CLEAR in the clear, a membership entry
 * ahead of its gap), mutated byte by byte and as JSON (re-sealed with the circle key, so they
 * reach the parser and ingest), gap fills answered with junk, mutated entries re-signed by the member (a valid signature
 * over a malformed entry), and random bytes.
 *
 * Properties: validate never throws and always gives a known verdict; nothing but the valid
 * entries the publisher sent is ever stored (counts, and `checkStore` finds no problem); the
 * buffer of early entries and the gap fills stay within their bounds whatever the number of
 * bad messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { PhalanxError } from '../../../../src/errors.js'
import { PURPOSE, canonicalBytes, canonicalJson, entryHash, type Entry, type IndicatorItem } from '../../../../src/records/index.js'
import { admissionViolation, circleOfLog, membershipLogOf, type CircleState } from '../../../../src/circles/index.js'
import { BATCH_ENVELOPE_VERSION, ENVELOPE_VERSION, encodeEnvelope } from '../../../../src/p2p/envelope.js'
import { GossipValidator, type GossipVerdict } from '../../../../src/p2p/gossip/validator.js'
import { GossipPublisher } from '../../../../src/p2p/gossip/publisher.js'
import { DEFAULT_PENDING_LIMITS, MAX_GAPS_TRACKED, PendingEntries } from '../../../../src/p2p/gossip/pending.js'
import { MEMBERSHIP_LOG_LABEL } from '../../../../src/tlp/index.js'
import { peerIdOfKey } from '../../../../src/p2p/host.js'
import { checkStore } from '../../../../src/store/check.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../../utils/store.js'
import { RUNS, fuzzOptions, hostileValue, mutatedBytes, mutatedJson, randomBytesArb, fuzzLog } from './fuzz.js'

const CIRCLE = 'c-fuzz'
const EPOCH = 2
const circleKey = { epoch: EPOCH, key: randomBytes(32) }
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'domain', value, confidence: 70, tags: ['fuzz'] })

const REASONS = new Set(['bad-envelope', 'seal-does-not-open', 'not-json', 'bad-batch', 'not-an-entry', 'other-circle', 'sent-in-the-clear', 'not-member', 'label-not-allowed', 'header-hash', 'refused',
  'unknown-key-epoch', 'duplicate', 'fork', 'closed', 'store-failed', 'later-version', 'stored', 'stored-ahead', 'early'])

describe('fuzz: the gossip validator', () => {
  const member = randomKey()
  const outsider = randomKey()
  const at = '2026-01-01T00:00:00.000Z'
  const state: CircleState = {
    id: CIRCLE,
    name: 'fuzz',
    founder: member.publicKeyHex,
    created: at,
    members: new Map([[member.publicKeyHex, { key: member.publicKeyHex, org: 'M', role: 'admin', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }]]),
    keys: new Map(),
    epoch: EPOCH,
    entries: 1, rekey: []
  }
  const from = peerIdFromString(peerIdOfKey(member.publicKeyHex))
  const memberPeer = from
  const outsiderPeer = peerIdFromString(peerIdOfKey(outsider.publicKeyHex))
  const stop = new AbortController()
  let h: StoreHarness
  let v: GossipValidator
  let pending: PendingEntries
  const syncGaps: unknown[] = []
  let fetchAnswer: unknown[] = []
  /** the valid entries the publisher sent: the only ones that may ever be stored */
  const valid: Entry[] = []
  /** the publisher's messages */
  const messages: Uint8Array[] = []
  const stored = (): number => h.store.counts().entries
  const validStored = (): number => valid.filter(e => h.store.hasEntryHash(entryHash(e))).length

  beforeAll(async () => {
    h = await openStore({
      policy: {
        check: (e) => { if (e.origin !== member.publicKeyHex) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'not a member') },
        inOrder: (l) => l === membershipLogOf(CIRCLE)
      }
    })
    pending = new PendingEntries({
      store: h.store,
      judge: async (raw, source) => await v.judge(raw, source),
      syncGap: (...args) => { syncGaps.push(args) },
      // what a (hostile) member answers a gap fill with; none at first: the gap stays open and
      // the buffer has to bound itself
      fetchEntries: async () => fetchAnswer,
      log: fuzzLog,
      signal: stop.signal
    })
    v = new GossipValidator({
      circles: {
        circleKey: (c, epoch) => c === CIRCLE && (epoch === undefined || epoch === EPOCH) ? circleKey : null,
        admit: raw => admissionViolation(circleOfLog(raw.circle) === CIRCLE ? state : undefined, raw)
      },
      ingest: h.ingest,
      log: fuzzLog,
      onEarly: (raw, gap, f) => { pending.early(raw, gap, f) },
      onGap: (circle, origin, gap, f) => { pending.gap(circle, origin, gap, f) }
    })
    // what the real publisher sends for entries stored together (nothing is ingested here:
    // the fuzz starts from an empty store, so any stored entry shows)
    const log = new RemoteLog(member, CIRCLE)
    const e1 = log.next([ind('one.example')])
    const e2 = log.next([ind('two.example')])
    const e3 = log.next([ind('three.example'), ind('four.example')])
    const e4 = log.next([ind('clear.example')], { tlp: 'CLEAR' })
    // a record of a kind this code does not know (a later version): kept unread, its body opaque
    const e5 = log.next([{ kind: 'future', x: { y: [1, 'two', { z: null }] } } as never])
    const ml = new RemoteLog(member, membershipLogOf(CIRCLE))
    ml.next([ind('m1.example')], { tlp: MEMBERSHIP_LOG_LABEL })
    const m2 = ml.next([ind('m2.example')], { tlp: MEMBERSHIP_LOG_LABEL })
    valid.push(e1, e2, e3, e4, e5, m2)
    const publisher = new GossipPublisher({
      circles: { circleKey: () => circleKey },
      topics: { has: () => true, publish: async (_c, data) => { messages.push(data) } },
      log: fuzzLog,
      signal: stop.signal
    })
    const sealed = (e: Entry): { entry: Entry, hash: string, source: string } => ({ entry: e, hash: entryHash(e), source: 'local' })
    await publisher.publish(CIRCLE, [sealed(e1)])
    await publisher.publish(CIRCLE, [sealed(e2), sealed(e3)])
    await publisher.publish(CIRCLE, [sealed(e4)])
    await publisher.publish(CIRCLE, [sealed(e5)])
    await publisher.publish(CIRCLE, [sealed(m2)])
    expect(messages.map(m => m[0])).toEqual([ENVELOPE_VERSION, BATCH_ENVELOPE_VERSION, ENVELOPE_VERSION, ENVELOPE_VERSION, ENVELOPE_VERSION])
  })
  afterAll(async () => {
    stop.abort()
    await h?.close()
  })

  /** judge one message: never a throw, a known verdict, and nothing but valid entries stored */
  async function judge (data: Uint8Array): Promise<GossipVerdict> {
    const got = await v.validate(CIRCLE, data, from)
    expect([TopicValidatorResult.Accept, TopicValidatorResult.Ignore, TopicValidatorResult.Reject]).toContain(got.result)
    expect(REASONS.has(got.reason), got.reason).toBe(true)
    // the store is healthy: a store failure here is an untyped error leaking out of ingest
    expect(got.reason).not.toBe('store-failed')
    expect(stored()).toBe(validStored())
    const p = pending.size
    expect(p.entries).toBeLessThanOrEqual(DEFAULT_PENDING_LIMITS.entries)
    expect(p.bytes).toBeLessThanOrEqual(DEFAULT_PENDING_LIMITS.bytes)
    return got
  }

  /** the entry of a mutated JSON text signed again by the member (as it is, when it cannot be) */
  function resign (text: string): string {
    try {
      const raw = JSON.parse(text) as unknown
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return text
      const { sig: _sig, ...unsigned } = raw as Record<string, unknown>
      return JSON.stringify({ ...unsigned, sig: member.sign(canonicalBytes(PURPOSE.ENTRY_SIG, unsigned)).toString('hex') })
    } catch {
      return text // too deep, or no canonical form (a lone surrogate): sent as it is
    }
  }

  const sealedBody = (json: string, version: number, hash = randomBytes(32).toString('hex')): Uint8Array => encodeEnvelope(json, hash, circleKey, version)

  it('the valid messages are accepted (the fuzz starts from frames that pass)', async () => {
    const verdicts = []
    for (const m of messages) verdicts.push((await v.validate(CIRCLE, m, from)).reason)
    expect(verdicts).toEqual(['stored', 'stored', 'stored', 'later-version', 'early'])
    expect(stored()).toBe(5)
  })

  it('byte mutations of the publisher\'s messages', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...messages).chain(m => mutatedBytes(m)), async (data) => {
      await judge(data)
    }), fuzzOptions(RUNS * 2))
  })

  it('JSON mutations of the entries, sealed with the circle key (single and batch, the header naming the entry or not)', async () => {
    const single = fc.tuple(fc.constantFrom(...valid), fc.boolean()).chain(([e, named]) => mutatedJson(e).map(json => sealedBody(json, ENVELOPE_VERSION, named ? entryHash(e) : undefined)))
    const batch = fc.array(fc.constantFrom(...valid).chain(e => fc.oneof(mutatedJson(e), fc.constant(canonicalJson(e)))), { minLength: 1, maxLength: 5 }).map(js => sealedBody(`[${js.join(',')}]`, BATCH_ENVELOPE_VERSION))
    const clear = fc.constantFrom(...valid).chain(e => mutatedJson(e)).map(json => encodeEnvelope(json, randomBytes(32).toString('hex'), null))
    await fc.assert(fc.asyncProperty(fc.oneof(single, batch, clear), async (data) => {
      await judge(data)
    }), fuzzOptions(RUNS * 2))
  })

  it('mutated entries re-signed by the member: a valid signature over a malformed entry is never stored', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...valid).chain(e => mutatedJson(e)), fc.boolean(), async (text, clear) => {
      const json = resign(text)
      await judge(clear ? encodeEnvelope(json, randomBytes(32).toString('hex'), null) : sealedBody(json, ENVELOPE_VERSION))
    }), fuzzOptions(RUNS))
  })

  it('random bytes, bare and behind a valid header (sealed or clear, either version)', async () => {
    const framed = fc.tuple(randomBytesArb, fc.constantFrom(ENVELOPE_VERSION, BATCH_ENVELOPE_VERSION), fc.boolean()).map(([body, version, seal]) =>
      seal ? sealedBody(Buffer.from(body).toString('latin1'), version) : encodeEnvelope(Buffer.from(body).toString('latin1'), randomBytes(32).toString('hex'), null, version))
    await fc.assert(fc.asyncProperty(fc.oneof(randomBytesArb, framed), async (data) => {
      await judge(data)
    }), fuzzOptions(RUNS))
  })

  it('early membership entries from a member, far more than the bounds: the buffer and the gap fills stay bounded', async () => {
    // a member signs seq 3, 4, 5 … of its membership log and never the gap: each is held
    // until a bound, then dropped; the number of logs with a gap fill tracked stays bounded
    const ml = new RemoteLog(member, membershipLogOf(CIRCLE))
    const limit = DEFAULT_PENDING_LIMITS.perLogEntries
    for (let seq = 3; seq < 3 + limit + 50; seq++) {
      const e = ml.peek([ind(`early-${seq}.example`)], { tlp: MEMBERSHIP_LOG_LABEL, seq, prev: randomBytes(32).toString('hex') })
      const got = await judge(encodeEnvelope(canonicalJson(e), entryHash(e), circleKey))
      expect(got.reason).toBe('early')
    }
    expect(pending.held(membershipLogOf(CIRCLE), member.publicKeyHex)).toBeLessThanOrEqual(limit)
    expect(pending.size.dropped).toBeGreaterThan(0)
    // an outsider's early entries are refused before they are held
    const ol = new RemoteLog(outsider, membershipLogOf(CIRCLE))
    const e = ol.peek([ind('outsider.example')], { tlp: MEMBERSHIP_LOG_LABEL, seq: 5 })
    expect((await judge(encodeEnvelope(canonicalJson(e), entryHash(e), circleKey))).result).toBe(TopicValidatorResult.Reject)
    expect(pending.held(membershipLogOf(CIRCLE), outsider.publicKeyHex)).toBe(0)
    expect(syncGaps.length).toBeLessThanOrEqual(MAX_GAPS_TRACKED)
  })

  it('gap fills answered by a hostile member: the valid entry, mutated ones, junk', async () => {
    const log = membershipLogOf(CIRCLE)
    const m2 = valid.at(-1)!
    const answer = fc.array(fc.oneof(fc.constant<unknown>(m2), mutatedJson(m2).map(t => JSON.parse(t) as unknown), hostileValue), { maxLength: 6 })
    await fc.assert(fc.asyncProperty(answer, fc.integer({ min: 1, max: 3 }), async (entries, from) => {
      fetchAnswer = entries
      await expect(pending.fill(log, member.publicKeyHex, from, from + 2, from === 1 ? outsiderPeer : memberPeer)).resolves.toBeUndefined()
      expect(stored()).toBe(validStored())
    }), fuzzOptions(RUNS))
    fetchAnswer = []
  })

  it('the store holds only the valid entries, and checks clean', async () => {
    expect(stored()).toBe(validStored())
    const report = await checkStore(h.store)
    expect(report.problems).toEqual([])
    expect(v.counts).toBeDefined()
  })
})
