/**
 * The TAXII use cases (src/operations/taxii.ts) over a node core (real LevelDB in a temp dir,
 * no network, no HTTP): the collections a caller reads, a collection's objects page by page,
 * a read token's TLP ceiling hiding stricter objects, adding objects (published, then revoked
 * by a later version), and an object TLP keeps out of a circle skipped with its reason; with
 * the report use case, a circle's reports listed with their objects after its indicators, and
 * an added STIX report shared as a report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { PhalanxNode } from '../../../src/node.js'
import { Taxii, type TaxiiCaller } from '../../../src/operations/index.js'
import { LOCAL_CIRCLE } from '../../../src/records/index.js'
import { stixIndicatorId } from '../../../src/interop/index.js'
import { makeTempDir, removeTempDir } from '../../utils/store.js'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

let dir: string
let node: PhalanxNode
let taxii: Taxii
/** a circle this node is in */
let circle: string
/** another circle this node is in, named by no read token below */
let other: string

/** the API token: every collection, no cap */
const API: TaxiiCaller = {}

beforeAll(async () => {
  dir = makeTempDir('phalanx-ops-taxii-')
  node = new PhalanxNode(loadConfig({ env: {}, flags: { dataDir: join(dir, 'node'), org: 'TAXII Ops Org', logLevel: 'silent', store: { sync: false } } }))
  await node.startCore()
  // the operation built from the core's components, as node.ts builds it
  taxii = new Taxii({ store: node.store, indicators: node.ops.indicators, circles: node.circles, identity: node.identity, publish: node.config.publish, log: node.log })
  circle = (await node.ops.circles.create({ name: 'TAXII ops circle' })).id
  other = (await node.ops.circles.create({ name: 'TAXII ops other' })).id
})

afterAll(async () => {
  await node?.stop()
  if (dir !== undefined) removeTempDir(dir)
})

/** the PhalanxError `fn` throws (fails the test when it throws none) */
async function thrown (fn: () => unknown): Promise<PhalanxError> {
  try { await fn() } catch (err) {
    expect(err).toBeInstanceOf(PhalanxError)
    return err as PhalanxError
  }
  throw new Error('expected a PhalanxError, nothing was thrown')
}

/** the id of the collection of `c` (a circle, or LOCAL_CIRCLE) */
const col = (c: string): string => taxii.collections(API).find(x => x.circle === c)!.id

const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'
const RED = 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'
/** a STIX 2.1 indicator object numbered n */
const ind = (n: number, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-02T00:00:00.000Z', pattern, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', ...extra })

describe('Taxii collections', () => {
  it('lists the private scope and every circle this node is in for the API token, only the named ones for a read token', () => {
    expect(taxii.collections(API).map(c => [c.circle, c.title])).toEqual([
      [LOCAL_CIRCLE, 'Private scope'],
      [circle, 'TAXII ops circle'],
      [other, 'TAXII ops other']
    ])
    const reader: TaxiiCaller = { scope: new Set([circle]), maxTlp: 'AMBER' }
    expect(taxii.collections(reader).map(c => c.circle)).toEqual([circle])
    expect(taxii.collection(reader, col(circle)).circle).toBe(circle)
  })

  it('a collection outside the caller\'s scope is "not found", and only the API token may add', async () => {
    const reader: TaxiiCaller = { scope: new Set([circle]), maxTlp: 'AMBER' }
    const e = await thrown(() => taxii.collection(reader, col(other)))
    expect(e.code).toBe('PX_ERR_NOT_FOUND')
    expect(e.field).toBe('id')
    expect((await thrown(() => taxii.collection(API, 'no-such-collection'))).code).toBe('PX_ERR_NOT_FOUND')
    expect(taxii.mayAdd(API)).toBe(true)
    expect(taxii.mayAdd(reader)).toBe(false)
    expect(taxii.addTarget(API, col(circle)).circle).toBe(circle)
    expect((await thrown(() => taxii.addTarget(reader, col(circle)))).code).toBe('PX_ERR_FORBIDDEN')
    expect((await thrown(async () => await taxii.add(reader, col(circle), [ind(90, "[domain-name:value = 'reader.taxii-ops.example']")]))).code).toBe('PX_ERR_FORBIDDEN')
    expect(node.ops.indicators.lookup('reader.taxii-ops.example').found).toBe(false)
  })
})

