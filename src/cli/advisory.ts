/**
 * `phalanx advisory …` and `phalanx advisories`: send an advisory to a circle, acknowledge
 * one, show who acknowledged it and who has not, list them. Every title, text and org name a
 * member chose is escaped (`t`, or escapeForTerminal keeping the text's own line breaks).
 *
 * `phalanx advisory "MESSAGE"`: without --text or --text-file the message is the text and its
 * first line the title (cut to 200 characters with "…"); with either, the message is the title.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { PhalanxError } from '../errors.js'
import { ADVISORY_LIMITS } from '../records/advisory.js'
import { escapeForTerminal } from '../records/text.js'
import { connect, resolveDataDir } from './client.js'
import type { CliHelpers } from './transfer.js'

// what the API answers (the CLI reads it over HTTP; the types are the use case's own)
import type { AdvisorySummary, AdvisoryView, OrgRef } from '../operations/index.js'

/** the title and text of `phalanx advisory MESSAGE` (see the header) */
export function titleAndText (message: string, text: string | undefined): { title: string, text?: string } {
  if (text !== undefined) return { title: message, text }
  const first = message.trim().split('\n')[0].trim()
  const title = first.length > ADVISORY_LIMITS.TITLE_MAX ? first.slice(0, ADVISORY_LIMITS.TITLE_MAX - 1).trimEnd() + '…' : first
  return title === message.trim() ? { title } : { title, text: message }
}

export function registerAdvisoryCommands (program: Command, { print, globals, collect, t }: CliHelpers): void {
  const who = (o: OrgRef): string => o.org !== null ? t(o.org) : `${o.publicKey.slice(0, 16)}…`
  const block = (s: string): string => escapeForTerminal(s, { keepLines: true }).split('\n').map(l => `  ${l}`).join('\n')

  const advisory = program.command('advisory')
    .description('send an advisory to a circle: every member gets it and acknowledges it (advisory ack ID); advisory show ID tells who has and who has not')
    .argument('[message...]', 'the advisory: its first line is the title, the whole the text (with --text or --text-file: the title)')
    .option('--circle <circle>', 'the circle (name or id) it goes to')
    .option('--tlp <tlp>', 'TLP (default AMBER; never RED; never looser than the indicators it names)')
    .option('--severity <level>', 'low, medium, high or critical')
    .option('--cve <id>', 'a CVE id it is about (repeatable)', collect)
    .option('--indicator <id>', 'an indicator id of that circle it names (repeatable)', collect)
    .option('--text <text>', 'the text (the message is then the title)')
    .option('--text-file <file>', 'read the text from this file (- for stdin)')
    .action(async (words: string[], opts: { circle?: string, tlp?: string, severity?: string, cve?: string[], indicator?: string[], text?: string, textFile?: string }, cmd: Command) => {
      if (words.length === 0) throw new PhalanxError('PX_ERR_VALIDATION', 'give the advisory\'s message: phalanx advisory --circle C "TITLE" (or advisory ack ID, advisory show ID)', { field: 'message' })
      if (opts.circle === undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'name the circle it goes to: --circle <name or id>', { field: 'circle' })
      if (opts.text !== undefined && opts.textFile !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'give --text or --text-file, not both', { field: 'text-file' })
      const text = opts.textFile !== undefined ? readFileSync(opts.textFile === '-' ? 0 : opts.textFile, 'utf8') : opts.text
      const body: Record<string, unknown> = { circle: opts.circle, ...titleAndText(words.join(' '), text) }
      if (opts.tlp !== undefined) body.tlp = opts.tlp
      if (opts.severity !== undefined) body.severity = opts.severity
      if (opts.cve !== undefined) body.cves = opts.cve
      if (opts.indicator !== undefined) body.indicators = opts.indicator
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, advisory: AdvisoryView }>('POST', '/v1/advisories', body)
      const a = r.advisory
      print(r, () => `advisory ${t(r.id)} sent to circle ${t(a.circleName ?? a.circle)} (TLP:${t(a.tlp)}): ${t(a.title)}\n` +
        (a.pending.length === 0 ? '  no other member to acknowledge it' : `  ${a.pending.length} member(s) to acknowledge it: ${a.pending.map(who).join(', ')}`))
    })

  advisory.command('ack')
    .description('acknowledge a member\'s advisory (a signed ack its author sees)')
    .argument('<id>', 'the advisory id (phalanx advisories lists them)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ advisory: string }>('POST', `/v1/advisories/${encodeURIComponent(id)}/ack`, {})
      print(r, () => `acknowledged advisory ${t(r.advisory)}`)
    })

  advisory.command('show')
    .description('one advisory: its text, who acknowledged it and who has not yet')
    .argument('<id>', 'the advisory id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const a = await client.request<AdvisoryView>('GET', `/v1/advisories/${encodeURIComponent(id)}`)
      print(a, () => [
        `advisory ${t(a.id)}  TLP:${t(a.tlp)}${a.severity !== undefined ? `  severity ${t(a.severity)}` : ''}`,
        `  from ${a.mine ? 'this node' : who(a)} at ${t(a.created)} to circle ${t(a.circleName ?? a.circle)}`,
        `  ${t(a.title)}`,
        ...(a.text !== a.title ? [block(a.text)] : []),
        ...(a.cves.length > 0 ? [`  CVEs: ${a.cves.map(t).join(', ')}`] : []),
        ...(a.indicators.length > 0 ? [`  indicators: ${a.indicators.map(t).join(', ')}`] : []),
        `acknowledged by ${a.acks.length} of ${a.acks.length + a.pending.length}${a.acks.length > 0 ? ':' : ''}`,
        ...a.acks.map(k => `  ${who(k)} at ${t(k.at)}`),
        ...(a.pending.length > 0 ? [`not yet: ${a.pending.map(who).join(', ')}`] : []),
        ...(!a.mine && !a.ackedByMe ? [`(phalanx advisory ack ${t(a.id)} acknowledges it)`] : [])
      ].join('\n'))
    })

  program.command('advisories')
    .description('the advisories this node holds, newest first: id, time, org, TLP, acknowledged of expected, title')
    .option('--circle <circle>', 'of this circle (name or id) only')
    .action(async (opts: { circle?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ advisories: AdvisorySummary[] }>('GET', `/v1/advisories${opts.circle !== undefined ? `?circle=${encodeURIComponent(opts.circle)}` : ''}`)
      print(r, () => r.advisories.length === 0
        ? 'no advisories'
        : r.advisories.map(a => `${t(a.id)}  ${t(a.created)}  ${a.mine ? '(this node)' : who(a)}  TLP:${t(a.tlp)}  acks ${a.acked}/${a.expected}${a.ackedByMe ? ' (acked)' : ''}  ${t(a.title)}`).join('\n'))
    })
}
