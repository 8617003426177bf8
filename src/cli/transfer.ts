/**
 * `phalanx import` and `phalanx export`: files in and out, streamed. An import from a file
 * reads it twice: once to validate every row (a malformed file imports nothing), then to
 * send the good rows in batches; `--dry-run` stops after the first. A progress bar shows on
 * a terminal (stderr), and nothing when stderr is not one. An export is the node's
 * (GET /v1/export/indicators), copied to stdout as it arrives.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs'
import type { Readable } from 'node:stream'
import type { Command } from 'commander'
import { PhalanxError, isPhalanxError } from '../errors.js'
// the format names only: the parsers, writers, importer and progress bar load when an
// import or export runs (every CLI command registers these, most never use them)
import { BLOCKLIST_FORMATS, EXPORT_FORMATS, IMPORT_FORMATS, type ImportFormat } from '../interop/formats.js'
import type { TaxiiProgress, ReportRowInput } from '../interop/index.js'
import type { ImportSummary } from '../operations/import.js'
import { indicatorId, isIndicatorType, normalizeValue } from '../records/index.js'
import { connect, resolveDataDir } from './client.js'

/** a STIX file larger than this is streamed (read twice: index, then rows) instead of parsed whole */
const STREAM_STIX_BYTES = 64 * 1024 * 1024

export interface CliHelpers {
  print: (obj: unknown, human: () => string) => void
  globals: (cmd: Command) => { data?: string, json?: boolean }
  collect: (v: string, prev?: string[]) => string[]
  intArg: (name: string) => (v: string) => number
  /** a text from the node (a name, an org, a tag, a value, a message) as one safe piece of a line */
  t: (s: unknown) => string
}

/** what `import` reads: the file formats, and a TAXII collection (its URL in place of the file) */
const IMPORT_SOURCES = [...IMPORT_FORMATS, 'taxii', 'attack'] as const
/** techniques per POST /v1/attack (the node takes up to 5,000) */
const MAX_ATTACK_PER_CALL = 2000

/** what a skipped row's number counts: a line of a text or CSV file, a STIX object, a MISP attribute */
function rowUnit (format: string): string {
  return format === 'stix' || format === 'taxii' ? 'object' : format === 'misp' ? 'attribute' : 'line'
}

function summaryText (s: ImportSummary, file: string, unit = 'line'): string {
  const reasons = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]).map(([r, n]) => `\n  ${n}  ${r}`).join('')
  const dropped = Object.entries(s.dropped).sort((a, b) => b[1] - a[1])
  const droppedText = dropped.length === 0 ? '' : `\ndropped ${dropped.reduce((n, [, k]) => n + k, 0)} field(s) of imported rows (not display-safe):${dropped.map(([r, n]) => `\n  ${n}  ${r}`).join('')}`
  const context = Object.entries(s.context).sort((a, b) => b[1] - a[1])
  const kept = context.reduce((n, [, k]) => n + k, 0)
  const extra = [
    ...(s.revoked > 0 ? [`${s.dryRun ? 'would revoke' : 'revoked'} ${s.revoked}`] : []),
    ...(kept > 0 ? [`kept as context ${kept} (${context.map(([k, n]) => `${k} ${n}`).join(', ')})`] : []),
    ...(s.reports > 0 ? [`${s.dryRun ? 'would share' : 'shared'} ${s.reports} report${s.reports === 1 ? '' : 's'}${s.reportsUnchanged > 0 ? ` (${s.reportsUnchanged} unchanged)` : ''}${s.reportLinksMissing > 0 ? ` (${s.reportLinksMissing} linked value${s.reportLinksMissing === 1 ? '' : 's'} not imported, left out)` : ''}`] : [])
  ].map(x => `, ${x}`).join('')
  const lines = s.skippedLines.length === 0 ? '' : `\nskipped rows${s.skipped > s.skippedLines.length ? ` (the first ${s.skippedLines.length})` : ''}:${s.skippedLines.map(l => `\n  ${unit} ${l.line}: ${l.reason}`).join('')}`
  return `${s.dryRun ? 'dry run (nothing stored): ' : ''}${file}: read ${s.read}, ${s.dryRun ? 'would import' : 'imported'} ${s.imported}, skipped ${s.skipped}${extra}${reasons}${lines}${droppedText}`
}