describe('Taxii objects', () => {
  it('pages a collection with limit and next: every object exactly once, in the order added, with when it was added', async () => {
    const values = Array.from({ length: 5 }, (_, i) => `page${i}.taxii-ops.example`)
    await node.ops.indicators.publishIndicators(values.map(value => ({ type: 'domain', value, tlp: 'GREEN', circle: other })))
    const seen: string[] = []
    const dates: string[] = []
    let next: string | null | undefined
    let pages = 0
    do {
      const p = await taxii.objects(API, col(other), { limit: '2', ...(next !== undefined && next !== null ? { next } : {}) })
      expect(p.items.length).toBeLessThanOrEqual(2)
      for (const i of p.items) { seen.push(i.stix.name as string); dates.push(i.dateAdded) }
      next = p.next
      pages++
    } while (next !== null && pages < 10)
    expect(pages).toBe(3)
    expect(seen).toEqual(values)
    expect(dates).toEqual([...dates].sort())
    expect(dates[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
    // a bad limit or next names the parameter
    expect((await thrown(async () => await taxii.objects(API, col(other), { limit: '0' }))).field).toBe('limit')
    expect((await thrown(async () => await taxii.objects(API, col(other), { next: 'not-a-cursor' }))).field).toBe('next')
  })

  it('a read token\'s TLP ceiling hides stricter objects from its pages and from one-object reads', async () => {
    const labels = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const
    const out = await node.ops.indicators.publishIndicators(labels.map(tlp => ({ type: 'domain', value: `${tlp.toLowerCase().replace('+', '-')}.ceiling.taxii-ops.example`, tlp })))
    const capped: TaxiiCaller = { scope: new Set([LOCAL_CIRCLE]), maxTlp: 'GREEN' }
    const tlpsOf = async (caller: TaxiiCaller): Promise<string[]> =>
      (await taxii.objects(caller, col(LOCAL_CIRCLE), {})).items.map(i => i.stix.name as string).filter(n => n.endsWith('.ceiling.taxii-ops.example'))
    expect(await tlpsOf(capped)).toEqual(['clear.ceiling.taxii-ops.example', 'green.ceiling.taxii-ops.example'])
    expect(await tlpsOf(API)).toHaveLength(4)
    // one object by its STIX id: the AMBER one is "not found" under the cap, found without it
    const amber = stixIndicatorId(out.ids[2])
    expect((await thrown(async () => await taxii.object(capped, col(LOCAL_CIRCLE), amber))).code).toBe('PX_ERR_NOT_FOUND')
    expect((await taxii.object(API, col(LOCAL_CIRCLE), amber)).map(i => i.stix.id)).toEqual([amber])
    expect((await taxii.object(capped, col(LOCAL_CIRCLE), stixIndicatorId(out.ids[1]))).map(i => i.stix.name)).toEqual(['green.ceiling.taxii-ops.example'])
  })
})

describe('Taxii add', () => {
  it('publishes the indicators of an envelope into the collection\'s circle, then revokes one named by a revoked later version', async () => {
    const objects = [
      ind(1, "[domain-name:value = 'added.taxii-ops.example']", { object_marking_refs: [GREEN], labels: ['c2'] }),
      ind(2, "[ipv4-addr:value = '203.0.113.61']", { object_marking_refs: [GREEN] })
    ]
    const status = await taxii.add(API, col(circle), objects)
    expect(status).toMatchObject({ status: 'complete', total_count: 2, success_count: 2, failure_count: 0 })
    const added = node.ops.indicators.lookup('added.taxii-ops.example')
    expect(added.found).toBe(true)
    expect(added.matches).toHaveLength(1)
    expect(added.matches[0]).toMatchObject({ circle, tlp: 'GREEN', tags: ['c2'], origin: node.identity.publicKey })
    expect(added.matches[0].revoked).toBeUndefined()
    expect(node.ops.indicators.lookup('203.0.113.61').matches[0]).toMatchObject({ circle, tlp: 'GREEN' })

    const revoke = await taxii.add(API, col(circle), [{ ...objects[0], modified: '2026-02-01T00:00:00.000Z', revoked: true }])
    expect(revoke).toMatchObject({ success_count: 1, failure_count: 0 })
    const after = node.ops.indicators.lookup('added.taxii-ops.example', undefined, { includeRevoked: true })
    expect(after.matches[0].revoked).toMatchObject({ reason: 'revoked in STIX (TAXII add objects)' })
    // the other value stays live
    expect(node.ops.indicators.lookup('203.0.113.61').matches[0].revoked).toBeUndefined()
  })

  it('skips an object TLP keeps out of the circle (RED) with its reason, and stores the rest of the envelope', async () => {
    const objects = [
      ind(3, "[domain-name:value = 'ok.red-skip.taxii-ops.example']", { object_marking_refs: [GREEN] }),
      ind(4, "[domain-name:value = 'red.red-skip.taxii-ops.example']", { object_marking_refs: [RED] })
    ]
    const status = await taxii.add(API, col(circle), objects)
    expect(status).toMatchObject({ total_count: 2, success_count: 1, failure_count: 1 })
    expect(status.successes.map(s => s.id)).toEqual([objects[0].id])
    expect(status.failures).toHaveLength(1)
    expect(status.failures[0].id).toBe(objects[1].id)
    expect(status.failures[0].message).toBe('tlp: TLP:RED never goes to a circle: add it to the private scope\'s collection')
    expect(node.ops.indicators.lookup('ok.red-skip.taxii-ops.example').found).toBe(true)
    expect(node.ops.indicators.lookup('red.red-skip.taxii-ops.example').found).toBe(false)
  })
})

describe('Taxii reports (issue 16)', () => {
  /** the Taxii of node.ts: with the report use case */
  let withReports: Taxii
  let rc: string
  beforeAll(async () => {
    withReports = new Taxii({ store: node.store, indicators: node.ops.indicators, reports: node.ops.reports, circles: node.circles, identity: node.identity, publish: node.config.publish, log: node.log })
    rc = (await node.ops.circles.create({ name: 'TAXII reports circle' })).id
  })

  it('lists a circle\'s reports after its indicators, each with its objects once, paged with next; a read token\'s ceiling hides a stricter report', async () => {
    const out = await node.ops.indicators.publishIndicators([
      { type: 'domain', value: 'a.reports.taxii-ops.example', tlp: 'GREEN', circle: rc },
      { type: 'ipv4', value: '203.0.113.77', tlp: 'GREEN', circle: rc },
      { type: 'cve', value: 'CVE-2024-3400', tlp: 'GREEN', circle: rc }
    ])
    const created = await node.ops.reports.create({ circle: rc, tlp: 'GREEN', type: 'incident', title: 'Phishing wave', body: 'Links to *invoices*.', attack: ['T1566.002'], actors: ['APT Example'], malware: ['X-Agent'], values: ['a.reports.taxii-ops.example', '203.0.113.77', 'CVE-2024-3400'] })
    const seen: Array<Record<string, unknown>> = []
    let next: string | null | undefined
    let pages = 0
    do {
      const p = await withReports.objects(API, col(rc), { limit: '3', ...(next !== undefined && next !== null ? { next } : {}) })
      expect(p.items.length).toBeLessThanOrEqual(3)
      seen.push(...p.items.map(i => i.stix))
      next = p.next
      pages++
    } while (next !== null && pages < 20)
    const types = seen.map(o => o.type)
    // the two indicators with a STIX pattern, then the report's objects, the report last
    // (relationships: each indicator indicates the malware and the actor; the actor uses the technique and the malware)
    expect(types).toEqual(['indicator', 'indicator', 'identity', 'attack-pattern', 'threat-actor', 'malware', ...Array(6).fill('relationship'), 'report'])
    expect(new Set(seen.map(o => o.id)).size).toBe(seen.length)
    const report = seen[seen.length - 1]
    expect(report).toMatchObject({ name: 'Phishing wave', report_types: ['threat-report', 'incident'], object_marking_refs: [GREEN] })
    expect((report.object_refs as string[]).filter(r => r.startsWith('indicator--')).sort()).toEqual(out.ids.slice(0, 2).map(stixIndicatorId).sort())
    expect(seen.find(o => o.type === 'attack-pattern')).toMatchObject({ external_references: [{ source_name: 'mitre-attack', external_id: 'T1566.002' }] })
    // the report's objects by type and by id
    expect((await withReports.objects(API, col(rc), { 'match[type]': 'report' })).items.map(i => i.stix.name)).toEqual(['Phishing wave'])
    expect((await withReports.object(API, col(rc), report.id as string)).map(i => i.stix.id)).toEqual([report.id])
    // a read token capped at CLEAR reads neither the GREEN indicators nor the report
    const capped: TaxiiCaller = { scope: new Set([rc]), maxTlp: 'CLEAR' }
    expect((await withReports.objects(capped, col(rc), {})).items).toEqual([])
    // without the report use case, the collection lists indicators only (as before)
    expect((await taxii.objects(API, col(rc), {})).items.map(i => i.stix.type)).toEqual(['indicator', 'indicator'])
    expect(created.report.indicators).toHaveLength(3)
  })

  it('adding an OASIS-style threat report shares it with the circle as a report linking the envelope\'s indicators', async () => {
    const bundle = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../fixtures/stix-threat-report.json'), 'utf8'))
    const objects = bundle.objects as Array<Record<string, unknown>>
    const status = await withReports.add(API, col(rc), objects)
    // the note is neither an indicator nor kept: the one failure
    expect(status.failures.map(f => f.id)).toEqual([objects.find(o => o.type === 'note')!.id])
    expect(status.successes.map(s => s.id)).toContain('report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3')
    const { reports } = await node.ops.reports.list({ circle: rc })
    const summary = reports.find(r => r.title === 'APT Example targets banks with spearphishing')!
    expect(summary).toBeDefined()
    const r = node.ops.reports.get(summary.id)
    expect(r).toMatchObject({ circle: rc, tlp: 'AMBER', type: 'analysis', actors: ['APT Example', 'Example Set'], malware: ['X-Agent'], campaigns: ['Operation Invoice'], references: ['https://blog.example/apt-example', 'internal: CASE-42'] })
    expect(r.techniques.map(t => t.id)).toEqual(['T1071.001', 'T1566.002'])
    expect(r.indicators.map(i => i.value).sort()).toEqual(['198.51.100.23', 'http://invoice-portal.example/pay', 'invoice-portal.example'])
    // the indicators carry no tag from the context objects
    expect(node.ops.indicators.lookup('invoice-portal.example').matches[0].tags).toEqual([])
  })
})
