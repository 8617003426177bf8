/**
 * STIX 2.1 in and out: patterns of supported observables (OR-ed) become indicators, TLP from
 * the markings, reports and their context objects become report rows; exported bundles validate against the official
 * schemas (when ../shared/data has them), and import(export(x)) keeps every modelled field.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { resolve, join } from 'node:path'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { stixRows, streamStixRows } from '../../../src/interop/stix.js'
import { StixBundleWriter, idCandidatesOfStixId, stixIndicatorId, toStixIdentity, toStixIndicator } from '../../../src/interop/stix-export.js'
import { patternValues, tlpMarkingObject, TLP2_MARKINGS } from '../../../src/interop/stix-patterns.js'
import { streamObjects } from '../../../src/interop/stix-stream.js'
import { exportWriter } from '../../../src/interop/export-formats.js'
import type { ExportReport } from '../../../src/interop/report.js'
import { Readable } from 'node:stream'
import fc from 'fast-check'
import { importRows } from '../../../src/operations/import.js'
import { LOCAL_CIRCLE, REPORT_LIMITS, makeIndicatorItem, makeReportItem, markCanonical, parseIndicatorInput, type StoredIndicator } from '../../../src/records/index.js'
import type { Tlp } from '../../../src/tlp/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

const DATA = resolve(import.meta.dirname, '../../../../shared/data/stix')
const HAVE_DATA = existsSync(DATA)
const HAVE_SCHEMAS = existsSync(join(DATA, 'schemas'))
/** appended to a test's name when its data is absent, so the skip shows its reason */
const skipped = (have: boolean, path: string): string => have ? '' : ` (skipped: ${path} is absent)`
if (!HAVE_SCHEMAS) {
  console.warn(HAVE_DATA
    ? `[corpus] ${join(DATA, 'schemas')} not found: the STIX schema validation is skipped (it runs where ../shared/data has it)`
    : `[corpus] ${DATA} not found: the STIX corpus counts and schema validation are skipped (they run where ../shared/data exists)`)
}

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

async function summary (doc: unknown) {
  return await importRows((async function * () { yield * stixRows(doc) })(), { defaults: {} })
}

describe('STIX patterns', () => {
  it('takes comparisons of supported observables, OR-ed within or across observations', () => {
    expect(patternValues("[ipv4-addr:value = '10.0.0.0']")).toEqual([{ type: 'ipv4', value: '10.0.0.0' }])
    expect(patternValues("[ ipv4-addr:value = '198.51.100.0/24' OR domain-name:value = 'evil.example' ]")).toEqual([{ type: 'cidr', value: '198.51.100.0/24' }, { type: 'domain', value: 'evil.example' }])
    expect(patternValues("[file:hashes.'SHA-256' = 'ab'] OR [file:hashes.MD5 = 'cd'] OR [url:value = 'http://x.example/it\\'s']")).toEqual([
      { type: 'sha256', value: 'ab' }, { type: 'md5', value: 'cd' }, { type: 'url', value: "http://x.example/it's" }])
    expect(patternValues('[autonomous-system:number = 64500]')).toEqual([{ type: 'asn', value: 'AS64500' }])
    expect(patternValues("[ipv6-addr:value = '2001:db8::1']")).toEqual([{ type: 'ipv6', value: '2001:db8::1' }])
  })

  it('reads a pattern of 128 KiB in one pass: long runs of word characters, open quotes, brackets', () => {
    // each of these took seconds when a comparison could start inside a word (quadratic: ~17 s
    // at 128 KiB, so a regression fails this test on its time limit)
    for (const huge of ['a'.repeat(1 << 17), `[domain-name:value = '${'x'.repeat(1 << 17)}`, `a:${'b'.repeat(1 << 17)}`, 'a:b = '.repeat(1 << 14), '['.repeat(1 << 17)]) {
      expect(patternValues(huge)).toBeNull()
    }
    expect(patternValues(`[domain-name:value = '${'x'.repeat(1 << 16)}.example']`)).toEqual([{ type: 'domain', value: `${'x'.repeat(1 << 16)}.example` }])
  })

  it('refuses AND, other operators and unsupported observables', () => {
    for (const p of ["[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.example']", "[email-message:subject MATCHES '^x']",
      "[process:name = 'evil.exe']", "[ipv4-addr:value != '1.2.3.4']", "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'http://a']", '', '[]']) {
      expect(patternValues(p), p).toBeNull()
    }
  })
})

