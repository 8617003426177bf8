/**
 * The Reports use case over a real store and a fixed membership view (this node is in c1 with
 * members B and C, and in c2): refusals name their field and store nothing; the label follows
 * the TLP policy (default AMBER or the strictest linked indicator, never looser than one, never
 * RED in a circle); a report links only live indicators held in its circle; updates replace
 * fields, a revocation empties it; the latest version wins whatever order versions arrive in;
 * a lookup names the reports that link the value; ATT&CK names come from what the operator kept.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeReportItem, reportId, type Item } from '../../../src/records/index.js'
import { openOps, refusal, type OpsHarness } from '../../utils/ops.js'
import { RemoteLog, randomKey } from '../../utils/store.js'

let h: OpsHarness
const B = randomKey()
const C = randomKey()
beforeEach(async () => {
  h = await openOps()
  h.circles.join('c1', [B.publicKeyHex, C.publicKeyHex])
  h.circles.join('c2')
})
afterEach(async () => { await h.close() })

describe('Reports.create: refusals name their field and store nothing', () => {
  it.each([
    [null, ''],
    [{ circle: 'c1', title: 't', extra: 1 }, 'extra'],
    [{ circle: 'nowhere', title: 't' }, 'circle'],
    [{ circle: 'c1' }, 'title'],
    [{ circle: 'c1', title: 'a\nb' }, 'title'],
    [{ circle: 'c1', title: 'x'.repeat(301) }, 'title'],
    [{ circle: 'c1', title: 't', type: 'rumour' }, 'type'],
    [{ circle: 'c1', title: 't', body: 'é'.repeat(16 * 1024 + 1) }, 'body'],
    [{ circle: 'c1', title: 't', body: 'bidi \u202e here' }, 'body'],
    [{ circle: 'c1', title: 't', attack: ['T1566', 'TA0001'] }, 'attack[1]'],
    [{ circle: 'c1', title: 't', attack: ['T15660'] }, 'attack[0]'],
    [{ circle: 'c1', title: 't', actors: ['ok', 'bad\u0007'] }, 'actors[1]'],
    [{ circle: 'c1', title: 't', malware: Array.from({ length: 51 }, (_, i) => `m${i}`) }, 'malware'],
    [{ circle: 'c1', title: 't', references: Array.from({ length: 21 }, (_, i) => `https://r${i}.example`) }, 'references'],
    [{ circle: 'c1', title: 't', tlp: 'PURPLE' }, 'tlp'],
    [{ circle: 'c1', title: 't', tlp: 'RED' }, 'tlp'],
    [{ circle: 'c1', title: 't', indicators: ['0'.repeat(32)] }, 'indicators[0]'],
    [{ circle: 'c1', title: 't', indicators: ['nope'] }, 'indicators[0]'],
    [{ circle: 'c1', title: 't', values: ['unknown.example'] }, 'values[0]'],
    [{ circle: 'c1', title: 't', values: [{ type: 'ipv4', value: 'not-an-ip' }] }, 'values[0].value'],
    [{ circle: 'c1', title: 't', published: 'yesterday' }, 'published'],
    [{ circle: 'c1', title: 't', nonce: 'ABC' }, 'nonce']
  ])('%j → %s', async (body, field) => {
    const err = await refusal(async () => await h.reports.create(body))
    expect(err.field).toBe(field)
    expect(h.store.counts().entries).toBe(0)
  })
})

describe('Reports: labels and links', () => {
  it('links only live indicators held in its circle (by id or value), and is never looser than the strictest of them there', async () => {
    const amber = (await h.indicators.publishBody({ type: 'domain', value: 'amber.example', tlp: 'AMBER', circle: 'c1' })).ids[0]
    const green = (await h.indicators.publishBody({ type: 'ipv4', value: '198.51.100.7', tlp: 'GREEN', circle: 'c1' })).ids[0]
    const elsewhere = (await h.indicators.publishBody({ type: 'domain', value: 'elsewhere.example', tlp: 'GREEN', circle: 'c2' })).ids[0]
    const before = h.store.counts().entries
    const notHere = await refusal(async () => await h.reports.create({ circle: 'c1', title: 't', indicators: [amber, elsewhere] }))
    expect({ code: notHere.code, field: notHere.field }).toEqual({ code: 'PX_ERR_VALIDATION', field: 'indicators[1]' })
    const byValue = await refusal(async () => await h.reports.create({ circle: 'c1', title: 't', values: ['elsewhere.example'] }))
    expect(byValue.field).toBe('values[0]')
    const clear = await refusal(async () => await h.reports.create({ circle: 'c1', title: 't', tlp: 'CLEAR', values: ['amber.example'] }))
    expect({ code: clear.code, field: clear.field }).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    expect(h.store.counts().entries).toBe(before)
    // without a label: AMBER (the stricter of the default and the linked)
    const ok = await h.reports.create({ circle: 'Circle c1', title: 'Phishing wave', values: ['AMBER.example', { type: 'ipv4', value: '198.51.100.7' }], indicators: [amber] })
    expect(ok.report).toMatchObject({ circle: 'c1', tlp: 'AMBER', mine: true, type: 'analysis' })
    expect(ok.report.indicators.map(i => i.id)).toEqual([amber, green].sort())
    // GREEN alone: may be GREEN when asked; unlabelled it is AMBER
    expect((await h.reports.create({ circle: 'c1', title: 'g', tlp: 'GREEN', indicators: [green] })).report.tlp).toBe('GREEN')
    // AMBER+STRICT linked: the default follows it
    const strict = (await h.indicators.publishBody({ type: 'domain', value: 'strict.example', tlp: 'AMBER+STRICT', circle: 'c1' })).ids[0]
    expect((await h.reports.create({ circle: 'c1', title: 's', indicators: [strict] })).report.tlp).toBe('AMBER+STRICT')
  })

  it('a revoked indicator is not linked; skipMissing leaves out what is not held and names it', async () => {
    const a = (await h.indicators.publishBody({ type: 'domain', value: 'a.example', tlp: 'GREEN', circle: 'c1' })).ids[0]
    const gone = (await h.indicators.publishBody({ type: 'domain', value: 'gone.example', tlp: 'GREEN', circle: 'c1' })).ids[0]
    await h.indicators.revoke(gone, 'fp')
    expect((await refusal(async () => await h.reports.create({ circle: 'c1', title: 't', indicators: [gone] }))).field).toBe('indicators[0]')
    const r = await h.reports.create({ circle: 'c1', title: 't', tlp: 'GREEN', values: ['a.example', 'gone.example', 'never.example'], skipMissing: true })
    expect(r.report.indicators.map(i => i.id)).toEqual([a])
    expect(r.missing).toEqual(['domain:gone.example', 'domain:never.example'])
  })

  it('the private scope holds a report of any label, RED included, linking private indicators', async () => {
    await h.indicators.publishBody({ type: 'domain', value: 'mine.example', tlp: 'RED' })
    const r = await h.reports.create({ title: 'notes', values: ['mine.example'] })
    expect(r.report).toMatchObject({ circle: 'local', tlp: 'RED' })
    expect((await refusal(async () => await h.reports.create({ title: 'loose', tlp: 'AMBER', values: ['mine.example'] }))).code).toBe('PX_ERR_TLP_VIOLATION')
  })
})

describe('Reports: versions', () => {
  it('an update replaces the fields given and keeps the rest; a revocation empties it and hides it from lists and lookups', async () => {
    const ind = (await h.indicators.publishBody({ type: 'domain', value: 'evil.example', tlp: 'AMBER', circle: 'c1' })).ids[0]
    const { id } = await h.reports.create({ circle: 'c1', kind: 'incident', title: 'v1', body: '# one', attack: ['t1566.002', 'T1566.002', 'T1204'], actors: ['TA505', 'ta505'], indicators: [ind] })
    let view = h.reports.get(id)
    expect(view).toMatchObject({ type: 'incident', title: 'v1', body: '# one', actors: ['TA505'] })
    expect(view.techniques.map(t => t.id)).toEqual(['T1204', 'T1566.002'])
    expect(h.indicators.lookup('evil.example').reports.map(r => r.id)).toEqual([id])
    await h.reports.update(id, { title: 'v2', actors: ['FIN7'], indicators: null })
    view = h.reports.get(id)
    expect(view).toMatchObject({ title: 'v2', body: '# one', actors: ['FIN7'], indicators: [] })
    expect(view.techniques.map(t => t.id)).toEqual(['T1204', 'T1566.002'])
    // no longer linked: the lookup no longer names it
    expect(h.indicators.lookup('evil.example').reports).toEqual([])
    await h.reports.update(id, { indicators: [ind] })
    expect(h.indicators.lookup('evil.example').reports.map(r => r.title)).toEqual(['v2'])
    await h.reports.revoke(id, { reason: 'duplicate' })
    expect(h.reports.get(id)).toMatchObject({ revoked: { reason: 'duplicate' }, indicators: [] })
    expect(h.reports.get(id).title).toBeUndefined()
    expect((await h.reports.list()).reports).toEqual([])
    expect((await h.reports.list({ includeRevoked: true })).reports.map(r => r.id)).toEqual([id])
    expect(h.indicators.lookup('evil.example').reports).toEqual([])
    expect((await refusal(async () => await h.reports.update(id, { title: 'v3' }))).code).toBe('PX_ERR_CONFLICT')
    expect((await refusal(async () => await h.reports.revoke(id))).code).toBe('PX_ERR_CONFLICT')
  })

  it('another organization\'s report is read, not changed (403); the same nonce again is a version of the same report', async () => {
    const b = new RemoteLog(B, 'c1')
    const nonce = 'ab'.repeat(16)
    await h.ingest.ingest(b.next([makeReportItem(nonce, { type: 'analysis', title: 'B says' })], { tlp: 'AMBER' }), 'sync')
    const theirs = reportId(B.publicKeyHex, nonce)
    expect(h.reports.get(theirs)).toMatchObject({ title: 'B says', mine: false, org: `org-${B.publicKeyHex.slice(0, 8)}` })
    expect((await refusal(async () => await h.reports.update(theirs, { title: 'x' }))).code).toBe('PX_ERR_FORBIDDEN')
    expect((await refusal(async () => await h.reports.revoke(theirs))).code).toBe('PX_ERR_FORBIDDEN')
    const a = await h.reports.create({ circle: 'c1', title: 'first', nonce })
    const again = await h.reports.create({ circle: 'c1', title: 'second', nonce })
    expect(again.id).toBe(a.id)
    expect(h.reports.get(a.id).title).toBe('second')
    // the same again (a re-import of an unchanged file): nothing new is signed
    const entries = h.store.counts().entries
    const same = await h.reports.create({ circle: 'c1', title: 'second', nonce })
    expect(same).toMatchObject({ id: a.id, unchanged: true, entry: again.entry })
    expect(h.store.counts().entries).toBe(entries)
    expect((await h.reports.create({ circle: 'c1', title: 'second', nonce, tlp: 'AMBER+STRICT' })).unchanged).toBeUndefined()
    expect((await refusal(async () => await h.reports.create({ circle: 'c2', title: 'moved', nonce }))).field).toBe('circle')
    expect((await h.reports.list({ circle: 'c1' })).reports.map(r => r.title).sort()).toEqual(['B says', 'second'])
  })

  it('the latest version is the report whatever order the versions arrive in, revocation included', async () => {
    const nonce = 'cd'.repeat(16)
    const versions: Item[][] = [
      [makeReportItem(nonce, { type: 'analysis', title: 'one', actors: ['A'] })],
      [makeReportItem(nonce, { type: 'incident', title: 'two', actors: ['B'] })],
      [{ kind: 'report', nonce, revoked: true, reason: 'gone' }],
      [makeReportItem(nonce, { type: 'incident', title: 'four (republished)' })]
    ]
    const t0 = Date.parse('2026-06-01T00:00:00.000Z')
    const log = new RemoteLog(B, 'c1')
    const entries = versions.map((items, i) => log.next(items, { tlp: 'GREEN', created: new Date(t0 + i * 1000).toISOString() }))
    const finals: unknown[] = []
    for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]]) {
      const o = await openOps()
      o.circles.join('c1', [B.publicKeyHex])
      try {
        for (const i of order) await o.ingest.ingest(entries[i], 'sync')
        const v = o.reports.get(reportId(B.publicKeyHex, nonce))
        finals.push({ title: v.title, type: v.type, actors: v.actors, revoked: v.revoked })
        // the revoked third version, alone up to it, is revoked everywhere
      } finally { await o.close() }
    }
    expect(finals).toEqual([finals[0], finals[0], finals[0]])
    expect(finals[0]).toEqual({ title: 'four (republished)', type: 'incident', actors: [], revoked: undefined })
  })
})

describe('Reports: lists and ATT&CK names', () => {
  it('lists filter by circle, technique (sub-techniques too) and actor; techniques are named once the operator kept ATT&CK', async () => {
    const one = await h.reports.create({ circle: 'c1', title: 'one', attack: ['T1566.002'], actors: ['TA505'] })
    await h.reports.create({ circle: 'c2', title: 'two', attack: ['T1204'] })
    expect((await h.reports.list({ attack: 't1566' })).reports.map(r => r.title)).toEqual(['one'])
    expect((await h.reports.list({ actor: 'ta505' })).reports.map(r => r.title)).toEqual(['one'])
    expect((await h.reports.list({ circle: 'c2' })).reports.map(r => r.title)).toEqual(['two'])
    expect((await refusal(async () => await h.reports.list({ attack: 'phishing' }))).field).toBe('attack')
    expect(h.reports.get(one.id).techniques).toEqual([{ id: 'T1566.002', name: null, tactics: [], url: 'https://attack.mitre.org/techniques/T1566/002/' }])
    expect(await h.reports.putAttack({ techniques: [{ id: 't1566.002', name: 'Spearphishing Link', tactics: ['initial-access'] }, { id: 'T1204', name: 'User Execution' }] })).toEqual({ stored: 2, total: 2 })
    expect(h.reports.get(one.id).techniques[0]).toMatchObject({ name: 'Spearphishing Link', tactics: ['initial-access'] })
    expect((await h.reports.attackInfo('T1204')).technique?.name).toBe('User Execution')
    for (const [body, field] of [[{ techniques: [{ id: 'TA0001', name: 'x' }] }, 'techniques[0].id'], [{ techniques: [{ id: 'T1204' }] }, 'techniques[0].name'], [{ techniques: [{ id: 'T1204', name: 'x', tactics: ['Initial Access'] }] }, 'techniques[0].tactics'], [{ techniques: 'x' }, 'techniques']] as const) {
      expect((await refusal(async () => await h.reports.putAttack(body))).field).toBe(field)
    }
    expect((await h.reports.attackInfo()).total).toBe(2)
  })
})
