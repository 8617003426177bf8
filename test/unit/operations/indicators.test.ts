/**
 * The Indicators use case over a real store (LevelDB in a temp dir, a started Ingest) and a
 * fixed membership view (this node is in circles c1 and c2 with one other member): publish
 * (one, bulk, the MAX_BULK_INDICATORS bound, RED to recipients), get, lookup, query, revoke,
 * relabel (src/tlp/policy.ts relabelViolation: only loosens), re-share (reshareViolation: only
 * CLEAR and GREEN), passing on another organization's value by publishing (passOnViolation),
 * and purgeExpired. Entries of another organization come in through Ingest, signed by its key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LOCAL_CIRCLE, indicatorId, lastChangeOf, makeIndicatorItem, redLogOf, type IndicatorType } from '../../../src/records/index.js'
import { MAX_BULK_INDICATORS } from '../../../src/operations/index.js'
import { fingerprint } from '../../../src/identity/index.js'
import { TLP2_MARKINGS, toStixIndicator } from '../../../src/interop/index.js'
import type { QueryFilter } from '../../../src/store/index.js'
import type { Tlp } from '../../../src/tlp/index.js'
import { openOps, refusal, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
/** a member of c1 and c2 (a valid RED recipient) */
let peer: string
beforeEach(async () => {
  h = await openOps({ defaultTlp: 'AMBER', defaultConfidence: 50 })
  peer = randomKey().publicKeyHex
  h.circles.join('c1', [peer])
  h.circles.join('c2', [peer])
})
afterEach(async () => { await h.close() })

/** another organization's indicator, stored as received in `log` (a circle, or this node's recipient log); its id */
async function foreign (log: string, value: string, tlp: Tlp, type: IndicatorType = 'domain'): Promise<string> {
  const remote = new RemoteLog(randomKey(), log)
  await h.ingest.ingest(remote.next([makeIndicatorItem({ type, value, confidence: 70, tags: ['foreign'] })], { tlp }), 'sync')
  return indicatorId(remote.origin, type, value)
}

/** publish one indicator of this node; its id */
async function own (body: Record<string, unknown>): Promise<string> {
  const r = await h.indicators.publishBody(body)
  return r.id as string
}

const idOf = (value: string, type: IndicatorType = 'domain'): string => indicatorId(h.me, type, value)

