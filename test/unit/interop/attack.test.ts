/**
 * The ATT&CK names an operator imports (`import --format attack`): each attack-pattern with a
 * mitre-attack technique id is kept with its name and tactics, a revoked or deprecated one is
 * marked so, everything else in the bundle is ignored, and a file that is not an ATT&CK bundle
 * is refused with the reason.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { attackTechniques } from '../../../src/interop/index.js'

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/attack-mini.json', import.meta.url), 'utf8')) as unknown

describe('attackTechniques', () => {
  it('keeps each technique and sub-technique by id with its name and tactics; tactics, malware and non-ATT&CK patterns are left out', () => {
    expect(attackTechniques(fixture)).toEqual([
      { id: 'T1192', name: 'Old Link Technique', deprecated: true },
      { id: 'T1204.001', name: 'Malicious Link', tactics: ['execution'] },
      { id: 'T1566', name: 'Phishing', tactics: ['initial-access'] },
      { id: 'T1566.002', name: 'Spearphishing Link', tactics: ['initial-access'] }
    ])
  })

  it('a current technique wins over a revoked one of the same id, in either order; names lose control and bidi characters', () => {
    const objs = (name: string, revoked: boolean): unknown => ({ type: 'attack-pattern', name, ...(revoked ? { revoked: true } : {}), external_references: [{ source_name: 'mitre-attack', external_id: 'T1059' }] })
    const mitre = { type: 'x-mitre-collection', name: 'Enterprise ATT&CK' }
    const a = attackTechniques({ type: 'bundle', objects: [mitre, objs('old', true), objs('Command and\u202eScripting', false)] })
    const b = attackTechniques({ type: 'bundle', objects: [mitre, objs('Command and\u202eScripting', false), objs('old', true)] })
    expect(a).toEqual([{ id: 'T1059', name: 'Command and Scripting' }])
    expect(b).toEqual(a)
  })

  it.each([
    [{ objects: [] }, /STIX 2.1 bundle/],
    [[1, 2], /STIX 2.1 bundle/],
    [{ type: 'bundle', objects: [{ type: 'x-mitre-matrix' }, { type: 'indicator' }] }, /no ATT&CK technique/],
    // a report's bundle naming techniques is not MITRE's: its names are not taken
    [{ type: 'bundle', objects: [{ type: 'attack-pattern', name: 'Renamed', external_references: [{ source_name: 'mitre-attack', external_id: 'T1566' }] }] }, /not MITRE's ATT&CK bundle/]
  ])('refuses %j', (doc, message) => {
    expect(() => attackTechniques(doc)).toThrow(message)
  })
})
