/**
 * CSV. In: a header row names the columns (case-insensitive; spaces, dashes and underscores
 * ignored; `tags` split on `;` or `|`), streamed a record at a time. Out: a header row of
 * {@link CSV_FIELDS}, then a row per indicator (tags joined by `;`), which reads back in.
 */
import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { PhalanxError } from '../errors.js'
import type { StoredIndicator } from '../records/index.js'
import type { Row } from './row.js'
import { MAX_LINE } from './text.js'

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

/** the columns of a CSV export, in order (every modelled field; the import reads them back) */
export const CSV_FIELDS = ['type', 'value', 'tlp', 'confidence', 'tags', 'description', 'validFrom', 'validUntil', 'firstSeen', 'lastSeen', 'origin', 'circle', 'created', 'id'] as const

/** one CSV cell: lists joined by `;`, quoted when it holds a quote, comma, line break or edge spaces */
export function csvCell (v: unknown): string {
  const s = v === undefined || v === null ? '' : Array.isArray(v) ? v.join(';') : String(v)
  return /[",\n\r]/.test(s) || s.trim() !== s ? `"${s.replace(/"/g, '""')}"` : s
}

/** the header row of a CSV export */
export function csvHeader (): string {
  return CSV_FIELDS.join(',') + '\n'
}

/** one indicator as a row of a CSV export */
export function csvLine (ind: StoredIndicator): string {
  return CSV_FIELDS.map(f => csvCell((ind as unknown as Record<string, unknown>)[f])).join(',') + '\n'
}
