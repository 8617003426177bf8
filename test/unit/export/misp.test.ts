/**
 * MISP export: every type maps to a MISP type and category, and what `phalanx import --format
 * misp` reads back keeps type, value, TLP, tags, description (an empty one becomes the event's
 * title, and stays that over further round trips) and first/last seen; a revoked
 * indicator is a deleted attribute (a revoke on import); the event carries the strictest TLP.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MispEventWriter, toMispAttribute } from '../../../src/export/index.js'
import { mispRows } from '../../../src/import/index.js'
import { INDICATOR_TYPES, LOCAL_CIRCLE, parseIndicatorInput, type StoredIndicator } from '../../../src/records/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const INPUTS: Array<Record<string, unknown>> = [
  { type: 'ipv4', value: '198.51.100.7', tlp: 'GREEN', confidence: 80, tags: ['c2'], description: 'a C2 server', firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-02-01T00:00:00Z' },
  { type: 'ipv6', value: '2001:db8::7', tlp: 'AMBER' },
  { type: 'cidr', value: '203.0.113.0/24', tlp: 'CLEAR' },
  { type: 'domain', value: 'evil.example', tlp: 'AMBER+STRICT', tags: ['phishing', 'malware:PushRAT'] },
  { type: 'url', value: 'http://evil.example/x?a=1', tlp: 'RED', confidence: 10 },
  { type: 'email', value: 'bad@evil.example' },
  { type: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e' },
  { type: 'sha1', value: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
  { type: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { type: 'sha512', value: 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e' },
  { type: 'cve', value: 'CVE-2021-44228' },
  { type: 'asn', value: 'AS64500' },
  { type: 'ja3', value: 'e7d705a3286e19ea42f587b344ee6865' }
]

async function stored (): Promise<StoredIndicator[]> {
  h = await openStore({ ingest: { sync: false } })
  const out: StoredIndicator[] = []
  for (const input of INPUTS) {
    const p = parseIndicatorInput(input, { tlp: 'GREEN', confidence: 60 })
    const r = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: p.tlp, items: [p.item] }])
    out.push(h.store.getIndicator(r.ids[0]!)!)
  }
  return out
}

describe('MISP export', () => {
  it('covers every indicator type', async () => {
    expect(new Set(INPUTS.map(i => i.type))).toEqual(new Set(INDICATOR_TYPES))
  })

  it('import(export(x)) keeps type, value, TLP, tags, description and first/last seen; to_ids follows the confidence', async () => {
    const inds = await stored()
    const w = new MispEventWriter('test export', new Date('2026-03-01T00:00:00Z'))
    const text = w.head() + inds.map(i => w.attribute(i)).join('') + w.tail()
    const doc = JSON.parse(text)
    expect(doc.Event).toMatchObject({ info: 'test export', date: '2026-03-01', Tag: [{ name: 'tlp:red' }] })
    expect(doc.Event.Attribute).toHaveLength(inds.length)
    expect(doc.Event.Attribute[0]).toMatchObject({ type: 'ip-dst', category: 'Network activity', to_ids: true, comment: 'a C2 server' })
    expect(doc.Event.Attribute[4]).toMatchObject({ type: 'url', to_ids: false })
    const rows = [...mispRows(doc)]
    expect(rows.every(r => 'input' in r)).toBe(true)
    rows.forEach((r, k) => {
      if (!('input' in r)) return
      const p = parseIndicatorInput(r.input, { tlp: 'CLEAR', confidence: 0 })
      const i = inds[k]
      // an attribute without a comment takes the event's title as its description
      expect([p.item.type, p.item.value, p.tlp, p.item.tags, p.item.description, p.item.firstSeen, p.item.lastSeen]).toEqual([i.type, i.value, i.tlp, i.tags, i.description ?? 'test export', i.firstSeen, i.lastSeen])
      expect(p.item.confidence).toBe(i.confidence >= 50 ? 80 : 30)
    })
    // a second round trip changes no description (the title is not prepended again)
    const again = new MispEventWriter('test export')
    const back = rows.map(r => 'input' in r ? { ...inds[0], description: r.input.description as string } : inds[0])
    const twice = [...mispRows(JSON.parse(again.head() + back.map(i => again.attribute(i)).join('') + again.tail()))]
    expect(twice.map(r => 'input' in r ? r.input.description : undefined)).toEqual(rows.map(r => 'input' in r ? r.input.description : undefined))
    // the same indicator keeps its attribute uuid
    expect(toMispAttribute(inds[0]).uuid).toBe(toMispAttribute({ ...inds[0], version: 2 }).uuid)
  })

  it('a revoked indicator is a deleted attribute, read back as a revoke', async () => {
    const [ind] = await stored()
    const a = toMispAttribute({ ...ind, revoked: { at: '2026-03-01T00:00:00.000Z', entry: 'x' } })
    expect(a.deleted).toBe(true)
    expect([...mispRows({ Event: { info: 'x', Attribute: [a] } })]).toEqual([{ line: 1, revoke: { type: 'ipv4', value: '198.51.100.7' } }])
  })

  it('an empty export is a valid event with no attributes and no TLP tag', () => {
    const w = new MispEventWriter('empty')
    expect(JSON.parse(w.head() + w.tail()).Event).toMatchObject({ Attribute: [], Tag: [] })
  })
})
