/**
 * The TLP policy (src/tlp/policy.ts) against DESIGN §2, cell by cell: every (label × route ×
 * role) pair is written out here by hand from the design's table and compared with what the
 * policy decides. Then a property test drives random sequences of publish, re-share, relabel
 * and revoke through the policy and checks that no record ever reaches a wider audience or a
 * looser label than the rules allow, and that a revoke reaches every holder.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isPhalanxError } from '../../../src/errors.js'
import {
  ADVISORY_DEFAULT_TLP, REPORT_DEFAULT_TLP, reportLabelFor, reportLabelViolation, DEFAULT_TOKEN_CEILING, MEMBERSHIP_LOG_LABEL, ackLabelFor, advisoryLabelViolation, bulkExportLabels, directDeliveryViolation, TLP_LEVELS, entryLabelFor, entryLabelViolation, goesToRecipients, isLooser, isSealedInTransit,
  looserThanViolation, mayBlocklist, mayBulkExport, mayEnterCircle, mayPassOn, passOnViolation, publishViolation, reachOf, reachWith,
  redDeliveryViolation, refuse, relabelApplies, relabelViolation, reshareViolation, strictest, tokenCeilingViolation, withinCeiling,
  type HeldRecord, type LogKind, type Tlp
} from '../../../src/tlp/index.js'

const [CLEAR, GREEN, AMBER, STRICT, RED] = TLP_LEVELS
const Y = true
const N = false

/** one row per label, in TLP_LEVELS order: CLEAR, GREEN, AMBER, AMBER+STRICT, RED */
type Column = [boolean, boolean, boolean, boolean, boolean]

function cells (table: Record<string, Column>): Array<[string, Tlp, boolean]> {
  return Object.entries(table).flatMap(([route, col]) => TLP_LEVELS.map((t, i) => [route, t, col[i]] as [string, Tlp, boolean]))
}

