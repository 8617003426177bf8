/**
 * The Advisories use case over a real store and a fixed membership view (this node is in c1
 * with members B and C, and in c2): each refusal names its field and stores nothing; the
 * labels follow the TLP policy (default AMBER, never RED, never looser than a named indicator
 * held in the circle); acks come back as who acknowledged and who has not.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeIndicatorItem } from '../../../src/records/index.js'
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

describe('Advisories.publish: refusals name their field and store nothing', () => {
  it.each([
    [null, ''],
    [{ circle: 'c1', title: 't', extra: 1 }, 'extra'],
    [{ title: 't' }, 'circle'],
    [{ circle: 'nowhere', title: 't' }, 'circle'],
    [{ circle: 'c1' }, 'title'],
    [{ circle: 'c1', title: 'a\nb' }, 'title'],
    [{ circle: 'c1', title: 'x'.repeat(201) }, 'title'],
    [{ circle: 'c1', title: 't', text: 'x'.repeat(4097) }, 'text'],
    [{ circle: 'c1', title: 't', tlp: 'PURPLE' }, 'tlp'],
    [{ circle: 'c1', title: 't', tlp: 'RED' }, 'tlp'],
    [{ circle: 'c1', title: 't', severity: 'urgent' }, 'severity'],
    [{ circle: 'c1', title: 't', cves: ['CVE-2026-1234', 'CVE-26-1'] }, 'cves[1]'],
    [{ circle: 'c1', title: 't', cves: 'CVE-2026-1234' }, 'cves'],
    [{ circle: 'c1', title: 't', indicators: ['0'.repeat(32)] }, 'indicators[0]'],
    [{ circle: 'c1', title: 't', indicators: ['nope'] }, 'indicators[0]']
  ])('%j → %s', async (body, field) => {
    const err = await refusal(async () => await h.advisories.publish(body))
    expect(err.field).toBe(field)
    expect(h.store.counts().entries).toBe(0)
  })

  it('a linked indicator must be held in that circle (indicators[i]), and the advisory is never looser than it', async () => {
    const pub = await h.indicators.publishBody({ type: 'domain', value: 'amber.example', tlp: 'AMBER', circle: 'c1' })
    const amber = pub.ids[0]
    const other = await h.indicators.publishBody({ type: 'domain', value: 'elsewhere.example', tlp: 'GREEN', circle: 'c2' })
    const before = h.store.counts().entries
    const notHere = await refusal(async () => await h.advisories.publish({ circle: 'c1', title: 't', indicators: [amber, other.ids[0]] }))
    expect({ code: notHere.code, field: notHere.field }).toEqual({ code: 'PX_ERR_VALIDATION', field: 'indicators[1]' })
    const looser = await refusal(async () => await h.advisories.publish({ circle: 'c1', title: 't', tlp: 'GREEN', indicators: [amber] }))
    expect({ code: looser.code, field: looser.field }).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
    expect(h.store.counts().entries).toBe(before)
    const ok = await h.advisories.publish({ circle: 'Circle c1', title: 't', indicators: [amber, amber], cves: ['cve-2026-1234'], severity: 'critical' })
    expect(ok.advisory).toMatchObject({ circle: 'c1', tlp: 'AMBER', indicators: [amber], cves: ['CVE-2026-1234'], severity: 'critical', text: 't', mine: true })
  })
})

describe('Advisories: acks', () => {
  it('an own advisory lists every other current member as pending until it acks; a member\'s ack moves it to acks', async () => {
    const { id, advisory } = await h.advisories.publish({ circle: 'c1', title: 'Patch now', text: 'CVE-2026-1234 is exploited' })
    expect(advisory.acks).toEqual([])
    expect(advisory.pending.map(p => p.publicKey).sort()).toEqual([B.publicKeyHex, C.publicKeyHex].sort())
    const b = new RemoteLog(B, 'c1')
    await h.ingest.ingest(b.next([{ kind: 'ack', advisory: id }], { tlp: 'AMBER' }), 'sync')
    const after = await h.advisories.get(id)
    expect(after.acks.map(a => ({ publicKey: a.publicKey, org: a.org }))).toEqual([{ publicKey: B.publicKeyHex, org: `org-${B.publicKeyHex.slice(0, 8)}` }])
    expect(after.pending.map(p => p.publicKey)).toEqual([C.publicKeyHex])
    const list = await h.advisories.list('c1')
    expect(list.advisories.map(a => ({ id: a.id, acked: a.acked, expected: a.expected }))).toEqual([{ id, acked: 1, expected: 2 }])
    expect((await h.advisories.list('c2')).advisories).toEqual([])
  })

  it('refuses: an unknown id (404), a malformed one (400), one\'s own advisory (409), twice (409), a circle this node is not in (403)', async () => {
    expect((await refusal(async () => await h.advisories.ack('0'.repeat(32)))).code).toBe('PX_ERR_NOT_FOUND')
    expect((await refusal(async () => await h.advisories.ack('nope'))).field).toBe('id')
    const own = await h.advisories.publish({ circle: 'c1', title: 'mine' })
    expect((await refusal(async () => await h.advisories.ack(own.id))).code).toBe('PX_ERR_CONFLICT')

    const author = new RemoteLog(B, 'c1')
    const nonce = '77'.repeat(16)
    await h.ingest.ingest(author.next([{ kind: 'advisory', nonce, title: 'theirs', text: 'theirs' }], { tlp: 'AMBER' }), 'sync')
    const theirs = (await h.advisories.list('c1')).advisories.find(a => a.title === 'theirs')!
    const res = await h.advisories.ack(theirs.id)
    expect(res.entry).toMatchObject({ circle: 'c1' })
    expect(h.store.getEntry('c1', h.me, res.entry.seq)?.tlp).toBe('AMBER')
    expect((await h.advisories.get(theirs.id)).ackedByMe).toBe(true)
    expect((await refusal(async () => await h.advisories.ack(theirs.id))).code).toBe('PX_ERR_CONFLICT')

    const gone = new RemoteLog(C, 'c3')
    await h.ingest.ingest(gone.next([{ kind: 'advisory', nonce, title: 'elsewhere', text: 'x' }], { tlp: 'AMBER' }), 'sync')
    const err = await refusal(async () => await h.advisories.ack((await h.advisories.list()).advisories.find(a => a.title === 'elsewhere')!.id))
    expect(err.code).toBe('PX_ERR_NOT_MEMBER')
  })

  it('an advisory with no label is AMBER, and its acks carry its label', async () => {
    const { advisory } = await h.advisories.publish({ circle: 'c1', title: 'default label' })
    expect(advisory.tlp).toBe('AMBER')
    const author = new RemoteLog(C, 'c1')
    await h.ingest.ingest(author.next([makeIndicatorItem({ type: 'domain', value: 'c.example', confidence: 50, tags: [] })], { tlp: 'CLEAR' }), 'sync')
    await h.ingest.ingest(author.next([{ kind: 'advisory', nonce: '66'.repeat(16), title: 'clear one', text: 'x' }], { tlp: 'CLEAR' }), 'sync')
    const clear = (await h.advisories.list()).advisories.find(a => a.title === 'clear one')!
    const res = await h.advisories.ack(clear.id)
    expect(h.store.getEntry('c1', h.me, res.entry.seq)?.tlp).toBe('CLEAR')
  })
})
