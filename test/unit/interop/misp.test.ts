/**
 * MISP in and out. Export: every type maps to a MISP type and category, and what `phalanx
 * import --format misp` reads back keeps type, value, TLP, tags, description (an empty one
 * becomes the event's title, and stays that over further round trips) and first/last seen; a
 * revoked indicator is a deleted attribute (a revoke on import); the event carries the
 * strictest TLP. Import: types, TLP tags (the strictest; an unknown one skips), other tags,
 * to_ids, deleted attributes; the real MISP files of ../shared/data when present.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { MispEventWriter, mispRows, toMispAttribute, toMispSighting } from '../../../src/interop/misp.js'
import { importRows } from '../../../src/operations/import.js'
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

const FIXTURES = resolve(import.meta.dirname, '../../fixtures')
const MISP_DATA = resolve(import.meta.dirname, '../../../../shared/data/misp')
const HAVE_MISP = existsSync(MISP_DATA)
/** appended to a test's name when its data is absent, so the skip shows its reason */
const skipped = (have: boolean, path: string): string => have ? '' : ` (skipped: ${path} is absent)`
if (!HAVE_MISP) console.warn(`[corpus] ${MISP_DATA} not found: the real-data import checks on it are skipped (they run where ../shared/data exists)`)

describe('MISP rows', () => {
  it('maps types (composite ones split), TLP from tags (attribute over event), other tags kept, to_ids → confidence, deleted → revoke', async () => {
    const rows = [...mispRows(JSON.parse(readFileSync(resolve(FIXTURES, 'misp-event.json'), 'utf8')))]
    const inputs = rows.flatMap(r => 'input' in r ? [r.input] : [])
    expect(inputs.map(i => [i.type, i.value, i.tlp, i.confidence])).toEqual([
      ['ipv4', '203.0.113.50', 'AMBER', 80],
      ['domain', 'c2.misp-test.example', 'AMBER', 80],
      ['ipv4', '203.0.113.51', 'AMBER', 80],
      ['sha256', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'AMBER', 80],
      ['url', 'http://misp-test.example/dropper', 'GREEN', 30],
      ['cve', 'CVE-2024-3094', 'AMBER', 30],
      ['ipv4', '198.51.100.60', 'AMBER', 80],
      ['email', 'phisher@misp-test.example', 'AMBER', 80],
      ['md5', 'd41d8cd98f00b204e9800998ecf8427e', 'AMBER', 80]
    ])
    expect(inputs[0]).toMatchObject({ tags: ['misp-galaxy:threat-actor="Test Actor"'], description: 'C2' })
    expect(inputs[4].tags).toEqual(['misp-galaxy:threat-actor="Test Actor"', 'dropper'])
    expect(inputs[6].firstSeen).toBe('2024-01-01T00:00:00Z')
    expect(rows.filter(r => 'skip' in r).map(r => (r as { skip: string }).skip)).toEqual(['unsupported MISP type: text', 'unsupported MISP type: filename'])
    const deleted = [...mispRows(JSON.parse(readFileSync(resolve(FIXTURES, 'misp-deleted.json'), 'utf8')))]
    expect(deleted).toEqual([{ line: 1, revoke: { type: 'ipv4', value: '203.0.113.50' } }, { line: 2, revoke: { type: 'domain', value: 'never-imported.misp-test.example' } }])
    // every input passes the node's validation
    const s = await importRows((async function * () { yield * rows })(), { defaults: {} })
    // 10 attributes: the domain|ip one gives two rows
    expect(s).toMatchObject({ read: 11, imported: 9, skipped: 2 })
  })

  it('takes the strictest of several tlp: tags; an unknown tlp: tag skips the attribute (never guessed)', () => {
    const ev = (tags: string[], aTags: string[] = []): unknown => ({ Event: { info: 'x', Tag: tags.map(name => ({ name })), Attribute: [{ type: 'domain', value: 'tlp-tags.example', Tag: aTags.map(name => ({ name })) }] } })
    const tlpOfRows = (doc: unknown): unknown[] => [...mispRows(doc)].map(r => 'input' in r ? r.input.tlp : 'skip' in r ? r.skip : r)
    expect(tlpOfRows(ev(['tlp:green', 'tlp:red']))).toEqual(['RED'])
    expect(tlpOfRows(ev([], ['tlp:clear', 'tlp:amber+strict']))).toEqual(['AMBER+STRICT'])
    expect(tlpOfRows(ev(['tlp:red'], ['tlp:green']))).toEqual(['GREEN'])
    // tlp:ex:* extensions are not levels: kept as tags, the TLP comes from the rest
    expect(tlpOfRows(ev(['tlp:ex:chr', 'tlp:amber']))).toEqual(['AMBER'])
    expect([...mispRows(ev(['tlp:ex:chr']))].map(r => 'input' in r ? r.input.tags : r)).toEqual([['tlp:ex:chr']])
    expect(tlpOfRows(ev([], ['tlp:amber', 'tlp:unclear']))).toEqual(['a tlp: tag that is not a TLP 1.0/2.0 label (its TLP cannot be told)'])
  })

  it('refuses what is not a MISP event, and names the file', () => {
    expect(() => [...mispRows({ timestamp: '1', type: 'bar', value: '1' })]).toThrow(/not a MISP event/)
  })

  it.skipIf(!HAVE_MISP)(`../shared/data/misp: the expected counts (read from the files)${skipped(HAVE_MISP, '../shared/data/misp')}`, async () => {
    const count = async (f: string) => await importRows((async function * () { yield * mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, f), 'utf8'))) })(), { defaults: {} })
    // existing_event.json: 9 event + 113 object attributes; sha1 37, domain 19, ip-dst 12 are ours;
    // text 38, filename 15, link 1 are not; tagged tlp:white (CLEAR)
    expect(await count('existing_event.json')).toMatchObject({ read: 122, imported: 68, skipped: 54, reasons: { 'unsupported MISP type: text': 38, 'unsupported MISP type: filename': 15, 'unsupported MISP type: link': 1 } })
    const ev = [...mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, 'existing_event.json'), 'utf8')))].flatMap(r => 'input' in r ? [r.input] : [])
    expect(new Set(ev.map(i => i.tlp))).toEqual(new Set(['CLEAR']))
    expect(ev.filter(i => i.type === 'ipv4')).toHaveLength(12)
    // event_obj_attr_tag.json: two objects; the url is ours, the filename is not
    expect(await count('event_obj_attr_tag.json')).toMatchObject({ read: 2, imported: 1, skipped: 1 })
    // sighting.json is a sighting, not an event
    expect(() => [...mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, 'sighting.json'), 'utf8')))]).toThrow(/not a MISP event/)
  })
})

describe('MISP sightings', () => {
  it('a false positive is MISP sighting type 1, any other action type 0 with the action as its source, by organization and date', () => {
    expect(toMispSighting({ publicKey: 'ab'.repeat(32), org: 'Bank B', action: 'false-positive', lastSeen: '2026-01-02T00:00:00.000Z' })).toEqual({ type: '1', date_sighting: '1767312000', source: 'phalanx:false-positive', Organisation: { name: 'Bank B' } })
    expect(toMispSighting({ publicKey: 'ab'.repeat(32), org: null, action: 'blocked', lastSeen: '2026-01-02T00:00:00.000Z' })).toMatchObject({ type: '0', source: 'phalanx:blocked', Organisation: { name: `org ${'ab'.repeat(8)}` } })
  })
})