describe('TLP policy, cell by cell (DESIGN §2)', () => {
  describe('the origin publishes', () => {
    const table: Record<'circle' | 'recipients' | 'local', Column> = {
      //          CLEAR GREEN AMBER STRICT RED
      circle: [Y, Y, Y, Y, N],
      recipients: [N, N, N, N, Y],
      local: [Y, Y, Y, Y, Y]
    }
    it.each(cells(table))('to %s at %s: allowed %s', (route, tlp, allowed) => {
      const v = publishViolation(tlp, route === 'recipients' ? { to: 'recipients', circleNamed: false } : { to: route as 'circle' | 'local' })
      expect(v === null).toBe(allowed)
      if (v !== null) expect(v.field).toBe(route === 'recipients' ? 'to' : 'tlp')
    })
    it('RED to recipients with a circle named too is refused on the circle field', () => {
      expect(publishViolation(RED, { to: 'recipients', circleNamed: true })).toMatchObject({ field: 'circle' })
    })
    it.each(TLP_LEVELS)('%s: a circle or the recipients, never both', (tlp) => {
      expect(mayEnterCircle(tlp)).toBe(!goesToRecipients(tlp))
    })
  })

  describe('the label an entry carries in each kind of log (what a receiver accepts)', () => {
    const table: Record<LogKind, Column> = {
      //              CLEAR GREEN AMBER STRICT RED
      circle: [Y, Y, Y, Y, N],
      membership: [N, N, Y, N, N],
      red: [N, N, N, N, Y],
      local: [Y, Y, Y, Y, Y]
    }
    it.each(cells(table))('a %s log at %s: accepted %s', (kind, tlp, allowed) => {
      const v = entryLabelViolation(kind as LogKind, tlp)
      expect(v === null).toBe(allowed)
      if (v !== null) expect(v.field).toBe('tlp')
    })
    it.each(cells(table))('a revoke or relabel of a %s-log record at %s gets a label the log accepts', (kind, tlp) => {
      if (kind === 'circle' && tlp === RED) return // no RED record lives in a circle log
      expect(entryLabelViolation(kind as LogKind, entryLabelFor(kind as LogKind, tlp))).toBeNull()
    })
    it('the membership log label is AMBER', () => {
      expect(MEMBERSHIP_LOG_LABEL).toBe(AMBER)
    })
  })

  describe('in transit', () => {
    it.each([[CLEAR, N], [GREEN, Y], [AMBER, Y], [STRICT, Y], [RED, Y]] as Array<[Tlp, boolean]>)('%s sealed: %s', (tlp, sealed) => {
      expect(isSealedInTransit(tlp)).toBe(sealed)
    })
  })

  describe('a RED entry of another origin arrives', () => {
    const routes: Array<[string, { direct: boolean, toMe: boolean }, boolean]> = [
      ['delivered directly to this node', { direct: true, toMe: true }, Y],
      ['delivered directly, for another recipient', { direct: true, toMe: false }, N],
      ['by gossip, sync or relay, for this node', { direct: false, toMe: true }, N],
      ['by gossip, for another recipient', { direct: false, toMe: false }, N]
    ]
    it.each(routes)('%s: accepted %s', (_, route, allowed) => {
      expect(redDeliveryViolation({ ...route, tlp: RED }) === null).toBe(allowed)
    })
    it.each([
      ['handed over by its origin, for this node', { fromOrigin: true, toMe: true }, null],
      ['relayed by another peer', { fromOrigin: false, toMe: true }, 'origin'],
      ['handed over by its origin, for another recipient', { fromOrigin: true, toMe: false }, 'circle'],
      ['relayed, for another recipient', { fromOrigin: false, toMe: false }, 'origin']
    ] as Array<[string, { fromOrigin: boolean, toMe: boolean }, string | null]>)('direct delivery %s: refused on %s', (_, d, field) => {
      expect(directDeliveryViolation(d)?.field ?? null).toBe(field)
    })
    it.each(TLP_LEVELS.filter(t => t !== RED))('a recipient log entry at %s is refused even delivered directly', (tlp) => {
      expect(redDeliveryViolation({ direct: true, toMe: true, tlp })).toMatchObject({ field: 'tlp' })
    })
  })

  describe('a holder passes on what another organization shared', () => {
    const table: Record<'another circle' | 'another circle, explicit re-share' | 'the same circle' | 'its private scope', Column> = {
      //                                   CLEAR GREEN AMBER STRICT RED
      'another circle': [Y, N, N, N, N],
      'another circle, explicit re-share': [Y, Y, N, N, N],
      'the same circle': [Y, Y, Y, Y, Y],
      'its private scope': [Y, Y, Y, Y, Y]
    }
    const held = (tlp: Tlp): HeldRecord => ({ id: 'ab'.repeat(16), tlp, log: 'x', from: 'org ABCD in circle x' })
    it.each(cells(table))('to %s at %s (same label): allowed %s', (route, tlp, allowed) => {
      const target = route === 'the same circle' ? 'x' : route === 'its private scope' ? 'local' : 'y'
      const v = passOnViolation([held(tlp)], { tlp, target, local: target === 'local', explicit: route.includes('explicit'), ownInTarget: false })
      expect(v === null).toBe(allowed)
    })
    it.each(TLP_LEVELS)('re-share by id of a %s record', (tlp) => {
      expect(reshareViolation(tlp) === null).toBe(tlp === CLEAR || tlp === GREEN)
      expect(mayPassOn(tlp, true)).toBe(tlp === CLEAR || tlp === GREEN)
    })
    const pairs = TLP_LEVELS.flatMap(from => TLP_LEVELS.map(to => [from, to] as [Tlp, Tlp]))
    it.each(pairs)('held at %s, published at %s: refused when looser, wherever it goes (even updating its own record)', (from, to) => {
      for (const target of ['x', 'local']) {
        const v = passOnViolation([held(from)], { tlp: to, target, local: target === 'local', explicit: true, ownInTarget: true })
        expect(v === null).toBe(!isLooser(to, from))
      }
    })
    it('GREEN without an explicit re-share names the command that does it', () => {
      expect(passOnViolation([held(GREEN)], { tlp: GREEN, target: 'y', local: false, explicit: false, ownInTarget: false })).toMatch(/phalanx reshare abab.* --circle/)
    })
    it('a record its origin re-shared is held from each of its logs (alsoIn): publishing in any of them is not passing it on', () => {
      for (const tlp of [GREEN, AMBER]) {
        const h = { ...held(tlp), log: 'x', alsoIn: ['y'] }
        expect(passOnViolation([h], { tlp, target: 'y', local: false, explicit: false, ownInTarget: false })).toBeNull()
        expect(passOnViolation([h], { tlp, target: 'x', local: false, explicit: false, ownInTarget: false })).toBeNull()
        expect(passOnViolation([h], { tlp, target: 'z', local: false, explicit: false, ownInTarget: false })).not.toBeNull()
        expect(passOnViolation([h], { tlp: CLEAR, target: 'y', local: false, explicit: false, ownInTarget: false })).toMatch(/or stricter/)
      }
    })
    it('the strictest of several held records decides', () => {
      const v = passOnViolation([held(CLEAR), { ...held(AMBER), log: 'z' }], { tlp: CLEAR, target: 'y', local: false, explicit: true, ownInTarget: false })
      expect(v).toMatch(/TLP:AMBER/)
    })
    it.each(pairs)('a sighting at %s naming a record at %s: refused when looser', (tlp, floor) => {
      expect(looserThanViolation(tlp, floor, 'a sighting') === null).toBe(!isLooser(tlp, floor))
    })
  })

  describe('relabel', () => {
    const pairs = TLP_LEVELS.flatMap(from => TLP_LEVELS.map(to => [from, to] as [Tlp, Tlp]))
    it.each(pairs)('the origin relabels %s → %s: allowed only when it loosens', (from, to) => {
      const looser = TLP_LEVELS.indexOf(to) < TLP_LEVELS.indexOf(from)
      expect(relabelViolation(from, to) === null).toBe(looser)
      expect(relabelApplies(from, to)).toBe(looser)
    })
  })

  describe('revoke and relabel reach', () => {
    it('a record published in one log reaches that log', () => {
      expect(reachOf({ circle: 'x' })).toEqual(['x'])
      expect(reachWith({ circle: 'x' }, 'x')).toBeUndefined()
    })
    it('a record published in more logs reaches every one, sorted, each once', () => {
      const r1 = reachWith({ circle: 'x' }, 'red:ab')
      expect(r1).toEqual(['red:ab', 'x'])
      expect(reachWith({ circle: 'red:ab', reach: r1 }, 'x')).toBeUndefined()
      expect(reachOf({ circle: 'y', reach: reachWith({ circle: 'x', reach: r1 }, 'y') })).toEqual(['red:ab', 'x', 'y'])
    })
  })

  describe('reading and exporting', () => {
    const table: Record<string, Column> = {
      //                             CLEAR GREEN AMBER STRICT RED
      'a token at the default ceiling': [Y, Y, Y, N, N],
      'a token up to AMBER+STRICT': [Y, Y, Y, Y, N],
      'a token up to GREEN': [Y, Y, N, N, N],
      'the API token (no ceiling)': [Y, Y, Y, Y, Y],
      'a bulk export': [Y, Y, Y, Y, N],
      'a bulk export asked to include RED': [Y, Y, Y, Y, Y],
      'a blocklist': [Y, Y, Y, Y, N],
      'a blocklist asked to include RED': [Y, Y, Y, Y, Y]
    }
    const decide = (route: string, tlp: Tlp): boolean => {
      switch (route) {
        case 'a token at the default ceiling': return withinCeiling(tlp, DEFAULT_TOKEN_CEILING)
        case 'a token up to AMBER+STRICT': return withinCeiling(tlp, STRICT)
        case 'a token up to GREEN': return withinCeiling(tlp, GREEN)
        case 'the API token (no ceiling)': return withinCeiling(tlp, undefined)
        case 'a bulk export': return mayBulkExport(tlp, false)
        case 'a bulk export asked to include RED': return mayBulkExport(tlp, true)
        case 'a blocklist': return mayBlocklist(tlp, false)
        default: return mayBlocklist(tlp, true)
      }
    }
    it.each(cells(table))('%s reads %s: %s', (route, tlp, allowed) => {
      expect(decide(route, tlp)).toBe(allowed)
    })
    it('a bulk export names every label it may hold', () => {
      expect(bulkExportLabels(false)).toEqual(TLP_LEVELS.filter(t => mayBulkExport(t, false)))
      expect(bulkExportLabels(true)).toEqual([...TLP_LEVELS])
    })
    it.each(TLP_LEVELS)('a read token with a ceiling of %s', (max) => {
      expect(tokenCeilingViolation(max) === null).toBe(max !== RED)
    })
  })

  it('strictest', () => {
    expect(strictest([])).toBeUndefined()
    expect(strictest([undefined])).toBeUndefined()
    expect(strictest([GREEN, undefined, CLEAR])).toBe(GREEN)
    for (const t of TLP_LEVELS) expect(strictest([...TLP_LEVELS.filter(x => x !== t), t].reverse())).toBe(RED)
    expect(strictest([AMBER, STRICT, GREEN])).toBe(STRICT)
  })

  it('refuse throws PX_ERR_TLP_VIOLATION naming the field, and nothing for no violation', () => {
    expect(() => { refuse(null) }).not.toThrow()
    try {
      refuse({ field: 'to', message: 'no' })
      expect.unreachable()
    } catch (err) {
      expect(isPhalanxError(err) && err.code === 'PX_ERR_TLP_VIOLATION' && err.field === 'to').toBe(true)
    }
  })
})

