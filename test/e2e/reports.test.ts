/**
 * Reports (issue 16, part 1) with real nodes. Circle X holds A, B and C; circle Y holds A and
 * O, who is not in X. A's report with linked indicators reaches B and C by gossip — C, stopped
 * while A shares it, by sync on return — and O, connected to A through Y, never holds it. A
 * report naming an AMBER indicator cannot be CLEAR. B's lookup of a linked value names the
 * report; its stream tells it. A's update reaches everyone, and its revocation makes the report
 * disappear everywhere (lists, lookups). The CLI shares one, shows it with the technique names
 * from an imported ATT&CK bundle, and a lookup names it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PhalanxNode } from '../../src/node.js'
import { reportOf } from '../../src/store/index.js'
import { cluster } from '../utils/cluster.js'
import { apiCall } from '../utils/node.js'
import type { StreamEvent } from '../../src/cli/watch.js'
import { followStream, runCli } from '../utils/cli.js'
import { until } from '../utils/wait.js'
import type { TestNode } from '../utils/node.js'

const c = cluster()
const ATTACK = fileURLToPath(new URL('../fixtures/attack-mini.json', import.meta.url))
const STIX_REPORT = fileURLToPath(new URL('../fixtures/stix-threat-report.json', import.meta.url))
const MISP_GALAXIES = fileURLToPath(new URL('../fixtures/misp-galaxies.json', import.meta.url))

const cli = runCli
const restarted: PhalanxNode[] = []
const streams: AbortController[] = []
afterAll(async () => {
  for (const s of streams) s.abort()
  for (const n of restarted) await n.stop()
})

const follow = async (n: TestNode, kinds: string): Promise<StreamEvent[]> => await followStream(n, streams, { query: `events=${kinds}` })

describe('reports across circles', () => {
  let a: TestNode, b: TestNode, cc: TestNode, o: TestNode
  let X: string, Y: string
  let cNode: PhalanxNode | undefined

  beforeAll(async () => {
    [a, b, cc, o] = await Promise.all([c.start('Org A'), c.start('Org B'), c.start('Org C'), c.start('Org O')])
    X = (await a.api('/v1/circles', { json: { name: 'X' } })).body.id
    Y = (await a.api('/v1/circles', { json: { name: 'Y' } })).body.id
    for (const [circle, joiner] of [[X, b], [X, cc], [Y, o]] as const) {
      const code = (await a.api(`/v1/circles/${circle}/invites`, { json: {} })).body.code
      const j = await joiner.api('/v1/circles/join', { json: { code } })
      expect(j.status, j.text).toBe(200)
    }
    await until('topics meshed', () => a.node.network!.topicPeers(X) >= 2 && b.node.network!.topicPeers(X) >= 1 &&
      cc.node.network!.topicPeers(X) >= 1 && o.node.network!.topicPeers(Y) >= 1, 30_000, 100)
  }, 90_000)

  it('reaches every member with its linked indicators (an offline one by sync), never O; a lookup and the stream name it; a revocation takes it away everywhere', async () => {
    const bStream = await follow(b, 'report')
    const amber = await a.api('/v1/indicators', { json: { type: 'domain', value: 'phish-login.example', tlp: 'AMBER', circle: X } })
    const green = await a.api('/v1/indicators', { json: { type: 'ipv4', value: '198.51.100.23', tlp: 'GREEN', circle: X } })
    expect(amber.status, amber.text).toBe(201)
    // C is offline while A shares the report
    const cConfig = cc.node.config
    await cc.node.stop()

    const clear = await a.api('/v1/reports', { json: { circle: 'X', title: 'too loose', tlp: 'CLEAR', indicators: [amber.body.id] } })
    expect(clear.status).toBe(403)
    expect(clear.body.error).toMatchObject({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })

    const sent = await a.api('/v1/reports', {
      json: { circle: 'X', kind: 'incident', title: 'Phishing wave vs EU banks', body: '## Summary\nCredential phishing.', attack: ['T1566.002', 'T1204.001'], actors: ['TA505'], values: ['phish-login.example', '198.51.100.23'] }
    })
    expect(sent.status, sent.text).toBe(201)
    const id = sent.body.id as string
    expect(sent.body.report).toMatchObject({ circle: X, tlp: 'AMBER', type: 'incident', mine: true })

    await until('B holds it', () => reportOf(b.node.store, id) !== undefined, 20_000, 20)
    const atB = (await b.api(`/v1/reports/${id}`)).body
    expect(atB).toMatchObject({ id, org: 'Org A', mine: false, tlp: 'AMBER', title: 'Phishing wave vs EU banks', body: '## Summary\nCredential phishing.', actors: ['TA505'] })
    expect(atB.techniques.map((t: any) => t.id)).toEqual(['T1204.001', 'T1566.002'])
    expect(atB.indicators.map((i: any) => [i.value, i.held, i.tlp]).sort()).toEqual([['198.51.100.23', true, 'GREEN'], ['phish-login.example', true, 'AMBER']])
    const look = (await b.api('/v1/lookup?value=phish-login.example')).body
    expect(look.reports).toEqual([{ id, title: 'Phishing wave vs EU banks', type: 'incident', tlp: 'AMBER', circle: X, circleName: 'X', publicKey: a.node.identity.publicKey, org: 'Org A' }])
    await until('B\'s stream told it', () => bStream.length >= 1, 20_000, 20)
    expect(bStream[0].event).toBe('report')
    expect(JSON.parse(bStream[0].data)).toMatchObject({ id, title: 'Phishing wave vs EU banks', org: 'Org A', update: false })

    // C gets it by sync on return
    cNode = new PhalanxNode(cConfig)
    restarted.push(cNode)
    await cNode.start()
    await until('C has it after sync', () => reportOf(cNode!.store, id) !== undefined, 30_000, 50)
    const atC = await apiCall(cNode.apiUrl!, cNode.token, `/v1/reports/${id}`)
    expect(atC.body.indicators.every((i: any) => i.held === true)).toBe(true)

    // O, in Y with A, never hears of it: A's later publish in Y reaches O, the report did not
    const marker = await a.api('/v1/indicators', { json: { type: 'domain', value: 'marker-reports-y.example', tlp: 'CLEAR', circle: Y } })
    await until('O holds A\'s later publish in Y', () => o.node.store.getIndicator(marker.body.id) !== undefined, 20_000, 50)
    expect(reportOf(o.node.store, id)).toBeUndefined()
    expect((await o.api('/v1/reports')).body.reports).toEqual([])
    expect((await o.api(`/v1/reports/${id}`)).status).toBe(404)

    // an update reaches B and C
    const upd = await a.api(`/v1/reports/${id}`, { method: 'PATCH', json: { title: 'Phishing wave vs EU banks (update 1)', actors: ['TA505', 'FIN7'] } })
    expect(upd.status, upd.text).toBe(200)
    await until('B and C hold the update', () => reportOf(b.node.store, id)?.created === upd.body.report.updated && reportOf(cNode!.store, id)?.created === upd.body.report.updated, 20_000, 20)
    expect((await b.api(`/v1/reports/${id}`)).body).toMatchObject({ title: 'Phishing wave vs EU banks (update 1)', actors: ['FIN7', 'TA505'] })
    // B may not change A's report
    expect((await b.api(`/v1/reports/${id}/revoke`, { method: 'POST', json: {} })).status).toBe(403)

    // revoked: gone from every list and lookup
    const rev = await a.api(`/v1/reports/${id}/revoke`, { method: 'POST', json: { reason: 'merged into a later report' } })
    expect(rev.status, rev.text).toBe(200)
    await until('B and C hold the revocation', () => reportOf(b.node.store, id)?.revoked !== undefined && reportOf(cNode!.store, id)?.revoked !== undefined, 20_000, 20)
    for (const call of [async (p: string) => await b.api(p), async (p: string) => await apiCall(cNode!.apiUrl!, cNode!.token, p), async (p: string) => await a.api(p)]) {
      expect((await call('/v1/reports')).body.reports.map((r: any) => r.id)).not.toContain(id)
      expect((await call('/v1/lookup?value=phish-login.example')).body.reports).toEqual([])
      expect((await call(`/v1/reports/${id}`)).body).toMatchObject({ id, revoked: { reason: 'merged into a later report' } })
    }
    expect(green.status).toBe(201)
  })

  it('the CLI: report create, reports, report show with ATT&CK names once imported, lookup names the report', async () => {
    expect((await a.api('/v1/indicators', { json: { type: 'domain', value: 'cli-report.example', tlp: 'GREEN', circle: X } })).status).toBe(201)
    const md = join(a.dataDir, 'report.md')
    writeFileSync(md, '# Findings\n\nThe link leads to a fake login page.\n')
    const made = await cli(a, ['report', 'create', '--circle', 'X', '--kind', 'analysis', '--title', 'Fake login pages', '--body-file', md, '--attack', 't1566.002', '--actor', 'TA505', '--value', 'cli-report.example', '--tlp', 'GREEN'])
    expect(made.code, made.stderr).toBe(0)
    const id = /^report ([0-9a-f]{32}) shared with circle X \(TLP:GREEN\): Fake login pages$/m.exec(made.stdout)?.[1]
    expect(id, made.stdout).toBeDefined()
    await until('B holds it', () => reportOf(b.node.store, id!) !== undefined, 20_000, 20)
    const bare = await cli(b, ['report', 'show', id!])
    expect(bare.stdout).toMatch(/techniques:\n {4}T1566\.002\n/)
    const imported = await cli(b, ['import', ATTACK, '--format', 'attack'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toContain('kept 4 ATT&CK technique names (1 deprecated or revoked)')
    const show = await cli(b, ['report', 'show', id!])
    expect(show.stdout).toContain('T1566.002 Spearphishing Link  (initial-access)')
    expect(show.stdout).toContain('by Org A in circle X')
    expect(show.stdout).toContain('actors: TA505')
    expect(show.stdout).toMatch(/domain +cli-report\.example +TLP:GREEN +Org A/)
    expect(show.stdout).toContain('    The link leads to a fake login page.')
    const list = await cli(b, ['reports', '--attack', 'T1566'])
    expect(list.stdout).toMatch(new RegExp(`^${id}  \\S+  Org A  TLP:GREEN  analysis  T1566\\.002  1 ind\\.  Fake login pages$`, 'm'))
    const lookup = await cli(b, ['lookup', 'cli-report.example'])
    expect(lookup.stdout).toContain(`in reports:\n    Fake login pages (Org A, TLP:GREEN)  report ${id}`)
    const bad = await cli(a, ['report', 'create', '--circle', 'X', '--title', 't', '--attack', 'phishing'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('attack[0]')
  })

  it('imports bring reports along: an OASIS-style STIX threat report and a MISP event with galaxies, imported into a circle, reach its members with their techniques and linked indicators', async () => {
    const stix = await cli(a, ['import', STIX_REPORT, '--format', 'stix', '--circle', 'X', '--json'])
    expect(stix.code, stix.stderr).toBe(0)
    const stixSummary = JSON.parse(stix.stdout)
    // the fixture's note names only the threat actor: not an indicator, skipped as such
    expect(stixSummary).toMatchObject({ reports: 1, reportLinksMissing: 0, skipped: 1, reasons: { 'note: not an indicator, and not linked to an imported one': 1 } })
    const misp = await cli(a, ['import', MISP_GALAXIES, '--format', 'misp', '--circle', 'X', '--json'])
    expect(misp.code, misp.stderr).toBe(0)
    expect(JSON.parse(misp.stdout).reports).toBeGreaterThanOrEqual(1)
    const mine = (await a.api('/v1/reports?circle=X')).body.reports.filter((r: any) => r.title === 'APT Example targets banks with spearphishing')
    expect(mine).toHaveLength(1)
    const id = mine[0].id as string
    await until('B holds the imported report', () => reportOf(b.node.store, id) !== undefined, 20_000, 20)
    const atB = (await b.api(`/v1/reports/${id}`)).body
    expect(atB.techniques.map((t: any) => t.id)).toContain('T1566.002')
    expect(atB.actors).toContain('APT Example')
    expect(atB.malware).toContain('X-Agent')
    expect(atB.indicators.length).toBeGreaterThan(0)
    expect(atB.indicators.every((i: any) => i.held === true)).toBe(true)
    // a MISP event's report too, with its galaxies
    const title = 'OSINT - Phalanx test campaign against banks'
    await until('B holds the MISP event\'s report', async () => (await b.api('/v1/reports?circle=X')).body.reports.some((r: any) => r.title === title), 20_000, 50)
    const mispId = (await b.api('/v1/reports?circle=X')).body.reports.find((r: any) => r.title === title).id
    const fromMisp = (await b.api(`/v1/reports/${mispId}`)).body
    expect(fromMisp).toMatchObject({ type: 'analysis', tlp: 'GREEN', org: 'Org A', actors: ['APT28', 'Sofacy'], sectors: ['Finance'] })
    expect(fromMisp.techniques.map((t: any) => t.id)).toEqual(['T1059', 'T1566.002'])
    expect(fromMisp.indicators.length).toBeGreaterThan(0)
  })
})
