/**
 * MISP in and out. Export: every type maps to a MISP type and category, and what `phalanx
 * import --format misp` reads back keeps type, value, TLP, tags, description (an empty one
 * becomes the event's title, and stays that over further round trips) and first/last seen; a
 * revoked indicator is a deleted attribute (a revoke on import); the event carries the
 * strictest TLP. Import: types, TLP tags (the strictest; an unknown one skips), other tags,
 * to_ids, deleted attributes; the real MISP files of ../shared/data when present.
 * Reports (issue 16): a titled event is a report row too (galaxies, Orgc, event reports, links);
 * an export with reports is a list of events, each report one with its galaxy tags and Orgc,
 * and reads back as the same report.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { readFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { MispEventWriter, mispEventUuid, mispOrgc, mispRows, toMispAttribute, toMispSighting } from '../../../src/interop/misp.js'
import { exportWriter, type ExportReport, type ReportRowInput, type Row } from '../../../src/interop/index.js'
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
    // a title of its own (not a Phalanx export's) makes the event a report too: the last row
    const all = [...mispRows(doc)]
    expect(all.at(-1)).toMatchObject({ report: { title: 'test export', values: inds.map(i => ({ type: i.type, value: i.value })) } })
    const rows = all.slice(0, -1)
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
    const twice = [...mispRows(JSON.parse(again.head() + back.map(i => again.attribute(i)).join('') + again.tail()))].slice(0, -1)
    expect(twice.map(r => 'input' in r ? r.input.description : undefined)).toEqual(rows.map(r => 'input' in r ? r.input.description : undefined))
    // the same indicator keeps its attribute uuid
    expect(toMispAttribute(inds[0]).uuid).toBe(toMispAttribute({ ...inds[0], version: 2 }).uuid)
  })

  it('a revoked indicator is a deleted attribute, read back as a revoke', async () => {
    const [ind] = await stored()
    const a = toMispAttribute({ ...ind, revoked: { at: '2026-03-01T00:00:00.000Z', entry: 'x' } })
    expect(a.deleted).toBe(true)
    expect([...mispRows({ Event: { Attribute: [a] } })]).toEqual([{ line: 1, revoke: { type: 'ipv4', value: '198.51.100.7' } }])
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
    // the event's own text attribute is its report's body now (context), the object's filename is not ours
    expect(rows.filter(r => 'skip' in r).map(r => (r as { skip: string }).skip)).toEqual(['unsupported MISP type: filename'])
    expect(rows.at(-1)).toEqual({ line: 11, report: { type: 'incident', title: 'Phalanx test event', nonce: '00000000000040008000000000000001', body: 'just a note', actors: ['Test Actor'], tlp: 'AMBER', values: inputs.map(i => ({ type: i.type, value: i.value })) } })
    const deleted = [...mispRows(JSON.parse(readFileSync(resolve(FIXTURES, 'misp-deleted.json'), 'utf8')))]
    // a titled event is a report even when it only withdraws values (it links none)
    expect(deleted).toEqual([{ line: 1, revoke: { type: 'ipv4', value: '203.0.113.50' } }, { line: 2, revoke: { type: 'domain', value: 'never-imported.misp-test.example' } }, { line: 3, report: { type: 'incident', title: 'Phalanx test event, later', tlp: 'AMBER', values: [] } }])
    // every input passes the node's validation
    const s = await importRows((async function * () { yield * rows })(), { defaults: {} })
    // 10 attributes (the domain|ip one gives two rows) and the report
    expect(s).toMatchObject({ read: 12, imported: 9, skipped: 1, context: { text: 1 }, reports: 1 })
  })

  it('takes the strictest of several tlp: tags; an unknown tlp: tag skips the attribute (never guessed)', () => {
    const ev = (tags: string[], aTags: string[] = []): unknown => ({ Event: { info: 'x', Tag: tags.map(name => ({ name })), Attribute: [{ type: 'domain', value: 'tlp-tags.example', Tag: aTags.map(name => ({ name })) }] } })
    const tlpOfRows = (doc: unknown): unknown[] => [...mispRows(doc)].filter(r => !('report' in r)).map(r => 'input' in r ? r.input.tlp : 'skip' in r ? r.skip : r)
    expect(tlpOfRows(ev(['tlp:green', 'tlp:red']))).toEqual(['RED'])
    expect(tlpOfRows(ev([], ['tlp:clear', 'tlp:amber+strict']))).toEqual(['AMBER+STRICT'])
    expect(tlpOfRows(ev(['tlp:red'], ['tlp:green']))).toEqual(['GREEN'])
    // tlp:ex:* extensions are not levels: kept as tags, the TLP comes from the rest
    expect(tlpOfRows(ev(['tlp:ex:chr', 'tlp:amber']))).toEqual(['AMBER'])
    expect([...mispRows(ev(['tlp:ex:chr']))].filter(r => !('report' in r)).map(r => 'input' in r ? r.input.tags : r)).toEqual([['tlp:ex:chr']])
    // the report takes the event's TLP; an unreadable one skips it with its reason
    expect([...mispRows(ev(['tlp:amber+strict']))].at(-1)).toMatchObject({ report: { tlp: 'AMBER+STRICT' } })
    expect([...mispRows(ev(['tlp:unclear']))].at(-1)).toMatchObject({ skip: 'report: a tlp: tag that is not a TLP 1.0/2.0 label (its TLP cannot be told)' })
    expect(tlpOfRows(ev([], ['tlp:amber', 'tlp:unclear']))).toEqual(['a tlp: tag that is not a TLP 1.0/2.0 label (its TLP cannot be told)'])
  })

  it('refuses what is not a MISP event, and names the file', () => {
    expect(() => [...mispRows({ timestamp: '1', type: 'bar', value: '1' })]).toThrow(/not a MISP event/)
  })

  it.skipIf(!HAVE_MISP)(`../shared/data/misp: the expected counts (read from the files)${skipped(HAVE_MISP, '../shared/data/misp')}`, async () => {
    const count = async (f: string) => await importRows((async function * () { yield * mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, f), 'utf8'))) })(), { defaults: {} })
    // existing_event.json: 9 event + 113 object attributes and the event's report; sha1 37, domain 19,
    // ip-dst 12 are ours; text 37 of the objects and filename 15 are not; the event's own text is the
    // report's body and its link its reference (context); tagged tlp:white (CLEAR)
    expect(await count('existing_event.json')).toMatchObject({ read: 123, imported: 68, skipped: 52, context: { text: 1, link: 1 }, reports: 1, reasons: { 'unsupported MISP type: text': 37, 'unsupported MISP type: filename': 15 } })
    const ev = [...mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, 'existing_event.json'), 'utf8')))].flatMap(r => 'input' in r ? [r.input] : [])
    expect(new Set(ev.map(i => i.tlp))).toEqual(new Set(['CLEAR']))
    expect(ev.filter(i => i.type === 'ipv4')).toHaveLength(12)
    // event_obj_attr_tag.json: two objects; the url is ours, the filename is not; no title: no report
    expect(await count('event_obj_attr_tag.json')).toMatchObject({ read: 2, imported: 1, skipped: 1, reports: 0 })
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

describe('MISP events as reports', () => {
  const reportOf = (rows: Row[]): ReportRowInput | undefined => rows.flatMap(r => 'report' in r ? [r.report] : []).at(-1)

  it('a titled event is a report: galaxies (tags and clusters) → ATT&CK ids, actors, malware, sectors; summary and text → body; links → references; its values; nonce from its UUID', async () => {
    const rows = [...mispRows(JSON.parse(readFileSync(resolve(FIXTURES, 'misp-galaxies.json'), 'utf8')))]
    expect(reportOf(rows)).toEqual({
      // an OSINT event is an analysis
      type: 'analysis',
      title: 'OSINT - Phalanx test campaign against banks',
      nonce: '5a3c2fcd832842bba95e4f4402de0b82',
      body: 'MISP event by CIRCL of 2024-03-01: threat level high, analysis ongoing.\n\nThe group sent links to a fake bank portal.',
      attack: ['T1566.002', 'T1059'],
      actors: ['Sofacy', 'APT28'],
      malware: ['CHOPSTICK', 'X-Agent'],
      sectors: ['Finance'],
      references: ['https://blog.misp-test.example/sednit'],
      published: '2024-03-02T00:00:00.000Z',
      tlp: 'GREEN',
      // the deleted attribute is a revoke, not a linked value
      values: [{ type: 'domain', value: 'portal.misp-test.example' }, { type: 'sha1', value: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' }]
    })
    // the galaxy tags stay on the indicators too (MISP users filter by them)
    const domain = rows.find(r => 'input' in r && r.input.type === 'domain') as { input: Record<string, unknown> }
    expect(domain.input.tags).toEqual(['misp-galaxy:mitre-attack-pattern="Spearphishing Link - T1566.002"', 'misp-galaxy:threat-actor="Sofacy"', 'misp-galaxy:sector="Finance"', 'misp-galaxy:exploit-kit="Sednit EK"'])
    const s = await importRows((async function * () { yield * rows })(), { defaults: {} })
    expect(s).toMatchObject({ read: 7, imported: 2, revoked: 1, skipped: 1, context: { link: 1, text: 1 }, reports: 1, reasons: { 'unsupported MISP type: text': 1 } })
  })

  it('the body is the event\'s MISP event reports when it has any; a misp:event-type tag gives the type; a bare attribute list is no report', () => {
    const ev = (extra: Record<string, unknown>): ReportRowInput | undefined => reportOf([...mispRows({ Event: { info: 'Incident 7', Attribute: [{ type: 'domain', value: 'r.example' }], ...extra } })])
    expect(ev({ EventReport: [{ name: 'Notes', content: '# Timeline\n\n- 09:00 mail' }] })?.body).toBe('# Timeline\n\n- 09:00 mail')
    expect(ev({ EventReport: [{ name: 'A', content: 'one' }, { name: 'B', content: 'two' }, { name: 'C', content: 'gone', deleted: true }] })?.body).toBe('## A\n\none\n\n## B\n\ntwo')
    expect(ev({ Tag: [{ name: 'misp:event-type="report"' }] })?.type).toBe('analysis')
    expect(ev({ Tag: [{ name: 'misp:event-type="incident"' }], info: 'OSINT - but an incident' })?.type).toBe('incident')
    expect(ev({})).toMatchObject({ type: 'incident', title: 'Incident 7' })
    expect(ev({}) !== undefined && 'body' in ev({})!).toBe(false)
    expect(reportOf([...mispRows({ Attribute: [{ type: 'domain', value: 'r.example' }] })])).toBeUndefined()
    // Phalanx's own indicator export is a container, not a report
    expect(reportOf([...mispRows({ Event: { info: 'Phalanx export (tag=c2)', Attribute: [{ type: 'domain', value: 'r.example' }] } })])).toBeUndefined()
  })

  it('a report round-trips through MISP: title, type, body, ATT&CK ids, actors, malware, campaigns, sectors, references, values, nonce, TLP, published; the events carry Orgc and galaxy tags', async () => {
    const inds = await stored()
    const linked = [inds[0], inds[3], inds[8]]
    const origin = 'ab'.repeat(32)
    const report: ExportReport = {
      id: 'f'.repeat(32),
      // a nonce from a UUID (RFC 4122 digits): the event's UUID reads back as the same nonce
      nonce: '5a3c2fcd832842bba95e4f4402de0b83',
      origin,
      org: 'Bank B',
      circle: 'c'.repeat(32),
      tlp: 'AMBER',
      type: 'analysis',
      title: 'PushRAT phishing wave',
      body: '# What happened\n\nLinks to a fake portal.',
      attack: [{ id: 'T1566.002', name: 'Spearphishing Link' }, { id: 'T1059' }],
      actors: ['APT Test'],
      malware: ['PushRAT'],
      campaigns: ['Operation Test'],
      sectors: ['Finance'],
      references: ['https://blog.example/pushrat'],
      indicators: [...linked.map(i => i.id), 'e'.repeat(32)],
      published: '2026-02-01T10:00:00.000Z',
      modified: '2026-02-02T10:00:00.000Z'
    }
    const w = exportWriter('misp', { reports: true, own: { publicKey: 'cd'.repeat(32), org: 'Bank A' } })
    const text = w.head() + inds.map(i => w.indicator(i)).join('') + w.report!(report) + w.tail()
    const doc = JSON.parse(text)
    // MISP's multi-event JSON: the indicators' event, then the report's
    expect(doc.response).toHaveLength(2)
    const [indicators, ev] = doc.response.map((x: { Event: Record<string, any> }) => x.Event)
    expect(indicators).toMatchObject({ info: 'Phalanx export', Orgc: mispOrgc('cd'.repeat(32), 'Bank A') })
    expect(indicators.Attribute).toHaveLength(inds.length)
    expect(ev).toMatchObject({ uuid: '5a3c2fcd-8328-42bb-a95e-4f4402de0b83', info: 'PushRAT phishing wave', date: '2026-02-01', publish_timestamp: String(Date.parse('2026-02-01T10:00:00Z') / 1000), Orgc: { name: 'Bank B' } })
    expect(ev.Orgc.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ev.Tag.map((t: { name: string }) => t.name)).toEqual([
      'tlp:amber', 'misp:event-type="report"', 'misp-galaxy:mitre-attack-pattern="Spearphishing Link - T1566.002"', 'misp-galaxy:mitre-attack-pattern="T1059"',
      'misp-galaxy:threat-actor="APT Test"', 'misp-galaxy:malpedia="PushRAT"', 'misp-galaxy:mitre-campaign="Operation Test"', 'misp-galaxy:sector="Finance"'
    ])
    // the linked indicators the export wrote (not the one it did not), with uuids of their own, and the reference as a link
    expect(ev.Attribute.map((a: { type: string, value: string }) => [a.type, a.value])).toEqual([...linked.map(i => [toMispAttribute(i).type, i.value]), ['link', 'https://blog.example/pushrat']])
    expect(new Set(ev.Attribute.map((a: { uuid: string }) => a.uuid)).size).toBe(4)
    expect(ev.Attribute.some((a: { uuid: string }) => indicators.Attribute.some((b: { uuid: string }) => b.uuid === a.uuid))).toBe(false)
    expect(ev.EventReport).toMatchObject([{ name: 'PushRAT phishing wave', content: report.body }])

    const rows = [...mispRows(doc)]
    expect(reportOf(rows)).toEqual({
      type: 'analysis',
      title: report.title,
      nonce: report.nonce,
      body: report.body,
      attack: ['T1566.002', 'T1059'],
      actors: ['APT Test'],
      malware: ['PushRAT'],
      campaigns: ['Operation Test'],
      sectors: ['Finance'],
      references: ['https://blog.example/pushrat'],
      published: report.published,
      tlp: 'AMBER',
      values: linked.map(i => ({ type: i.type, value: i.value }))
    })
    // the indicators import once, from the first event, with their own tags (not the report's galaxies)
    const inputs = rows.flatMap(r => 'input' in r ? [r.input] : [])
    expect(inputs.map(i => i.value)).toEqual(inds.map(i => i.value))
    expect(inputs[3].tags).toEqual(inds[3].tags)
    const s = await importRows((async function * () { yield * rows })(), { defaults: {} })
    expect(s).toMatchObject({ imported: inds.length, skipped: 0, context: { 'value of an earlier event': 3, link: 1 }, reports: 1 })
  })

  it('a report whose nonce is not an RFC 4122 UUID gets a stable one MISP takes; a writer without reports writes none (one event)', () => {
    const u = mispEventUuid('0'.repeat(12) + 'f'.repeat(20))
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(mispEventUuid('0'.repeat(12) + 'f'.repeat(20))).toBe(u)
    const r: ExportReport = { id: 'f'.repeat(32), nonce: 'a'.repeat(32), origin: 'ab'.repeat(32), circle: 'c'.repeat(32), tlp: 'GREEN', type: 'incident', title: 't', attack: [], actors: [], malware: [], campaigns: [], sectors: [], references: [], indicators: [], modified: '2026-01-01T00:00:00.000Z' }
    const w = new MispEventWriter('x')
    const head = w.head()
    expect(w.report(r)).toBe('')
    expect(JSON.parse(head + w.tail())).toMatchObject({ Event: { info: 'x', Attribute: [], Tag: [] } })
    // with reports, a report linking nothing is an event of its own (no attributes, no event report)
    const m = new MispEventWriter('x', undefined, { reports: true })
    const doc = JSON.parse(m.head() + m.report(r) + m.tail())
    expect(doc.response.map((e: { Event: { info: string } }) => e.Event.info)).toEqual(['x', 't'])
    expect(doc.response[1].Event).toMatchObject({ Attribute: [], Tag: [{ name: 'tlp:green' }, { name: 'misp:event-type="incident"' }], Orgc: { name: `org ${'ab'.repeat(8)}` } })
    expect(doc.response[1].Event.EventReport).toBeUndefined()
  })

  it.skipIf(!HAVE_MISP)(`../shared/data/misp/existing_event.json: a report with its galaxies, reference, nonce and values${skipped(HAVE_MISP, '../shared/data/misp')}`, () => {
    const rows = [...mispRows(JSON.parse(readFileSync(resolve(MISP_DATA, 'existing_event.json'), 'utf8')))]
    const r = reportOf(rows)
    expect(r).toMatchObject({
      type: 'analysis',
      title: 'OSINT - Sednit update: How Fancy Bear Spent the Year',
      nonce: '5a3c2fcd832842bba95e4f4402de0b81',
      actors: ['Sofacy'],
      references: ['https://www.welivesecurity.com/2017/12/21/sednit-update-fancy-bear-spent-year/'],
      // publish_timestamp "0" (never published): the event's date
      published: '2017-12-21T00:00:00.000Z',
      tlp: 'CLEAR'
    })
    // mitre-malware and tool galaxies (tags and clusters, once each); exploit kits stay tags only
    expect(new Set(r?.malware)).toEqual(new Set(['JHUHUGIT', 'XTunnel', 'ADVSTORESHELL', 'USBStealer', 'XAgentOSX', 'CHOPSTICK', 'Downdelph', 'GAMEFISH', 'X-Tunnel', 'EVILTOSS', 'X-Agent']))
    expect(r?.body).toMatch(/^MISP event by CIRCL of 2017-12-21: threat level low, analysis initial\.\n\nThe Sednit group/)
    // each value once (two attributes of the event repeat one)
    expect(r?.values).toHaveLength(new Set(rows.flatMap(x => 'input' in x ? [`${x.input.type as string} ${x.input.value as string}`] : [])).size)
  })
})
