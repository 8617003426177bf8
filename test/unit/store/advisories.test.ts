/**
 * Deriving advisories and acks (issue 15, part 3) over a real store: acks are kept by advisory
 * id, so an ack that arrives before its advisory still counts; an ack counts only in the
 * advisory's own circle; of two acks by one member the earliest is kept, whatever order they
 * arrive in. Each new advisory and ack, and each other organization's sighting of a value
 * this node has its own indicator of, is a stream event at a store cursor, in the order stored.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { advisoryId, makeIndicatorItem, makeSightingItem, type Entry, type Item } from '../../../src/records/index.js'
import { checkStore } from '../../../src/store/index.js'
import { openStore, randomKey, RemoteLog, type StoreHarness } from '../../utils/store.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })

const NONCE = '5a'.repeat(16)
const END = 'f'.repeat(14)

async function open (): Promise<StoreHarness> {
  const h = await openStore({ ingest: { sync: false } })
  harnesses.push(h)
  return h
}

function advisory (): Item {
  return { kind: 'advisory', nonce: NONCE, title: 'Patch now', text: 'Patch now' }
}

describe('advisories and acks in the store', () => {
  it('an ack that arrives before its advisory counts once the advisory is there; both orders give the same state', async () => {
    const author = new RemoteLog(randomKey(), 'c1')
    const b = new RemoteLog(randomKey(), 'c1')
    const c = new RemoteLog(randomKey(), 'c1')
    const id = advisoryId(author.origin, NONCE)
    const adv = author.next([advisory()], { tlp: 'AMBER' })
    const ackB = b.next([{ kind: 'ack', advisory: id }], { tlp: 'AMBER' })
    const ackC = c.next([{ kind: 'ack', advisory: id }], { tlp: 'AMBER' })
    const states = []
    for (const order of [[ackB, ackC, adv], [adv, ackC, ackB]] as Entry[][]) {
      const h = await open()
      for (const e of order) expect((await h.ingest.ingest(structuredClone(e), 'sync')).status).toBe('stored')
      const a = h.store.advisory(id)
      expect(a).toMatchObject({ id, origin: author.origin, circle: 'c1', tlp: 'AMBER', title: 'Patch now', entry: { seq: 1 } })
      const acks = await h.store.acksOf(id, 'c1')
      expect(acks.map(k => k.origin).sort()).toEqual([b.origin, c.origin].sort())
      expect((await checkStore(h.store)).problems).toEqual([])
      const { received: _r, ...rest } = a as unknown as Record<string, unknown>
      states.push({ advisory: rest, acks })
    }
    expect(states[0]).toEqual(states[1])
  })

  it('an ack counts only in the advisory\'s circle; of two acks by one member the earliest is kept', async () => {
    const h = await open()
    const author = new RemoteLog(randomKey(), 'c1')
    const key = randomKey()
    const b1 = new RemoteLog(key, 'c1')
    const b2 = new RemoteLog(key, 'c2')
    const id = advisoryId(author.origin, NONCE)
    await h.ingest.ingest(author.next([advisory()]), 'sync')
    await h.ingest.ingest(b2.next([{ kind: 'ack', advisory: id }]), 'sync')
    expect(await h.store.acksOf(id, 'c1')).toEqual([])
    const early = b1.next([{ kind: 'ack', advisory: id }], { created: '2026-03-01T00:00:00.000Z' })
    const late = b1.next([{ kind: 'ack', advisory: id }], { created: '2026-03-02T00:00:00.000Z' })
    await h.ingest.ingest(late, 'sync')
    await h.ingest.ingest(early, 'sync')
    expect((await h.store.acksOf(id, 'c1')).map(k => k.at)).toEqual(['2026-03-01T00:00:00.000Z'])
  })

  it('advisories, acks and sightings of own indicators are stream events at store cursors, in the order stored', async () => {
    const h = await open()
    const me = h.key.publicKeyHex
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [makeIndicatorItem({ type: 'domain', value: 'mine.example', confidence: 80, tags: [] })] }])
    const other = new RemoteLog(randomKey(), 'c1')
    await h.ingest.ingest(other.next([makeIndicatorItem({ type: 'domain', value: 'theirs.example', confidence: 80, tags: [] })]), 'sync')
    const sighting = (value: string): Item => makeSightingItem({ type: 'domain', value, count: 2, firstSeen: '2026-03-01T00:00:00.000Z', lastSeen: '2026-03-01T00:00:00.000Z', action: 'blocked' })
    await h.ingest.ingest(other.next([sighting('theirs.example')]), 'sync') // not of an own indicator
    await h.ingest.publish([{ circle: 'c1', tlp: 'AMBER', items: [sighting('mine.example')] }]) // this node's own sighting
    await h.ingest.ingest(other.next([sighting('mine.example')], { tlp: 'AMBER' }), 'sync')
    const id = advisoryId(other.origin, NONCE)
    await h.ingest.ingest(other.next([advisory()]), 'sync')
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [{ kind: 'ack', advisory: id }] }])
    // a second ack by the same member is no news
    await h.ingest.publish([{ circle: 'c1', tlp: 'GREEN', items: [{ kind: 'ack', advisory: id }] }])
    const events = await h.store.events('', END, 100)
    expect(events.map(e => e.event)).toEqual([
      { kind: 'sighting', type: 'domain', value: 'mine.example', circle: 'c1', origin: other.origin, action: 'blocked', count: 2, lastSeen: '2026-03-01T00:00:00.000Z' },
      { kind: 'advisory', id },
      { kind: 'ack', advisory: id, circle: 'c1', origin: me, at: expect.any(String) }
    ])
    const cursors = events.map(e => e.cursor)
    expect([...cursors].sort()).toEqual(cursors)
    // every event cursor comes from the counter the change feed uses: none is repeated or beyond it
    expect(new Set(cursors).size).toBe(3)
    expect(parseInt(cursors[2], 16)).toBeLessThanOrEqual(h.store.lastCursor())
    expect(await h.store.events(cursors[0], cursors[1], 10)).toEqual([events[1]])
  })
})
