/**
 * Import errors name a line and column (issue 14, part 10): src/interop/json-error.ts finds
 * where a JSON text first goes wrong, for the JSON files read whole (MISP) and for each
 * element of a streamed STIX bundle (stix-stream.ts).
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { jsonErrorAt, jsonErrorIndex, lineColumnOf } from '../../../src/interop/json-error.js'
import { streamObjects } from '../../../src/interop/stix-stream.js'
import { rowsOf } from '../../../src/interop/import-formats.js'
import type { PhalanxError } from '../../../src/errors.js'

function parses (text: string): boolean {
  try { JSON.parse(text); return true } catch { return false }
}

async function refusalOf (run: () => AsyncGenerator<unknown>): Promise<PhalanxError> {
  try {
    for await (const _ of run()) { /* read it all */ }
  } catch (err) { return err as PhalanxError }
  throw new Error('expected a refusal')
}

describe('jsonErrorIndex: where a JSON text first goes wrong', () => {
  it('names the first character that cannot continue the value', () => {
    const cases: Array<[string, number]> = [
      ['[1,]', 3],
      ['{"a": tru}', 9],
      ['{"a": 1\n "b": 2}', 9],
      ['{"a": [1, 2}', 11],
      ['{"a": "x\ny"}', 8], // a raw newline inside a string
      ['{"a": "\\q"}', 8],
      ['{"a": 01}', 7],
      ['{"a": -}', 6],
      ['{a: 1}', 1],
      ['[1] 2', 4],
      ['{"a": [1, 2', 11], // ends inside the value
      ['', 0]
    ]
    for (const [text, at] of cases) expect({ text, at: jsonErrorIndex(text) }).toEqual({ text, at })
  })

  it('accepts exactly what JSON.parse accepts (any JSON, and that JSON with one character cut, doubled or replaced)', () => {
    fc.assert(fc.property(fc.json(), fc.nat(), fc.constantFrom('cut', 'double', 'replace'), fc.constantFrom(',', ']', '}', '"', ':', 'x', '\n', ' ', '0', '\\'), (json, n, how, ch) => {
      const i = json.length === 0 ? 0 : n % json.length
      const text = how === 'cut' ? json.slice(0, i) + json.slice(i + 1) : how === 'double' ? json.slice(0, i) + json[i] + json.slice(i) : json.slice(0, i) + ch + json.slice(i + 1)
      expect(jsonErrorIndex(json)).toBe(-1)
      expect(jsonErrorIndex(text) === -1).toBe(parses(text))
    }), { numRuns: 2000 })
  })

  it('line and column are 1-based', () => {
    expect(lineColumnOf('ab\ncd\nef', 0)).toEqual({ line: 1, column: 1 })
    expect(lineColumnOf('ab\ncd\nef', 4)).toEqual({ line: 2, column: 2 })
    expect(lineColumnOf('ab\ncd\nef', 6)).toEqual({ line: 3, column: 1 })
    expect(jsonErrorAt('{\n  "a": 1\n  "b": 2\n}')).toBe('line 3, column 3')
    expect(jsonErrorAt('{"a": 1', 10, 5)).toBe('line 10, column 12 (the text ends inside a value: truncated?)')
  })
})

describe('import errors name the line', () => {
  it('a MISP event read whole: the line and column of the first error', async () => {
    const text = '{\n  "Event": {\n    "info": "x",\n    "Attribute": [\n      {"type": "domain", "value": "a.example",}\n    ]\n  }\n}\n'
    const err = await refusalOf(() => rowsOf('misp', Readable.from([Buffer.from(text)])))
    expect(err.code).toBe('PX_ERR_BAD_JSON')
    expect(err.message).toMatch(/^the file is not valid JSON at line 5, column 47: /)
  })

  it('a streamed STIX bundle: the line of the bad object, counted across chunks', async () => {
    const good = '{"type": "indicator", "id": "indicator--1"},\n'
    const text = '{\n"type": "bundle",\n"objects": [\n' + good.repeat(50) + '{"type": "indicator",\n "id": x}\n]}\n'
    // chunks of 7 bytes: lines and elements cross chunk boundaries
    const chunks = Array.from({ length: Math.ceil(text.length / 7) }, (_, k) => Buffer.from(text.slice(k * 7, k * 7 + 7)))
    const err = await refusalOf(() => streamObjects(Readable.from(chunks)))
    expect(err.code).toBe('PX_ERR_BAD_JSON')
    expect(err.message).toMatch(/^the file is not valid JSON at line 55, column 8: /)
    const unbalanced = await refusalOf(() => streamObjects(Readable.from([Buffer.from('[\n{"a": 1}\n]]')])))
    expect(unbalanced.message).toBe('the file is not valid JSON at line 3, column 2: unbalanced ]')
    const cut = await refusalOf(() => streamObjects(Readable.from([Buffer.from('{"objects": [\n{"a": 1},\n{"b":')])))
    expect(cut.message).toBe('the file ends inside a JSON value (at line 3): truncated?')
  })
})