/**
 * A model of one value V published by origin O and passed around by members, driven only
 * through the policy. Orgs 0..5, O = 0. Circles: x = {0,1,2}, y = {1,3}, z = {2,4,5}.
 */
describe('TLP policy, property: no call sequence widens the audience or loosens a label', () => {
  const CIRCLES: Record<string, number[]> = { x: [0, 1, 2], y: [1, 3], z: [2, 4, 5] }
  const ORGS = [0, 1, 2, 3, 4, 5]
  const member = (org: number, log: string): boolean => log.startsWith('red:') ? Number(log.slice(4)) === org : log === `local:${org}` || (CIRCLES[log]?.includes(org) ?? false)

  interface Copy { owner: number, tlp: Tlp, log: string, revoked: boolean, explicit: boolean, sources: Array<{ tlp: Tlp, log: string }> }
  interface World {
    /** the origin's record: its current label and reach */
    origin: { tlp: Tlp, circle: string, reach?: string[], revoked: boolean } | undefined
    /** what each org holds: copies of O's record (owner 0) and of members' own re-shared records */
    held: Map<number, Copy[]>
  }

  const op = fc.oneof(
    fc.record({ kind: fc.constant('publish' as const), tlp: fc.constantFrom(...TLP_LEVELS), route: fc.constantFrom('x', 'y', 'z', 'local', 'red:1', 'red:3', 'red:4') }),
    fc.record({ kind: fc.constant('pass' as const), holder: fc.constantFrom(1, 2, 3, 4, 5), tlp: fc.constantFrom(...TLP_LEVELS), target: fc.constantFrom('x', 'y', 'z', 'local'), explicit: fc.boolean() }),
    fc.record({ kind: fc.constant('relabel' as const), tlp: fc.constantFrom(...TLP_LEVELS) }),
    fc.record({ kind: fc.constant('revoke' as const) })
  )

  function deliver (w: World, c: Copy): void {
    for (const org of ORGS) {
      if (org === c.owner || !member(org, c.log)) continue
      const list = w.held.get(org) ?? []
      const same = list.find(x => x.owner === c.owner && x.log === c.log)
      if (same !== undefined) Object.assign(same, c)
      else list.push({ ...c })
      w.held.set(org, list)
    }
  }

  it('publish / pass on / relabel / revoke in any order', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const w: World = { origin: undefined, held: new Map() }
      for (const o of ops) {
        if (o.kind === 'publish') {
          const route = o.route.startsWith('red:') ? { to: 'recipients' as const, circleNamed: false } : { to: (o.route === 'local' ? 'local' : 'circle') as 'local' | 'circle' }
          if (publishViolation(o.tlp, route) !== null) continue
          const log = o.route === 'local' ? 'local:0' : o.route
          const kind: LogKind = log.startsWith('red:') ? 'red' : log.startsWith('local') ? 'local' : 'circle'
          expect(entryLabelViolation(kind, entryLabelFor(kind, o.tlp))).toBeNull()
          const reach = w.origin === undefined ? undefined : reachWith(w.origin, log) ?? w.origin.reach
          w.origin = { tlp: o.tlp, circle: log, revoked: false, ...(reach !== undefined ? { reach } : {}) }
          deliver(w, { owner: 0, tlp: o.tlp, log, revoked: false, explicit: false, sources: [] })
        } else if (o.kind === 'pass') {
          const mine = (w.held.get(o.holder) ?? []).filter(c => c.owner === 0 && !c.revoked)
          if (mine.length === 0 || !member(o.holder, o.target === 'local' ? `local:${o.holder}` : o.target)) continue
          const held: HeldRecord[] = mine.map(c => ({ id: 'v', tlp: c.tlp, log: c.log, from: 'O' }))
          const target = o.target === 'local' ? `local:${o.holder}` : o.target
          if (passOnViolation(held, { tlp: o.tlp, target, local: o.target === 'local', explicit: o.explicit, ownInTarget: false }) !== null) continue
          if (publishViolation(o.tlp, { to: o.target === 'local' ? 'local' : 'circle' }) !== null) continue
          deliver(w, { owner: o.holder, tlp: o.tlp, log: target, revoked: false, explicit: o.explicit, sources: mine.map(c => ({ tlp: c.tlp, log: c.log })) })
        } else if (o.kind === 'relabel') {
          if (w.origin === undefined || relabelViolation(w.origin.tlp, o.tlp) !== null) continue
          w.origin.tlp = o.tlp
          for (const log of reachOf(w.origin)) {
            for (const org of ORGS) for (const c of w.held.get(org) ?? []) if (c.owner === 0 && c.log === log && relabelApplies(c.tlp, o.tlp)) c.tlp = o.tlp
          }
        } else {
          if (w.origin === undefined || w.origin.revoked) continue
          w.origin.revoked = true
          for (const log of reachOf(w.origin)) for (const org of ORGS) for (const c of w.held.get(org) ?? []) if (c.owner === 0 && c.log === log) c.revoked = true
        }
        // invariants after every step
        for (const [org, copies] of w.held) {
          for (const c of copies) {
            // a RED copy only at a named recipient, never in a circle
            if (c.tlp === RED) expect(c.log).toBe(`red:${org}`)
            // the origin's record reaches only members of a log it published into
            if (c.owner === 0) expect(reachOf(w.origin!)).toContain(c.log)
            // a member's own record of O's value: never looser than any copy it held then, and into
            // another circle only from copies that were CLEAR, or GREEN by an explicit re-share
            for (const src of c.sources) {
              expect(isLooser(c.tlp, src.tlp)).toBe(false)
              if (src.log !== c.log && !c.log.startsWith('local')) expect(src.tlp === CLEAR || (src.tlp === GREEN && c.explicit)).toBe(true)
            }
          }
        }
        // a revoke reaches every holder of the origin's record
        if (w.origin?.revoked === true) {
          for (const copies of w.held.values()) for (const c of copies) if (c.owner === 0) expect(c.revoked).toBe(true)
        }
      }
    }), { numRuns: 2000 })
  })

})