describe('publishBody: a refused input names its field and stores nothing', () => {
  it('one indicator object: each bad field is PX_ERR_VALIDATION naming it', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['a string body', 'evil.example', 'body'],
      ['an array body', [{ value: 'evil.example' }], 'body'],
      ['a null body', null, 'body'],
      ['an unknown field', { value: 'evil.example', colour: 'red' }, 'colour'],
      ['no value', { type: 'domain' }, 'value'],
      ['a value that is not a string', { type: 'domain', value: 42 }, 'value'],
      ['a value of no known type, without type', { value: 'no such thing !!' }, 'type'],
      ['an unknown type', { type: 'colour', value: 'evil.example' }, 'type'],
      ['a value that is not of its type', { type: 'ipv4', value: '999.1.1.1' }, 'value'],
      ['a value over 2048 characters', { type: 'domain', value: 'a'.repeat(2049) }, 'value'],
      ['an unknown TLP', { value: 'evil.example', tlp: 'PURPLE' }, 'tlp'],
      ['a confidence over 100', { value: 'evil.example', confidence: 101 }, 'confidence'],
      ['a confidence that is not an integer', { value: 'evil.example', confidence: 50.5 }, 'confidence'],
      ['a tag that is not a string', { value: 'evil.example', tags: ['ok', 7] }, 'tags[1]'],
      ['a description over 4096 characters', { value: 'evil.example', description: 'd'.repeat(4097) }, 'description'],
      ['a validUntil that is not a date', { value: 'evil.example', validUntil: 'someday' }, 'validUntil'],
      ['a circle that is neither an id nor a name', { value: 'evil.example', circle: '' }, 'circle'],
      ['a malformed recipient', { value: 'evil.example', tlp: 'RED', to: 'not-a-key' }, 'to'],
      ['RED to this organization itself', { value: 'evil.example', tlp: 'RED', to: h.me }, 'to']
    ]
    for (const [what, body, field] of cases) {
      const err = await refusal(async () => await h.indicators.publishBody(body))
      expect({ what, code: err.code, field: err.field }).toEqual({ what, code: 'PX_ERR_VALIDATION', field })
    }
    expect(h.store.counts()).toEqual({ entries: 0, indicators: 0, revoked: 0, sightings: 0 })
  })

  it('a route the node or the TLP policy refuses: PX_ERR_UNKNOWN_CIRCLE, PX_ERR_TLP_VIOLATION, PX_ERR_NOT_MEMBER, each naming its field', async () => {
    const stranger = randomKey().publicKeyHex
    const cases: Array<[string, unknown, string, string]> = [
      ['a circle this node is not in', { value: 'evil.example', circle: 'c-nope' }, 'PX_ERR_UNKNOWN_CIRCLE', 'circle'],
      ['RED to a circle', { value: 'evil.example', tlp: 'RED', circle: 'c1' }, 'PX_ERR_TLP_VIOLATION', 'tlp'],
      ['recipients for a GREEN indicator', { value: 'evil.example', tlp: 'GREEN', to: peer }, 'PX_ERR_TLP_VIOLATION', 'to'],
      ['RED to recipients and a circle', { value: 'evil.example', tlp: 'RED', to: peer, circle: 'c1' }, 'PX_ERR_TLP_VIOLATION', 'circle'],
      ['RED to an organization sharing no circle', { value: 'evil.example', tlp: 'RED', to: stranger }, 'PX_ERR_NOT_MEMBER', 'to'],
      ['RED to a member and a stranger', { value: 'evil.example', tlp: 'RED', to: [peer, stranger] }, 'PX_ERR_NOT_MEMBER', 'to[1]']
    ]
    for (const [what, body, code, field] of cases) {
      const err = await refusal(async () => await h.indicators.publishBody(body))
      expect({ what, code: err.code, field: err.field }).toEqual({ what, code, field })
    }
    expect(h.store.counts().entries).toBe(0)
  })

  it('a bulk call: a bad envelope field is refused by name, a bad item as indicators[i].<field>', async () => {
    const ok = { value: 'ok.example' }
    const cases: Array<[string, unknown, string, string]> = [
      ['an unknown envelope field', { indicators: [ok], colour: 'red' }, 'PX_ERR_VALIDATION', 'colour'],
      ['indicators not an array', { indicators: { value: 'ok.example' } }, 'PX_ERR_VALIDATION', 'indicators'],
      ['no indicators', { indicators: [] }, 'PX_ERR_VALIDATION', 'indicators'],
      ['an unknown default TLP', { indicators: [ok], tlp: 'PURPLE' }, 'PX_ERR_VALIDATION', 'tlp'],
      ['a default circle that is not a string', { indicators: [ok], circle: 7 }, 'PX_ERR_VALIDATION', 'circle'],
      ['a default circle this node is not in', { indicators: [ok], circle: 'c-nope' }, 'PX_ERR_UNKNOWN_CIRCLE', 'circle'],
      ['a malformed default recipient in a list', { indicators: [ok], tlp: 'RED', to: [peer, 'nope'] }, 'PX_ERR_VALIDATION', 'to[1]'],
      ['an item with a bad value', { indicators: [ok, { type: 'ipv4', value: 'nope' }] }, 'PX_ERR_VALIDATION', 'indicators[1].value'],
      ['an item that is not an object', { indicators: [ok, ok, 'x.example'] }, 'PX_ERR_VALIDATION', 'indicators[2]'],
      ['an item with an unknown field', { indicators: [{ ...ok, colour: 'red' }] }, 'PX_ERR_VALIDATION', 'indicators[0].colour']
    ]
    for (const [what, body, code, field] of cases) {
      const err = await refusal(async () => await h.indicators.publishBody(body))
      expect({ what, code: err.code, field: err.field }).toEqual({ what, code, field })
    }
    expect(h.store.counts().entries).toBe(0)
  })

  it('a bulk call: a rule an item breaks (not only its schema) is named as indicators[i].<field>', async () => {
    const ok = { value: 'ok.example' }
    const cases: Array<[string, unknown, string, string]> = [
      ['an item for a circle this node is not in', { indicators: [ok, { value: 'x.example', circle: 'c-nope' }] }, 'PX_ERR_UNKNOWN_CIRCLE', 'indicators[1].circle'],
      ['an item RED to a circle', { indicators: [ok, ok, { value: 'x.example', tlp: 'RED', circle: 'c1' }] }, 'PX_ERR_TLP_VIOLATION', 'indicators[2].tlp'],
      ['an item RED to a non-member', { indicators: [{ value: 'x.example', tlp: 'RED', to: [randomKey().publicKeyHex] }] }, 'PX_ERR_NOT_MEMBER', 'indicators[0].to']
    ]
    for (const [what, body, code, field] of cases) {
      const err = await refusal(async () => await h.indicators.publishBody(body))
      expect({ what, code: err.code, field: err.field }).toEqual({ what, code, field })
    }
    expect(h.store.counts().entries).toBe(0)
  })

  it('one bad item refuses the whole bulk call: the good items before it are not stored', async () => {
    const err = await refusal(async () => await h.indicators.publishBody({ indicators: [{ value: 'good-1.example' }, { value: 'good-2.example' }, { value: 'bad', type: 'ipv4' }] }))
    expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'indicators[2].value' })
    expect(h.indicators.lookup('good-1.example').found).toBe(false)
    expect(h.store.counts()).toEqual({ entries: 0, indicators: 0, revoked: 0, sightings: 0 })
  })
})

describe('publish: the MAX_BULK_INDICATORS bound', () => {
  it('is 10,000 (issue #2)', () => {
    expect(MAX_BULK_INDICATORS).toBe(10_000)
  })

  it('one item over it is PX_ERR_PAYLOAD_TOO_LARGE on indicators, before any item is read (publishBody and publishIndicators)', async () => {
    // every item is bad: the bound is checked first
    const over = Array.from({ length: MAX_BULK_INDICATORS + 1 }, () => null)
    expect(await refusal(async () => await h.indicators.publishBody({ indicators: over }))).toMatchObject({ code: 'PX_ERR_PAYLOAD_TOO_LARGE', field: 'indicators' })
    expect(await refusal(async () => await h.indicators.publishIndicators(over))).toMatchObject({ code: 'PX_ERR_PAYLOAD_TOO_LARGE', field: 'indicators' })
  })

  it('exactly MAX_BULK_INDICATORS items pass the bound: each item is then read (the last one is refused by its own field)', async () => {
    const items: unknown[] = Array.from({ length: MAX_BULK_INDICATORS - 1 }, (_, i) => ({ type: 'domain', value: `b${i}.bound.example` }))
    items.push({ type: 'ipv4', value: 'not-an-ip' })
    const err = await refusal(async () => await h.indicators.publishBody({ indicators: items }))
    expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: `indicators[${MAX_BULK_INDICATORS - 1}].value` })
    expect(h.store.counts().entries).toBe(0)
  })
})

