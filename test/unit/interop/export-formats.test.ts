/**
 * The export writers: head, one piece per indicator, tail, for each format; what they write
 * is a whole document that the matching import reads back (csv, stix, misp), and a STIX
 * bundle leaves out the types STIX patterns do not cover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { EXPORT_FORMATS, EXPORT_MEDIA_TYPES, TLP2_MARKINGS, csvRows, exportTitle, exportWriter, mispRows, stixRows, type Row } from '../../../src/interop/index.js'
import { LOCAL_CIRCLE, parseIndicatorInput, type StoredIndicator } from '../../../src/records/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

let h: StoreHarness
let inds: StoredIndicator[]
beforeAll(async () => {
  h = await openStore({ ingest: { sync: false } })
  inds = []
  for (const input of [
    { type: 'domain', value: 'w1.example', tlp: 'GREEN', confidence: 77, tags: ['w'] },
    { type: 'ipv4', value: '198.51.100.9', tlp: 'AMBER', confidence: 20 },
    { type: 'cve', value: 'CVE-2021-44228', tlp: 'CLEAR' } // no STIX pattern for it
  ]) {
    const p = parseIndicatorInput(input, { tlp: 'GREEN', confidence: 60 })
    const r = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: p.tlp, items: [p.item] }])
    inds.push(h.store.getIndicator(r.ids[0]!)!)
  }
})
afterAll(async () => { await h.close() })

const write = (format: typeof EXPORT_FORMATS[number], filters?: Array<[string, string]>): string => {
  const w = exportWriter(format, filters !== undefined ? { filters } : {})
  return w.head() + inds.map(i => w.indicator(i)).join('') + w.tail()
}

describe('export writers', () => {
  it('every format has a writer and a media type', () => {
    expect([...EXPORT_FORMATS]).toEqual(['csv', 'text', 'ndjson', 'stix', 'misp'])
    for (const f of EXPORT_FORMATS) expect(EXPORT_MEDIA_TYPES[f], f).toMatch(/^(text|application)\//)
    expect(EXPORT_MEDIA_TYPES.stix).toBe('application/stix+json;version=2.1')
  })

  it('text and ndjson: a line per indicator, nothing around them', () => {
    expect(write('text')).toBe('w1.example\n198.51.100.9\nCVE-2021-44228\n')
    expect(write('ndjson').trimEnd().split('\n').map(l => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(inds)))
  })

  it('csv: the header, then a row per indicator, which reads back', async () => {
    const text = write('csv')
    expect(text.split('\n')[0]).toBe('type,value,tlp,confidence,tags,description,validFrom,validUntil,firstSeen,lastSeen,origin,circle,created,id')
    const rows: Row[] = []
    for await (const r of csvRows(Readable.from([Buffer.from(text)]))) rows.push(r)
    expect(rows.map(r => 'input' in r ? r.input.value : r)).toEqual(['w1.example', '198.51.100.9', 'CVE-2021-44228'])
  })

  it('stix: one bundle, the five TLP 2.0 markings first, an indicator per type STIX covers', () => {
    const text = write('stix')
    const bundle = JSON.parse(text)
    expect(bundle.type).toBe('bundle')
    expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/)
    expect(bundle.objects.slice(0, 5).map((o: any) => o.id)).toEqual(Object.values(TLP2_MARKINGS))
    const indicators = bundle.objects.filter((o: any) => o.type === 'indicator')
    expect(indicators.map((o: any) => o.pattern)).toEqual(["[domain-name:value = 'w1.example']", "[ipv4-addr:value = '198.51.100.9']"])
    // each names its origin's identity, given once, before it
    const identities = bundle.objects.filter((o: any) => o.type === 'identity')
    expect(new Set(indicators.map((o: any) => o.created_by_ref))).toEqual(new Set(identities.map((o: any) => o.id)))
    expect(bundle.objects.findIndex((o: any) => o.type === 'identity')).toBe(5)
    expect(text.endsWith('\n]}\n')).toBe(true)
    // a new writer, a new bundle id
    expect(JSON.parse(write('stix')).id).not.toBe(bundle.id)
    const back = [...stixRows(bundle)].flatMap(r => 'input' in r ? [r.input.value] : [])
    expect(back).toEqual(['w1.example', '198.51.100.9'])
  })

  it('misp: one event titled with the filters, an attribute per indicator, the strictest TLP as its tag', () => {
    expect(exportTitle()).toBe('Phalanx export')
    expect(exportTitle([['tag', 'w'], ['include_revoked', 'true']])).toBe('Phalanx export (tag=w, include_revoked=true)')
    const event = JSON.parse(write('misp', [['tag', 'w']])).Event
    expect(event.info).toBe('Phalanx export (tag=w)')
    expect(event.Tag).toEqual([{ name: 'tlp:amber' }])
    expect(event.Attribute.map((a: any) => a.value)).toEqual(['w1.example', '198.51.100.9', 'CVE-2021-44228'])
    expect(JSON.parse(write('misp')).Event.info).toBe('Phalanx export')
    expect([...mispRows({ Event: event })].flatMap(r => 'input' in r ? [r.input.value] : [])).toEqual(['w1.example', '198.51.100.9', 'CVE-2021-44228'])
  })
})