/** the filters of `query` and `export` (GET /v1/indicators parameters) */
export function filterOptions (c: Command): Command {
  return c
    .option('--type <type>', 'indicator type')
    .option('--tag <tag>', 'a tag')
    .option('--tlp <list>', 'comma-separated TLP labels')
    .option('--origin <key>', 'origin public key')
    .option('--circle <id>', 'circle id')
    .option('--since <time>', 'stored at or after (ISO 8601)')
    .option('--until <time>', 'stored at or before (ISO 8601)')
    .option('--include-revoked', 'include revoked')
    .option('--include-expired', 'include expired')
}

export function registerTransferCommands (program: Command, h: CliHelpers): void {
  /** `import FILE --format attack`: the technique names of an ATT&CK STIX bundle, kept by the node (local, never shared) */
  const importAttack = async (file: string, opts: Record<string, unknown>, cmd: Command): Promise<void> => {
    const other = ['type', 'tlp', 'confidence', 'tag', 'circle', 'user', 'passwordFile', 'addedAfter'].find(k => opts[k] !== undefined)
    if (other !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', `--format attack imports technique names only: --${other.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} does not apply`, { field: other })
    let input: Readable
    try {
      input = file === '-' ? process.stdin : createReadStream(file)
      if (file !== '-') statSync(file)
    } catch (err) {
      throw new PhalanxError('PX_ERR_VALIDATION', `cannot read ${file}: ${(err as Error).message}`, { field: 'file' })
    }
    const { attackTechniques, readJsonDocument } = await import('../interop/index.js')
    const techniques = attackTechniques(await readJsonDocument(input))
    const deprecated = techniques.filter(x => x.deprecated === true).length
    if (opts.dryRun === true) {
      h.print({ file, format: 'attack', dryRun: true, techniques: techniques.length, deprecated }, () => `dry run (nothing stored): ${file}: ${techniques.length} ATT&CK techniques (${deprecated} deprecated or revoked)`)
      return
    }
    const client = connect(resolveDataDir(h.globals(cmd).data))
    let total = 0
    for (let i = 0; i < techniques.length; i += MAX_ATTACK_PER_CALL) {
      total = (await client.request<{ stored: number, total: number }>('POST', '/v1/attack', { techniques: techniques.slice(i, i + MAX_ATTACK_PER_CALL) })).total
    }
    h.print({ file, format: 'attack', techniques: techniques.length, deprecated, total }, () => `${file}: kept ${techniques.length} ATT&CK technique names (${deprecated} deprecated or revoked); the node names ${total} in all. Reports now show them (phalanx report show ID).`)
  }

  program.command('import')
    .description('import indicators from a file (or - for stdin): text (a value per line, # comments, ipsum "value<TAB>count"), csv (a header names the columns), misp (event JSON) or stix (a STIX 2.1 bundle, its reports shared after their indicators); or from a TAXII 2.1 collection (--format taxii, FILE is the collection URL); or ATT&CK technique names (--format attack, FILE an ATT&CK STIX bundle such as enterprise-attack.json: kept locally, shown in reports)')
    .argument('<file>', 'the file, - for stdin, or a TAXII collection URL')
    .requiredOption('--format <format>', `one of ${IMPORT_SOURCES.join(', ')}`)
    .option('--type <type>', 'type of rows that do not name one (default: detected from the value)')
    .option('--tlp <tlp>', 'TLP of rows that do not name one')
    .option('--confidence <n>', 'confidence of rows that do not name one', h.intArg('confidence'))
    .option('--tag <tag>', 'tag added to every row (repeatable)', h.collect)
    .option('--circle <id>', 'target circle (default: the private scope)')
    .option('--dry-run', 'validate and count, store nothing')
    .option('--user <name>', 'taxii: the user name for HTTP Basic (the password comes from PHALANX_TAXII_PASSWORD or --password-file)')
    .option('--password-file <file>', 'taxii: a file holding the password')
    .option('--added-after <time>', 'taxii: only objects added after this TAXII timestamp (what the last pull printed)')
    .action(async (file: string, opts: { format: string, type?: string, tlp?: string, confidence?: number, tag?: string[], circle?: string, dryRun?: boolean, user?: string, passwordFile?: string, addedAfter?: string }, cmd: Command) => {
      if (!(IMPORT_SOURCES as readonly string[]).includes(opts.format)) throw new PhalanxError('PX_ERR_VALIDATION', `--format must be one of ${IMPORT_SOURCES.join(', ')}`, { field: 'format' })
      if (opts.format !== 'taxii' && (opts.user !== undefined || opts.passwordFile !== undefined || opts.addedAfter !== undefined)) {
        throw new PhalanxError('PX_ERR_VALIDATION', '--user, --password-file and --added-after are for --format taxii', { field: opts.user !== undefined ? 'user' : opts.passwordFile !== undefined ? 'password-file' : 'added-after' })
      }
      const format = opts.format as ImportFormat | 'taxii' | 'attack'
      if (format === 'attack') {
        await importAttack(file, opts, cmd)
        return
      }
      const client = connect(resolveDataDir(h.globals(cmd).data))
      const [{ rowsOf, streamStixRows, taxiiRows }, { importRows }, { default: cliProgress }] = await Promise.all([import('../interop/index.js'), import('../operations/import.js'), import('cli-progress')])
      const defaults = {
        ...(opts.type !== undefined ? { type: opts.type } : {}),
        ...(opts.tlp !== undefined ? { tlp: opts.tlp } : {}),
        ...(opts.confidence !== undefined ? { confidence: opts.confidence } : {}),
        ...(opts.tag !== undefined ? { tags: opts.tag } : {}),
        // a RED row is skipped (with its reason) rather than refused with its whole batch
        ...(opts.circle !== undefined && opts.circle !== 'local' ? { toCircle: true } : {})
      }
      let size = 0
      if (file !== '-' && format !== 'taxii') {
        try { size = statSync(file).size } catch (err) { throw new PhalanxError('PX_ERR_VALIDATION', `cannot read ${file}: ${(err as Error).message}`, { field: 'file' }) }
      }
      const open = (): Readable => file === '-' ? process.stdin : createReadStream(file)
      const bar = process.stderr.isTTY && h.globals(cmd).json !== true
        ? new cliProgress.SingleBar({ format: '{phase} [{bar}] {percentage}% | {value}/{total} bytes | {imported} ok, {skipped} skipped', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
        : undefined
      let origin: string | undefined
      /** a MISP attribute marked deleted: revoke our indicator of that value, if we have one */
      const revoke = async (type: string, value: string): Promise<boolean> => {
        if (!isIndicatorType(type)) return false
        origin ??= (await client.request<{ publicKey: string }>('GET', '/v1/status')).publicKey
        let id: string
        try { id = indicatorId(origin, type, normalizeValue(type, value)) } catch { return false }
        try {
          await client.request('POST', `/v1/indicators/${id}/revoke`, { reason: `withdrawn by the source (${format === 'misp' ? 'deleted in MISP' : 'revoked in STIX'})` })
          return true
        } catch (err) {
          if (isPhalanxError(err) && err.code === 'PX_ERR_NOT_FOUND') return false
          throw err
        }
      }
      const sendBatch = async (batch: Array<Record<string, unknown>>): Promise<{ count: number, entries: number, skipped: Array<{ index: number, reason: string }> }> => {
        // rows whose value another organization shared with us (TLP keeps it from this target)
        // are left out by the node and counted as skipped, with the reason
        const r = await client.request<{ count: number, entries: unknown[], skipped?: Array<{ index: number, message: string }> }>('POST', '/v1/indicators?skip_tlp_violations=true', { indicators: batch, ...(opts.circle !== undefined ? { circle: opts.circle } : {}) })
        return { count: r.count, entries: r.entries.length, skipped: (r.skipped ?? []).map(x => ({ index: x.index, reason: `TLP: ${x.message.replace(/[0-9a-f]{32}/g, 'ID')}` })) }
      }
      /** a report of the file: shared after its indicators, linking them by value (those not imported are left out) */
      const report = async (input: ReportRowInput): Promise<{ missing: number, unchanged: boolean }> => {
        const r = await client.request<{ missing?: string[], unchanged?: boolean }>('POST', '/v1/reports', {
          ...input,
          ...(input.tlp === undefined && opts.tlp !== undefined ? { tlp: opts.tlp } : {}),
          ...(opts.circle !== undefined ? { circle: opts.circle } : {}),
          skipMissing: true
        })
        return { missing: r.missing?.length ?? 0, unchanged: r.unchanged === true }
      }
      if (format === 'taxii') {
        // a collection is read once, page by page, and sent in batches as rows come: an error
        // midway keeps what was sent before it (pull again with --added-after to go on)
        let password = process.env.PHALANX_TAXII_PASSWORD
        if (opts.passwordFile !== undefined) {
          try { password = readFileSync(opts.passwordFile, 'utf8').trim() } catch (err) { throw new PhalanxError('PX_ERR_VALIDATION', `cannot read ${opts.passwordFile}: ${(err as Error).message}`, { field: 'password-file' }) }
        }
        const progress: TaxiiProgress = { pages: 0, objects: 0 }
        const source = taxiiRows({ collection: file, ...(opts.user !== undefined ? { user: opts.user } : {}), ...(password !== undefined ? { password } : {}), ...(opts.addedAfter !== undefined ? { addedAfter: opts.addedAfter } : {}) }, progress)
        const summary = await importRows(source, { defaults, ...(opts.dryRun !== true ? { revoke, send: sendBatch, report } : {}) })
        h.print({ file, format, ...summary, pages: progress.pages, dateAddedLast: progress.dateAddedLast ?? null },
          () => summaryText(summary, file, 'object') + `\n${progress.pages} pages${progress.dateAddedLast !== undefined ? `; go on from here with --added-after ${progress.dateAddedLast}` : ''}`)
        return
      }
      const pass = async (stream: Readable, phase: string, send: boolean): Promise<ImportSummary> => {
        bar?.start(size, 0, { phase, imported: 0, skipped: 0 })
        let rows = 0
        /** the counts the bar shows last: the final ones, not those of the last thousandth row */
        let last = { imported: 0, skipped: 0 }
        try {
          if (streamed) stream.destroy()
          const source = streamed ? streamStixRows(open) : rowsOf(format, stream, opts.confidence !== undefined ? { confidence: opts.confidence } : {})
          const summary = await importRows(source, {
            defaults,
            ...(send ? { revoke } : {}),
            ...(send ? { send: sendBatch, report } : {}),
            onRow: (s) => {
              last = { imported: s.imported, skipped: s.skipped }
              if (bar !== undefined && ++rows % 1000 === 0) bar.update((stream as { bytesRead?: number }).bytesRead ?? 0, last)
            }
          })
          last = { imported: summary.imported, skipped: summary.skipped }
          return summary
        } finally {
          if (bar !== undefined) { bar.update(size, last); bar.stop() }
        }
      }
      // a large STIX bundle is streamed; its first read (the index) is its check
      const streamed = format === 'stix' && file !== '-' && size > STREAM_STIX_BYTES
      // a file is checked whole before anything is sent: a malformed one imports nothing
      let summary = file === '-' || (streamed && opts.dryRun !== true) ? undefined : await pass(open(), 'checking', false)
      if (opts.dryRun !== true) summary = await pass(open(), 'importing', true)
      h.print({ file, format, ...summary }, () => summaryText(summary!, file, rowUnit(format)))
    })

  const exportCmd = program.command('export')
    .description('export indicators to stdout: csv (a header row), text (a value per line), ndjson, stix (a STIX 2.1 bundle with the TLP 2.0 markings, and the reports linking them) or misp (a MISP event, an attribute per indicator; --reports: MISP\'s list of events, one per report), filters as in query; or a blocklist of one type: plain (a value per line), rpz (a DNS response-policy zone, domains) or suricata (rules; ipv4, ipv6, cidr, domain), live indicators only')
    .requiredOption('--format <format>', `one of ${[...EXPORT_FORMATS, ...BLOCKLIST_FORMATS].join(', ')}`)
    .option('--include-red', 'also export TLP:RED indicators (left out unless asked for, or named with --tlp)')
    .option('--min-confidence <n>', 'blocklists: only indicators at least this confident (0-100)', h.intArg('min-confidence'))
    .option('--sid-base <n>', 'suricata: the first sid (default: a range per type, see docs/API.md)', h.intArg('sid-base'))
    .option('--include-false-positives', 'blocklists: keep values an organization reported as a false positive (left out by default)')
    .option('--reports', 'misp: the reports too, each an event of its own (the document is then MISP\'s list of events, {"response": […]})')
    .option('--no-reports', 'stix: leave the reports out (a bundle carries them by default)')
  filterOptions(exportCmd)
    .action(async (opts: Record<string, string | number | boolean | undefined>, cmd: Command) => {
      const format = opts.format as string
      const blocklist = (BLOCKLIST_FORMATS as readonly string[]).includes(format)
      if (!blocklist && !(EXPORT_FORMATS as readonly string[]).includes(format)) throw new PhalanxError('PX_ERR_VALIDATION', `--format must be one of ${[...EXPORT_FORMATS, ...BLOCKLIST_FORMATS].join(', ')}`, { field: 'format' })
      // --json promises one JSON object on stdout: only a STIX bundle or a MISP event is one
      if (h.globals(cmd).json === true && format !== 'stix' && format !== 'misp') {
        throw new PhalanxError('PX_ERR_VALIDATION', `--json prints one JSON object, and --format ${format} is not one: use --format stix or misp (one JSON document), or --format ndjson without --json (a JSON object per line)`, { field: 'json' })
      }
      const client = connect(resolveDataDir(h.globals(cmd).data))
      const qs = new URLSearchParams({ format })
      let path: string
      if (blocklist) {
        // a blocklist takes its own filters; the others of query would be silently ignored
        for (const k of ['tlp', 'origin', 'since', 'until', 'includeRevoked', 'includeExpired', 'reports']) {
          if (opts[k] !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} does not apply to a blocklist (live indicators of one --type; filters: --tag, --circle, --min-confidence, --include-red)`, { field: k })
        }
        const map: Record<string, string> = { type: 'type', tag: 'tag', circle: 'circle', minConfidence: 'min_confidence', sidBase: 'sid_base' }
        for (const [k, p] of Object.entries(map)) if (opts[k] !== undefined) qs.set(p, String(opts[k]))
        if (opts.includeFalsePositives === true) qs.set('exclude_false_positives', 'false')
        path = '/v1/export/blocklist'
      } else {
        if (opts.reports !== undefined) {
          if (format !== 'stix' && format !== 'misp') throw new PhalanxError('PX_ERR_VALIDATION', '--reports and --no-reports apply to --format stix and misp (the formats that carry reports)', { field: 'reports' })
          qs.set('include_reports', String(opts.reports))
        }
        for (const k of ['minConfidence', 'sidBase', 'includeFalsePositives']) {
          if (opts[k] !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} applies to blocklists (--format ${BLOCKLIST_FORMATS.join('|')})`, { field: k })
        }
        const map: Record<string, string> = { type: 'type', tag: 'tag', tlp: 'tlp', origin: 'origin', circle: 'circle', since: 'since', until: 'until', includeRevoked: 'include_revoked', includeExpired: 'include_expired' }
        for (const [k, p] of Object.entries(map)) if (opts[k] !== undefined) qs.set(p, String(opts[k]))
        path = '/v1/export/indicators'
      }
      // RED is for named recipients: the node leaves it out unless asked for (or named with --tlp)
      if (opts.includeRed === true) qs.set('include_red', 'true')
      const out = (b: Uint8Array): Promise<void> | undefined => process.stdout.write(b) ? undefined : new Promise(resolve => process.stdout.once('drain', resolve))
      let bytes = 0
      for await (const chunk of await client.stream(`${path}?${qs.toString()}`)) {
        bytes += chunk.length
        await out(chunk)
      }
      if (process.stderr.isTTY) process.stderr.write(`exported ${bytes} bytes\n`)
    })
}
