/**
 * Sighting records with actions (src/records/items.ts), the labels a sighting may take
 * (src/tlp/policy.ts sightingLabelFor, sightingLabelViolation), and what the sightings of a
 * value say (src/operations/sighting-view.ts: stances, the effective-confidence formula).
 */
import { describe, expect, it } from 'vitest'
import { SIGHTING_ACTIONS, makeSightingItem, unknownRecord, validateItem } from '../../../src/records/index.js'
import { sightingLabelFor, sightingLabelViolation, TLP_LEVELS } from '../../../src/tlp/index.js'
import { effectiveConfidence, hasFalsePositive, sightedView, stanceCounts } from '../../../src/operations/sighting-view.js'
import type { OriginSightings, SightingSummary } from '../../../src/store/index.js'

const at = '2026-01-02T00:00:00.000Z'

describe('sighting records with an action', () => {
  it('seen is a version 1 record without an action (every node reads it); any other action is version 2', () => {
    expect(makeSightingItem({ type: 'domain', value: 'a.example', count: 1, firstSeen: at, lastSeen: at, action: 'seen' })).toEqual({ kind: 'sighting', type: 'domain', value: 'a.example', count: 1, firstSeen: at, lastSeen: at })
    for (const action of SIGHTING_ACTIONS.filter(a => a !== 'seen')) {
      const item = makeSightingItem({ type: 'domain', value: 'a.example', count: 2, firstSeen: at, lastSeen: at, action, note: 'n' })
      expect(item).toEqual({ kind: 'sighting', v: 2, type: 'domain', value: 'a.example', count: 2, firstSeen: at, lastSeen: at, action, note: 'n' })
      expect(validateItem(item)).toEqual(item)
      // this code reads it; a node whose sighting version is 1 would keep it unread
      expect(unknownRecord(item)).toBeUndefined()
    }
    expect(unknownRecord({ kind: 'sighting', v: 3 })).toBe('"sighting" record version 3')
  })

  it('an action without version 2, version 2 without an action, seen or an unknown action: refused naming the field', () => {
    const base = { kind: 'sighting', type: 'domain', value: 'a.example', count: 1, firstSeen: at, lastSeen: at }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, action: 'blocked' }, 'v'],
      [{ ...base, v: 2 }, 'action'],
      [{ ...base, v: 2, action: 'seen' }, 'action'],
      [{ ...base, v: 2, action: 'nuked' }, 'action'],
      [{ ...base, v: 1, action: 'blocked' }, 'v']
    ]
    for (const [raw, field] of cases) expect(() => validateItem(raw)).toThrow(expect.objectContaining({ field }))
  })
})

describe('the label of a sighting (TLP policy)', () => {
  it('by default the stricter of AMBER and the strictest record it names there; RED to an origin directly', () => {
    expect(sightingLabelFor('circle', [])).toBe('AMBER')
    expect(sightingLabelFor('circle', ['CLEAR', 'GREEN'])).toBe('AMBER')
    expect(sightingLabelFor('circle', ['GREEN', 'AMBER+STRICT'])).toBe('AMBER+STRICT')
    expect(sightingLabelFor('red', [])).toBe('RED')
  })

  it('never looser than a record there; RED never into a circle; only RED to an origin directly', () => {
    for (const tlp of TLP_LEVELS) {
      expect({ tlp, red: sightingLabelViolation('red', ['RED'], tlp)?.field ?? null }).toEqual({ tlp, red: tlp === 'RED' ? null : 'tlp' })
      expect({ tlp, circle: sightingLabelViolation('circle', ['AMBER'], tlp)?.field ?? null }).toEqual({ tlp, circle: tlp === 'AMBER' || tlp === 'AMBER+STRICT' ? null : 'tlp' })
      expect({ tlp, local: sightingLabelViolation('local', [], tlp) }).toEqual({ tlp, local: null })
    }
  })
})

describe('what the sightings of a value say', () => {
  const org = (action: OriginSightings['action'], count = 1, lastSeen = at): OriginSightings => ({ count, firstSeen: at, lastSeen, ...(action !== undefined ? { action } : {}) })
  const summary = (origins: Record<string, OriginSightings>): SightingSummary => ({ type: 'domain', value: 'a.example', count: Object.values(origins).reduce((n, o) => n + o.count, 0), firstSeen: at, lastSeen: at, origins })

  it('counts organizations per stance (a summary from before actions is seen)', () => {
    expect(stanceCounts(summary({ a: org('blocked'), b: org('blocked'), c: org(undefined), d: org('false-positive') }))).toEqual({ seen: 1, blocked: 2, 'false-positive': 1, investigating: 0, mitigated: 0 })
    expect(stanceCounts(undefined)).toEqual({ seen: 0, blocked: 0, 'false-positive': 0, investigating: 0, mitigated: 0 })
  })

  it('effective = round(C × (1 + c) / (1 + c + 2f))', () => {
    expect(effectiveConfidence(80, undefined)).toBe(80)
    expect(effectiveConfidence(80, summary({ a: org('blocked') }))).toBe(80)
    expect(effectiveConfidence(80, summary({ a: org('false-positive') }))).toBe(27)
    expect(effectiveConfidence(80, summary({ a: org('false-positive'), b: org('blocked'), c: org('seen') }))).toBe(48)
    expect(effectiveConfidence(100, summary({ a: org('false-positive'), b: org('false-positive') }))).toBe(20)
    expect(hasFalsePositive(summary({ a: org('blocked') }))).toBe(false)
    expect(hasFalsePositive(summary({ a: org('blocked'), b: org('false-positive') }))).toBe(true)
  })

  it('per organization, newest first, with names where known', () => {
    const v = sightedView(summary({ ka: org('blocked', 12, '2026-01-03T00:00:00.000Z'), kb: { ...org('false-positive', 1), note: 'our CDN' } }), k => (k === 'ka' ? 'Bank A' : undefined))
    expect(v).toMatchObject({ orgs: 2, count: 13, byAction: { blocked: 1, 'false-positive': 1 } })
    expect(v?.perOrg).toEqual([
      { publicKey: 'ka', org: 'Bank A', action: 'blocked', count: 12, firstSeen: at, lastSeen: '2026-01-03T00:00:00.000Z' },
      { publicKey: 'kb', org: null, action: 'false-positive', count: 1, firstSeen: at, lastSeen: at, note: 'our CDN' }
    ])
    expect(sightedView(undefined, () => undefined)).toBeNull()
  })
})