describe('publish', () => {
  it('one indicator: its id, the entry receipt, the node\'s defaults (TLP, confidence, the private scope) and the value normalized', async () => {
    const r = await h.indicators.publishBody({ value: 'Evil[.]EXAMPLE', tags: ['phish'] })
    const id = idOf('evil.example')
    expect(r).toEqual({ id, ids: [id], entries: [expect.objectContaining({ circle: LOCAL_CIRCLE, origin: h.me, seq: 1, items: 1 })] })
    expect(r).not.toHaveProperty('count')
    expect(h.indicators.getIndicator(id)).toMatchObject({ id, type: 'domain', value: 'evil.example', tlp: 'AMBER', confidence: 50, circle: LOCAL_CIRCLE, origin: h.me, tags: ['phish'], version: 1 })
  })

  it('a bulk call: count and ids in input order across circles and labels, one entry per (circle, TLP)', async () => {
    const r = await h.indicators.publishBody({
      tlp: 'GREEN',
      indicators: [
        { value: 'a.bulk.example' },
        { value: 'b.bulk.example', circle: 'c1', tlp: 'AMBER' },
        { value: 'c.bulk.example' },
        { value: '198.51.100.1', circle: 'c1', tlp: 'CLEAR' },
        { value: 'd.bulk.example', circle: 'c1', tlp: 'AMBER' }
      ]
    })
    expect(r.count).toBe(5)
    expect(r.ids).toEqual([idOf('a.bulk.example'), idOf('b.bulk.example'), idOf('c.bulk.example'), idOf('198.51.100.1', 'ipv4'), idOf('d.bulk.example')])
    expect(r.entries.map(e => [e.circle, e.items]).sort()).toEqual([['c1', 1], ['c1', 2], [LOCAL_CIRCLE, 2]])
    expect(h.indicators.getIndicator(idOf('a.bulk.example'))).toMatchObject({ tlp: 'GREEN', circle: LOCAL_CIRCLE })
    expect(h.indicators.getIndicator(idOf('198.51.100.1', 'ipv4'))).toMatchObject({ tlp: 'CLEAR', circle: 'c1' })
  })

  it('the same value published again updates the same indicator (a new version)', async () => {
    const first = await own({ value: 'again.example', confidence: 40 })
    const second = await own({ value: 'AGAIN.example', confidence: 90 })
    expect(second).toBe(first)
    expect(h.indicators.getIndicator(first)).toMatchObject({ confidence: 90, version: 2 })
    expect(h.store.counts()).toMatchObject({ entries: 2, indicators: 1 })
  })

  it('a RED recipient may be named by its fingerprint (with or without dashes, any case), alone or in a bulk envelope', async () => {
    const fp = fingerprint(peer)
    const r = await h.indicators.publishBody({ value: 'red-fp.example', tlp: 'RED', to: fp })
    expect(r.entries.map(e => e.circle)).toEqual([redLogOf(peer)])
    const bulk = await h.indicators.publishBody({ indicators: [{ value: 'red-fp2.example' }], tlp: 'RED', to: [fp.toLowerCase().replace(/-/g, '')] })
    expect(bulk.entries.map(e => e.circle)).toEqual([redLogOf(peer)])
    const unknown = await refusal(async () => await h.indicators.publishBody({ value: 'red-fp3.example', tlp: 'RED', to: [fp, fingerprint(randomKey().publicKeyHex)] }))
    expect(unknown).toMatchObject({ code: 'PX_ERR_NOT_MEMBER', field: 'to[1]' })
  })

  it('RED to named recipients: one recipient log each, never a circle; RED without recipients stays in the private scope', async () => {
    const second = randomKey().publicKeyHex
    h.circles.join('c3', [second])
    const r = await h.indicators.publishBody({ value: 'red.example', tlp: 'RED', to: [peer, second] })
    expect(r.ids).toEqual([idOf('red.example')])
    expect(r.entries.map(e => e.circle).sort()).toEqual([redLogOf(peer), redLogOf(second)].sort())
    expect(h.indicators.getIndicator(idOf('red.example')).reach).toEqual([redLogOf(peer), redLogOf(second)].sort())
    expect(h.store.getEntry(redLogOf(peer), h.me, 1)?.tlp).toBe('RED')
    const kept = await h.indicators.publishBody({ value: 'red-kept.example', tlp: 'RED' })
    expect(kept.entries.map(e => e.circle)).toEqual([LOCAL_CIRCLE])
  })

  it('refuses with PX_ERR_RATE_LIMITED (retry after 1 s) while the records queued for writing exceed maxQueuedItems', async () => {
    const busy = await openOps({ maxQueuedItems: -1 })
    try {
      const err = await refusal(async () => await busy.indicators.publishBody({ value: 'busy.example' }))
      expect(err.code).toBe('PX_ERR_RATE_LIMITED')
      expect(err.meta).toEqual({ retryAfter: 1 })
      expect(busy.store.counts().entries).toBe(0)
    } finally {
      await busy.close()
    }
  })
})

describe('getIndicator', () => {
  it('a malformed id is PX_ERR_VALIDATION, an unknown one PX_ERR_NOT_FOUND, both on field id', async () => {
    expect(() => h.indicators.getIndicator('xyz')).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'id' }))
    expect(() => h.indicators.getIndicator('A'.repeat(32))).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'id' }))
    expect(() => h.indicators.getIndicator('0'.repeat(32))).toThrow(expect.objectContaining({ code: 'PX_ERR_NOT_FOUND', field: 'id' }))
  })
})

