/**
 * Plain text, a value per line. In: `#`, `;` and `//` comments, blank lines skipped, the ipsum
 * "value<TAB>count" form (the count becomes the description); streamed, a line at a time.
 * Out: each indicator's value on a line.
 */
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { StoredIndicator } from '../records/index.js'
import type { Row } from './row.js'

/** a line longer than this is skipped unread (no indicator value is near it) */
export const MAX_LINE = 64 * 1024

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

/** one indicator as a line of a text export */
export function textLine (ind: StoredIndicator): string {
  return `${ind.value}\n`
}

/** one indicator as a line of an NDJSON export (the stored indicator as the API returns it) */
export function ndjsonLine (ind: StoredIndicator): string {
  return JSON.stringify(ind) + '\n'
}
