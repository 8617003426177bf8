/** itemSizeBound never under-estimates a record's JSON, so packed entries stay under 64 KiB */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { itemSizeBound, packItems, MAX_ENTRY_BYTES, canonicalJson, type Item } from '../../../src/records/index.js'

const text = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }))

const indicatorArb: fc.Arbitrary<Item> = fc.record({
  kind: fc.constant('indicator' as const),
  type: fc.constantFrom('domain' as const, 'url' as const, 'ipv4' as const),
  value: text,
  confidence: fc.integer({ min: 0, max: 100 }),
  tags: fc.array(text, { maxLength: 10 }),
  description: fc.option(text, { nil: undefined })
}, { requiredKeys: ['kind', 'type', 'value', 'confidence', 'tags'] }) as fc.Arbitrary<Item>

describe('itemSizeBound', () => {
  it('is at least the length of the JSON text, for any strings', () => {
    fc.assert(fc.property(indicatorArb, (item) => {
      const actual = Buffer.byteLength(JSON.stringify(item))
      const bound = itemSizeBound(item)
      expect(bound).toBeGreaterThanOrEqual(actual)
      expect(bound).toBeLessThanOrEqual(actual + 8) // and close: packing stays tight
    }), { numRuns: 2000 })
  })

  it('packs records with escapes and non-ASCII text into entries under the byte limit', () => {
    const items: Item[] = Array.from({ length: 3000 }, (_, i) => ({ kind: 'indicator', type: 'domain', value: `x${i}.example`, confidence: 50, tags: ['"quoted"', 'ünïcödé', 'tab\there'], description: 'line\nbreak \\ and "quotes" ' + 'é'.repeat(i % 50) }))
    const groups = packItems(items)
    expect(groups.flat().length).toBe(3000)
    for (const g of groups) expect(Buffer.byteLength(canonicalJson(g))).toBeLessThanOrEqual(MAX_ENTRY_BYTES - 1024)
  })
})
