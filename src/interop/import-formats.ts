/**
 * The file formats `phalanx import` reads, each streamed into {@link Row}s (a file of a million
 * lines is never a million objects): text, CSV, MISP event JSON and STIX 2.1. A JSON document
 * is read whole (a large STIX bundle has its own streamed reader, `streamStixRows`).
 */
import type { Readable } from 'node:stream'
import { PhalanxError } from '../errors.js'
import { jsonErrorAt } from './json-error.js'
import { csvRows } from './csv.js'
import { mispRows } from './misp.js'
import type { Row } from './row.js'
import { stixRows } from './stix.js'
import { textRows } from './text.js'

import type { ImportFormat } from './formats.js'
export { IMPORT_FORMATS, type ImportFormat } from './formats.js'

/** a JSON document is read whole (MISP events are): at most this many bytes */
const MAX_JSON_BYTES = 256 * 1024 * 1024

/** a JSON document read whole (at most MAX_JSON_BYTES); malformed JSON is refused naming its line and column */
export async function readJsonDocument (input: Readable): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of input) {
    size += (c as Buffer).length
    if (size > MAX_JSON_BYTES) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `a JSON file is read whole: at most ${MAX_JSON_BYTES / 1024 / 1024} MiB`, { field: 'file' })
    chunks.push(c as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new PhalanxError('PX_ERR_BAD_JSON', `the file is not valid JSON at ${jsonErrorAt(text)}: ${(err as Error).message}`, { field: 'file' })
  }
}

async function * jsonFileRows (input: Readable, rows: (doc: unknown) => Generator<Row>): AsyncGenerator<Row> {
  yield * rows(await readJsonDocument(input))
}

/** the rows of a file in one of the {@link IMPORT_FORMATS} */
export function rowsOf (format: ImportFormat, input: Readable, opts: { confidence?: number } = {}): AsyncGenerator<Row> {
  switch (format) {
    case 'csv': return csvRows(input)
    case 'misp': return jsonFileRows(input, doc => mispRows(doc, opts))
    case 'stix': return jsonFileRows(input, stixRows)
    case 'text': return textRows(input)
  }
}
