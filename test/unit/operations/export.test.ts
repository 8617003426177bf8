/**
 * The export use cases over a real store (LevelDB in a temp dir, its own query function):
 * pages are followed to the end, revoked and expired indicators are out, RED is out unless
 * asked for (or named in the filter), and a blocklist applies its confidence and TLP filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, parseIndicatorInput } from '../../../src/records/index.js'
import { queryIndicators } from '../../../src/store/index.js'
import { Exports, blocklistLines, exportIndicators, type ExportComponents } from '../../../src/operations/export.js'
import { bulkExportLabels } from '../../../src/tlp/index.js'
import type { ExportReport } from '../../../src/interop/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

let h: StoreHarness
let c: ExportComponents
/** query calls made (each reads one page) */
let pages = 0
const MANY = 1200

beforeAll(async () => {
  h = await openStore({ ingest: { sync: false } })
  c = { query: async (f) => { pages++; return await queryIndicators(h.store, f) } }
  const publish = async (inputs: Array<Record<string, unknown>>, tlp: 'GREEN' | 'RED' = 'GREEN'): Promise<void> => {
    const items = inputs.map(i => parseIndicatorInput(i, { tlp, confidence: 60 }).item)
    await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp, items }])
  }
  await publish(Array.from({ length: MANY }, (_, i) => ({ type: 'domain', value: `bulk${i}.ops-export.example`, confidence: i % 2 === 0 ? 90 : 30 })))
  await publish([{ type: 'domain', value: 'red.ops-export.example', confidence: 95 }], 'RED')
  await publish([{ type: 'domain', value: 'expired.ops-export.example', validFrom: '2020-01-01T00:00:00Z', validUntil: '2020-02-01T00:00:00Z' }])
})
afterAll(async () => { await h.close() })

async function text (gen: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const chunk of gen) out += chunk
  return out
}
const lines = (t: string): string[] => t.split('\n').filter(l => l !== '' && !l.startsWith('#'))

