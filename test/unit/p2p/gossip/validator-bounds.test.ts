/**
 * The gossip validator's bounds (issue 13, parts 2 and 3): each origin's quota, the gossip
 * bound on the ingest queue, and what junk costs the peer that sent it. Real signed entries,
 * real circle keys and envelopes, a real LevelDB behind the one ingest path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { PhalanxError } from '../../../../src/errors.js'
import { canonicalJson, entryHash, type Entry, type IndicatorItem } from '../../../../src/records/index.js'
import { admissionViolation, circleOfLog, type CircleState } from '../../../../src/circles/index.js'
import { encodeEnvelope } from '../../../../src/p2p/envelope.js'
import { GossipValidator, OVER_QUOTA_PENALTY, SHARE_PENALTY_FACTOR } from '../../../../src/p2p/gossip/validator.js'
import { MemberQuotas } from '../../../../src/p2p/gossip/quota.js'
import { PeerPenalties } from '../../../../src/p2p/gossip/junk.js'
import { peerIdOfKey } from '../../../../src/p2p/host.js'
import { RemoteLog, openStore, randomKey, type StoreHarness } from '../../../utils/store.js'

const CIRCLE = 'c-bounds'
const EPOCH = 3
const circleKey = { epoch: EPOCH, key: randomBytes(32) }

function ind (value: string): IndicatorItem {
  return { kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] }
}

function message (e: Entry, key: { epoch: number, key: Uint8Array } | null = circleKey): Uint8Array {
  return encodeEnvelope(canonicalJson(e), entryHash(e), key)
}

describe('GossipValidator bounds', () => {
  let h: StoreHarness
  let quotas: MemberQuotas
  let penalties: PeerPenalties
  let v: GossipValidator
  const member = randomKey()
  const other = randomKey()
  const relay = randomKey()
  const at = '2026-01-01T00:00:00.000Z'
  const state: CircleState = {
    id: CIRCLE,
    name: 'bounds',
    founder: member.publicKeyHex,
    created: at,
    members: new Map([
      [member.publicKeyHex, { key: member.publicKeyHex, org: 'M', role: 'admin', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }],
      [other.publicKeyHex, { key: other.publicKeyHex, org: 'O', role: 'member', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }],
      [relay.publicKeyHex, { key: relay.publicKeyHex, org: 'R', role: 'member', addedBy: member.publicKeyHex, addedAt: at, addrs: [] }]
    ]),
    keys: new Map(),
    epoch: EPOCH,
    entries: 3, rekey: []
  }
  const fromMember = peerIdFromString(peerIdOfKey(member.publicKeyHex))
  const fromRelay = peerIdFromString(peerIdOfKey(relay.publicKeyHex))

  const make = async (ingest: { maxGroupItems?: number, maxGroupJobs?: number } = {}, burstEntries = 3): Promise<void> => {
    h = await openStore({ policy: { check: (e) => { if (!state.members.has(e.origin)) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'not a member') } }, ingest })
    quotas = new MemberQuotas({ entriesPerSecond: 1, bytesPerSecond: 64 * 1024, burstEntries, burstBytes: 1024 * 1024, holdMs: 60_000, maxQueuedItems: 1000 })
    penalties = new PeerPenalties({ log: pino({ level: 'silent' }) }, { epochGraceMs: 60_000 })
    v = new GossipValidator({
      circles: {
        circleKey: (c, epoch) => c === CIRCLE && (epoch === undefined || epoch === EPOCH) ? circleKey : null,
        admit: raw => admissionViolation(circleOfLog(raw.circle) === CIRCLE ? state : undefined, raw),
        get: c => c === CIRCLE ? state : undefined
      },
      ingest: h.ingest,
      quotas,
      penalties,
      log: pino({ level: 'silent' }),
      onEarly: () => {},
      onGap: () => {}
    })
  }
  beforeEach(async () => { await make() })
  afterEach(async () => { await h.close() })

  it('over-quota: past its burst an origin\'s messages are ignored, its peer penalized, the origin shown over quota', async () => {
    const log = new RemoteLog(member, CIRCLE)
    for (let i = 0; i < 3; i++) expect((await v.validate(CIRCLE, message(log.next([ind(`q${i}.example`)])), fromMember)).reason).toBe('stored')
    const over = await v.validate(CIRCLE, message(log.next([ind('q3.example')])), fromMember)
    expect({ result: over.result, reason: over.reason, code: over.code }).toEqual({ result: TopicValidatorResult.Ignore, reason: 'over-quota', code: 'PX_ERR_OVER_QUOTA' })
    expect(h.store.getEntry(CIRCLE, member.publicKeyHex, 4)).toBeUndefined()
    expect(quotas.overQuota(member.publicKeyHex)).toMatchObject({ dropped: 1 })
    expect(v.drops).toEqual({ queueFull: 0, overQuota: 1 })
    expect(penalties.appSpecificScore(fromMember.toString())).toBeCloseTo(-OVER_QUOTA_PENALTY.origin, 1)
    // another member is not charged for it
    expect((await v.validate(CIRCLE, message(new RemoteLog(other, CIRCLE).next([ind('o.example')])), fromMember)).reason).toBe('stored')
    expect(quotas.overQuota(other.publicKeyHex)).toBeNull()
  })

  it('a relaying peer pays less than the origin for the origin\'s over-quota message', async () => {
    const log = new RemoteLog(member, CIRCLE)
    for (let i = 0; i < 3; i++) await v.validate(CIRCLE, message(log.next([ind(`r${i}.example`)])), fromMember)
    expect((await v.validate(CIRCLE, message(log.next([ind('r3.example')])), fromRelay)).reason).toBe('over-quota')
    expect(penalties.appSpecificScore(fromRelay.toString())).toBeCloseTo(-OVER_QUOTA_PENALTY.relay, 1)
    expect(penalties.appSpecificScore(fromMember.toString())).toBe(0)
  })

  it('a duplicate or a bad signature is refunded: it cost the origin nothing', async () => {
    const log = new RemoteLog(member, CIRCLE)
    const e = log.next([ind('d.example')])
    expect((await v.validate(CIRCLE, message(e), fromMember)).reason).toBe('stored')
    for (let i = 0; i < 5; i++) expect((await v.judge(JSON.parse(canonicalJson(e)), 'gossip')).reason).toBe('duplicate')
    // the same entry in new envelopes (another message id): duplicates, refunded
    for (let i = 0; i < 5; i++) expect((await v.validate(CIRCLE, encodeEnvelope(canonicalJson(e), entryHash(e), circleKey), fromMember)).reason).toBe('duplicate')
    // forged entries claiming the member as origin: rejected (the sender pays in gossipsub's score), refunded
    for (let i = 0; i < 5; i++) {
      const forged = { ...log.peek([ind(`forged${i}.example`)]), sig: Buffer.alloc(64, i).toString('base64') }
      expect((await v.validate(CIRCLE, message(forged as Entry), fromRelay)).reason).toBe('refused')
    }
    // two of the three tokens are left: the member's own next entries still pass
    expect((await v.validate(CIRCLE, message(log.next([ind('d2.example')])), fromMember)).reason).toBe('stored')
    expect((await v.validate(CIRCLE, message(log.next([ind('d3.example')])), fromMember)).reason).toBe('stored')
    expect(quotas.overQuota(member.publicKeyHex)).toBeNull()
  })

  it('queue-full: with the ingest queue at its gossip bound a message is ignored, unpenalized, uncharged', async () => {
    // groups of one job: the writer takes the first publish, the second waits in the queue
    await h.close()
    await make({ maxGroupItems: 1000, maxGroupJobs: 1 })
    const log = new RemoteLog(member, CIRCLE)
    const local = (k: number): Promise<unknown> => h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: Array.from({ length: 1000 }, (_, i) => ind(`local${k}-${i}.example`)) }])
    const publishing = Promise.all([local(0), local(1)])
    expect(h.ingest.queuedItems).toBe(1000)
    const got = await v.validate(CIRCLE, message(log.next([ind('full.example')])), fromMember)
    expect({ result: got.result, reason: got.reason, code: got.code }).toEqual({ result: TopicValidatorResult.Ignore, reason: 'queue-full', code: 'PX_ERR_RATE_LIMITED' })
    expect(v.drops.queueFull).toBe(1)
    expect(penalties.appSpecificScore(fromMember.toString())).toBe(0)
    await publishing
    expect(h.ingest.queuedItems).toBe(0)
    // room again: the member's next entry is within its quota (the dropped one cost nothing)
    expect((await v.validate(CIRCLE, message(log.next([ind('room.example')])), fromMember)).result).toBe(TopicValidatorResult.Accept)
  })

  it('over-quota: one origin\'s gossip holds at most half the queue bound; another member\'s entry still finds room', async () => {
    await h.close()
    await make({}, 1000)
    const log = new RemoteLog(member, CIRCLE)
    const big = (k: number): Entry => log.next(Array.from({ length: 60 }, (_, i) => ind(`share${k}-${i}.example`)))
    // ten entries of 60 records at once: 8 fit in the origin's 500, the rest are dropped
    const verdicts = await Promise.all(Array.from({ length: 10 }, (_, k) => v.validate(CIRCLE, message(big(k)), fromMember)))
    expect(verdicts.map(x => x.reason)).toEqual([...Array(8).fill('stored'), 'over-quota', 'over-quota'])
    // past its share an origin is over quota in effect, at a lesser penalty
    expect(quotas.overQuota(member.publicKeyHex)).toMatchObject({ dropped: 2 })
    expect(penalties.appSpecificScore(fromMember.toString())).toBeCloseTo(-2 * SHARE_PENALTY_FACTOR, 1)
    // while the member's share is taken, another member's entry goes in
    const more = Array.from({ length: 9 }, (_, k) => v.validate(CIRCLE, message(big(10 + k)), fromMember))
    const others = await v.validate(CIRCLE, message(new RemoteLog(other, CIRCLE).next(Array.from({ length: 60 }, (_, i) => ind(`other-${i}.example`)))), fromMember)
    expect(others.reason).toBe('stored')
    expect((await Promise.all(more)).filter(x => x.reason === 'over-quota').length).toBeGreaterThan(0)
  })

  it('unknown key epoch: honest in a rotation\'s grace, junk far ahead', async () => {
    const e = new RemoteLog(member, CIRCLE).next([ind('epoch.example')])
    expect((await v.validate(CIRCLE, message(e, { epoch: EPOCH + 1, key: randomBytes(32) }), fromMember)).reason).toBe('unknown-key-epoch')
    expect(penalties.appSpecificScore(fromMember.toString())).toBe(0)
    expect((await v.validate(CIRCLE, message(e, { epoch: EPOCH + 50, key: randomBytes(32) }), fromMember)).reason).toBe('unknown-key-epoch')
    expect(penalties.appSpecificScore(fromMember.toString())).toBeLessThan(0)
    expect(penalties.of(fromMember.toString()).counts).toEqual({ 'unknown-key-epoch': 1 })
  })
})
