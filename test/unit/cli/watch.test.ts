/**
 * The pieces of `phalanx watch` (src/cli/watch.ts): the event-stream parser (any chunking of
 * the same bytes gives the same events) and the one-line form of an indicator, advisory, ack
 * or sighting event (names, colour only when asked, everything a peer chose escaped).
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EventStreamParser, formatIndicatorEvent, formatOtherEvent } from '../../../src/cli/watch.js'
import type { StoredIndicator } from '../../../src/records/index.js'

describe('EventStreamParser', () => {
  const text = 'retry: 2000\n: phalanx stream from 0\n\nid: 01\nevent: indicator\ndata: {"a":1}\n\n: ping\n\nid: 02\r\nevent: indicator\r\ndata: line one\r\ndata: line two\r\n\r\ndata:no space\n\n'
  const expected = [
    { id: '01', event: 'indicator', data: '{"a":1}' },
    { id: '02', event: 'indicator', data: 'line one\nline two' },
    { id: '02', event: 'message', data: 'no space' }
  ]

  it('reads ids, event names, multi-line data, comments and retry', () => {
    const p = new EventStreamParser()
    expect(p.push(text)).toEqual(expected)
    expect(p.retryMs).toBe(2000)
  })

  it('gives the same events however the bytes are cut into chunks', () => {
    fc.assert(fc.property(fc.array(fc.nat(text.length), { maxLength: 12 }), (cuts) => {
      const at = [...new Set(cuts)].sort((a, b) => a - b)
      const p = new EventStreamParser()
      const got = []
      let from = 0
      for (const c of [...at, text.length]) { got.push(...p.push(text.slice(from, c))); from = c }
      expect(got).toEqual(expected)
    }))
  })
})

describe('formatIndicatorEvent', () => {
  const own = 'a'.repeat(64)
  const peer = 'b'.repeat(64)
  const names = { own, orgs: new Map([[peer, 'Bank\u001b[2K B']]), circles: new Map([['c1', 'EU ISAC']]) }
  const base: StoredIndicator = { id: 'f'.repeat(32), origin: peer, circle: 'c1', type: 'domain', value: 'evil.example', tlp: 'AMBER', confidence: 80, tags: ['phishing'], created: '2026-12-04T10:11:12.000Z', received: '2026-12-04T10:11:13.000Z', cursor: '01', entry: { hash: 'h', seq: 1 }, version: 1 }

  it('names the org and the circle; says NEW, UPDATED or REVOKED with the reason', () => {
    expect(formatIndicatorEvent(base, names, false)).toBe(`10:11:13  NEW      TLP:AMBER  domain evil.example  conf 80  [phishing]  from Bank\\x1b[2K B in EU ISAC  id ${'f'.repeat(32)}`)
    expect(formatIndicatorEvent({ ...base, version: 2 }, names, false)).toMatch(/^10:11:13 {2}UPDATED /)
    // a relabel that is the record's last change reads as one (a receiver's version count does not move)
    expect(formatIndicatorEvent({ ...base, tlp: 'GREEN', relabeled: { at: '2026-12-04T10:12:00.000Z', tlp: 'GREEN', entry: 'h2' } }, names, false)).toMatch(/^10:11:13 {2}RELABELED {2}TLP:GREEN /)
    expect(formatIndicatorEvent({ ...base, version: 2, created: '2026-12-04T10:13:00.000Z', relabeled: { at: '2026-12-04T10:12:00.000Z', tlp: 'AMBER', entry: 'h2' } }, names, false)).toMatch(/^10:11:13 {2}UPDATED /)
    expect(formatIndicatorEvent({ ...base, origin: own, circle: 'local', revoked: { at: 'x', entry: 'h', reason: 'fp' } }, names, false)).toMatch(/ REVOKED .* from us private .*\(fp\)$/)
    expect(formatIndicatorEvent({ ...base, circle: 'red:' + own, tlp: 'RED' }, names, false)).toMatch(/from Bank.* RED, direct/)
    expect(formatIndicatorEvent({ ...base, origin: 'c'.repeat(64), circle: 'unknown' }, names, false)).toMatch(/from c{12}… in unknown/)
  })

  it('colours the TLP only when asked', () => {
    expect(formatIndicatorEvent(base, names, true)).toContain('\u001b[33mTLP:AMBER\u001b[0m')
    expect(formatIndicatorEvent({ ...base, tlp: 'RED' }, names, true)).toContain('\u001b[31mTLP:RED\u001b[0m')
    // the only escape sequences are the colour's own
    expect(formatIndicatorEvent({ ...base, value: 'x\u001b]0;pwned\u0007' }, names, true).replace(/\u001b\[(3\d|0)m/g, '')).not.toMatch(/[\u0000-\u001f]/)
  })
})

describe('formatOtherEvent: advisories, acks, sightings of our indicators', () => {
  const own = 'a'.repeat(64)
  const peer = 'b'.repeat(64)
  const names = { own, orgs: new Map([[peer, 'Bank B']]), circles: new Map([['c1', 'EU ISAC']]) }
  // 2026-12-04T10:11:13.000Z in microseconds, as a store cursor
  const id = (Date.UTC(2026, 11, 4, 10, 11, 13) * 1000).toString(16).padStart(14, '0')
  const adv = { id: 'f'.repeat(32), circle: 'c1', publicKey: peer, org: 'Bank B', mine: false, tlp: 'AMBER', title: 'Patch now', severity: 'critical', cves: ['CVE-2026-1234'], acks: [], pending: [] }

  it('an advisory: time stored, TLP, severity, title, CVEs, from whom and where, and how to ack it', () => {
    expect(formatOtherEvent('advisory', id, adv, names, false)).toBe(`10:11:13  ADVISORY  TLP:AMBER  CRITICAL  "Patch now"  CVE-2026-1234  from Bank B in EU ISAC  id ${'f'.repeat(32)}  (phalanx advisory ack ${'f'.repeat(32)})`)
    expect(formatOtherEvent('advisory', id, { ...adv, publicKey: own, org: 'Us', mine: true, severity: undefined, cves: [] }, names, false)).toBe(`10:11:13  ADVISORY  TLP:AMBER  "Patch now"  from us in EU ISAC  id ${'f'.repeat(32)}`)
  })

  it('an ack: who acknowledged which advisory', () => {
    expect(formatOtherEvent('ack', id, { advisory: 'f'.repeat(32), title: 'Patch now', mine: true, circle: 'c1', publicKey: peer, org: null, at: 'x' }, names, false))
      .toBe(`10:11:13  ACK       Bank B acknowledged our advisory "Patch now" in EU ISAC  id ${'f'.repeat(32)}`)
    expect(formatOtherEvent('ack', id, { advisory: 'e'.repeat(32), title: null, mine: false, circle: 'c1', publicKey: 'c'.repeat(64), org: null, at: 'x' }, names, false))
      .toMatch(/ACK {7}c{12}… acknowledged the advisory advisory e{32} in EU ISAC/)
  })

  it('a sighting of our indicator: who, what it did, the value, how often, the note', () => {
    expect(formatOtherEvent('sighting', id, { type: 'domain', value: 'evil.example', circle: 'c1', publicKey: peer, org: 'Bank B', action: 'blocked', count: 12, lastSeen: '2026-12-04T10:00:00.000Z', note: 'at the proxy' }, names, false))
      .toBe('10:11:13  SIGHTED   Bank B blocked our domain evil.example  ×12 (last 2026-12-04T10:00:00.000Z) in EU ISAC  (at the proxy)')
  })

  it('a report: new or updated, its kind, title, techniques, actors and links, from whom, how to read it; a revocation', () => {
    const rep = { id: 'd'.repeat(32), circle: 'c1', publicKey: peer, org: 'Bank B', mine: false, tlp: 'AMBER', type: 'incident', title: 'Phishing wave', techniques: [{ id: 'T1566.002' }], actors: ['TA505'], indicatorCount: 2, update: false }
    expect(formatOtherEvent('report', id, rep, names, false)).toBe(`10:11:13  REPORT    TLP:AMBER  incident "Phishing wave"  T1566.002  actors TA505  2 ind.  from Bank B in EU ISAC  id ${'d'.repeat(32)}  (phalanx report show ${'d'.repeat(32)})`)
    expect(formatOtherEvent('report', id, { ...rep, update: true, techniques: [], actors: [] }, names, false)).toBe(`10:11:13  REPORT    TLP:AMBER  updated incident "Phishing wave"  2 ind.  from Bank B in EU ISAC  id ${'d'.repeat(32)}  (phalanx report show ${'d'.repeat(32)})`)
    expect(formatOtherEvent('report', id, { ...rep, revoked: { at: 'x', reason: 'dup' } }, names, false)).toBe(`10:11:13  REPORT    REVOKED by Bank B in EU ISAC  (dup)  id ${'d'.repeat(32)}`)
  })

  it('escapes what peers chose, colours only the TLP, and leaves unknown events to the caller', () => {
    const line = formatOtherEvent('advisory', id, { ...adv, title: 'x\u001b]0;pwned\u0007\u202e', org: 'Evil\u001b[2J' }, names, true)!
    expect(line.replace(/\u001b\[(3\d|0)m/g, '')).not.toMatch(/[\u0000-\u001f\u202e]/)
    expect(formatOtherEvent('playbook', id, {}, names, false)).toBeUndefined()
  })
})