describe('exportIndicators', () => {
  it('follows the pages to the end; live indicators only; RED left out unless asked for', async () => {
    pages = 0
    const values = lines(await text(exportIndicators(c, { format: 'text', filter: { limit: 100 } })))
    expect(values).toHaveLength(MANY)
    expect(values).not.toContain('red.ops-export.example')
    expect(values).not.toContain('expired.ops-export.example')
    // 1,000 per page: two pages at least
    expect(pages).toBeGreaterThanOrEqual(2)
    const withRed = lines(await text(exportIndicators(c, { format: 'text', filter: { limit: 100 }, includeRed: true })))
    expect(withRed).toHaveLength(MANY + 1)
    expect(withRed).toContain('red.ops-export.example')
  })

  it('a filter that names RED asks for it; the filters narrow the set', async () => {
    expect(lines(await text(exportIndicators(c, { format: 'text', filter: { limit: 1, tlp: ['RED'] } })))).toEqual(['red.ops-export.example'])
    expect(lines(await text(exportIndicators(c, { format: 'text', filter: { limit: 1, includeExpired: true, value: 'expired.ops-export.example', type: 'domain' } })))).toEqual(['expired.ops-export.example'])
  })

  it('writes the format whole: a MISP event titled with the filters given', async () => {
    const event = JSON.parse(await text(exportIndicators(c, { format: 'misp', filter: { limit: 1, tlp: ['RED'] }, given: [['tlp', 'RED']] }))).Event
    expect(event.info).toBe('Phalanx export (tlp=RED)')
    expect(event.Attribute.map((a: any) => a.value)).toEqual(['red.ops-export.example'])
    expect(event.Tag).toEqual([{ name: 'tlp:red' }])
  })

  it('MISP with reports asked for: a list of events (MISP multi-event JSON), the indicators\' event with this node\'s Orgc first, then each report the labels allow that links a written indicator; not asked for: one event', async () => {
    const ids = (await queryIndicators(h.store, { limit: 2, value: 'bulk0.ops-export.example', type: 'domain' })).indicators.map(i => i.id)
    const base = { origin: 'ab'.repeat(32), circle: LOCAL_CIRCLE, type: 'incident' as const, attack: [{ id: 'T1566.002' }], actors: ['Actor'], malware: [], campaigns: [], sectors: [], references: [], modified: '2026-01-01T00:00:00.000Z' }
    const reports = async (): Promise<ExportReport[]> => [
      { ...base, id: '1'.repeat(32), nonce: '5a3c2fcd832842bba95e4f4402de0b91', tlp: 'GREEN', title: 'links bulk0', indicators: ids },
      { ...base, id: '2'.repeat(32), nonce: '5a3c2fcd832842bba95e4f4402de0b92', tlp: 'RED', title: 'red report', indicators: ids },
      { ...base, id: '3'.repeat(32), nonce: '5a3c2fcd832842bba95e4f4402de0b93', tlp: 'GREEN', title: 'links none', indicators: [] }
    ]
    const withReports: ExportComponents = { ...c, reports, own: () => ({ publicKey: 'cd'.repeat(32), org: 'Bank A' }) }
    // not asked for: one event, as ever, whatever reports the node holds
    const plain = JSON.parse(await text(exportIndicators(withReports, { format: 'misp', filter: { limit: 1, value: 'bulk0.ops-export.example', type: 'domain' } })))
    expect(plain.Event.info).toMatch(/^Phalanx export/)
    expect(plain.response).toBeUndefined()
    const doc = JSON.parse(await text(exportIndicators(withReports, { format: 'misp', includeReports: true, filter: { limit: 1, value: 'bulk0.ops-export.example', type: 'domain' } })))
    expect(doc.response.map((e: any) => e.Event.info)).toEqual(['Phalanx export', 'links bulk0'])
    expect(doc.response[0].Event.Orgc.name).toBe('Bank A')
    expect(doc.response[1].Event.Attribute.map((a: any) => a.value)).toEqual(['bulk0.ops-export.example'])
    // unfiltered: every report the labels allow (the one linking none too), never the RED one
    const all = JSON.parse(await text(exportIndicators(withReports, { format: 'misp', includeReports: true, filter: { limit: 1 } })))
    expect(all.response.map((e: any) => e.Event.info)).toEqual(['Phalanx export', 'links bulk0', 'links none'])
    // asked for, with no report the labels allow: still the list (its shape follows the request, not the data)
    const red = JSON.parse(await text(exportIndicators({ ...c, reports: async () => (await reports()).filter(r => r.tlp === 'RED') }, { format: 'misp', includeReports: true, filter: { limit: 1 } })))
    expect(red.response.map((e: any) => e.Event.info)).toEqual(['Phalanx export'])
  })

  it('bulkExportLabels (tlp/policy): every label but RED, unless RED is asked for', () => {
    expect(bulkExportLabels(false)).toEqual(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'])
    expect(bulkExportLabels(true)).toEqual(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'])
  })
})

describe('blocklistLines', () => {
  it('min confidence, RED only when asked for, each value once', async () => {
    const all = lines(await text(blocklistLines(c, { type: 'domain', format: 'plain' })))
    expect(all).toHaveLength(MANY)
    const confident = lines(await text(blocklistLines(c, { type: 'domain', format: 'plain', minConfidence: 50 })))
    expect(confident).toHaveLength(MANY / 2)
    expect(confident.every(v => Number(/^bulk(\d+)\./.exec(v)![1]) % 2 === 0)).toBe(true)
    const red = lines(await text(blocklistLines(c, { type: 'domain', format: 'plain', minConfidence: 91, includeRed: true })))
    expect(red).toEqual(['red.ops-export.example'])
  })

  it('refuses a type the format cannot carry, before reading the store', () => {
    pages = 0
    expect(() => blocklistLines(c, { type: 'md5', format: 'rpz' })).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'type' }))
    expect(pages).toBe(0)
  })
})

describe('Exports (node.ops.exports)', () => {
  it('streams changes after a cursor a page at a time, and nothing after the last cursor', async () => {
    const ex = new Exports({ ...c, lastCursor: () => h.store.lastCursor() })
    const seen: string[] = []
    let cursor = '0'.repeat(ex.lastCursor().length)
    for (let i = 0; i < 10; i++) {
      const page = await ex.changes({ limit: 1, includeRevoked: true, includeExpired: true }, cursor)
      seen.push(...page.indicators.map(ind => ind.value))
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    expect(seen).toHaveLength(MANY + 2)
    expect(seen[0]).toBe('bulk0.ops-export.example')
    expect((await ex.changes({ limit: 1 }, ex.lastCursor())).indicators).toEqual([])
  })

  it('blocklist and indicators are the use cases above', async () => {
    const ex = new Exports({ ...c, lastCursor: () => h.store.lastCursor() })
    expect(lines(await text(ex.blocklist({ type: 'domain', format: 'plain', minConfidence: 91, includeRed: true })))).toEqual(['red.ops-export.example'])
    expect(lines(await text(ex.indicators({ format: 'text', filter: { limit: 1, tlp: ['RED'] } })))).toEqual(['red.ops-export.example'])
  })
})
