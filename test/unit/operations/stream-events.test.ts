/**
 * The stream's events besides indicator versions (operations/stream-events.ts) over a real
 * store: what each tells (names from the circles), and the filters (kinds, circle, origin).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StreamEvents } from '../../../src/operations/index.js'
import { advisoryId } from '../../../src/records/index.js'
import { openOps, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
let events: StreamEvents
const B = randomKey()
const END = 'f'.repeat(14)
beforeEach(async () => {
  h = await openOps()
  h.circles.join('c1', [B.publicKeyHex])
  h.circles.join('c2', [B.publicKeyHex])
  events = new StreamEvents({ store: h.store, advisories: h.advisories, reports: h.reports, circles: h.circles, identity: { publicKey: h.me } })
})
afterEach(async () => { await h.close() })

describe('StreamEvents.page', () => {
  it('tells advisories and acks with names, in cursor order; filters by kind, circle and origin', async () => {
    const own = await h.advisories.publish({ circle: 'c1', title: 'ours' })
    const b2 = new RemoteLog(B, 'c2')
    await h.ingest.ingest(b2.next([{ kind: 'advisory', nonce: '12'.repeat(16), title: 'theirs', text: 'theirs' }], { tlp: 'AMBER' }), 'sync')
    const b1 = new RemoteLog(B, 'c1')
    await h.ingest.ingest(b1.next([{ kind: 'ack', advisory: own.id }], { tlp: 'AMBER' }), 'sync')
    const all = new Set(['indicator', 'sighting', 'advisory', 'ack'] as const)

    const page = await events.page('', END, { kinds: all })
    expect(page.next).toBeNull()
    expect(page.events.map(e => e.event)).toEqual(['advisory', 'advisory', 'ack'])
    expect(page.events[0].data).toMatchObject({ id: own.id, mine: true, title: 'ours' })
    expect(page.events[1].data).toMatchObject({ id: advisoryId(B.publicKeyHex, '12'.repeat(16)), org: `org-${B.publicKeyHex.slice(0, 8)}`, circle: 'c2' })
    expect(page.events[2].data).toMatchObject({ advisory: own.id, title: 'ours', mine: true, circle: 'c1', circleName: 'Circle c1', publicKey: B.publicKeyHex, org: `org-${B.publicKeyHex.slice(0, 8)}` })
    expect([...page.events.map(e => e.id)].sort()).toEqual(page.events.map(e => e.id))

    expect((await events.page('', END, { kinds: new Set(['ack']) })).events.map(e => e.event)).toEqual(['ack'])
    expect((await events.page('', END, { kinds: all, circle: 'c2' })).events.map(e => (e.data as { title: string }).title)).toEqual(['theirs'])
    expect((await events.page('', END, { kinds: all, origin: h.me })).events.map(e => e.event)).toEqual(['advisory'])
    // after the first event, up to the second: the second only
    expect((await events.page(page.events[0].id, page.events[1].id, { kinds: all })).events.map(e => e.id)).toEqual([page.events[1].id])
  })
})
