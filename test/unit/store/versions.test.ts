/**
 * Versions between nodes (DESIGN §3): an entry of a later version, or with a record kind or
 * record version this code does not know, is kept for sync (signature, log position and route
 * checked as for any entry) and otherwise ignored; the sender is not at fault. A v0.1 entry
 * (test/fixtures/entry-v1.json, signed by v0.1's code) keeps validating byte for byte.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { checkEntry, entryHash, verifyEntrySignature, type Entry, type Item } from '../../../src/records/index.js'
import { openStore, RemoteLog, type StoreHarness } from '../../utils/store.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })

const indicator = (value: string): Item => ({ kind: 'indicator', type: 'domain', value, confidence: 50, tags: [] })
const future = (extra: Record<string, unknown>): Item => extra as unknown as Item

/** a store whose policy records what it was asked (and accepts everything) */
async function store (): Promise<StoreHarness & { asked: Array<{ seq: number, unreadable: boolean }> }> {
  const asked: Array<{ seq: number, unreadable: boolean }> = []
  const h = await openStore({ policy: { check (e, _s, unreadable) { asked.push({ seq: e.seq, unreadable: unreadable === true }) } } })
  harnesses.push(h)
  return Object.assign(h, { asked })
}

describe('entries and records of a later version', () => {
  it('an entry of a later version is stored for sync, its records not read, and the log goes on', async () => {
    const h = await store()
    const log = new RemoteLog(undefined, 'x')
    const e2 = log.next([future({ kind: 'indicator', type: 'domain', value: 'later.example', confidence: 50, tags: [], scoring: { model: 'x' } })], { v: 2 })
    const r = await h.ingest.ingest(e2, 'gossip')
    expect(r).toMatchObject({ status: 'stored', unknown: 'entry version 2', seq: 1 })
    expect(h.asked).toEqual([{ seq: 1, unreadable: true }])
    // kept as signed: served to others by sync exactly as it came
    const kept = h.store.getEntry('x', log.origin, 1)!
    expect(entryHash(kept)).toBe(entryHash(e2))
    expect(verifyEntrySignature(kept)).toBe(true)
    expect(h.store.head('x', log.origin)?.seq).toBe(1)
    // nothing read from it
    expect(h.store.counts()).toMatchObject({ entries: 1, indicators: 0 })
    // the next entry of the log (a version this code reads) follows it
    expect((await h.ingest.ingest(log.next([indicator('after.example')]), 'gossip')).status).toBe('stored')
    expect(h.store.counts()).toMatchObject({ entries: 2, indicators: 1 })
    // a duplicate is a duplicate
    expect((await h.ingest.ingest(e2, 'sync')).status).toBe('duplicate')
  })

  it('a record kind this code does not know: the entry is kept, none of its records read', async () => {
    const h = await store()
    const log = new RemoteLog(undefined, 'x')
    const e = log.next([indicator('beside.example'), future({ kind: 'playbook', title: 'patch now', text: 'CVE-2026-1234' })])
    expect(await h.ingest.ingest(e, 'gossip')).toMatchObject({ status: 'stored', unknown: 'record kind "playbook"' })
    expect(h.store.counts()).toMatchObject({ entries: 1, indicators: 0 })
    expect(h.store.getEntry('x', log.origin, 1)!.items).toEqual(e.items)
  })

  it('a known kind at a later record version is kept and not read', async () => {
    const h = await store()
    const log = new RemoteLog(undefined, 'x')
    const e = log.next([future({ kind: 'indicator', v: 2, type: 'domain', value: 'v2.example', confidence: 50, tags: [], score: 7 })])
    expect(await h.ingest.ingest(e, 'gossip')).toMatchObject({ status: 'stored', unknown: '"indicator" record version 2' })
    expect(h.store.counts().indicators).toBe(0)
  })

  it('what a later version is still checked for: signature, envelope, size, route', async () => {
    const h = await store()
    const log = new RemoteLog(undefined, 'x')
    const e2 = log.peek([future({ kind: 'playbook', title: 't' })], { v: 2 })
    await expect(h.ingest.ingest({ ...e2, sig: 'ab'.repeat(64) }, 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_BAD_SIGNATURE' })
    await expect(h.ingest.ingest({ ...e2, extra: 1 }, 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_BAD_ENTRY', field: 'entry.extra' })
    await expect(h.ingest.ingest(log.peek([future({ kind: 'playbook', body: 'x'.repeat(70_000) })], { v: 2 }), 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_PAYLOAD_TOO_LARGE' })
    await expect(h.ingest.ingest(log.peek(['not a record' as unknown as Item], { v: 2 }), 'gossip')).rejects.toMatchObject({ code: 'PX_ERR_BAD_ENTRY', field: 'entry.items[0]' })
    // the policy refuses an unreadable entry as any other (e.g. a non-member origin)
    const refusing = await openStore({ policy: { check () { throw Object.assign(new Error('not a member'), { code: 'PX_ERR_NOT_MEMBER' }) } } })
    harnesses.push(refusing)
    await expect(refusing.ingest.ingest(e2, 'gossip')).rejects.toThrow(/not a member/)
    expect(refusing.store.counts().entries).toBe(0)
  })

  it.each([
    ['version 0', { v: 0 }, 'entry.v'],
    ['a version that is not an integer', { v: 1.5 }, 'entry.v'],
    ['a version as a string', { v: '2' }, 'entry.v'],
    ['an absurd version', { v: 1e12 }, 'entry.v']
  ])('an entry with %s is malformed', async (_, patch, field) => {
    const log = new RemoteLog(undefined, 'x')
    const e = { ...log.peek([indicator('a.example')]), ...patch }
    expect(() => checkEntry(e)).toThrow(expect.objectContaining({ code: 'PX_ERR_BAD_ENTRY', field }))
  })

  it.each([
    ['a kind that is not a kind name', { kind: 'Bad Kind!' }],
    ['a known kind with an explicit v 1 (absent means 1)', { ...indicator('a.example'), v: 1 }],
    ['a known kind with a malformed v', { ...indicator('a.example'), v: 'two' }]
  ])('a record with %s is malformed', (_, item) => {
    const log = new RemoteLog(undefined, 'x')
    expect(() => checkEntry(log.peek([future(item)]))).toThrow(expect.objectContaining({ code: 'PX_ERR_BAD_ENTRY' }))
  })

  it('a v0.1 entry (signed by v0.1) still validates and verifies, with the same hash', () => {
    const raw = JSON.parse(readFileSync(new URL('../../fixtures/entry-v1.json', import.meta.url), 'utf8')) as Entry
    const { entry, unknown } = checkEntry(raw)
    expect(unknown).toBeUndefined()
    expect(verifyEntrySignature(entry)).toBe(true)
    expect(entryHash(entry)).toBe(entryHash(raw))
    expect(entry.items[0]).toMatchObject({ kind: 'indicator', value: 'reshared.example' })
  })
})
