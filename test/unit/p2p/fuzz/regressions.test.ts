/**
 * Bugs the peer-protocol fuzz found, one focused test each (they failed before the fix).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { canonicalJson, entryHash, type IndicatorItem } from '../../../../src/records/index.js'
import { admissionViolation, circleOfLog, type CircleState } from '../../../../src/circles/index.js'
import { encodeEnvelope } from '../../../../src/p2p/envelope.js'
import { GossipValidator } from '../../../../src/p2p/gossip/validator.js'
import { peerIdOfKey } from '../../../../src/p2p/host.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../../utils/store.js'
import { silent } from '../../../utils/p2p.js'

const CIRCLE = 'c-regress'
const circleKey = { epoch: 1, key: randomBytes(32) }
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] })

describe('gossip validator: an entry field that String() cannot print', () => {
  const member = randomKey()
  const at = '2026-01-01T00:00:00.000Z'
  const state: CircleState = {
    id: CIRCLE, name: 'r', founder: member.publicKeyHex, created: at,
    members: new Map([[member.publicKeyHex, { key: member.publicKeyHex, org: 'M', role: 'admin', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }]]),
    keys: new Map(), epoch: 1, entries: 1
  }
  let h: StoreHarness
  let v: GossipValidator
  beforeAll(async () => {
    h = await openStore()
    v = new GossipValidator({
      circles: { circleKey: () => circleKey, admit: raw => admissionViolation(circleOfLog(raw.circle) === CIRCLE ? state : undefined, raw) },
      ingest: h.ingest,
      log: silent,
      onEarly: () => {}
    })
  })
  afterAll(async () => { await h?.close() })

  // `{"toString": 1}` parses to an object String() throws on ("Cannot convert object to
  // primitive value"): the validator threw, and gossipsub turns a throwing validator into
  // IGNORE, so the sender of a malformed message went unpenalized and uncounted
  it.each([
    ['circle', { toString: 1 }],
    ['circle', { toString: null, valueOf: null }],
    ['origin', { toString: 1 }],
    ['tlp', { toString: 1 }],
    ['seq', { toString: 1 }]
  ])('an entry whose %s is %j is rejected (and counted), not thrown on', async (field, value) => {
    const e = new RemoteLog(member, CIRCLE).next([ind('r.example')]) as unknown as Record<string, unknown>
    const hostile = JSON.parse(JSON.stringify({ ...e, [field]: value })) as Record<string, unknown>
    for (const sealed of [true, false]) {
      const data = encodeEnvelope(canonicalJson(hostile), entryHash(e as never), sealed ? circleKey : null)
      const before = v.counts.rejected
      await expect(v.validateMessage(CIRCLE, data, peerIdFromString(peerIdOfKey(member.publicKeyHex)))).resolves.toBe(TopicValidatorResult.Reject)
      expect(v.counts.rejected).toBe(before + 1)
    }
    expect(h.store.counts().entries).toBe(0)
  })
})