describe('STIX import', () => {
  const bundle = {
    type: 'bundle',
    id: 'bundle--00000000-0000-4000-8000-000000000000',
    objects: [
      { type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--11111111-1111-4111-8111-111111111111', created: '2020-01-01T00:00:00Z', definition_type: 'tlp', definition: { tlp: 'amber' } },
      { type: 'indicator', spec_version: '2.1', id: 'indicator--a', pattern: "[ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '203.0.113.8']", pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z', valid_until: '2030-01-01T00:00:00Z', confidence: 70, labels: ['c2'], kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'command-and-control' }], object_marking_refs: ['marking-definition--11111111-1111-4111-8111-111111111111'], description: 'C2 servers' },
      { type: 'indicator', spec_version: '2.1', id: 'indicator--b', pattern: "[domain-name:value = 'tlp2.example']", pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z', object_marking_refs: [TLP2_MARKINGS.GREEN] },
      { type: 'indicator', spec_version: '2.1', id: 'indicator--c', pattern: "[email-message:subject MATCHES 'x']", pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z' },
      { type: 'indicator', spec_version: '2.1', id: 'indicator--d', pattern: 'alert tcp any any', pattern_type: 'snort', valid_from: '2024-01-01T00:00:00Z' },
      { type: 'malware', spec_version: '2.1', id: 'malware--m', name: 'Poison Ivy', is_family: true },
      { type: 'relationship', spec_version: '2.1', id: 'relationship--r', relationship_type: 'indicates', source_ref: 'indicator--a', target_ref: 'malware--m' },
      { type: 'identity', spec_version: '2.1', id: 'identity--i', name: 'ACME' }
    ]
  }

  it('indicators with TLP (TLP 1.0 definitions in the bundle, TLP 2.0 ids), tags from labels and kill chain; a linked malware goes in a report, not a tag; the rest counted by reason', async () => {
    const rows = [...stixRows(bundle)]
    const inputs = rows.flatMap(r => 'input' in r ? [r.input] : [])
    expect(inputs).toEqual([
      { type: 'ipv4', value: '203.0.113.7', tlp: 'AMBER', confidence: 70, tags: ['c2', 'mitre-attack:command-and-control'], description: 'C2 servers', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' },
      { type: 'ipv4', value: '203.0.113.8', tlp: 'AMBER', confidence: 70, tags: ['c2', 'mitre-attack:command-and-control'], description: 'C2 servers', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' },
      { type: 'domain', value: 'tlp2.example', tlp: 'GREEN', validFrom: '2024-01-01T00:00:00Z' }
    ])
    for (const i of inputs) parseIndicatorInput(i, { tlp: 'CLEAR', confidence: 50 })
    // the malware the relationship links to the indicator: a report made for the bundle, linking its values
    expect(rows.flatMap(r => 'report' in r ? [r] : [])).toEqual([{
      line: 6,
      made: true,
      report: { type: 'analysis', title: 'STIX context: Poison Ivy', nonce: expect.stringMatching(/^[0-9a-f]{32}$/), body: expect.stringMatching(/^Made on import from a STIX bundle/), malware: ['Poison Ivy'], values: [{ type: 'ipv4', value: '203.0.113.7' }, { type: 'ipv4', value: '203.0.113.8' }] }
    }])
    expect(await summary(bundle)).toMatchObject({
      read: 9, imported: 3, skipped: 3, reports: 1,
      context: { 'marking-definition': 1, malware: 1, relationship: 1 },
      reasons: { 'unsupported STIX pattern (only comparisons of ipv4/ipv6/domain/url/email/hashes/AS, OR-ed)': 1, 'unsupported pattern type: snort': 1, 'identity: not an indicator, and not linked to an imported one': 1 }
    })
  })

  it('the TLP ids mean what the standard says even when a bundle redefines them; an unknown marking refuses the indicator', () => {
    const red = TLP2_MARKINGS.RED
    const rows = [...stixRows({ type: 'bundle', objects: [
      { type: 'marking-definition', spec_version: '2.1', id: red, name: 'TLP:CLEAR', definition_type: 'tlp', definition: { tlp: 'clear' } },
      { type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--22222222-2222-4222-8222-222222222222', definition_type: 'statement', definition: { statement: 'Copyright Example' } },
      { type: 'indicator', id: 'indicator--r', pattern: "[ipv4-addr:value = '203.0.113.1']", object_marking_refs: [red] },
      { type: 'indicator', id: 'indicator--s', pattern: "[ipv4-addr:value = '203.0.113.2']", object_marking_refs: ['marking-definition--22222222-2222-4222-8222-222222222222', TLP2_MARKINGS.GREEN] },
      { type: 'indicator', id: 'indicator--u', pattern: "[ipv4-addr:value = '203.0.113.3']", object_marking_refs: ['marking-definition--33333333-3333-4333-8333-333333333333'] }
    ] })]
    expect(rows.flatMap(r => 'input' in r ? [[r.input.value, r.input.tlp]] : [])).toEqual([['203.0.113.1', 'RED'], ['203.0.113.2', 'GREEN']])
    expect(rows.flatMap(r => 'skip' in r ? [r.skip] : [])).toEqual(['marking definition neither TLP 1.0/2.0 nor defined in the bundle (its TLP cannot be told)'])
  })

  it('reads TLP marking definitions however their label is spelled, and never guesses one it cannot read', () => {
    const def = (n: number, extra: Record<string, unknown>): Record<string, unknown> => ({ type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${String(n).repeat(8)}-1111-4111-8111-111111111111`, ...extra })
    const defs = [
      def(1, { definition_type: 'tlp', definition: { tlp: 'TLP:RED' } }),
      def(2, { name: 'TLP: AMBER' }),
      def(3, { definition_type: 'tlp', definition: { tlp: 'amber strict' } }),
      def(4, { definition_type: 'tlp', definition: { tlp: 'purple' } }),
      def(5, { name: 'TLP:EX:CHR' }),
      def(6, { definition_type: 'statement', definition: { statement: 'Copyright' } })
    ]
    const objects = [...defs, ...defs.map((d, k) => ({ type: 'indicator', id: `indicator--${k}`, pattern: `[domain-name:value = 'm${k}.example']`, object_marking_refs: [d.id] }))]
    const out = [...stixRows({ type: 'bundle', objects })].flatMap(r => 'input' in r ? [r.input.tlp ?? 'default'] : 'skip' in r ? ['skip'] : [])
    expect(out).toEqual(['RED', 'AMBER', 'AMBER+STRICT', 'skip', 'skip', 'default'])
  })

  it.skipIf(!HAVE_DATA)(`../shared/data/stix: the expected counts (read from the files)${skipped(HAVE_DATA, '../shared/data/stix')}`, async () => {
    const load = (f: string): unknown => JSON.parse(readFileSync(join(DATA, f), 'utf8'))
    // one indicator of an IPv4 address, no markings
    expect(await summary(load('indicator-for-c2-ip-address.json'))).toMatchObject({ read: 1, imported: 1, skipped: 0 })
    // the indicator, and the campaign it indicates through the relationship: context, kept in a
    // report made for the bundle (not a tag)
    const camp = await summary(load('indicator-to-campaign-relationship.json'))
    expect(camp).toMatchObject({ read: 3, imported: 1, skipped: 0, reports: 1, context: { campaign: 1, relationship: 1 } })
    const campRows = [...stixRows(load('indicator-to-campaign-relationship.json'))]
    expect(campRows.flatMap(r => 'input' in r ? [r.input.tags] : [])).toEqual([undefined])
    const campReport = campRows.flatMap(r => 'report' in r ? [r.report] : [])
    expect(campReport).toHaveLength(1)
    expect(campReport[0].campaigns).toHaveLength(1)
    expect(campReport[0].values).toHaveLength(1)
    // two indicators (IPv4, SHA-256) of a malware (in a report); the identity that created them
    // is context; the course of action and its relationship are not linked to an indicator
    expect(await summary(load('indicators-for-C2-with-COA.json'))).toMatchObject({ read: 8, imported: 2, skipped: 2, reports: 1, context: { malware: 1, relationship: 2, identity: 1 } })
    // infrastructure, malware and observables, no indicator: the two observables (an IPv4
    // address, a domain) import as indicators; the rest is skipped
    expect(await summary(load('infrastructure.json'))).toMatchObject({ read: 10, imported: 2, skipped: 8 })
    // a lone campaign object (not a bundle)
    expect(await summary(load('interop-objectmarking-test.json'))).toMatchObject({ read: 1, imported: 0, skipped: 1 })
    // two email-message MATCHES patterns: not ours; everything around them is skipped too
    const mail = await summary(load('malicious-email-indicator-with-attachment.json'))
    expect(mail).toMatchObject({ read: 6, imported: 0, skipped: 6 })
    expect(mail.reasons['unsupported STIX pattern (only comparisons of ipv4/ipv6/domain/url/email/hashes/AS, OR-ed)']).toBe(2)
  })
})

describe('STIX import of reports (issue 16: reports and context, not tags)', () => {
  const FIXTURE = resolve(import.meta.dirname, '../../fixtures/stix-threat-report.json')
  const threatReport = (): Record<string, any> => JSON.parse(readFileSync(FIXTURE, 'utf8'))

  it('an OASIS-style threat report becomes a report with its techniques, actors, malware, campaign, references and the values of its indicators', async () => {
    const rows = [...stixRows(threatReport())]
    const reports = rows.flatMap(r => 'report' in r ? [r] : [])
    expect(reports).toEqual([{
      line: 2,
      report: {
        type: 'analysis',
        // a title is one line
        title: 'APT Example targets banks with spearphishing',
        nonce: '84e4d88f44ea4bcdbbf3b2c1c320bcb3',
        body: 'The group sends links to invoices.\nSee the indicators below.',
        published: '2024-03-02T09:00:00.000Z',
        references: ['https://blog.example/apt-example', 'internal: CASE-42'],
        tlp: 'AMBER',
        // T1566.002 referenced; T1071.001 through "threat-actor uses"; TA0001 is a tactic, not a technique
        attack: ['T1071.001', 'T1566.002'],
        // the intrusion set through "attributed-to" the referenced threat actor
        actors: ['APT Example', 'Example Set'],
        // through "indicator indicates malware"
        malware: ['X-Agent'],
        campaigns: ['Operation Invoice'],
        // several values of one indicator; the observable's value once
        values: [{ type: 'domain', value: 'invoice-portal.example' }, { type: 'ipv4', value: '198.51.100.23' }, { type: 'url', value: 'http://invoice-portal.example/pay' }]
      }
    }])
    // no tag from any of them, and no report made for the bundle (the report covers them all)
    expect(rows.flatMap(r => 'input' in r ? [r.input.tags] : [])).toEqual([undefined, undefined, undefined])
    expect(await summary(threatReport())).toMatchObject({
      imported: 3, skipped: 1, reports: 1,
      reasons: { 'note: not an indicator, and not linked to an imported one': 1 },
      context: { identity: 1, 'threat-actor': 1, 'intrusion-set': 1, 'attack-pattern': 3, malware: 1, campaign: 1, 'domain-name': 1, relationship: 4 }
    })
  })

  it('streamed, the same rows (the report after every object, with the values met on the way)', async () => {
    const text = JSON.stringify(threatReport(), null, 1)
    const streamed: unknown[] = []
    for await (const r of streamStixRows(() => Readable.from([Buffer.from(text)]))) streamed.push(r)
    expect(streamed).toEqual([...stixRows(JSON.parse(text))])
    expect(streamed.filter(r => typeof r === 'object' && r !== null && 'report' in r)).toHaveLength(1)
  })

  it('an incident report; long lists are cut to the record\'s limits and a long description is cut with a note, never a skipped row', async () => {
    const doc = threatReport()
    const objects = doc.objects as Array<Record<string, any>>
    const report = objects.find(o => o.type === 'report')!
    report.report_types = ['Incident']
    report.description = 'é'.repeat(REPORT_LIMITS.BODY_MAX_BYTES)
    report.external_references = Array.from({ length: 30 }, (_, i) => ({ source_name: 'x', url: `https://ref.example/${i}` }))
    for (let i = 0; i < 120; i++) {
      const id = `malware--00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
      objects.push({ type: 'malware', spec_version: '2.1', id, name: `Family ${String(i).padStart(3, '0')}`, is_family: true })
      report.object_refs.push(id)
    }
    const [row] = [...stixRows(doc)].flatMap(r => 'report' in r ? [r.report] : [])
    expect(row.type).toBe('incident')
    expect(row.malware).toHaveLength(REPORT_LIMITS.NAMES_MAX)
    expect(row.references).toHaveLength(REPORT_LIMITS.REFERENCES_MAX)
    expect(Buffer.byteLength(row.body!)).toBeLessThanOrEqual(REPORT_LIMITS.BODY_MAX_BYTES)
    expect(row.body).toMatch(/^é+\n\n\[cut on import: the STIX description was 65536 bytes; a report body holds 32768\]$/)
    // what the row holds is a report the node takes
    expect(() => makeReportItem(row.nonce!, { ...row, values: undefined })).not.toThrow()
  })

  it('a report whose marking cannot be read is skipped with the reason; one without a name too', () => {
    const doc = threatReport()
    const report = (doc.objects as Array<Record<string, any>>).find(o => o.type === 'report')!
    report.object_marking_refs = ['marking-definition--99999999-9999-4999-8999-999999999999']
    expect([...stixRows(doc)].filter(r => r.line === 2)).toEqual([{ line: 2, skip: expect.stringMatching(/^report: marking definition neither TLP/) }])
    delete report.object_marking_refs
    delete report.name
    expect([...stixRows(doc)].filter(r => r.line === 2)).toEqual([{ line: 2, skip: 'report without a name (a report needs a title)' }])
  })
})

describe('STIX import of observables only (issue 16: SCOs without indicators)', () => {
  const sco = (o: Record<string, unknown>): Record<string, unknown> => ({ spec_version: '2.1', ...o })
  const observables = [
    sco({ type: 'ipv4-addr', id: 'ipv4-addr--1', value: '198.51.100.9', object_marking_refs: [TLP2_MARKINGS.GREEN] }),
    sco({ type: 'ipv4-addr', id: 'ipv4-addr--2', value: '198.51.100.0/24' }),
    sco({ type: 'ipv6-addr', id: 'ipv6-addr--1', value: '2001:db8::1' }),
    sco({ type: 'domain-name', id: 'domain-name--1', value: 'observed.example', object_marking_refs: [TLP2_MARKINGS.AMBER] }),
    sco({ type: 'url', id: 'url--1', value: 'http://observed.example/x' }),
    sco({ type: 'email-addr', id: 'email-addr--1', value: 'bad@observed.example' }),
    sco({ type: 'autonomous-system', id: 'autonomous-system--1', number: 64500 }),
    sco({ type: 'file', id: 'file--1', hashes: { MD5: 'd41d8cd98f00b204e9800998ecf8427e', 'SHA-256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'x-other': 'zz' } }),
    sco({ type: 'domain-name', id: 'domain-name--2', value: 'unknown-marking.example', object_marking_refs: ['marking-definition--99999999-9999-4999-8999-999999999999'] })
  ]

  it('each observable\'s values become indicator rows, with the TLP of its markings; an unreadable marking is skipped', () => {
    const rows = [...stixRows({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000002', objects: observables })]
    const inputs = rows.flatMap(r => 'input' in r ? [r.input] : [])
    expect(inputs).toEqual([
      { type: 'ipv4', value: '198.51.100.9', tlp: 'GREEN' },
      { type: 'cidr', value: '198.51.100.0/24' },
      { type: 'ipv6', value: '2001:db8::1' },
      { type: 'domain', value: 'observed.example', tlp: 'AMBER' },
      { type: 'url', value: 'http://observed.example/x' },
      { type: 'email', value: 'bad@observed.example' },
      { type: 'asn', value: 'AS64500' },
      { type: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e' },
      { type: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }
    ])
    expect(rows.filter(r => 'skip' in r)).toEqual([{ line: 9, skip: expect.stringMatching(/^marking definition neither TLP/) }])
  })

  it('a bundle that holds an indicator imports its indicators only (observables there are data, not indicators)', () => {
    const withIndicator = [...observables.slice(0, 2), { type: 'indicator', spec_version: '2.1', id: 'indicator--x', pattern: "[domain-name:value = 'ind.example']", pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z' }]
    const inputs = [...stixRows({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000003', objects: withIndicator })].flatMap(r => 'input' in r ? [r.input.value] : [])
    expect(inputs).toEqual(['ind.example'])
  })

  it('streamed, the same rows', async () => {
    const text = JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000004', objects: observables })
    const rows = []
    for await (const r of streamStixRows(() => Readable.from([Buffer.from(text)]))) rows.push(r)
    expect(rows).toEqual([...stixRows(JSON.parse(text))])
  })
})

describe('STIX export', () => {
  async function stored (): Promise<StoredIndicator[]> {
    h = await openStore({ ingest: { sync: false } })
    const items = [
      { input: { type: 'ipv4', value: '198.51.100.7', tlp: 'AMBER', confidence: 80, tags: ['c2', 'apt-x'], description: 'a C2 server', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' } },
      { input: { type: 'url', value: "http://evil.example/it's?a=b\\c", tlp: 'RED', confidence: 20 } },
      { input: { type: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', tlp: 'GREEN' } },
      { input: { type: 'cidr', value: '2001:db8::/32', tlp: 'CLEAR' } },
      { input: { type: 'asn', value: 'AS64500', tlp: 'AMBER+STRICT' } }
    ]
    const out: StoredIndicator[] = []
    for (const { input } of items) {
      const p = parseIndicatorInput(input, { tlp: 'AMBER', confidence: 50 })
      const r = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: p.tlp, items: [p.item] }])
      out.push(h.store.getIndicator(r.ids[0]!)!)
    }
    return out
  }

  it('import(export(x)) keeps type, value, TLP, confidence, tags, description and validity; ids are stable', async () => {
    const inds = await stored()
    const objects = [...(Object.keys(TLP2_MARKINGS) as Tlp[]).map(tlpMarkingObject), ...inds.map(i => toStixIndicator(i)!)]
    expect(toStixIndicator(inds[0])!.id).toBe(toStixIndicator({ ...inds[0], version: 2, created: '2030-01-01T00:00:00.000Z' })!.id)
    const back = [...stixRows({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000001', objects })].flatMap(r => 'input' in r ? [r.input] : [])
    expect(back).toHaveLength(inds.length)
    back.forEach((input, k) => {
      const p = parseIndicatorInput(input, { tlp: 'CLEAR', confidence: 0 })
      const i = inds[k]
      expect([p.item.type, p.item.value, p.tlp, p.item.confidence, p.item.tags, p.item.description, p.item.validUntil]).toEqual([i.type, i.value, i.tlp, i.confidence, i.tags, i.description, i.validUntil])
      expect(p.item.validFrom).toBe(i.validFrom ?? i.created)
    })
    // a stored indicator without markCanonical helpers still round-trips its kind
    expect(markCanonical(makeIndicatorItem({ type: 'domain', value: 'x.example', confidence: 1, tags: [] })).kind).toBe('indicator')
  })

  it.skipIf(!HAVE_SCHEMAS)(`a bundle of every type and TLP validates against the official STIX 2.1 schemas${skipped(HAVE_SCHEMAS, '../shared/data/stix/schemas')}`, async () => {
    const inds = await stored()
    const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false })
    addFormats(ajv)
    for (const dir of ['common', 'sdos', 'sros', 'observables']) {
      for (const f of readdirSync(join(DATA, 'schemas', dir))) ajv.addSchema(JSON.parse(readFileSync(join(DATA, 'schemas', dir, f), 'utf8')))
    }
    const base = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas'
    // as the writer streams it: the origin's identity (created_by_ref), indicators, and a sighting by another org
    const w = new StixBundleWriter('bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8', k => (k === inds[0].origin ? 'Bank A' : undefined))
    const sighting = { publicKey: 'cd'.repeat(32), org: 'Hospital C', action: 'blocked', count: 12, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z', note: 'at the proxy' }
    const bundle = JSON.parse(w.head() + inds.map((i, k) => w.indicator(i, k === 0 ? [sighting] : [])).join('') + w.tail())
    const objects = bundle.objects as Array<Record<string, unknown>>
    expect(objects.map(o => o.type).filter(t => t !== 'marking-definition')).toEqual(['identity', 'indicator', 'identity', 'sighting', 'indicator', 'indicator', 'indicator', 'indicator'])
    expect(objects.find(o => o.type === 'identity')).toMatchObject({ name: 'Bank A', identity_class: 'organization' })
    expect(toStixIdentity(sighting.publicKey, null).name).toBe(`org ${'cd'.repeat(8)}`)
    const check = (id: string, doc: unknown): void => {
      const validate = ajv.getSchema(id)!
      expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    }
    check(`${base}/common/bundle.json`, bundle)
    const schemaOf: Record<string, string> = { indicator: 'sdos/indicator', identity: 'sdos/identity', sighting: 'sros/sighting' }
    for (const o of objects) check(`${base}/${schemaOf[o.type as string] ?? 'common/marking-definition'}.json`, o)
    // and the schemas do bite: an indicator without its pattern, or with a bad id, fails
    const first = objects.find(o => o.type === 'indicator')!
    const { pattern: _p, ...noPattern } = first
    expect(ajv.getSchema(`${base}/sdos/indicator.json`)!(noPattern)).toBe(false)
    expect(ajv.getSchema(`${base}/sdos/indicator.json`)!({ ...first, id: 'indicator--nope' })).toBe(false)
  })
})

describe('STIX export of reports (issue 16)', () => {
  async function stored (): Promise<StoredIndicator[]> {
    h = await openStore({ ingest: { sync: false } })
    const out: StoredIndicator[] = []
    for (const input of [
      { type: 'ipv4', value: '198.51.100.7', tlp: 'AMBER' },
      { type: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', tlp: 'GREEN' },
      { type: 'cve', value: 'CVE-2024-3400', tlp: 'GREEN' }
    ]) {
      const p = parseIndicatorInput(input, { tlp: 'AMBER', confidence: 50 })
      const r = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: p.tlp, items: [p.item] }])
      out.push(h.store.getIndicator(r.ids[0]!)!)
    }
    return out
  }

  /** an incident linking the indicators (and one the bundle does not hold), and an analysis linking none, naming the same actor */
  function reports (inds: StoredIndicator[]): ExportReport[] {
    const incident: ExportReport = {
      id: 'aa'.repeat(16),
      nonce: '84e4d88f44ea4bcdbbf3b2c1c320bcb3',
      origin: inds[0].origin,
      org: 'Bank A',
      circle: LOCAL_CIRCLE,
      tlp: 'AMBER',
      type: 'incident',
      title: 'Invoice phishing at Bank A',
      body: '## What happened\n\nLinks to *invoices*.',
      attack: [{ id: 'T1071.001' }, { id: 'T1566.002', name: 'Spearphishing Link' }],
      actors: ['APT Example'],
      malware: ['X-Agent'],
      campaigns: ['Operation Invoice'],
      sectors: ['financial-services'],
      references: ['https://blog.example/apt-example', 'internal: CASE-42'],
      indicators: [inds[0].id, inds[1].id, inds[2].id, 'ff'.repeat(16)],
      published: '2026-01-05T10:00:00.000Z',
      modified: '2026-01-06T10:00:00.000Z'
    }
    const analysis: ExportReport = {
      ...incident, id: 'bb'.repeat(16), nonce: '0'.repeat(32), type: 'analysis', title: 'APT Example, an overview', attack: [], malware: [], campaigns: [], sectors: [],
      references: ['cve: not a CVE id', 'a citation without a source'], indicators: []
    }
    delete analysis.body
    delete analysis.published
    return [incident, analysis]
  }

  function exported (inds: StoredIndicator[]): Record<string, any> {
    const w = exportWriter('stix', { orgName: k => (k === inds[0].origin ? 'Bank A' : undefined) })
    return JSON.parse(w.head() + inds.map(i => w.indicator(i)).join('') + reports(inds).map(r => w.report!(r)).join('') + w.tail())
  }

  it('a report with its attack patterns, threat actor, malware, campaign and relationships, each once per bundle, referring to the indicators the bundle holds', async () => {
    const inds = await stored()
    const objects = exported(inds).objects as Array<Record<string, any>>
    const count = (type: string): number => objects.filter(o => o.type === type).length
    expect([count('report'), count('attack-pattern'), count('threat-actor'), count('malware'), count('campaign'), count('identity')]).toEqual([2, 2, 1, 1, 1, 1])
    expect(new Set(objects.map(o => o.id)).size).toBe(objects.length)
    const [incident, analysis] = objects.filter(o => o.type === 'report')
    expect(incident).toMatchObject({
      id: 'report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3', name: 'Invoice phishing at Bank A', report_types: ['threat-report', 'incident'], published: '2026-01-05T10:00:00.000Z', modified: '2026-01-06T10:00:00.000Z',
      object_marking_refs: [TLP2_MARKINGS.AMBER], created_by_ref: objects.find(o => o.type === 'identity')!.id, x_phalanx_sectors: ['financial-services'],
      external_references: [{ source_name: 'blog.example', url: 'https://blog.example/apt-example' }, { source_name: 'internal', description: 'CASE-42' }]
    })
    // the two STIX indicators written (a CVE has no STIX pattern; an indicator the bundle lacks is left out)
    expect(incident.object_refs.filter((r: string) => r.startsWith('indicator--'))).toEqual([stixIndicatorId(inds[0].id), stixIndicatorId(inds[1].id)])
    expect(objects.find(o => o.type === 'attack-pattern' && o.name === 'Spearphishing Link')).toMatchObject({
      external_references: [{ source_name: 'mitre-attack', external_id: 'T1566.002', url: 'https://attack.mitre.org/techniques/T1566/002/' }]
    })
    // a technique without a known name is named by its id
    expect(objects.find(o => o.type === 'attack-pattern' && o.name === 'T1071.001')).toBeDefined()
    const rels = objects.filter(o => o.type === 'relationship').map(o => [objects.find(x => x.id === o.source_ref)!.type, o.relationship_type, objects.find(x => x.id === o.target_ref)!.type])
    expect(rels.filter(r => r[1] === 'indicates')).toHaveLength(2 * 3)
    expect(rels.filter(r => r[1] === 'uses')).toEqual([
      ['threat-actor', 'uses', 'attack-pattern'], ['threat-actor', 'uses', 'attack-pattern'], ['threat-actor', 'uses', 'malware'],
      ['campaign', 'uses', 'attack-pattern'], ['campaign', 'uses', 'attack-pattern'], ['campaign', 'uses', 'malware']
    ])
    // the analysis names the same actor (not written again) and, linking nothing, refers to it
    expect(analysis.object_refs).toEqual([objects.find(o => o.type === 'threat-actor')!.id])
    expect(analysis.id).toMatch(/^report--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(analysis.published).toBe(analysis.modified)
  })

  it('round trip: the report read back from the export has the same title, body, techniques, actors, malware, campaigns, values, nonce', async () => {
    const inds = await stored()
    const [incident] = reports(inds)
    const rows = [...stixRows(exported(inds))]
    const back = rows.flatMap(r => 'report' in r ? [r.report] : [])
    expect(back).toHaveLength(2)
    expect(back[0]).toEqual({
      type: 'incident',
      title: incident.title,
      body: incident.body,
      nonce: incident.nonce,
      published: incident.published,
      tlp: 'AMBER',
      attack: incident.attack.map(t => t.id),
      actors: incident.actors,
      malware: incident.malware,
      campaigns: incident.campaigns,
      sectors: incident.sectors,
      references: incident.references,
      values: [{ type: inds[0].type, value: inds[0].value }, { type: inds[1].type, value: inds[1].value }]
    })
    // nothing of it becomes a tag, and no report is made for the bundle
    expect(rows.flatMap(r => 'input' in r ? r.input.tags ?? [] : [])).toEqual([])
    expect(rows.some(r => 'made' in r)).toBe(false)
    expect(rows.filter(r => 'skip' in r)).toEqual([])
  })

  it.skipIf(!HAVE_SCHEMAS)(`an export with reports validates against the official STIX 2.1 schemas${skipped(HAVE_SCHEMAS, '../shared/data/stix/schemas')}`, async () => {
    const inds = await stored()
    const bundle = exported(inds)
    const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false })
    addFormats(ajv)
    for (const dir of ['common', 'sdos', 'sros', 'observables']) {
      for (const f of readdirSync(join(DATA, 'schemas', dir))) ajv.addSchema(JSON.parse(readFileSync(join(DATA, 'schemas', dir, f), 'utf8')))
    }
    const base = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas'
    const check = (id: string, doc: unknown): void => {
      const validate = ajv.getSchema(id)!
      expect(validate(doc), `${id}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true)
    }
    check(`${base}/common/bundle.json`, bundle)
    const objects = bundle.objects as Array<Record<string, unknown>>
    const sdos = ['indicator', 'identity', 'report', 'attack-pattern', 'threat-actor', 'malware', 'campaign']
    for (const o of objects) {
      const type = o.type as string
      check(`${base}/${sdos.includes(type) ? `sdos/${type}` : type === 'relationship' ? 'sros/relationship' : 'common/marking-definition'}.json`, o)
    }
    expect(new Set(objects.map(o => o.type))).toEqual(new Set(['marking-definition', ...sdos, 'relationship']))
    // and the schemas do bite: a report without object_refs, or a malware without is_family, fails
    const report = objects.find(o => o.type === 'report')!
    const { object_refs: _r, ...noRefs } = report
    expect(ajv.getSchema(`${base}/sdos/report.json`)!(noRefs)).toBe(false)
    const { is_family: _f, ...noFamily } = objects.find(o => o.type === 'malware')!
    expect(ajv.getSchema(`${base}/sdos/malware.json`)!(noFamily)).toBe(false)
  })
})

describe('STIX ids of our indicators', () => {
  it('are valid version-5 UUIDs that lead back to the indicator id (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[0-9a-f]{32}$/), (id) => {
      const sid = stixIndicatorId(id)
      expect(sid).toMatch(/^indicator--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const candidates = idCandidatesOfStixId(sid)!
      // 6 bits are overwritten: 64 ids, all distinct, all with this STIX id, ours among them
      expect(candidates).toHaveLength(64)
      expect(new Set(candidates).size).toBe(64)
      expect(candidates).toContain(id)
      for (const c of candidates) expect(stixIndicatorId(c)).toBe(sid)
    }))
  })

  it('refuse what is not in our form', () => {
    for (const sid of ['indicator--a', 'malware--0123abcd-0123-5123-8123-0123456789ab', 'indicator--0123abcd-0123-4123-8123-0123456789ab', 'indicator--0123ABCD-0123-5123-8123-0123456789ab']) {
      expect(idCandidatesOfStixId(sid), sid).toBeNull()
    }
  })
})

describe('streaming a large bundle', () => {
  const chunked = (text: string, sizes: number[]): Readable => {
    const buf = Buffer.from(text)
    const out: Buffer[] = []
    let at = 0
    for (let k = 0; at < buf.length; k++) {
      const n = Math.max(1, sizes[k % sizes.length])
      out.push(buf.subarray(at, at + n))
      at += n
    }
    return Readable.from(out)
  }

  it('yields every object of the objects array, whatever the chunking and the strings inside (property)', async () => {
    const str = fc.string({ unit: fc.constantFrom('a', '{', '}', '[', ']', '"', '\\', ':', ',', 'é', '😀', ' ', '\n'), maxLength: 20 })
    const obj = fc.record({ type: fc.constantFrom('indicator', 'malware'), id: str, name: str, nested: fc.array(fc.record({ k: str, n: fc.integer() }), { maxLength: 3 }) })
    await fc.assert(fc.asyncProperty(fc.array(obj, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), fc.boolean(), async (objects, sizes, pretty) => {
      const doc = { type: 'bundle', id: 'bundle--x', spec_version: '2.1', objects, after: { objects: [{ not: 'these' }] } }
      const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc)
      const got: unknown[] = []
      for await (const o of streamObjects(chunked(text, sizes))) got.push(o)
      expect(got).toEqual(objects)
      // a top-level array works too
      const arr: unknown[] = []
      for await (const o of streamObjects(chunked(JSON.stringify(objects), sizes))) arr.push(o)
      expect(arr).toEqual(objects)
    }), { numRuns: 150 })
  })

  it('a truncated or broken file is an error before any row is given', async () => {
    const full = JSON.stringify({ type: 'bundle', objects: [{ type: 'indicator', id: 'indicator--a', pattern: "[ipv4-addr:value = '1.2.3.4']" }, { type: 'malware', id: 'm' }] })
    await expect((async () => { for await (const _ of streamObjects(Readable.from([Buffer.from(full.slice(0, -20))]))) { /* */ } })()).rejects.toMatchObject({ code: 'PX_ERR_BAD_JSON', field: 'file' })
    await expect((async () => { for await (const _ of streamObjects(Readable.from([Buffer.from('{"objects": [{"a": tru}]}')]))) { /* */ } })()).rejects.toMatchObject({ code: 'PX_ERR_BAD_JSON' })
    // streamed rows: nothing is yielded when the index pass fails
    const rows: unknown[] = []
    await expect((async () => { for await (const r of streamStixRows(() => Readable.from([Buffer.from(full.slice(0, -5))]))) rows.push(r) })()).rejects.toMatchObject({ code: 'PX_ERR_BAD_JSON' })
    expect(rows).toEqual([])
  })

  it('streamed rows equal the in-memory rows of the same bundle', async () => {
    const objects = [
      { type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--11111111-1111-4111-8111-111111111111', created: '2020-01-01T00:00:00Z', definition_type: 'tlp', definition: { tlp: 'red' } },
      { type: 'relationship', id: 'relationship--r', relationship_type: 'indicates', source_ref: 'indicator--a', target_ref: 'malware--m' },
      { type: 'indicator', id: 'indicator--a', pattern: "[domain-name:value = 'streamed.example'] OR [ipv4-addr:value = '192.0.2.99']", object_marking_refs: ['marking-definition--11111111-1111-4111-8111-111111111111'] },
      { type: 'malware', id: 'malware--m', name: 'Late Name' },
      { type: 'identity', id: 'identity--i', name: 'ACME' }
    ]
    const text = JSON.stringify({ type: 'bundle', id: 'bundle--s', objects })
    const streamed: unknown[] = []
    for await (const r of streamStixRows(() => chunked(text, [7, 13]))) streamed.push(r)
    expect(streamed).toEqual([...stixRows({ type: 'bundle', objects })])
    expect(streamed).toContainEqual({ line: 3, input: { type: 'domain', value: 'streamed.example', tlp: 'RED' } })
    expect(streamed).toContainEqual(expect.objectContaining({ line: 4, made: true, report: expect.objectContaining({ malware: ['Late Name'], values: [{ type: 'domain', value: 'streamed.example' }, { type: 'ipv4', value: '192.0.2.99' }] }) }))
  })
})
