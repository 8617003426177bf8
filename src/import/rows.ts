/**
 * Indicator rows from files, streamed (a file of a million lines is never a million objects):
 * plain text (one value per line, `#` comments, the ipsum "value<TAB>count" form) and CSV
 * (a header names the columns). Each row is an indicator input as POST /v1/indicators takes
 * it, or a skip with its reason; the importer validates and counts them.
 */
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { PhalanxError } from '../errors.js'
import { mispRows } from './misp.js'
import { stixRows } from '../stix/index.js'

export type Row =
  | { line: number, input: Record<string, unknown> }
  | { line: number, skip: string }
  /** the source withdrew this value (a MISP attribute marked deleted, a revoked STIX indicator) */
  | { line: number, revoke: { type: string, value: string } }
  /** an object kept as context of the indicators it is linked to (STIX), of this kind */
  | { line: number, context: string }

export const IMPORT_FORMATS = ['text', 'csv', 'misp', 'stix'] as const
export type ImportFormat = typeof IMPORT_FORMATS[number]

/** a line longer than this is skipped unread (no indicator value is near it) */
const MAX_LINE = 64 * 1024

/** text: a value per line; after it, a tab or spaces and a count (ipsum) or a comment */
export async function * textRows (input: Readable): AsyncGenerator<Row> {
  const rl = createInterface({ input, crlfDelay: Infinity })
  let line = 0
  for await (const raw of rl) {
    line++
    if (raw.length > MAX_LINE) { yield { line, skip: `line longer than ${MAX_LINE} characters` }; continue }
    const s = raw.trim()
    if (s === '' || s.startsWith('#') || s.startsWith(';') || s.startsWith('//')) continue
    const [value, second] = s.split(/\s+/, 2)
    const input: Record<string, unknown> = { value }
    // ipsum: "value<TAB>count", the count of blocklists that list it
    if (second !== undefined && /^\d+$/.test(second)) input.description = `listed by ${second} blocklists (ipsum)`
    yield { line, input }
  }
}

/** CSV column names (case-insensitive; spaces, dashes and underscores ignored) → input fields */
const CSV_COLUMNS: Record<string, string> = {
  value: 'value', indicator: 'value', ioc: 'value',
  type: 'type', indicatortype: 'type',
  tlp: 'tlp',
  confidence: 'confidence',
  tags: 'tags', tag: 'tags', labels: 'tags',
  description: 'description', comment: 'description',
  validfrom: 'validFrom', validuntil: 'validUntil', firstseen: 'firstSeen', lastseen: 'lastSeen'
}

function columnOf (name: string): string | undefined {
  return CSV_COLUMNS[name.toLowerCase().replace(/[\s_-]/g, '')]
}

/** CSV with a header row; `tags` split on `;` or `|` (a comma is the CSV separator) */
export async function * csvRows (input: Readable): AsyncGenerator<Row> {
  const parser = input.pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: MAX_LINE, comment: '#', comment_no_infix: true, info: true }))
  let header: Array<string | undefined> | undefined
  try {
    for await (const { record: cells, info } of parser as AsyncIterable<{ record: string[], info: { lines: number } }>) {
      if (header === undefined) {
        header = cells.map(columnOf)
        if (!header.includes('value')) {
          throw new PhalanxError('PX_ERR_VALIDATION', `the CSV header names no value column (one of: value, indicator, ioc); it has: ${cells.join(', ').slice(0, 300)}`, { field: 'header' })
        }
        continue
      }
      const line = info.lines
      const input: Record<string, unknown> = {}
      header.forEach((field, i) => {
        const cell = cells[i]
        if (field === undefined || cell === undefined || cell === '') return
        if (field === 'tags') input.tags = cell.split(/[;|]/).map(t => t.trim()).filter(t => t !== '')
        else if (field === 'confidence') input.confidence = /^\d+$/.test(cell) ? Number(cell) : cell
        else input[field] = cell
      })
      if (input.value === undefined) { yield { line, skip: 'no value' }; continue }
      yield { line, input }
    }
  } catch (err) {
    if (err instanceof PhalanxError) throw err
    throw new PhalanxError('PX_ERR_VALIDATION', `the CSV is malformed: ${(err as Error).message}`, { field: 'file' })
  }
}

/** a JSON document is read whole (MISP events are): at most this many bytes */
const MAX_JSON_BYTES = 256 * 1024 * 1024

async function * jsonFileRows (input: Readable, rows: (doc: unknown) => Generator<Row>): AsyncGenerator<Row> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of input) {
    size += (c as Buffer).length
    if (size > MAX_JSON_BYTES) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `a JSON file is read whole: at most ${MAX_JSON_BYTES / 1024 / 1024} MiB`, { field: 'file' })
    chunks.push(c as Buffer)
  }
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (err) {
    throw new PhalanxError('PX_ERR_BAD_JSON', `the file is not valid JSON: ${(err as Error).message}`, { field: 'file' })
  }
  yield * rows(doc)
}

export function rowsOf (format: ImportFormat, input: Readable, opts: { confidence?: number } = {}): AsyncGenerator<Row> {
  switch (format) {
    case 'csv': return csvRows(input)
    case 'misp': return jsonFileRows(input, doc => mispRows(doc, opts))
    case 'stix': return jsonFileRows(input, stixRows)
    case 'text': return textRows(input)
  }
}
