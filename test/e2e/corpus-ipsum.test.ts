/**
 * Real-data corpus: the ipsum blocklist (../shared/data/feeds/ipsum.txt, ~120k IPs) goes
 * through the bulk API of a real node; every IP is then found by lookup and counted once.
 * Runs when ../shared/data exists (CI has it); when not, the tests are reported as skipped,
 * with the reason in their names, and a warning names the missing file.
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { normalizeValue } from '../../src/records/index.js'
import { startTestNode, type TestNode } from '../utils/node.js'

const IPSUM = resolve(import.meta.dirname, '../../../shared/data/feeds/ipsum.txt')
const HAVE_CORPUS = existsSync(IPSUM)
/** appended to the test names when the corpus is absent, so the skip shows its reason */
const SKIPPED = HAVE_CORPUS ? '' : ' (skipped: ../shared/data/feeds/ipsum.txt is absent)'
if (!HAVE_CORPUS) console.warn(`[corpus] ${IPSUM} not found: the ipsum corpus tests are skipped (they run where ../shared/data exists)`)

function readIpsum (): Array<{ ip: string, lists: number }> {
  const out: Array<{ ip: string, lists: number }> = []
  for (const line of readFileSync(IPSUM, 'utf8').split('\n')) {
    const s = line.trim()
    if (s === '' || s.startsWith('#')) continue
    const [ip, lists] = s.split(/\s+/)
    out.push({ ip, lists: Number(lists) })
  }
  return out
}

describe.skipIf(!HAVE_CORPUS)(`ipsum corpus through the bulk API${SKIPPED}`, () => {
  let t: TestNode
  let rows: Array<{ ip: string, lists: number }>
  beforeAll(async () => {
    t = await startTestNode()
    rows = readIpsum()
  })
  afterAll(async () => { await t?.stop() })

  it('every ipsum entry is a valid, already-normalized IPv4 address', () => {
    expect(rows.length).toBeGreaterThan(100_000)
    for (const r of rows) expect(normalizeValue('ipv4', r.ip)).toBe(r.ip)
  })

  it('imports all of it in 10,000-indicator calls and finds every IP afterwards', async () => {
    const unique = new Set(rows.map(r => r.ip))
    for (let i = 0; i < rows.length; i += 10_000) {
      const res = await t.api('/v1/indicators', {
        method: 'POST',
        json: { tlp: 'CLEAR', indicators: rows.slice(i, i + 10_000).map(r => ({ type: 'ipv4', value: r.ip, confidence: Math.min(100, r.lists * 10), tags: ['ipsum'] })) }
      })
      expect(res.status).toBe(201)
    }
    const status = await t.api('/v1/status')
    expect(status.body.counts.indicators).toBe(unique.size)
    // a sample spread over the file, plus the first and last lines
    const sample = [rows[0], rows[rows.length - 1], ...rows.filter((_, i) => i % 997 === 0)]
    for (const r of sample) {
      const res = await t.api(`/v1/lookup?value=${encodeURIComponent(r.ip)}`)
      expect(res.status).toBe(200)
      expect(res.body.found).toBe(true)
      expect(res.body.matches[0].tags).toEqual(['ipsum'])
      expect(res.body.matches[0].tlp).toBe('CLEAR')
    }
  })
})
