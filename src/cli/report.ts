/**
 * `phalanx report …` and `phalanx reports`: share a report (incident or analysis) with a
 * circle, show one with its techniques named and its linked indicators with who sighted them,
 * update or revoke this node's own, list them. Every title, name and body a member wrote is
 * escaped (`t`, or escapeForTerminal keeping the body's own line breaks).
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { PhalanxError } from '../errors.js'
import { escapeForTerminal } from '../records/text.js'
import { connect, resolveDataDir } from './client.js'
import type { CliHelpers } from './transfer.js'

// what the API answers (the CLI reads it over HTTP; the types are the use case's own)
import type { ReportSummary, ReportView, TechniqueView } from '../operations/index.js'

interface ContentOptions {
  kind?: string
  title?: string
  body?: string
  bodyFile?: string
  attack?: string[]
  actor?: string[]
  malware?: string[]
  campaign?: string[]
  sector?: string[]
  reference?: string[]
  indicator?: string[]
  value?: string[]
  published?: string
  tlp?: string
}

/** the body of POST /v1/reports or PATCH /v1/reports/:id from the shared options (only those given) */
export function reportBody (o: ContentOptions): Record<string, unknown> {
  if (o.body !== undefined && o.bodyFile !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'give --body or --body-file, not both', { field: 'body-file' })
  const out: Record<string, unknown> = {}
  if (o.kind !== undefined) out.type = o.kind
  if (o.title !== undefined) out.title = o.title
  if (o.bodyFile !== undefined) {
    try {
      out.body = readFileSync(o.bodyFile === '-' ? 0 : o.bodyFile, 'utf8')
    } catch (err) {
      throw new PhalanxError('PX_ERR_VALIDATION', `cannot read ${o.bodyFile}: ${(err as Error).message}`, { field: 'body-file' })
    }
  } else if (o.body !== undefined) out.body = o.body
  const lists: Array<[keyof ContentOptions, string]> = [['attack', 'attack'], ['actor', 'actors'], ['malware', 'malware'], ['campaign', 'campaigns'], ['sector', 'sectors'], ['reference', 'references'], ['indicator', 'indicators'], ['value', 'values']]
  for (const [opt, field] of lists) if (o[opt] !== undefined) out[field] = o[opt]
  if (o.published !== undefined) out.published = o.published
  if (o.tlp !== undefined) out.tlp = o.tlp
  return out
}

function contentOptions (c: Command, collect: CliHelpers['collect'], update = false): Command {
  return c
    .option('--kind <kind>', update ? 'incident or analysis' : 'incident or analysis (default analysis)')
    .option('--body <markdown>', 'the body (Markdown)')
    .option('--body-file <file>', 'read the body from this file (- for stdin)')
    .option('--attack <id>', 'an ATT&CK technique id, e.g. T1566.002 (repeatable)', collect)
    .option('--actor <name>', 'a threat actor (repeatable)', collect)
    .option('--malware <name>', 'a malware family (repeatable)', collect)
    .option('--campaign <name>', 'a campaign (repeatable)', collect)
    .option('--sector <name>', 'a targeted sector (repeatable)', collect)
    .option('--reference <url>', 'a reference: URL or citation (repeatable)', collect)
    .option('--indicator <id>', 'an indicator id held in the circle it goes to (repeatable)', collect)
    .option('--value <value>', 'an indicator value held there, e.g. evil.example (repeatable)', collect)
    .option('--published <time>', update ? 'when it was published (ISO 8601)' : 'when it was published (ISO 8601; default: its version\'s time)')
    .option('--tlp <tlp>', update ? 'a new TLP (never looser than its linked indicators; never RED in a circle)' : 'TLP (default AMBER, or its strictest linked indicator; never looser than them; never RED in a circle)')
}

