/**
 * The gossip validator, one test per verdict reason: real signed entries (test/utils/store.ts),
 * real circle keys and envelopes, the membership pre-check over a circle state (one admin
 * member, one member removed after its first entry), a real LevelDB with the one ingest path
 * behind it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { PhalanxError } from '../../../../src/errors.js'
import { canonicalJson, entryHash, type Entry, type IndicatorItem } from '../../../../src/records/index.js'
import { admissionViolation, circleOfLog, membershipLogOf, type CircleState } from '../../../../src/circles/index.js'
import { BATCH_ENVELOPE_VERSION, MAX_BATCH_ENTRIES, batchHash, decodeEnvelope, encodeEnvelope, markDirect } from '../../../../src/p2p/envelope.js'
import { GossipValidator, type GossipVerdict } from '../../../../src/p2p/gossip/validator.js'
import { peerIdOfKey } from '../../../../src/p2p/host.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../../utils/store.js'

const CIRCLE = 'c-validator'
const EPOCH = 3
const circleKey = { epoch: EPOCH, key: randomBytes(32) }

function ind (value: string): IndicatorItem {
  return { kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] }
}

/** a single-entry message, sealed with the circle key unless `key` says otherwise */
function message (e: Entry, key: { epoch: number, key: Uint8Array } | null = circleKey, hash = entryHash(e)): Uint8Array {
  return encodeEnvelope(canonicalJson(e), hash, key)
}

function batchMessage (entries: unknown[], hash: string, key: { epoch: number, key: Uint8Array } | null = circleKey): Uint8Array {
  return encodeEnvelope(`[${entries.map(e => canonicalJson(e)).join(',')}]`, hash, key, BATCH_ENVELOPE_VERSION)
}