describe('lookup', () => {
  it('finds a value given in a defanged form, normalized the way it was stored', async () => {
    await own({ value: 'hxxps://Evil[.]example/Path?q=1' })
    await own({ value: 'bad[.]Example' })
    const url = h.indicators.lookup('hxxps://evil[.]example/Path?q=1')
    expect(url).toMatchObject({ type: 'url', value: 'https://evil.example/Path?q=1', found: true, sightings: null })
    expect(url.matches.map(m => [m.id, m.match])).toEqual([[idOf('https://evil.example/Path?q=1', 'url'), 'exact']])
    expect(h.indicators.lookup('BAD.example', 'domain')).toMatchObject({ type: 'domain', value: 'bad.example', found: true })
  })

  it('a value nobody published: found false, no matches, the value as normalized', () => {
    expect(h.indicators.lookup('nobody[.]example')).toEqual({ type: 'domain', value: 'nobody.example', found: false, matches: [], sightings: null, sighted: null, reports: [] })
  })

  it('an IP also matches a stored network that contains it', async () => {
    await own({ value: '203.0.113.0/24' })
    const r = h.indicators.lookup('203.0.113.9')
    expect(r).toMatchObject({ type: 'ipv4', found: true })
    expect(r.matches.map(m => [m.value, m.match])).toEqual([['203.0.113.0/24', 'cidr']])
    expect(h.indicators.lookup('203.0.114.9').found).toBe(false)
  })

  it('refuses what it cannot read, naming the field: an empty or unrecognizable value, a bad type', () => {
    const cases: Array<[unknown, unknown, string]> = [
      ['', undefined, 'value'],
      ['   ', undefined, 'value'],
      [7, undefined, 'value'],
      ['x'.repeat(2049), undefined, 'value'],
      ['no such thing !!', undefined, 'value'],
      ['evil.example', 'colour', 'type'],
      ['evil.example', 5, 'type'],
      ['evil.example', 'ipv4', 'value']
    ]
    for (const [value, type, field] of cases) {
      expect(() => h.indicators.lookup(value, type), `${String(value).slice(0, 20)} / ${String(type)}`).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field }))
    }
  })

  it('leaves out revoked and expired indicators unless asked for them', async () => {
    const revoked = await own({ value: 'revoked.example' })
    await h.indicators.revoke(revoked)
    await own({ value: 'expired.example', validFrom: '2020-01-01', validUntil: '2020-02-01' })
    expect(h.indicators.lookup('revoked.example').found).toBe(false)
    expect(h.indicators.lookup('revoked.example', undefined, { includeRevoked: true }).matches.map(m => m.id)).toEqual([revoked])
    expect(h.indicators.lookup('expired.example').found).toBe(false)
    expect(h.indicators.lookup('expired.example', undefined, { includeExpired: true }).found).toBe(true)
  })
})

describe('query', () => {
  it('narrows by type, tag, TLP, circle and origin; pages with nextCursor', async () => {
    await h.indicators.publishBody({
      indicators: [
        { value: 'q1.example', tags: ['x'], tlp: 'GREEN' },
        { value: 'q2.example', tags: ['y'], tlp: 'AMBER', circle: 'c1' },
        { value: '192.0.2.10', tags: ['x'], tlp: 'CLEAR', circle: 'c1' },
        { value: 'q3.example', tags: ['X'], tlp: 'CLEAR' }
      ]
    })
    const foreignId = await foreign('c1', 'q-foreign.example', 'GREEN')
    const values = async (f: QueryFilter): Promise<string[]> => (await h.indicators.query(f)).indicators.map(i => i.value).sort()
    expect(await values({ limit: 100, type: 'domain' })).toEqual(['q-foreign.example', 'q1.example', 'q2.example', 'q3.example'])
    expect(await values({ limit: 100, tag: 'x' })).toEqual(['192.0.2.10', 'q1.example', 'q3.example'])
    expect(await values({ limit: 100, tlp: ['CLEAR', 'AMBER'] })).toEqual(['192.0.2.10', 'q2.example', 'q3.example'])
    expect(await values({ limit: 100, circle: 'c1' })).toEqual(['192.0.2.10', 'q-foreign.example', 'q2.example'])
    expect(await values({ limit: 100, origin: h.me, circle: 'c1' })).toEqual(['192.0.2.10', 'q2.example'])
    expect((await h.indicators.query({ limit: 100, type: 'domain', value: 'q-foreign.example' })).indicators.map(i => i.id)).toEqual([foreignId])
    // pages of two: every indicator once, then no cursor
    const seen: string[] = []
    let cursor: string | undefined
    for (let pages = 0; pages < 5; pages++) {
      const page = await h.indicators.query({ limit: 2, ...(cursor !== undefined ? { cursor } : {}) })
      seen.push(...page.indicators.map(i => i.value))
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    expect(seen.sort()).toEqual(['192.0.2.10', 'q-foreign.example', 'q1.example', 'q2.example', 'q3.example'])
  })
})

describe('revoke', () => {
  it('revokes this node\'s own indicator with a reason: lookup leaves it out, the counts show it', async () => {
    const id = await own({ value: 'to-revoke.example', circle: 'c1' })
    const r = await h.indicators.revokeBody(id, { reason: '  false positive  ' })
    expect(r).toMatchObject({ id, revoked: { reason: 'false positive' }, entry: { circle: 'c1', origin: h.me, seq: 2, items: 1 } })
    expect(h.indicators.getIndicator(id).revoked).toMatchObject({ reason: 'false positive', entry: r.entry.hash })
    expect(h.indicators.lookup('to-revoke.example').found).toBe(false)
    expect(h.store.counts()).toMatchObject({ indicators: 1, revoked: 1 })
  })

  it('an indicator already revoked is PX_ERR_CONFLICT on id, and nothing more is written', async () => {
    const id = await own({ value: 'twice.example' })
    await h.indicators.revoke(id)
    const entries = h.store.counts().entries
    expect(await refusal(async () => await h.indicators.revoke(id, 'again'))).toMatchObject({ code: 'PX_ERR_CONFLICT', field: 'id' })
    expect(h.store.counts().entries).toBe(entries)
  })

  it('only the origin revokes: another organization\'s indicator is PX_ERR_FORBIDDEN on id', async () => {
    const theirs = await foreign('c1', 'theirs.example', 'GREEN')
    const entries = h.store.counts().entries
    expect(await refusal(async () => await h.indicators.revoke(theirs))).toMatchObject({ code: 'PX_ERR_FORBIDDEN', field: 'id' })
    expect(h.indicators.getIndicator(theirs).revoked).toBeUndefined()
    expect(h.store.counts().entries).toBe(entries)
  })

  it('an unknown id is PX_ERR_NOT_FOUND on id; a bad reason or body is PX_ERR_VALIDATION naming it', async () => {
    expect(await refusal(async () => await h.indicators.revoke('0'.repeat(32)))).toMatchObject({ code: 'PX_ERR_NOT_FOUND', field: 'id' })
    const id = await own({ value: 'reason.example' })
    expect(await refusal(async () => await h.indicators.revoke(id, 42))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'reason' })
    expect(await refusal(async () => await h.indicators.revoke(id, 'r'.repeat(1025)))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'reason' })
    expect(await refusal(async () => await h.indicators.revokeBody(id, { reason: 'x', force: true }))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'force' })
    expect(await refusal(async () => await h.indicators.revokeBody(id, 'because'))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'body' })
    expect(h.indicators.getIndicator(id).revoked).toBeUndefined()
    // no body at all: revoked without a reason
    expect((await h.indicators.revokeBody(id, undefined)).revoked).not.toHaveProperty('reason')
  })

  it('goes to every log the record went to: both circles of a re-share, each RED recipient', async () => {
    const id = await own({ value: 'reach.example', tlp: 'CLEAR', circle: 'c1' })
    await h.indicators.reshare(id, { circle: 'c2' })
    const heads = (): Array<number | undefined> => ['c1', 'c2'].map(c => h.store.head(c, h.me)?.seq)
    expect(heads()).toEqual([1, 1])
    await h.indicators.revoke(id)
    expect(heads()).toEqual([2, 2])
    const red = await own({ value: 'red-reach.example', tlp: 'RED', to: peer })
    await h.indicators.revoke(red)
    expect(h.store.getEntry(redLogOf(peer), h.me, 2)).toMatchObject({ tlp: 'RED', items: [{ kind: 'revoke', id: red }] })
  })
})

