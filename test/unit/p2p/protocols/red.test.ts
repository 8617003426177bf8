/**
 * RED direct delivery: what the recipient's handler refuses (each check on its own), and the
 * sender's outbox (kept until acknowledged, removed through ingest, retried with backoff).
 * Real keys and boxes, real LevelDB on both sides, requests through the protocols' framing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { BoxKey, OrgKey } from '../../../../src/identity/index.js'
import { canonicalJson, entryHash, redLogOf, type IndicatorItem } from '../../../../src/records/index.js'
import { RED_MAX_BACKOFF_MS, RedDelivery, redHandler } from '../../../../src/p2p/protocols/red.js'
import { RemoteLog, openStore, type StoreHarness } from '../../../utils/store.js'
import { orgPeerId, request, silent } from '../../../utils/p2p.js'

const ind = (value: string): IndicatorItem => ({ kind: 'indicator', type: 'ipv4', value, confidence: 70, tags: [] })

interface Org { seed: Uint8Array, key: OrgKey, box: BoxKey, peer: PeerId }
async function org (): Promise<Org> {
  const seed = randomBytes(32)
  return { seed, key: OrgKey.fromSeed(seed), box: BoxKey.fromSeed(seed), peer: await orgPeerId(seed) }
}

describe('RED protocol: the recipient', () => {
  let recipient: Org, sender: Org, other: Org
  let h: StoreHarness
  let handler: ReturnType<typeof redHandler>
  let log: RemoteLog

  beforeEach(async () => {
    ;[recipient, sender, other] = await Promise.all([org(), org(), org()])
    h = await openStore({ key: recipient.key })
    handler = redHandler({ identity: { publicKey: recipient.key.publicKeyHex }, box: recipient.box, ingest: h.ingest })
    log = new RemoteLog(sender.key, redLogOf(recipient.key.publicKeyHex))
  })
  afterEach(async () => { await h.close() })

  const sealed = (from: Org, body: string): string => from.box.seal(recipient.key.publicKeyHex, Buffer.from(body))

  it('stores an entry sealed by its origin to this node, and acknowledges its hash', async () => {
    const e = log.next([ind('192.0.2.1')], { tlp: 'RED' })
    expect(await request(handler, sender.peer, { sealed: sealed(sender, canonicalJson(e)) })).toEqual({ ack: entryHash(e) })
    expect(h.store.getEntry(redLogOf(recipient.key.publicKeyHex), sender.key.publicKeyHex, 1)).toEqual(e)
  })

  it('refuses a delivery that is not {sealed}', async () => {
    await expect(request(handler, sender.peer, { entry: {} })).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION' })
  })

  it('refuses a sealed box over 200,000 characters', async () => {
    // the request frame (64 KiB) is smaller still: the stream ends before the handler
    await expect(request(handler, sender.peer, { sealed: 'A'.repeat(200_001) })).rejects.toMatchObject({ code: 'PX_ERR_PEER' })
    await expect(handler({ sealed: 'A'.repeat(200_001) }, sender.key.publicKeyHex)).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION' })
  })

  it('refuses a box sealed by another org than the connected peer', async () => {
    const e = log.next([ind('192.0.2.1')], { tlp: 'RED' })
    await expect(request(handler, sender.peer, { sealed: sealed(other, canonicalJson(e)) })).rejects.toMatchObject({ code: 'PX_ERR_BAD_ENTRY' })
  })

  it('refuses a sealed body that is not JSON', async () => {
    await expect(request(handler, sender.peer, { sealed: sealed(sender, '{not json') })).rejects.toMatchObject({ code: 'PX_ERR_BAD_ENTRY' })
  })

  it('refuses a relayed entry: its origin is not the peer that delivers it', async () => {
    const relayed = new RemoteLog(other.key, redLogOf(recipient.key.publicKeyHex)).next([ind('192.0.2.1')], { tlp: 'RED' })
    await expect(request(handler, sender.peer, { sealed: sealed(sender, canonicalJson(relayed)) })).rejects.toMatchObject({ code: 'PX_ERR_TLP_VIOLATION' })
    expect(h.store.head(redLogOf(recipient.key.publicKeyHex), other.key.publicKeyHex)).toBeUndefined()
  })

  it('refuses an entry of another recipient\'s log', async () => {
    const forOther = new RemoteLog(sender.key, redLogOf(other.key.publicKeyHex)).next([ind('192.0.2.1')], { tlp: 'RED' })
    await expect(request(handler, sender.peer, { sealed: sealed(sender, canonicalJson(forOther)) })).rejects.toMatchObject({ code: 'PX_ERR_TLP_VIOLATION' })
  })
})

describe('RED protocol: the sender\'s outbox', () => {
  let recipient: Org, sender: Org
  let hs: StoreHarness, hr: StoreHarness
  const stop = new AbortController()

  beforeEach(async () => {
    ;[recipient, sender] = await Promise.all([org(), org()])
    hs = await openStore({ key: sender.key })
    hr = await openStore({ key: recipient.key })
  })
  afterEach(async () => { await hs.close(); await hr.close() })

  function delivery (ack?: string): RedDelivery {
    const handler = redHandler({ identity: { publicKey: recipient.key.publicKeyHex }, box: recipient.box, ingest: hr.ingest })
    return new RedDelivery({
      identity: { publicKey: sender.key.publicKeyHex },
      box: sender.box,
      store: hs.store,
      ingest: hs.ingest,
      requester: { toMember: async (_key, _protocol, body) => ack === undefined ? await request(handler, sender.peer, body) : { ack } },
      log: silent,
      signal: stop.signal,
      baseDelayMs: 1000
    })
  }

  it('keeps an own RED entry until the recipient acknowledges it, then removes it through ingest', async () => {
    const pub = await hs.ingest.publish([{ circle: redLogOf(recipient.key.publicKeyHex), tlp: 'RED', items: [ind('192.0.2.7')] }])
    const d = delivery()
    expect(await d.outbox()).toEqual([{ recipient: recipient.key.publicKeyHex, seq: 1, hash: pub.entries[0].hash, attempts: 0, nextAttempt: null }])
    await d.deliver()
    expect(await d.outbox()).toEqual([])
    expect(await hs.store.outbox()).toEqual([])
    expect(hr.store.getEntry(redLogOf(recipient.key.publicKeyHex), sender.key.publicKeyHex, 1)).toEqual(hs.store.getEntry(redLogOf(recipient.key.publicKeyHex), sender.key.publicKeyHex, 1))
  })

  it('an acknowledgement of another entry leaves it in the outbox, retried after a backoff that doubles', async () => {
    await hs.ingest.publish([{ circle: redLogOf(recipient.key.publicKeyHex), tlp: 'RED', items: [ind('192.0.2.8')] }])
    const d = delivery('ab'.repeat(32))
    const t0 = Date.now()
    await d.deliver()
    const [first] = await d.outbox()
    expect(first.attempts).toBe(1)
    // 1 s ±20 %
    expect(Date.parse(first.nextAttempt!) - t0).toBeGreaterThanOrEqual(790)
    expect(Date.parse(first.nextAttempt!) - t0).toBeLessThanOrEqual(1300)
    // not due yet: the next pass does not try it
    await d.deliver()
    expect((await d.outbox())[0].attempts).toBe(1)
    // the recipient connects: due at once, and the next wait doubles
    d.onConnect(recipient.key.publicKeyHex)
    await d.deliver()
    const [second] = await d.outbox()
    expect(second.attempts).toBe(2)
    expect(Date.parse(second.nextAttempt!) - Date.now()).toBeGreaterThanOrEqual(1500)
    expect(Date.parse(second.nextAttempt!) - Date.now()).toBeLessThanOrEqual(Math.min(RED_MAX_BACKOFF_MS, 2400))
  })
})
