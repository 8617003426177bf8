/**
 * The objects of a STIX bundle read from a stream, one at a time: a bundle of a million
 * indicators (~400 MB) never sits in memory. A byte scanner finds each element of the
 * top-level `objects` array (or of a top-level array; or the one top-level object) and hands
 * its bytes to JSON.parse. Anything that is not well-formed JSON is an error naming its line and column.
 */
import type { Readable } from 'node:stream'
import { PhalanxError } from '../errors.js'
import { jsonErrorAt } from './json-error.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJ = 0x7b
const CLOSE_OBJ = 0x7d
const OPEN_ARR = 0x5b
const CLOSE_ARR = 0x5d
const COLON = 0x3a
const NEWLINE = 0x0a

/** one element is at most this large (a STIX object of 16 MiB is not an indicator) */
const MAX_ELEMENT = 16 * 1024 * 1024

export async function * streamObjects (input: Readable): AsyncGenerator<Record<string, unknown>> {
  let depth = 0
  let inString = false
  let escape = false
  /** depth at which elements sit (1: a top-level array; 2: the bundle's objects array) */
  let elementDepth = -1
  let topIsObject = false
  let keyStart = -1
  /** the part of a key string that began in an earlier chunk */
  let keyCarry = ''
  let lastKey = ''
  let pendingKey = ''
  let offset = 0
  /** bytes of the element being read (from earlier chunks) */
  let parts: Buffer[] = []
  let partsSize = 0
  let start = -1
  let seenTop = false
  let sawObjects = false
  /** the line being read (1-based) and the offset it starts at; where the element being read starts */
  let line = 1
  let lineStart = 0
  let startLine = 1
  let startColumn = 1
  const here = (at: number): string => `line ${line}, column ${at - lineStart + 1}`

  const parse = (bytes: Buffer): Record<string, unknown> => {
    const text = bytes.toString('utf8')
    try {
      return JSON.parse(text) as Record<string, unknown>
    } catch (err) {
      throw new PhalanxError('PX_ERR_BAD_JSON', `the file is not valid JSON at ${jsonErrorAt(text, startLine, startColumn)}: ${(err as Error).message}`, { field: 'file' })
    }
  }

  for await (const chunk of input) {
    const buf = chunk as Buffer
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]
      if (inString) {
        if (escape) escape = false
        else if (c === BACKSLASH) escape = true
        else if (c === QUOTE) {
          inString = false
          // a short string at depth 1 may be a key of the bundle
          if (depth === 1 && topIsObject && keyStart >= 0 && start < 0) pendingKey = keyCarry + buf.toString('latin1', keyStart, i)
          keyCarry = ''
        }
        continue
      }
      if (c === QUOTE) {
        inString = true
        keyStart = depth === 1 && start < 0 ? i + 1 : -1
        continue
      }
      if (c === NEWLINE) { line++; lineStart = offset + i + 1; continue }
      if (c === COLON && depth === 1) { lastKey = pendingKey; continue }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (!seenTop) {
          seenTop = true
          topIsObject = c === OPEN_OBJ
          if (!topIsObject) elementDepth = 1
        } else if (depth === 1 && topIsObject && c === OPEN_ARR && lastKey === 'objects') {
          elementDepth = 2
          sawObjects = true
        }
        depth++
        if (depth === elementDepth + 1 && start < 0 && c === OPEN_OBJ) {
          start = i
          startLine = line
          startColumn = offset + i - lineStart + 1
        }
        continue
      }
      if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        depth--
        if (depth < 0) throw new PhalanxError('PX_ERR_BAD_JSON', `the file is not valid JSON at ${here(offset + i)}: unbalanced ${String.fromCharCode(c)}`, { field: 'file' })
        if (start >= 0 && depth === elementDepth && c === CLOSE_OBJ) {
          const piece = buf.subarray(start, i + 1)
          const bytes = parts.length === 0 ? piece : Buffer.concat([...parts, piece])
          parts = []
          partsSize = 0
          start = -1
          yield parse(bytes)
        } else if (depth === elementDepth - 1 && c === CLOSE_ARR && elementDepth === 2) {
          elementDepth = -1 // the objects array ended
        }
      }
    }
    if (inString && keyStart >= 0) {
      keyCarry += buf.toString('latin1', keyStart)
      if (keyCarry.length > 64) keyStart = -1 // not a key of interest
      else keyStart = 0
    }
    if (start >= 0) {
      const piece = buf.subarray(start)
      parts.push(Buffer.from(piece))
      partsSize += piece.length
      if (partsSize > MAX_ELEMENT) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `a STIX object larger than ${MAX_ELEMENT / 1024 / 1024} MiB at line ${startLine}`, { field: 'file' })
      start = 0 // the element goes on at the start of the next chunk
    }
    offset += buf.length
  }
  if (inString || depth !== 0) throw new PhalanxError('PX_ERR_BAD_JSON', `the file ends inside a JSON value (at line ${line}): truncated?`, { field: 'file' })
  if (!seenTop) throw new PhalanxError('PX_ERR_BAD_JSON', 'the file holds no JSON value', { field: 'file' })
  if (topIsObject && !sawObjects) {
    throw new PhalanxError('PX_ERR_VALIDATION', 'a large STIX file must be a bundle (an object with an "objects" array) or an array of objects', { field: 'file' })
  }
}