describe('relabel (the origin only loosens: relabelViolation)', () => {
  it('loosens its own indicator: AMBER → GREEN, written in the indicator\'s log', async () => {
    const id = await own({ value: 'loosen.example', tlp: 'AMBER', circle: 'c1' })
    const r = await h.indicators.relabelBody(id, { tlp: 'tlp:green' })
    expect(r).toMatchObject({ id, tlp: 'GREEN', entry: { circle: 'c1', seq: 2 } })
    expect(h.indicators.getIndicator(id).tlp).toBe('GREEN')
    expect(h.store.getEntry('c1', h.me, 2)).toMatchObject({ tlp: 'GREEN', items: [{ kind: 'relabel', id, tlp: 'GREEN' }] })
  })

  it('the same label or a stricter one is PX_ERR_TLP_VIOLATION on tlp, and nothing is written', async () => {
    const id = await own({ value: 'tighten.example', tlp: 'GREEN', circle: 'c1' })
    for (const to of ['GREEN', 'AMBER', 'AMBER+STRICT', 'RED']) {
      const err = await refusal(async () => await h.indicators.relabel(id, to))
      expect({ to, code: err.code, field: err.field, message: err.message }).toEqual({ to, code: 'PX_ERR_TLP_VIOLATION', field: 'tlp', message: `a relabel only loosens: GREEN → ${to} is not looser` })
    }
    expect(h.indicators.getIndicator(id)).toMatchObject({ tlp: 'GREEN', version: 1 })
    expect(h.store.head('c1', h.me)?.seq).toBe(1)
  })

  it('a RED record relabelled to AMBER: the recipient log\'s entry stays RED-labelled, the record is AMBER', async () => {
    const id = await own({ value: 'red-relabel.example', tlp: 'RED', to: peer })
    const r = await h.indicators.relabel(id, 'AMBER')
    expect(r.indicator.tlp).toBe('AMBER')
    expect(r.entry.circle).toBe(redLogOf(peer))
    expect(h.store.getEntry(redLogOf(peer), h.me, 2)).toMatchObject({ tlp: 'RED', items: [{ kind: 'relabel', id, tlp: 'AMBER' }] })
  })

  it('refusals: another org\'s indicator (PX_ERR_FORBIDDEN on id), an unknown one (PX_ERR_NOT_FOUND), a bad label or body (PX_ERR_VALIDATION)', async () => {
    const theirs = await foreign('c1', 'relabel-theirs.example', 'AMBER')
    expect(await refusal(async () => await h.indicators.relabel(theirs, 'CLEAR'))).toMatchObject({ code: 'PX_ERR_FORBIDDEN', field: 'id' })
    expect(await refusal(async () => await h.indicators.relabel('0'.repeat(32), 'CLEAR'))).toMatchObject({ code: 'PX_ERR_NOT_FOUND', field: 'id' })
    const id = await own({ value: 'relabel-bad.example' })
    expect(await refusal(async () => await h.indicators.relabel(id, 'PURPLE'))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'tlp' })
    expect(await refusal(async () => await h.indicators.relabelBody(id, null))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'tlp' })
    expect(await refusal(async () => await h.indicators.relabelBody(id, { tlp: 'CLEAR', why: 'x' }))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'why' })
    expect(await refusal(async () => await h.indicators.relabelBody(id, ['CLEAR']))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'body' })
    expect(h.indicators.getIndicator(id)).toMatchObject({ tlp: 'AMBER', version: 1 })
  })
})

