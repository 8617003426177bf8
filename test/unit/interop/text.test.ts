/**
 * Text rows: a value per line streamed, comments and blanks skipped, the ipsum count kept;
 * the real ipsum feed (when ../shared/data has it) is every line a valid ipv4 row. Text and
 * NDJSON export lines.
 */
import { describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { textLine, textRows, ndjsonLine, type Row } from '../../../src/interop/index.js'
import { importRows } from '../../../src/operations/import.js'
import type { StoredIndicator } from '../../../src/records/index.js'

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

const IPSUM = resolve(import.meta.dirname, '../../../../shared/data/feeds/ipsum.txt')
const HAVE_IPSUM = existsSync(IPSUM)
/** appended to a test's name when its data is absent, so the skip shows its reason */
const skipped = (have: boolean, path: string): string => have ? '' : ` (skipped: ${path} is absent)`
if (!HAVE_IPSUM) console.warn(`[corpus] ${IPSUM} not found: the real-data import check on it is skipped (it runs where ../shared/data exists)`)

describe('the ipsum feed (real data, when ../shared/data exists)', () => {
  it.skipIf(!HAVE_IPSUM)(`every non-comment line of ipsum.txt is a valid ipv4 row (dry run)${skipped(HAVE_IPSUM, '../shared/data/feeds/ipsum.txt')}`, async () => {
    const expected = readFileSync(IPSUM, 'utf8').split('\n').filter(l => l.trim() !== '' && !l.trim().startsWith('#')).length
    const s = await importRows(textRows(createReadStream(IPSUM)), { defaults: { type: 'ipv4', tlp: 'CLEAR' } })
    expect(expected).toBeGreaterThan(100_000)
    expect(s).toMatchObject({ read: expected, imported: expected, skipped: 0, dryRun: true })
  })
})

describe('text and NDJSON export lines', () => {
  it('text: the value on a line; NDJSON: the indicator as JSON on a line', () => {
    const ind = { id: 'a'.repeat(32), type: 'domain', value: 'line.example', tlp: 'GREEN', confidence: 50, tags: [], origin: 'b'.repeat(64), circle: 'local', created: '2026-01-01T00:00:00.000Z', received: '2026-01-01T00:00:00.000Z', cursor: '0'.repeat(14), entry: { hash: 'c'.repeat(64), seq: 1 }, version: 1 } as StoredIndicator
    expect(textLine(ind)).toBe('line.example\n')
    expect(ndjsonLine(ind)).toBe(JSON.stringify(ind) + '\n')
    expect(JSON.parse(ndjsonLine(ind))).toEqual(ind)
  })
})
