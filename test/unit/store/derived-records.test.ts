/**
 * Own publishes store records whose JSON the writer puts together from the signer's parts;
 * received entries store records serialized whole. Both must be the same record.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, parseIndicatorInput, type Entry, type Item } from '../../../src/records/index.js'
import { checkStore } from '../../../src/store/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

const harnesses: StoreHarness[] = []
afterEach(async () => { for (const h of harnesses.splice(0)) await h.close() })

const inputs = [
  { type: 'domain', value: 'plain.example', tags: ['a'] },
  { type: 'url', value: 'hxxps://Quote"d.example/p?q="x"&u=ü', confidence: 99, tags: ['Zeta', 'alpha', 'ünï "q"'], description: 'line 1\nline 2 \\ "quoted" ✓' },
  { type: 'ipv6', value: '2001:DB8::1', validFrom: '2026-01-01', validUntil: '2099-01-01T10:00:00+02:00', firstSeen: '2025-12-01', lastSeen: '2025-12-24T12:00:00Z' },
  { type: 'sha256', value: 'A'.repeat(64), confidence: 0, tags: [] }
]

describe('records derived from the signer', () => {
  it('equal the records a received copy of the same entries gives', async () => {
    const origin = await openStore({ seed: randomBytes(32), ingest: { sync: false } })
    harnesses.push(origin)
    const items: Item[] = inputs.map(i => parseIndicatorInput(i, { tlp: 'GREEN', confidence: 50 }).item)
    const single = await origin.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [items[0]] }])
    const bulk = await origin.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'AMBER', items }])
    const ids = [single.ids[0], ...bulk.ids] as string[]

    const copy = await openStore({ ingest: { sync: false } })
    harnesses.push(copy)
    for (let seq = 1; seq <= 2; seq++) {
      const e = origin.store.getEntry(LOCAL_CIRCLE, origin.key.publicKeyHex, seq) as Entry
      expect((await copy.ingest.ingest(JSON.parse(JSON.stringify(e)))).status).toBe('stored')
    }
    for (const id of ids) {
      const { received: _r1, cursor: _c1, ...a } = origin.store.readUncached('indicators', id) as Record<string, unknown>
      const { received: _r2, cursor: _c2, ...b } = copy.store.readUncached('indicators', id) as Record<string, unknown>
      expect(a).toEqual(b)
      expect(a.id).toBe(id)
    }
    expect((await checkStore(origin.store)).problems).toEqual([])
    expect((await checkStore(copy.store)).problems).toEqual([])
  })
})