describe('every new version is a new STIX modified (relabel, revoke), even in the same millisecond', () => {
  it('a relabel and then a revoke right after a publish each move STIX modified forward (the MISP timestamp is the same lastChangeOf)', async () => {
    for (let i = 0; i < 20; i++) {
      const id = await own({ value: `modified-${i}.example`, tlp: 'AMBER', circle: 'c1' })
      const published = toStixIndicator(h.indicators.getIndicator(id))!
      await h.indicators.relabel(id, 'GREEN')
      const relabeled = toStixIndicator(h.indicators.getIndicator(id))!
      await h.indicators.revoke(id)
      const revoked = toStixIndicator(h.indicators.getIndicator(id))!
      expect({ i, tlp: relabeled.object_marking_refs, later: (relabeled.modified as string) > (published.modified as string) }).toEqual({ i, tlp: [TLP2_MARKINGS.GREEN], later: true })
      expect({ i, revoked: revoked.revoked, later: (revoked.modified as string) > (relabeled.modified as string) }).toEqual({ i, revoked: true, later: true })
      expect(revoked.id).toBe(published.id)
    }
  })

  it('lastChangeOf: the version, or a later relabel or revoke', () => {
    expect(lastChangeOf({ created: '2026-01-01T00:00:00.000Z' })).toBe('2026-01-01T00:00:00.000Z')
    expect(lastChangeOf({ created: '2026-01-01T00:00:00.000Z', relabeled: { at: '2026-01-02T00:00:00.000Z', tlp: 'GREEN', entry: 'e' }, revoked: { at: '2026-01-03T00:00:00.000Z', entry: 'f' } })).toBe('2026-01-03T00:00:00.000Z')
    expect(lastChangeOf({ created: '2026-01-05T00:00:00.000Z', revoked: { at: '2026-01-03T00:00:00.000Z', entry: 'f' } })).toBe('2026-01-05T00:00:00.000Z')
  })
})

describe('reshare (an explicit operator action: reshareViolation)', () => {
  it('CLEAR moves to another circle as this org\'s record: the same id, reached in both circles', async () => {
    const id = await own({ value: 'clear-move.example', tlp: 'CLEAR', circle: 'c1', confidence: 80, description: 'seen in a campaign' })
    const r = await h.indicators.reshare(id, { circle: 'c2' })
    expect(r).toMatchObject({ ids: [id], from: 'c1', to: 'c2', entries: [{ circle: 'c2', origin: h.me }] })
    expect(h.indicators.getIndicator(id)).toMatchObject({ circle: 'c2', tlp: 'CLEAR', confidence: 80, description: 'seen in a campaign', reach: ['c1', 'c2'] })
  })

  it('a re-share in the same millisecond as the version it copies is still the later version (created after it)', async () => {
    // versions in two logs are ordered by created alone: a tie was a coin flip on the hashes
    for (let i = 0; i < 40; i++) {
      const id = await own({ value: `same-ms-${i}.example`, tlp: 'CLEAR', circle: 'c1' })
      const before = h.indicators.getIndicator(id).created
      await h.indicators.reshare(id, { circle: 'c2' })
      const after = h.indicators.getIndicator(id)
      expect({ i, circle: after.circle, later: after.created > before }).toEqual({ i, circle: 'c2', later: true })
    }
  })

  it('another organization\'s GREEN record may be re-shared explicitly: it becomes this org\'s record in the target', async () => {
    const theirs = await foreign('c1', 'green-theirs.example', 'GREEN')
    const r = await h.indicators.reshare(theirs, { circle: 'c2' })
    expect(r).toMatchObject({ ids: [idOf('green-theirs.example')], from: 'c1', to: 'c2' })
    expect(h.indicators.getIndicator(idOf('green-theirs.example'))).toMatchObject({ origin: h.me, circle: 'c2', tlp: 'GREEN' })
    expect(h.indicators.getIndicator(theirs).circle).toBe('c1')
  })

  it('AMBER, AMBER+STRICT and RED are never re-shared: PX_ERR_TLP_VIOLATION on id', async () => {
    const amber = await own({ value: 'amber.example', tlp: 'AMBER', circle: 'c1' })
    const strict = await own({ value: 'strict.example', tlp: 'AMBER+STRICT', circle: 'c1' })
    const red = await own({ value: 'red-local.example', tlp: 'RED' })
    const theirs = await foreign('c1', 'amber-theirs.example', 'AMBER')
    for (const [id, tlp] of [[amber, 'AMBER'], [strict, 'AMBER+STRICT'], [red, 'RED'], [theirs, 'AMBER']]) {
      const err = await refusal(async () => await h.indicators.reshare(id, { circle: 'c2' }))
      expect({ tlp, code: err.code, field: err.field, message: err.message }).toEqual({ tlp, code: 'PX_ERR_TLP_VIOLATION', field: 'id', message: `TLP:${tlp} is never re-shared to another circle (only CLEAR, and GREEN by an explicit re-share, may be)` })
    }
    expect(h.store.head('c2', h.me)).toBeUndefined()
  })

  it('after a re-share the indicator is in both circles for the circle filter (query, exports, blocklists, TAXII)', async () => {
    const id = await own({ value: 'both-circles.example', tlp: 'CLEAR', circle: 'c1' })
    await h.indicators.reshare(id, { circle: 'c2' })
    for (const circle of ['c1', 'c2']) {
      expect((await h.indicators.query({ circle, limit: 10 })).indicators.map(i => i.id), circle).toContain(id)
    }
  })

  it('refusals naming circle: none given, not this node\'s, the one it is already in, the private scope; an unknown body field by name', async () => {
    const id = await own({ value: 'target.example', tlp: 'CLEAR', circle: 'c1' })
    const cases: Array<[unknown, string, string]> = [
      [{}, 'PX_ERR_VALIDATION', 'circle'],
      [{ circle: 7 }, 'PX_ERR_VALIDATION', 'circle'],
      [{ circle: 'c-nope' }, 'PX_ERR_UNKNOWN_CIRCLE', 'circle'],
      [{ circle: 'c1' }, 'PX_ERR_CONFLICT', 'circle'],
      [{ circle: LOCAL_CIRCLE }, 'PX_ERR_VALIDATION', 'circle'],
      [{ circle: 'c2', tlp: 'CLEAR' }, 'PX_ERR_VALIDATION', 'tlp'],
      ['c2', 'PX_ERR_VALIDATION', '']
    ]
    for (const [body, code, field] of cases) {
      const err = await refusal(async () => await h.indicators.reshare(id, body))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code, field })
    }
    expect(h.indicators.getIndicator(id).reach).toBeUndefined()
  })
})

