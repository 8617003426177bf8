/**
 * File imports: text and CSV rows streamed, every row validated by the node's own code, bad
 * rows skipped with a reason that groups, a malformed file refused as a whole.
 */
import { describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { csvRows, importRows, mispRows, textRows, type Row } from '../../../src/import/index.js'

const from = (text: string): Readable => Readable.from([Buffer.from(text)])

async function all (rows: AsyncIterable<Row>): Promise<Row[]> {
  const out: Row[] = []
  for await (const r of rows) out.push(r)
  return out
}

describe('text rows', () => {
  it('a value per line; # ; // comments and blanks skipped; the ipsum count kept as a description', async () => {
    const rows = await all(textRows(from('# IPsum\n# comment\n\n1.2.3.4\t7\n  evil[.]example  \n; zone comment\n// c-style\nhxxp://bad.example/x # note\n')))
    expect(rows).toEqual([
      { line: 4, input: { value: '1.2.3.4', description: 'listed by 7 blocklists (ipsum)' } },
      { line: 5, input: { value: 'evil[.]example' } },
      { line: 8, input: { value: 'hxxp://bad.example/x' } }
    ])
  })

  it('skips a line too long to be a value without reading it as one', async () => {
    const rows = await all(textRows(from(`${'a'.repeat(70_000)}\n1.2.3.4\n`)))
    expect(rows).toEqual([{ line: 1, skip: 'line longer than 65536 characters' }, { line: 2, input: { value: '1.2.3.4' } }])
  })
})

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

describe('importRows', () => {
  it('counts read, imported and skipped by reason; applies defaults; sends batches', async () => {
    const sent: number[] = []
    const text = ['1.2.3.4', 'not-an-ip', '5.6.7.8', '999.1.1.1', '10.0.0.1', 'also bad'].join('\n') + '\n'
    const s = await importRows(textRows(from(text)), {
      defaults: { type: 'ipv4', tlp: 'CLEAR', tags: ['scanner'] },
      batchSize: 2,
      send: async (batch) => {
        sent.push(batch.length)
        expect(batch.every(b => b.type === 'ipv4' && b.tlp === 'CLEAR' && (b.tags as string[]).includes('scanner'))).toBe(true)
        return { count: batch.length, entries: 1 }
      }
    })
    expect(s).toMatchObject({ read: 6, imported: 3, skipped: 3, entries: 2, dryRun: false })
    expect(sent).toEqual([2, 1])
    expect(Object.values(s.reasons).reduce((a, b) => a + b, 0)).toBe(3)
    // reasons leave the row's value out, so that they group
    for (const r of Object.keys(s.reasons)) expect(r).not.toMatch(/not-an-ip|999\.1\.1\.1|also bad/)
    expect(Object.keys(s.reasons).length).toBeLessThan(3)
  })

  it('rows the node leaves out (TLP: another org\'s value) are counted as skipped with the node\'s reason', async () => {
    const text = ['a.example', 'shared-by-b.example', 'c.example'].join('\n') + '\n'
    const s = await importRows(textRows(from(text)), {
      defaults: { type: 'domain' },
      send: async (batch) => ({ count: batch.length - 1, entries: 1, skipped: ['TLP: this value reached you as TLP:AMBER from org B'] })
    })
    expect(s).toMatchObject({ read: 3, imported: 2, skipped: 1, reasons: { 'TLP: this value reached you as TLP:AMBER from org B': 1 } })
  })

  it('a dry run validates and counts but sends nothing; a refused batch stops with what was imported', async () => {
    const dry = await importRows(textRows(from('1.2.3.4\nx y z\n')), { defaults: { type: 'ipv4' } })
    expect(dry).toMatchObject({ read: 2, imported: 1, skipped: 1, dryRun: true })
    let calls = 0
    await expect(importRows(textRows(from('1.1.1.1\n2.2.2.2\n3.3.3.3\n')), {
      defaults: {},
      batchSize: 1,
      send: async () => { if (++calls === 2) throw new Error('node down'); return { count: 1, entries: 1 } }
    })).rejects.toThrow(/a batch of 1 was refused \(node down\); 1 indicators before it were imported/)
  })
})

const IPSUM = resolve(import.meta.dirname, '../../../../shared/data/feeds/ipsum.txt')
const HAVE_IPSUM = existsSync(IPSUM)
const FIXTURES = resolve(import.meta.dirname, '../../fixtures')
const MISP_DATA = resolve(import.meta.dirname, '../../../../shared/data/misp')
const HAVE_MISP = existsSync(MISP_DATA)
/** appended to a test's name when its data is absent, so the skip shows its reason */
const skipped = (have: boolean, path: string): string => have ? '' : ` (skipped: ${path} is absent)`
const missing = [...(HAVE_IPSUM ? [] : [IPSUM]), ...(HAVE_MISP ? [] : [MISP_DATA])]
if (missing.length > 0) console.warn(`[corpus] ${missing.join(' and ')} not found: the real-data import checks on them are skipped (they run where ../shared/data exists)`)

describe('the ipsum feed (real data, when ../shared/data exists)', () => {
  it.skipIf(!HAVE_IPSUM)(`every non-comment line of ipsum.txt is a valid ipv4 row (dry run)${skipped(HAVE_IPSUM, '../shared/data/feeds/ipsum.txt')}`, async () => {
    const expected = readFileSync(IPSUM, 'utf8').split('\n').filter(l => l.trim() !== '' && !l.trim().startsWith('#')).length
    const s = await importRows(textRows(createReadStream(IPSUM)), { defaults: { type: 'ipv4', tlp: 'CLEAR' } })
    expect(expected).toBeGreaterThan(100_000)
    expect(s).toMatchObject({ read: expected, imported: expected, skipped: 0, dryRun: true })
  })
})

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

describe('malformed input never crashes and never half-imports', () => {
  it('a 50 MB single line: text skips it with a reason, CSV refuses the file', async () => {
    const huge = 'x'.repeat(50 * 1024 * 1024)
    const text = await importRows(textRows(from(`1.2.3.4\n${huge}\n5.6.7.8\n`)), { defaults: { type: 'ipv4' } })
    expect(text).toMatchObject({ read: 3, imported: 2, skipped: 1, reasons: { 'line longer than 65536 characters': 1 } })
    await expect(importRows(csvRows(from(`value\n1.2.3.4\n${huge}\n`)), { defaults: {} })).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'file' })
  })

  it('wrong types in a row are skips naming the field', async () => {
    const s = await importRows((async function * (): AsyncGenerator<Row> {
      yield { line: 1, input: { value: '1.2.3.4', confidence: 'high' } }
      yield { line: 2, input: { value: '1.2.3.4', tlp: 'PURPLE' } }
      yield { line: 3, input: { value: '1.2.3.4', validUntil: 'someday' } }
    })(), { defaults: {} })
    expect(s).toMatchObject({ read: 3, imported: 0, skipped: 3 })
    expect(Object.keys(s.reasons).map(r => r.split(':')[0]).sort()).toEqual(['confidence', 'tlp', 'validUntil'])
  })
})