describe('advisories and acks (issue 15)', () => {
  // an advisory at each label (rows) naming indicators at these labels (columns: none, CLEAR … AMBER+STRICT): may it go?
  const table: Record<Tlp, [boolean, boolean, boolean, boolean, boolean]> = {
    CLEAR: [Y, Y, N, N, N],
    GREEN: [Y, Y, Y, N, N],
    AMBER: [Y, Y, Y, Y, N],
    'AMBER+STRICT': [Y, Y, Y, Y, Y],
    RED: [N, N, N, N, N]
  }
  const linked: Array<Tlp[]> = [[], [CLEAR], [GREEN, CLEAR], [AMBER], [GREEN, STRICT]]
  const rows = Object.entries(table).flatMap(([tlp, col]) => col.map((ok, i) => [tlp as Tlp, linked[i], ok] as [Tlp, Tlp[], boolean]))
  it.each(rows)('an advisory at %s naming indicators at %j: allowed %s', (tlp, held, ok) => {
    const v = advisoryLabelViolation(tlp, held)
    expect(v === null).toBe(ok)
    if (v !== null) expect(v.field).toBe('tlp')
  })

  it('a RED advisory is refused with a message saying so', () => {
    expect(advisoryLabelViolation(RED, [])?.message).toMatch(/RED/)
  })

  it.each(TLP_LEVELS.filter(mayEnterCircle))('an ack of an advisory at %s carries its label', (tlp) => {
    expect(ackLabelFor(tlp)).toBe(tlp)
  })

  it('an advisory with no label given is AMBER', () => {
    expect(ADVISORY_DEFAULT_TLP).toBe(AMBER)
  })
})