describe('publishing another organization\'s value (passOnViolation)', () => {
  it('an AMBER value held from c1: allowed in c1 and the private scope at AMBER or stricter; refused to another circle, to a recipient, or looser anywhere', async () => {
    await foreign('c1', 'amber-held.example', 'AMBER')
    const refusedAs = async (body: Record<string, unknown>): Promise<string> => {
      const err = await refusal(async () => await h.indicators.publishBody({ value: 'amber-held.example', ...body }))
      expect(err.field).toBe('value')
      return `${err.code}: ${err.message.replace(/org [A-Z0-9-]+/, 'org X')}`
    }
    expect(await refusedAs({ tlp: 'AMBER', circle: 'c2' })).toBe('PX_ERR_TLP_VIOLATION: this value reached you as TLP:AMBER from org X in circle c1: TLP:AMBER is never passed on to another circle or recipient')
    expect(await refusedAs({ tlp: 'RED', to: peer })).toMatch(/^PX_ERR_TLP_VIOLATION: .*TLP:AMBER is never passed on/)
    expect(await refusedAs({ tlp: 'GREEN', circle: 'c1' })).toBe('PX_ERR_TLP_VIOLATION: this value reached you as TLP:AMBER from org X in circle c1: publish it at TLP:AMBER or stricter')
    expect(await refusedAs({ tlp: 'CLEAR' })).toMatch(/publish it at TLP:AMBER or stricter$/)
    expect((await h.indicators.publishBody({ value: 'amber-held.example', tlp: 'AMBER', circle: 'c1' })).ids).toEqual([idOf('amber-held.example')])
    expect((await h.indicators.publishBody({ value: 'amber-held.example', tlp: 'AMBER+STRICT' })).entries[0].circle).toBe(LOCAL_CIRCLE)
  })

  it('a GREEN value its origin re-shared from c1 into c2 is held from both: this node may publish it in either', async () => {
    const key = randomKey()
    const item = makeIndicatorItem({ type: 'domain', value: 'green-both.example', confidence: 70, tags: [] })
    await h.ingest.ingest(new RemoteLog(key, 'c1').next([item], { tlp: 'GREEN' }), 'sync')
    await h.ingest.ingest(new RemoteLog(key, 'c2').next([item], { tlp: 'GREEN', created: new Date(Date.now() + 1000).toISOString() }), 'sync')
    expect(h.indicators.getIndicator(indicatorId(key.publicKeyHex, 'domain', 'green-both.example'))).toMatchObject({ circle: 'c2', reach: ['c1', 'c2'] })
    for (const circle of ['c1', 'c2']) {
      expect((await h.indicators.publishBody({ value: 'green-both.example', tlp: 'GREEN', circle })).entries[0].circle).toBe(circle)
    }
  })

  it('this org\'s own record of a held AMBER value in c1 does not open c2 to it (own record only counts in the target)', async () => {
    await foreign('c1', 'own-too.example', 'AMBER')
    expect((await h.indicators.publishBody({ value: 'own-too.example', tlp: 'AMBER', circle: 'c1' })).entries[0].circle).toBe('c1')
    const err = await refusal(async () => await h.indicators.publishBody({ value: 'own-too.example', tlp: 'AMBER', circle: 'c2' }))
    expect(err).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'value' })
    expect(h.store.head('c2', h.me)).toBeUndefined()
  })

  it('an own record of another written form in the target does not open it: an own /32 in c2, then a held AMBER IPv4 from c1; the IPv4 into c2 is refused', async () => {
    expect((await h.indicators.publishBody({ type: 'cidr', value: '198.51.100.77/32', tlp: 'AMBER', circle: 'c2' })).entries[0].circle).toBe('c2')
    await foreign('c1', '198.51.100.77', 'AMBER', 'ipv4')
    const err = await refusal(async () => await h.indicators.publishBody({ type: 'ipv4', value: '198.51.100.77', tlp: 'AMBER', circle: 'c2' }))
    expect(err).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'value' })
  })

  it('updating this org\'s own record in the target is not passing on: a GREEN value held from c1, explicitly re-shared into c2, then published again into c2', async () => {
    const theirs = await foreign('c1', 'green-update.example', 'GREEN')
    await h.indicators.reshare(theirs, { circle: 'c2' })
    const again = await h.indicators.publishBody({ value: 'green-update.example', tlp: 'GREEN', circle: 'c2', confidence: 90 })
    expect(again.entries[0].circle).toBe('c2')
    expect(h.indicators.getIndicator(idOf('green-update.example')).confidence).toBe(90)
  })

  it('GREEN goes to another circle only by an explicit re-share; CLEAR goes anywhere', async () => {
    await foreign('c1', 'green-held.example', 'GREEN')
    await foreign('c1', 'clear-held.example', 'CLEAR')
    const err = await refusal(async () => await h.indicators.publishBody({ value: 'green-held.example', tlp: 'GREEN', circle: 'c2' }))
    expect(err).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'value' })
    expect(err.message).toMatch(/GREEN goes to another circle only by an explicit re-share \(phalanx reshare [0-9a-f]{32} --circle …\)$/)
    expect((await h.indicators.publishBody({ value: 'clear-held.example', tlp: 'CLEAR', circle: 'c2' })).entries[0].circle).toBe('c2')
  })

  it('an address is checked in its other written forms: a held IPv4 refuses its /32 network and its IPv4-mapped IPv6 form elsewhere', async () => {
    await foreign('c1', '198.51.100.7', 'AMBER', 'ipv4')
    for (const body of [{ type: 'cidr', value: '198.51.100.7/32' }, { type: 'ipv6', value: '::ffff:198.51.100.7' }]) {
      const err = await refusal(async () => await h.indicators.publishBody({ ...body, tlp: 'AMBER', circle: 'c2' }))
      expect({ body, code: err.code, field: err.field }).toEqual({ body, code: 'PX_ERR_TLP_VIOLATION', field: 'value' })
    }
    // another address of the same network is not the held value
    expect((await h.indicators.publishBody({ value: '198.51.100.8', tlp: 'AMBER', circle: 'c2' })).entries).toHaveLength(1)
  })

  it('skipTlpViolations leaves the violating items out and stores the others, naming each skipped one as indicators[i].value', async () => {
    await foreign('c1', 'skip-held.example', 'AMBER')
    const r = await h.indicators.publishBody({ circle: 'c2', indicators: [{ value: 'fine-1.example' }, { value: 'skip-held.example' }, { value: 'fine-2.example' }] }, { skipTlpViolations: true })
    expect(r.count).toBe(2)
    expect(r.ids).toEqual([idOf('fine-1.example'), idOf('fine-2.example')])
    expect(r.skipped).toEqual([{ index: 1, code: 'PX_ERR_TLP_VIOLATION', field: 'indicators[1].value', message: expect.stringContaining('TLP:AMBER is never passed on') }])
    expect(h.indicators.lookup('skip-held.example').matches.map(m => m.origin)).not.toContain(h.me)
    // one object: the skipped one is on field value, and there is no id
    const one = await h.indicators.publishBody({ value: 'skip-held.example', circle: 'c2' }, { skipTlpViolations: true })
    expect(one).toMatchObject({ id: null, ids: [], entries: [], skipped: [{ index: 0, field: 'value' }] })
  })

  it('skipTlpViolations leaves a RED item bound for a circle out with its reason (tlp), the others stored', async () => {
    const r = await h.indicators.publishBody({ circle: 'c1', indicators: [{ value: 'red-skip-1.example', tlp: 'AMBER' }, { value: 'red-skip-2.example', tlp: 'RED' }] }, { skipTlpViolations: true })
    expect(r.ids).toEqual([idOf('red-skip-1.example')])
    expect(r.skipped).toEqual([{ index: 1, code: 'PX_ERR_TLP_VIOLATION', field: 'indicators[1].tlp', message: expect.stringContaining('TLP:RED never goes to a circle') }])
    expect(h.indicators.lookup('red-skip-2.example').found).toBe(false)
    // without it the call is refused whole
    expect(await refusal(async () => await h.indicators.publishBody({ circle: 'c1', indicators: [{ value: 'red-skip-3.example', tlp: 'AMBER' }, { value: 'red-skip-4.example', tlp: 'RED' }] }))).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'indicators[1].tlp' })
  })
})