export function registerReportCommands (program: Command, { print, globals, collect, t }: CliHelpers): void {
  const who = (r: { org: string | null, publicKey: string, mine?: boolean }): string => r.mine === true ? 'this node' : r.org !== null ? t(r.org) : `${r.publicKey.slice(0, 16)}…`
  const block = (s: string): string => escapeForTerminal(s, { keepLines: true }).split('\n').map(l => `    ${l}`).join('\n')
  const technique = (x: TechniqueView): string => `${t(x.id)}${x.name !== null ? ` ${t(x.name)}` : ''}`
  const where = (r: { circle: string, circleName: string | null }): string => r.circle === 'local' ? 'the private scope' : `circle ${t(r.circleName ?? r.circle)}`

  const report = program.command('report')
    .description('share a report (incident or analysis: title, Markdown body, ATT&CK techniques, actors, linked indicators) with a circle; report show|update|revoke ID')

  contentOptions(report.command('create')
    .description('share a new report with a circle (without --circle: kept in the private scope)')
    .requiredOption('--title <title>', 'its title (one line)')
    .option('--circle <circle>', 'the circle (name or id) it goes to'), collect)
    .action(async (opts: ContentOptions & { circle?: string }, cmd: Command) => {
      const body = { ...reportBody(opts), ...(opts.circle !== undefined ? { circle: opts.circle } : {}) }
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, report: ReportView }>('POST', '/v1/reports', body)
      const v = r.report
      print(r, () => `report ${t(r.id)} ${v.circle === 'local' ? 'kept in the private scope' : `shared with ${where(v)}`} (TLP:${t(v.tlp)}): ${t(v.title ?? '')}\n` +
        `  ${v.techniques.length} technique(s), ${v.indicators.length} linked indicator(s)${v.circle === 'local' ? '' : '; every member gets it'}`)
    })

  report.command('show')
    .description('one report: its body, techniques (named once an ATT&CK bundle is imported), actors, linked indicators and their sightings')
    .argument('<id>', 'the report id (phalanx reports lists them)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<ReportView>('GET', `/v1/reports/${encodeURIComponent(id)}`)
      print(r, () => formatReport(r))
    })

  contentOptions(report.command('update')
    .description('a new version of this node\'s own report: the options given replace those fields (a list given anew replaces the list; --actor "" clears it), the rest stays')
    .argument('<id>', 'the report id')
    .option('--title <title>', 'its new title'), collect, true)
    .action(async (id: string, opts: ContentOptions, cmd: Command) => {
      const body = reportBody(opts)
      if (Object.keys(body).length === 0) throw new PhalanxError('PX_ERR_VALIDATION', 'give at least one field to change (e.g. --title, --body-file, --attack, --value)', { field: 'id' })
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, report: ReportView }>('PATCH', `/v1/reports/${encodeURIComponent(id)}`, body)
      print(r, () => `report ${t(r.id)} updated in ${where(r.report)}: ${t(r.report.title ?? '')}`)
    })

  report.command('revoke')
    .description('revoke this node\'s own report everywhere it went')
    .argument('<id>', 'the report id')
    .option('--reason <text>', 'why')
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string }>('POST', `/v1/reports/${encodeURIComponent(id)}/revoke`, opts.reason !== undefined ? { reason: opts.reason } : {})
      print(r, () => `report ${t(r.id)} revoked`)
    })

  program.command('reports')
    .description('the reports this node holds, newest first: id, time, org, TLP, kind, techniques, linked indicators, title')
    .option('--circle <circle>', 'of this circle (name or id; local: the private scope) only')
    .option('--attack <id>', 'naming this ATT&CK technique (or one of its sub-techniques)')
    .option('--actor <name>', 'naming this threat actor')
    .option('--include-revoked', 'revoked reports too')
    .action(async (opts: { circle?: string, attack?: string, actor?: string, includeRevoked?: boolean }, cmd: Command) => {
      const qs = new URLSearchParams()
      if (opts.circle !== undefined) qs.set('circle', opts.circle)
      if (opts.attack !== undefined) qs.set('attack', opts.attack)
      if (opts.actor !== undefined) qs.set('actor', opts.actor)
      if (opts.includeRevoked === true) qs.set('include_revoked', 'true')
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ reports: ReportSummary[] }>('GET', `/v1/reports${qs.size > 0 ? `?${qs.toString()}` : ''}`)
      print(r, () => r.reports.length === 0
        ? 'no reports'
        : r.reports.map(x => x.revoked !== undefined
          ? `${t(x.id)}  ${t(x.updated)}  ${who(x)}  ${where(x)}  REVOKED${x.revoked.reason !== undefined ? ` (${t(x.revoked.reason)})` : ''}`
          : `${t(x.id)}  ${t(x.updated)}  ${who(x)}  TLP:${t(x.tlp)}  ${t(x.type ?? '')}  ${x.techniques.map(y => t(y.id)).join(',') || '-'}  ${x.indicatorCount} ind.  ${t(x.title ?? '')}`).join('\n') +
          `\n${r.reports.length} report(s)`)
    })

  function formatReport (r: ReportView): string {
    if (r.revoked !== undefined) return `report ${t(r.id)}  REVOKED by ${who(r)} at ${t(r.revoked.at)}${r.revoked.reason !== undefined ? `: ${t(r.revoked.reason)}` : ''}`
    const names = (label: string, list: string[]): string[] => list.length > 0 ? [`  ${label}: ${list.map(t).join(', ')}`] : []
    const held = r.indicators.filter(i => i.held)
    return [
      `report ${t(r.id)}  ${t(r.type ?? '')}  TLP:${t(r.tlp)}`,
      `  ${t(r.title ?? '')}`,
      `  by ${who(r)} in ${where(r)}, ${r.published !== undefined ? `published ${t(r.published)}, ` : ''}updated ${t(r.updated)}`,
      ...(r.techniques.length > 0 ? ['  techniques:', ...r.techniques.map(x => `    ${technique(x)}${x.tactics.length > 0 ? `  (${x.tactics.map(t).join(', ')})` : ''}`)] : []),
      ...(r.techniques.some(x => x.name === null) ? ['    (names: phalanx import enterprise-attack.json --format attack)'] : []),
      ...names('actors', r.actors),
      ...names('malware', r.malware),
      ...names('campaigns', r.campaigns),
      ...names('sectors', r.sectors),
      ...(r.indicators.length > 0
        ? [`  linked indicators (${r.indicators.length}${held.length < r.indicators.length ? `, ${r.indicators.length - held.length} not received here yet` : ''}):`,
            ...r.indicators.map(i => i.held
              ? `    ${t(i.type ?? '').padEnd(7)} ${t(i.value ?? '')}  TLP:${t(i.tlp ?? '')}  ${i.org !== undefined && i.org !== null ? t(i.org) : `${(i.publicKey ?? '').slice(0, 16)}…`}${i.revoked === true ? '  REVOKED' : ''}${i.sighted !== undefined ? `  sighted by ${i.sighted.orgs} org(s)${Object.entries(i.sighted.byAction).filter(([, n]) => n > 0).map(([a, n]) => ` ${a} ${n}`).join(',')}` : ''}`
              : `    ${t(i.id)}  (not received here yet)`)]
        : []),
      ...(r.references.length > 0 ? ['  references:', ...r.references.map(x => `    ${t(x)}`)] : []),
      ...(r.body !== undefined ? ['', block(r.body)] : [])
    ].join('\n')
  }
}
