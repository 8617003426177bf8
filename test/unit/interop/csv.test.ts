/**
 * CSV rows: header names mapped to fields, tags split, a header without a value column and a
 * malformed file refused, naming them; and the export rows, which read back in.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { csvCell, csvHeader, csvLine, csvRows, CSV_FIELDS, type Row } from '../../../src/interop/index.js'
import { LOCAL_CIRCLE, parseIndicatorInput, type StoredIndicator } from '../../../src/records/index.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

const from = (text: string): Readable => Readable.from([Buffer.from(text)])

async function all (rows: AsyncIterable<Row>): Promise<Row[]> {
  const out: Row[] = []
  for await (const r of rows) out.push(r)
  return out
}

describe('csv rows', () => {
  it('maps header names (any case, spaces or underscores) to fields; tags split on ; or |', async () => {
    const rows = await all(csvRows(from('Indicator,Type,TLP,Confidence,Tags,Valid Until,ignored\n"a.example",domain,GREEN,80,"phishing;c2",2030-01-01T00:00:00Z,x\n1.2.3.4,,,,scanner|tor,,\n,,,,,,\n')))
    expect(rows).toEqual([
      { line: 2, input: { value: 'a.example', type: 'domain', tlp: 'GREEN', confidence: 80, tags: ['phishing', 'c2'], validUntil: '2030-01-01T00:00:00Z' } },
      { line: 3, input: { value: '1.2.3.4', tags: ['scanner', 'tor'] } },
      { line: 4, skip: 'no value' }
    ])
  })

  it('refuses a header without a value column, and a malformed file, naming it', async () => {
    await expect(all(csvRows(from('type,tlp\nipv4,CLEAR\n')))).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'header' })
    await expect(all(csvRows(from('value,tags\n"unclosed,x\n1.2.3.4,y\n')))).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'file' })
  })
})

describe('csv export rows', () => {
  /** indicators stored in a real store (so every field is as a node keeps it) */
  async function stored (inputs: Array<Record<string, unknown>>): Promise<StoredIndicator[]> {
    h = await openStore({ ingest: { sync: false } })
    const out: StoredIndicator[] = []
    for (const input of inputs) {
      const p = parseIndicatorInput(input, { tlp: 'GREEN', confidence: 60 })
      const r = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: p.tlp, items: [p.item] }])
      out.push(h.store.getIndicator(r.ids[0]!)!)
    }
    return out
  }

  it('a cell: lists joined by ;, quoted when it holds a quote, comma, line break or edge spaces', () => {
    expect(csvCell(undefined)).toBe('')
    expect(csvCell(null)).toBe('')
    expect(csvCell(77)).toBe('77')
    expect(csvCell(['c2', 'rt'])).toBe('c2;rt')
    expect(csvCell('first, with a comma')).toBe('"first, with a comma"')
    expect(csvCell('quote " inside')).toBe('"quote "" inside"')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"')
    expect(csvCell(' edge')).toBe('" edge"')
    expect(csvCell('plain')).toBe('plain')
  })

  it('the header names every field in order; a row per indicator that csvRows reads back with every modelled field', async () => {
    expect(csvHeader()).toBe('type,value,tlp,confidence,tags,description,validFrom,validUntil,firstSeen,lastSeen,origin,circle,created,id\n')
    expect(csvHeader()).toBe(CSV_FIELDS.join(',') + '\n')
    const inds = await stored([
      { type: 'domain', value: 'rt1.example', tlp: 'GREEN', confidence: 77, tags: ['rt', 'c2'], description: 'first, with a comma', validUntil: '2031-01-01T00:00:00Z' },
      { type: 'url', value: 'http://rt2.example/a?b=1', tlp: 'AMBER', confidence: 12, tags: ['rt'], description: 'quote " inside\nand a second line', firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-02-01T00:00:00Z' }
    ])
    const line = csvLine(inds[0])
    expect(line).toMatch(/^domain,rt1\.example,GREEN,77,c2;rt,"first, with a comma",,2031-01-01T00:00:00\.000Z,,,[0-9a-f]{64},local,[^,]+,[0-9a-f]{32}\n$/)
    const rows = await all(csvRows(from(csvHeader() + inds.map(csvLine).join(''))))
    expect(rows).toHaveLength(2)
    rows.forEach((r, k) => {
      if (!('input' in r)) throw new Error(`row ${k} is not an input: ${JSON.stringify(r)}`)
      const p = parseIndicatorInput(r.input, { tlp: 'CLEAR', confidence: 0 })
      const i = inds[k]
      expect([p.item.type, p.item.value, p.tlp, p.item.confidence, p.item.tags, p.item.description, p.item.validUntil, p.item.firstSeen, p.item.lastSeen])
        .toEqual([i.type, i.value, i.tlp, i.confidence, i.tags, i.description, i.validUntil, i.firstSeen, i.lastSeen])
    })
  })
})