describe('purgeExpired', () => {
  it('purges indicators whose validUntil is before expiredBefore (default now); their entries stay', async () => {
    await h.indicators.publishBody({ indicators: [
      { value: 'old-1.example', validFrom: '2020-01-01', validUntil: '2020-02-01' },
      { value: 'old-2.example', validFrom: '2020-01-01', validUntil: '2021-02-01' },
      { value: 'live.example', validUntil: '2999-01-01' },
      { value: 'forever.example' }
    ] })
    const early = await h.indicators.purgeExpired({ expiredBefore: '2021-01-01' })
    expect(early).toEqual({ scanned: 4, purged: 1, expiredBefore: '2021-01-01T00:00:00.000Z' })
    expect(h.indicators.lookup('old-1.example', undefined, { includeExpired: true }).found).toBe(false)
    expect(h.indicators.lookup('old-2.example', undefined, { includeExpired: true }).found).toBe(true)
    const t0 = new Date().toISOString()
    const now = await h.indicators.purgeExpired()
    expect(now).toMatchObject({ scanned: 3, purged: 1 })
    expect(now.expiredBefore >= t0).toBe(true)
    expect(h.indicators.lookup('live.example').found).toBe(true)
    expect(h.indicators.lookup('forever.example').found).toBe(true)
    expect(h.store.counts()).toMatchObject({ entries: 1, indicators: 2 })
  })

  it('runs one purge at a time: two at once purge an expired indicator once', async () => {
    await own({ value: 'once.example', validFrom: '2020-01-01', validUntil: '2020-02-01' })
    const [a, b] = await Promise.all([h.indicators.purgeExpired({}), h.indicators.purgeExpired(null)])
    expect([a.purged, b.purged]).toEqual([1, 0])
  })

  it('a bad body is PX_ERR_VALIDATION naming the field', async () => {
    expect(await refusal(async () => await h.indicators.purgeExpired({ before: '2020-01-01' }))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'before' })
    expect(await refusal(async () => await h.indicators.purgeExpired({ expiredBefore: 'yesterday' }))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'expiredBefore' })
    expect(await refusal(async () => await h.indicators.purgeExpired('2020-01-01'))).toMatchObject({ code: 'PX_ERR_VALIDATION', field: '' })
  })

  it('never purges a live indicator: a date after now is refused (expiredBefore), nothing removed', async () => {
    const id = await own({ value: 'still-valid.example', validUntil: '2999-01-01' })
    const err = await refusal(async () => await h.indicators.purgeExpired({ expiredBefore: '3000-01-01' }))
    expect(err).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'expiredBefore' })
    expect(err.message).toMatch(/in the future: a purge removes expired indicators only/)
    expect(h.indicators.getIndicator(id).value).toBe('still-valid.example')
  })
})
