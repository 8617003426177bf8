/**
 * The control protocol's limits: who may take a circle's log, what a taken log must be
 * (verifying entries of that circle that make this node a member), and the address `connect`
 * needs. Real signed entries, real LevelDB and ingest.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { OrgKey } from '../../../../src/identity/index.js'
import { membershipLogOf, type CircleState } from '../../../../src/circles/index.js'
import type { IndicatorItem } from '../../../../src/records/index.js'
import { connectAt, controlHandler, takeControlLog } from '../../../../src/p2p/protocols/control.js'
import { RemoteLog, openStore, type StoreHarness } from '../../../utils/store.js'
import { circleState, orgPeerId, request } from '../../../utils/p2p.js'

const CIRCLE = 'c-control'
const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'domain', value, confidence: 70, tags: [] })

describe('control protocol', () => {
  let h: StoreHarness
  const admin = OrgKey.fromSeed(randomBytes(32))
  const self = OrgKey.fromSeed(randomBytes(32))
  let mine: CircleState[]
  const circles = { expect: () => {}, get: (id: string) => mine.find(s => s.id === id), mine: () => mine }

  beforeEach(async () => {
    h = await openStore({ key: self })
    mine = []
  })
  afterEach(async () => { await h.close() })

  it('serves the log only to a current member', async () => {
    const askerSeed = randomBytes(32)
    mine = [circleState(CIRCLE, [self])]
    const handler = controlHandler({ ...circles, controlEntries: async () => [], controlDigest: async () => 'd' })
    await expect(request(handler, await orgPeerId(askerSeed), { circle: CIRCLE })).rejects.toMatchObject({ code: 'PX_ERR_NOT_MEMBER' })
    mine = [circleState(CIRCLE, [self, OrgKey.fromSeed(askerSeed)])]
    expect(await request(handler, await orgPeerId(askerSeed), { circle: CIRCLE })).toEqual({ entries: [] })
  })

  it.each([[[]], [undefined], [{}]])('refuses a reply with no log (%j)', async (entries) => {
    await expect(takeControlLog({ circles, ingest: h.ingest }, CIRCLE, entries)).rejects.toMatchObject({ code: 'PX_ERR_PEER', message: 'the peer sent no circle log' })
  })

  it('refuses a log with an entry of another circle, and stores nothing of it', async () => {
    const e = new RemoteLog(admin, membershipLogOf('c-other')).next([ind('x.example')])
    await expect(takeControlLog({ circles, ingest: h.ingest }, CIRCLE, [e])).rejects.toMatchObject({ code: 'PX_ERR_PEER', message: 'the peer sent an entry of another circle' })
    expect(h.store.head(membershipLogOf('c-other'), admin.publicKeyHex)).toBeUndefined()
  })

  it('refuses a log whose entries do not verify', async () => {
    const e = { ...new RemoteLog(admin, membershipLogOf(CIRCLE)).next([ind('x.example')]), created: '2020-01-01T00:00:00.000Z' }
    await expect(takeControlLog({ circles, ingest: h.ingest }, CIRCLE, [e])).rejects.toMatchObject({ code: 'PX_ERR_PEER', message: expect.stringMatching(/does not verify/) })
  })

  it('refuses a log that does not make this node a member', async () => {
    const e = new RemoteLog(admin, membershipLogOf(CIRCLE)).next([ind('x.example')])
    await expect(takeControlLog({ circles, ingest: h.ingest }, CIRCLE, [e])).rejects.toMatchObject({ code: 'PX_ERR_PEER', message: expect.stringMatching(/does not make this node a member/) })
  })

  it.each([
    ['not a multiaddr', 'hello'],
    ['an address without /p2p/<peer id>', '/ip4/127.0.0.1/tcp/7400'],
    ['a peer id that is not an Ed25519 key', '/ip4/127.0.0.1/tcp/7400/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N']
  ])('connect refuses %s before dialling', async (_, addr) => {
    const requester = { toAddrs: async (): Promise<never> => { throw new Error('dialled') } }
    await expect(connectAt({ circles, ingest: h.ingest, requester }, CIRCLE, addr)).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'addr' })
  })
})