describe('GossipValidator', () => {
  let h: StoreHarness
  let v: GossipValidator
  let early: Array<{ raw: any, gap: { have?: number, got?: number }, from?: string }>
  let gaps: Array<{ circle: string, origin: string, gap: { have: number, got: number }, from?: string }>
  let log: RemoteLog
  const member = randomKey()
  const outsider = randomKey()
  const removed = randomKey()
  const at = '2026-01-01T00:00:00.000Z'
  const state: CircleState = {
    id: CIRCLE,
    name: 'validator',
    founder: member.publicKeyHex,
    created: at,
    members: new Map([
      [member.publicKeyHex, { key: member.publicKeyHex, org: 'M', role: 'admin', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }],
      [removed.publicKeyHex, { key: removed.publicKeyHex, org: 'R', role: 'member', addedBy: member.publicKeyHex, addedAt: at, addrs: [], removed: { at, by: member.publicKeyHex, upTo: 1 } }]
    ]),
    keys: new Map(),
    epoch: EPOCH,
    entries: 3, rekey: []
  }
  const from = peerIdFromString(peerIdOfKey(member.publicKeyHex))

  beforeEach(async () => {
    // the policy a node applies: only members of the circle may write to it
    h = await openStore({ policy: { check: (e) => { if (e.origin !== member.publicKeyHex && e.origin !== removed.publicKeyHex) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'not a member') } } })
    early = []
    gaps = []
    v = new GossipValidator({
      circles: {
        circleKey: (c, epoch) => c === CIRCLE && (epoch === undefined || epoch === EPOCH) ? circleKey : null,
        admit: raw => admissionViolation(circleOfLog(raw.circle) === CIRCLE ? state : undefined, raw)
      },
      ingest: h.ingest,
      log: pino({ level: 'silent' }),
      onEarly: (raw, gap, f) => { early.push({ raw, gap, from: f?.toString() }) },
      onGap: (circle, origin, gap, f) => { gaps.push({ circle, origin, gap, from: f?.toString() }) }
    })
    log = new RemoteLog(member, CIRCLE)
  })
  afterEach(async () => { await h.close() })

  const expectVerdict = (got: GossipVerdict, result: TopicValidatorResult, reason: string, code?: string): void => {
    expect({ result: got.result, reason: got.reason, code: got.code }).toEqual({ result, reason, code })
  }

  describe('accept', () => {
    it('stored: a member\'s sealed entry that extends its log is stored and relayed', async () => {
      const e = log.next([ind('stored.example')])
      const got = await v.validate(CIRCLE, message(e), from)
      expectVerdict(got, TopicValidatorResult.Accept, 'stored')
      expect(got.hash).toBe(entryHash(e))
      expect(h.store.getEntry(CIRCLE, member.publicKeyHex, 1)).toEqual(e)
    })

    it('stored: a CLEAR entry travels unsealed', async () => {
      const e = log.next([ind('clear.example')], { tlp: 'CLEAR' })
      expectVerdict(await v.validate(CIRCLE, message(e, null), from), TopicValidatorResult.Accept, 'stored')
    })

    it('stored-ahead: a data-log entry after a gap is stored at once and relayed, and the gap handed on with the relaying peer', async () => {
      log.next([ind('one.example')])
      const e2 = log.next([ind('two.example')])
      const got = await v.validate(CIRCLE, message(e2), from)
      expectVerdict(got, TopicValidatorResult.Accept, 'stored-ahead')
      expect(got.hash).toBe(entryHash(e2))
      expect(gaps).toEqual([{ circle: CIRCLE, origin: member.publicKeyHex, gap: { have: 0, got: 2 }, from: from.toString() }])
      expect(early).toEqual([])
      expect(h.store.head(CIRCLE, member.publicKeyHex)).toBeUndefined()
      expect(h.store.getEntry(CIRCLE, member.publicKeyHex, 2)).toEqual(e2)
    })

    it('early: an entry after a gap in a log read in order (a membership log) is relayed and handed on to be held', async () => {
      const inOrder = await openStore({ policy: { check () {}, inOrder: (l) => l === membershipLogOf(CIRCLE) } })
      try {
        const w = new GossipValidator({
          circles: { circleKey: () => circleKey, admit: () => null },
          ingest: inOrder.ingest,
          log: pino({ level: 'silent' }),
          onEarly: (raw, gap, f) => { early.push({ raw, gap, from: f?.toString() }) }
        })
        const ml = new RemoteLog(member, membershipLogOf(CIRCLE))
        ml.next([ind('m1.example')])
        const e2 = ml.next([ind('m2.example')])
        const got = await w.validate(CIRCLE, message(e2), from)
        expectVerdict(got, TopicValidatorResult.Accept, 'early', 'PX_ERR_SEQ_GAP')
        expect(early).toEqual([{ raw: JSON.parse(canonicalJson(e2)), gap: { circle: membershipLogOf(CIRCLE), origin: member.publicKeyHex, have: 0, got: 2 }, from: from.toString() }])
        expect(inOrder.store.head(membershipLogOf(CIRCLE), member.publicKeyHex)).toBeUndefined()
      } finally {
        await inOrder.close()
      }
    })

    it('a batch is accepted when one of its entries is new, and counted once', async () => {
      const e1 = log.next([ind('b1.example')])
      await v.validate(CIRCLE, message(e1), from)
      const e2 = log.next([ind('b2.example')])
      expect(await v.validateMessage(CIRCLE, batchMessage([e1, e2], batchHash([entryHash(e1), entryHash(e2)])), from)).toBe(TopicValidatorResult.Accept)
      expect(v.counts).toEqual({ accepted: 1, ignored: 0, rejected: 0, direct: 0 })
      expect(h.store.head(CIRCLE, member.publicKeyHex)?.seq).toBe(2)
    })
  })

  describe('reject', () => {
    it('bad-envelope: a message that does not decode (unknown version)', async () => {
      const data = message(log.next([ind('x.example')]))
      data[0] = 9
      expectVerdict(await v.validate(CIRCLE, data, from), TopicValidatorResult.Reject, 'bad-envelope', 'PX_ERR_BAD_ENTRY')
    })

    it('bad-envelope: a message too short for its header', async () => {
      expectVerdict(await v.validate(CIRCLE, new Uint8Array(10), from), TopicValidatorResult.Reject, 'bad-envelope', 'PX_ERR_BAD_ENTRY')
    })

    it('seal-does-not-open: sealed with another key under an epoch this node holds', async () => {
      const e = log.next([ind('x.example')])
      expectVerdict(await v.validate(CIRCLE, message(e, { epoch: EPOCH, key: randomBytes(32) }), from), TopicValidatorResult.Reject, 'seal-does-not-open', 'PX_ERR_BAD_ENTRY')
    })

    it('not-json: a body that is not JSON', async () => {
      const data = encodeEnvelope('{not json', entryHash(log.next([ind('x.example')])), circleKey)
      expectVerdict(await v.validate(CIRCLE, data, from), TopicValidatorResult.Reject, 'not-json', 'PX_ERR_BAD_ENTRY')
    })

    it('bad-batch: a batch of one entry', async () => {
      const e = log.next([ind('x.example')])
      expectVerdict(await v.validate(CIRCLE, batchMessage([e], batchHash([entryHash(e)])), from), TopicValidatorResult.Reject, 'bad-batch', 'PX_ERR_BAD_ENTRY')
    })

    it('bad-batch: a batch over MAX_BATCH_ENTRIES', async () => {
      // the count is checked before the entries: small objects keep the message under its size limit
      const data = encodeEnvelope(`[${Array.from({ length: MAX_BATCH_ENTRIES + 1 }, () => '{}').join(',')}]`, 'ab'.repeat(32), circleKey, BATCH_ENVELOPE_VERSION)
      expectVerdict(await v.validate(CIRCLE, data, from), TopicValidatorResult.Reject, 'bad-batch', 'PX_ERR_BAD_ENTRY')
    })

    it('bad-batch: a batch body that is not an array', async () => {
      const e = log.next([ind('x.example')])
      const data = encodeEnvelope(canonicalJson(e), entryHash(e), circleKey, BATCH_ENVELOPE_VERSION)
      expectVerdict(await v.validate(CIRCLE, data, from), TopicValidatorResult.Reject, 'bad-batch', 'PX_ERR_BAD_ENTRY')
    })

    it('not-an-entry: a body that is JSON but not an object', async () => {
      const data = encodeEnvelope('[1,2]', entryHash(log.next([ind('x.example')])), circleKey)
      expectVerdict(await v.validate(CIRCLE, data, from), TopicValidatorResult.Reject, 'not-an-entry', 'PX_ERR_BAD_ENTRY')
    })

    it('other-circle: an entry of another circle on this topic', async () => {
      const e = new RemoteLog(member, 'c-other').next([ind('x.example')])
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'other-circle', 'PX_ERR_BAD_ENTRY')
    })

    it('other-circle: the membership log of this circle is on its topic, another circle\'s is not', async () => {
      const e = new RemoteLog(member, membershipLogOf('c-other')).next([ind('x.example')])
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'other-circle', 'PX_ERR_BAD_ENTRY')
    })

    it('sent-in-the-clear: a GREEN entry unsealed', async () => {
      const e = log.next([ind('x.example')], { tlp: 'GREEN' })
      expectVerdict(await v.validate(CIRCLE, message(e, null), from), TopicValidatorResult.Reject, 'sent-in-the-clear', 'PX_ERR_TLP_VIOLATION')
      expect(h.store.head(CIRCLE, member.publicKeyHex)).toBeUndefined()
    })

    it('sent-in-the-clear: one AMBER entry in an unsealed batch of CLEAR ones', async () => {
      const e1 = log.next([ind('a.example')], { tlp: 'CLEAR' })
      const e2 = log.next([ind('b.example')], { tlp: 'AMBER' })
      expectVerdict(await v.validate(CIRCLE, batchMessage([e1, e2], batchHash([entryHash(e1), entryHash(e2)]), null), from), TopicValidatorResult.Reject, 'sent-in-the-clear', 'PX_ERR_TLP_VIOLATION')
      expect(h.store.head(CIRCLE, member.publicKeyHex)).toBeUndefined()
    })

    it('header-hash: a single entry under another entry\'s hash', async () => {
      const e = log.next([ind('x.example')])
      expectVerdict(await v.validate(CIRCLE, message(e, circleKey, 'ab'.repeat(32)), from), TopicValidatorResult.Reject, 'header-hash', 'PX_ERR_BAD_ENTRY')
    })

    it('header-hash: a batch whose header names other entries', async () => {
      const e1 = log.next([ind('a.example')])
      const e2 = log.next([ind('b.example')])
      expectVerdict(await v.validate(CIRCLE, batchMessage([e1, e2], batchHash([entryHash(e2), entryHash(e1)])), from), TopicValidatorResult.Reject, 'header-hash', 'PX_ERR_BAD_ENTRY')
    })

    it('refused: an entry whose signature does not verify (ingest\'s code)', async () => {
      const e = { ...log.next([ind('x.example')]), created: '2020-01-01T00:00:00.000Z' }
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'refused', 'PX_ERR_BAD_SIGNATURE')
    })

    it('refused: an entry the entry policy refuses in ingest (here: the pre-check lets a removed member\'s early entry through, the policy of this harness does not)', async () => {
      const strict = await openStore({ policy: { check: () => { throw new PhalanxError('PX_ERR_FORBIDDEN', 'closed') } } })
      try {
        const w = new GossipValidator({ circles: { circleKey: () => circleKey, admit: () => null }, ingest: strict.ingest, log: pino({ level: 'silent' }), onEarly: () => {} })
        expectVerdict(await w.validate(CIRCLE, message(log.next([ind('x.example')])), from), TopicValidatorResult.Reject, 'refused', 'PX_ERR_FORBIDDEN')
      } finally { await strict.close() }
    })

    it('not-member: an outsider\'s entry is refused before its signature is checked, and nothing is stored', async () => {
      const e = { ...new RemoteLog(outsider, CIRCLE).next([ind('x.example')]), created: '2020-01-01T00:00:00.000Z' }
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'not-member', 'PX_ERR_NOT_MEMBER')
      expect(h.store.head(CIRCLE, outsider.publicKeyHex)).toBeUndefined()
    })

    it('not-member: one outsider entry rejects its whole batch', async () => {
      const e1 = log.next([ind('a.example')])
      const e2 = new RemoteLog(outsider, CIRCLE).next([ind('b.example')])
      expectVerdict(await v.validate(CIRCLE, batchMessage([e1, e2], batchHash([entryHash(e1), entryHash(e2)])), from), TopicValidatorResult.Reject, 'not-member', 'PX_ERR_NOT_MEMBER')
    })

    it('not-member: a removed member\'s entry after its removal; the one before it is still accepted', async () => {
      const r = new RemoteLog(removed, CIRCLE)
      expectVerdict(await v.validate(CIRCLE, message(r.next([ind('before.example')])), from), TopicValidatorResult.Accept, 'stored')
      expectVerdict(await v.validate(CIRCLE, message(r.next([ind('after.example')])), from), TopicValidatorResult.Reject, 'not-member', 'PX_ERR_NOT_MEMBER')
      expect(h.store.head(CIRCLE, removed.publicKeyHex)?.seq).toBe(1)
    })

    it('not-member: a removed member writes nothing to the membership log', async () => {
      const e = new RemoteLog(removed, membershipLogOf(CIRCLE)).next([{ kind: 'address', addrs: [] }], { tlp: 'AMBER' })
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'not-member', 'PX_ERR_NOT_MEMBER')
    })

    it('label-not-allowed: a sealed RED entry in a circle log', async () => {
      const e = log.next([ind('red.example')], { tlp: 'RED' })
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'label-not-allowed', 'PX_ERR_TLP_VIOLATION')
      expect(h.store.head(CIRCLE, member.publicKeyHex)).toBeUndefined()
    })

    it('label-not-allowed: a membership log entry not labelled as membership entries are', async () => {
      const e = new RemoteLog(member, membershipLogOf(CIRCLE)).next([{ kind: 'address', addrs: [] }], { tlp: 'GREEN' })
      expectVerdict(await v.validate(CIRCLE, message(e), from), TopicValidatorResult.Reject, 'label-not-allowed', 'PX_ERR_TLP_VIOLATION')
    })

    it('counts a rejected message', async () => {
      expect(await v.validateMessage(CIRCLE, new Uint8Array(10), from)).toBe(TopicValidatorResult.Reject)
      expect(v.counts).toEqual({ accepted: 0, ignored: 0, rejected: 1, direct: 0 })
    })
  })

  describe('ignore', () => {
    it('unknown-key-epoch: sealed with a key epoch this node does not hold', async () => {
      const e = log.next([ind('x.example')])
      const got = await v.validate(CIRCLE, message(e, { epoch: EPOCH + 1, key: randomBytes(32) }), from)
      expectVerdict(got, TopicValidatorResult.Ignore, 'unknown-key-epoch')
      expect(h.store.head(CIRCLE, member.publicKeyHex)).toBeUndefined()
    })

    it('duplicate: an entry already stored', async () => {
      const e = log.next([ind('x.example')])
      await v.validate(CIRCLE, message(e), from)
      const again = encodeEnvelope(canonicalJson(e), entryHash(e), { epoch: EPOCH, key: circleKey.key })
      expectVerdict(await v.judge(JSON.parse(canonicalJson(e)), 'gossip', entryHash(e), from), TopicValidatorResult.Ignore, 'duplicate')
      expect(await v.validateMessage(CIRCLE, again, from)).toBe(TopicValidatorResult.Ignore)
      expect(v.counts.ignored).toBe(1)
    })

    it('fork: a second entry for a stored log position is kept as evidence, the relay not penalized', async () => {
      const e1 = log.next([ind('x.example')])
      await v.validate(CIRCLE, message(e1), from)
      const other = log.peek([ind('y.example')], { seq: 1, prev: null })
      expectVerdict(await v.validate(CIRCLE, message(other), from), TopicValidatorResult.Ignore, 'fork', 'PX_ERR_FORK')
      expect(await h.store.hasFork(CIRCLE, member.publicKeyHex)).toBe(true)
    })

    it('closed: the node is shutting down', async () => {
      await h.ingest.stop()
      expectVerdict(await v.validate(CIRCLE, message(log.next([ind('x.example')])), from), TopicValidatorResult.Ignore, 'closed', 'PX_ERR_CLOSED')
    })

    it('store-failed: the store cannot be read (not the sender\'s fault)', async () => {
      await h.ingest.stop()
      await h.store.close()
      expectVerdict(await v.validate(CIRCLE, message(log.next([ind('x.example')])), from), TopicValidatorResult.Ignore, 'store-failed', 'PX_ERR_INTERNAL')
    })

    it('a batch of entries already stored is ignored', async () => {
      const e1 = log.next([ind('a.example')])
      const e2 = log.next([ind('b.example')])
      await v.validate(CIRCLE, message(e1), from)
      await v.validate(CIRCLE, message(e2), from)
      expectVerdict(await v.validate(CIRCLE, batchMessage([e1, e2], batchHash([entryHash(e1), entryHash(e2)])), from), TopicValidatorResult.Ignore, 'duplicate')
    })
  })

  describe('direct (gossip/direct.ts): a message its origin flooded to every member', () => {
    it('the flag round-trips in the envelope; an unknown flag is still refused', () => {
      const e = log.next([ind('flag.example')])
      const data = message(e)
      expect(decodeEnvelope(data).direct).toBe(false)
      const marked = markDirect(data)
      expect(decodeEnvelope(marked)).toMatchObject({ direct: true, sealed: true, epoch: EPOCH })
      expect(decodeEnvelope(data).direct).toBe(false) // a copy: the original is untouched
      const unknown = Uint8Array.from(data)
      unknown[1] |= 4
      expect(() => decodeEnvelope(unknown)).toThrow('unknown envelope flags')
    })

    it('straight from its origin: stored, and answered IGNORE so that gossipsub does not relay it', async () => {
      const e = log.next([ind('direct.example')])
      expect(await v.validateMessage(CIRCLE, markDirect(message(e)), from)).toBe(TopicValidatorResult.Ignore)
      expect(v.counts).toEqual({ accepted: 1, ignored: 0, rejected: 0, direct: 1 })
      expect(h.store.getEntry(CIRCLE, member.publicKeyHex, 1)).toEqual(e)
      // a batch straight from its origin: the same
      const e2 = log.next([ind('d2.example')])
      const e3 = log.next([ind('d3.example')])
      expect(await v.validateMessage(CIRCLE, markDirect(batchMessage([e2, e3], batchHash([entryHash(e2), entryHash(e3)]))), from)).toBe(TopicValidatorResult.Ignore)
      expect(v.counts.direct).toBe(2)
      expect(h.store.head(CIRCLE, member.publicKeyHex)?.seq).toBe(3)
    })

    it('from any other peer: relayed like any message (only the origin\'s own connection stops relays)', async () => {
      const e = log.next([ind('relayed-direct.example')])
      const relay = peerIdFromString(peerIdOfKey(outsider.publicKeyHex))
      expect(await v.validateMessage(CIRCLE, markDirect(message(e)), relay)).toBe(TopicValidatorResult.Accept)
      expect(v.counts).toEqual({ accepted: 1, ignored: 0, rejected: 0, direct: 0 })
      expect(h.store.getEntry(CIRCLE, member.publicKeyHex, 1)).toEqual(e)
    })

    it('the flag changes no other verdict: a duplicate stays IGNORE, a refused entry stays REJECT', async () => {
      const e = log.next([ind('dup-direct.example')])
      expect(await v.validateMessage(CIRCLE, message(e), from)).toBe(TopicValidatorResult.Accept)
      expect(await v.validateMessage(CIRCLE, markDirect(message(e)), from)).toBe(TopicValidatorResult.Ignore)
      const forged = { ...log.next([ind('forged-direct.example')]), sig: '00'.repeat(64) }
      expect(await v.validateMessage(CIRCLE, markDirect(message(forged, circleKey, entryHash(forged))), from)).toBe(TopicValidatorResult.Reject)
      expect(v.counts).toEqual({ accepted: 1, ignored: 1, rejected: 1, direct: 0 })
    })
  })
})
