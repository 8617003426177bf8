/**
 * The import use case: every row validated by the node's own code, bad rows skipped with a
 * reason that groups, good ones sent in batches, a malformed file refused as a whole.
 */
import { describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { csvRows, textRows, type Row } from '../../../src/interop/index.js'
import { clip, importRows } from '../../../src/operations/import.js'

const from = (text: string): Readable => Readable.from([Buffer.from(text)])

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

  it('names the first skipped rows by their line, those the node leaves out too; a long reason is cut at a word, not mid-word', async () => {
    const text = ['# a comment', '1.2.3.4', 'not-an-ip', '', '5.6.7.8', '10.0.0.9'].join('\n') + '\n'
    const s = await importRows(textRows(from(text)), {
      defaults: { type: 'ipv4' },
      send: async (batch) => ({ count: batch.length - 1, entries: 1, skipped: [{ index: 2, reason: 'TLP: held from org B' }] })
    })
    expect(s.skippedLines).toEqual([{ line: 3, reason: expect.stringMatching(/^value: not an IPv4 address/) }, { line: 6, reason: 'TLP: held from org B' }])
    const words = 'the quick brown fox jumps over the lazy dog '.repeat(6).trim()
    expect(clip(words, 60)).toBe('the quick brown fox jumps over the lazy dog the quick brown…')
    expect(clip('short', 60)).toBe('short')
  })

  it('a dry run validates and counts but sends nothing; a refused batch stops with what was imported', async () => {
    const dry = await importRows(textRows(from('1.2.3.4\nx y z\n')), { defaults: { type: 'ipv4' } })
    expect(dry).toMatchObject({ read: 2, imported: 1, skipped: 1, dryRun: true })
    let calls = 0
    await expect(importRows(textRows(from('1.1.1.1\n2.2.2.2\n3.3.3.3\n')), {
      defaults: {},
      batchSize: 1,
      send: async () => { if (++calls === 2) throw new Error('node down'); return { count: 1, entries: 1 } }
    })).rejects.toThrow(/a batch of 1 was refused \(node down\); 1 indicator before it was imported/)
  })

  it('a tag or a description that is not display-safe is dropped with its reason; the row is kept', async () => {
    const sent: Array<Record<string, unknown>> = []
    const csv = [
      'value,tags,description',
      '1.2.3.4,scanner;evil\u202etag;x\u001b[2Ky,a\u001b]0;title\u0007 description',
      '5.6.7.8,ok,line one\tand a tab',
      '9.9.9.9,\u200bonly-bad,',
      '4.4.4.4,,"a CRLF\r\nline end"'
    ].join('\n') + '\n'
    const s = await importRows(csvRows(from(csv)), {
      defaults: { type: 'ipv4' },
      send: async (batch) => { sent.push(...batch); return { count: batch.length, entries: 1 } }
    })
    expect(s).toMatchObject({ read: 4, imported: 4, skipped: 0, reasons: {} })
    expect(s.dropped).toEqual({
      'tags: a tag held U+202E (a bidirectional control)': 1,
      'tags: a tag held U+001B (a control character)': 1,
      'tags: a tag held U+200B (an invisible character)': 1,
      'description: held U+001B (a control character)': 1
    })
    expect(sent.map(r => [r.value, r.tags, r.description])).toEqual([
      ['1.2.3.4', ['scanner'], undefined],
      ['5.6.7.8', ['ok'], 'line one\tand a tab'],
      ['9.9.9.9', undefined, undefined],
      ['4.4.4.4', undefined, 'a CRLF\nline end']
    ])
    // the tags added to every row are the user's own: a bad one stops the import first
    await expect(importRows(csvRows(from('value\n1.2.3.4\n')), { defaults: { tags: ['a\u202eb'] } })).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'tag[0]' })
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