describe('reports (issue 16)', () => {
  // a report at each label (rows) linking indicators at these labels (columns: none, CLEAR … AMBER+STRICT), into a circle: may it go?
  const table: Record<Tlp, [boolean, boolean, boolean, boolean, boolean]> = {
    CLEAR: [Y, Y, N, N, N],
    GREEN: [Y, Y, Y, N, N],
    AMBER: [Y, Y, Y, Y, N],
    'AMBER+STRICT': [Y, Y, Y, Y, Y],
    RED: [N, N, N, N, N]
  }
  const linked: Array<Tlp[]> = [[], [CLEAR], [GREEN, CLEAR], [AMBER], [GREEN, STRICT]]
  const rows = Object.entries(table).flatMap(([tlp, col]) => col.map((ok, i) => [tlp as Tlp, linked[i], ok] as [Tlp, Tlp[], boolean]))
  it.each(rows)('a report at %s linking indicators at %j into a circle: allowed %s', (tlp, held, ok) => {
    const v = reportLabelViolation(tlp, held, 'circle')
    expect(v === null).toBe(ok)
    if (v !== null) expect(v.field).toBe('tlp')
  })

  it('the private scope holds a RED report, and still never one looser than what it links', () => {
    expect(reportLabelViolation(RED, [RED], 'local')).toBeNull()
    expect(reportLabelViolation(AMBER, [RED], 'local')?.field).toBe('tlp')
    expect(reportLabelViolation(RED, [], 'circle')?.message).toMatch(/RED/)
  })

  it('without a label a report is AMBER, or its strictest linked indicator when that is stricter', () => {
    expect(REPORT_DEFAULT_TLP).toBe(AMBER)
    expect(reportLabelFor([])).toBe(AMBER)
    expect(reportLabelFor([CLEAR, GREEN])).toBe(AMBER)
    expect(reportLabelFor([GREEN, STRICT])).toBe(STRICT)
    for (const l of TLP_LEVELS) for (const m of TLP_LEVELS) expect(reportLabelViolation(reportLabelFor([l, m]), [l, m], 'local')).toBeNull()
  })
})
