/**
 * The import use case: rows (from src/interop's parsers) validated with the same code the node
 * uses (so a bad row is a skip with its reason, never a failed batch), the good ones handed in
 * batches to `send` (the CLI's: POST /v1/indicators), withdrawals to `revoke`, and a summary:
 * read N, imported N, skipped N by reason. A tag or a description that is not display-safe
 * (records/text.ts: a control, bidirectional or invisible character) is dropped from its row,
 * counted by reason in `dropped`, and the row is imported without it.
 */
import { PhalanxError } from '../errors.js'
import { describeUnsafe, normalizeTags, parseIndicatorInput, unsafeCharOf } from '../records/index.js'
import type { ReportRowInput, Row } from '../interop/index.js'
import { publishViolation } from '../tlp/index.js'

export interface ImportDefaults {
  type?: string
  tlp?: string
  confidence?: number
  /** added to every row's own tags */
  tags?: string[]
  /** the rows go to a circle (`--circle`), not the private scope: a TLP:RED row is skipped */
  toCircle?: boolean
}

export interface ImportSummary {
  /** rows read (comments and blank lines are not rows) */
  read: number
  imported: number
  skipped: number
  /** why rows were skipped: reason → count */
  reasons: Record<string, number>
  /** the first skipped rows (up to SKIPPED_LINES), by their line in the file, with the reason */
  skippedLines: Array<{ line: number, reason: string }>
  /** fields dropped from rows that were kept (a tag or description that is not display-safe): reason → count */
  dropped: Record<string, number>
  /** signed entries the imported indicators went into */
  entries: number
  /** indicators revoked because the source withdrew them (a dry run counts those it would try) */
  revoked: number
  /** objects kept as context (STIX): of a report, or tags of the indicators they are linked to, by kind */
  context: Record<string, number>
  /** reports shared (a dry run: read), after the indicators they link */
  reports: number
  /** linked values a report left out: not imported (skipped rows) or not held where it went */
  reportLinksMissing: number
  /** of `reports`, those already shared as they are (a re-import): nothing new was signed */
  reportsUnchanged: number
  dryRun: boolean
}

export interface ImportOptions {
  defaults: ImportDefaults
  /** indicators per call (the API takes up to 10,000) */
  batchSize?: number
  /**
   * publish a batch; absent: a dry run (validate and count only). `skipped`: why the node
   * left rows out (a value another organization shared, which TLP keeps from this target)
   */
  send?: (batch: Array<Record<string, unknown>>) => Promise<{ count: number, entries: number, skipped?: Array<string | { index: number, reason: string }> }>
  /** revoke this node's indicator of (type, value); false when there is none */
  revoke?: (type: string, value: string) => Promise<boolean>
  /**
   * share a report (after every indicator of the file is stored); `missing`: linked values it
   * left out; throws (a PhalanxError) to skip it with the reason
   */
  report?: (input: ReportRowInput) => Promise<{ missing: number, unchanged?: boolean }>
  /** called after each row (progress) */
  onRow?: (summary: ImportSummary) => void
}

/** skipped rows named by line in a summary */
const SKIPPED_LINES = 20

/** at most `max` characters, cut at a word boundary with an ellipsis (mid-word only in a word longer than half of `max`) */
export function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const cut = text.slice(0, max - 1)
  // the cut ends a word when a space follows it
  if (text[max - 1] === ' ') return `${cut}…`
  const space = cut.lastIndexOf(' ')
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`
}

/** a skip reason without the row's own value, so that reasons group (`withValue`: as it is, for a line of its own) */
function reasonOf (err: unknown, withValue = false): string {
  if (!(err instanceof PhalanxError)) return 'invalid row'
  const message = clip((withValue ? err.message : err.message.replace(/"[^"]*"/g, '…')).replace(/\s+/g, ' '), 160)
  return err.field !== undefined && err.field !== '' ? `${err.field}: ${message}` : message
}

/**
 * Drop from a row's input the tags and the description that are not display-safe, calling
 * `drop` with the reason of each (what the character was, not the text, so that reasons group).
 */
function dropUnsafeFields (input: Record<string, unknown>, drop: (reason: string) => void): void {
  if (typeof input.tags === 'string' || Array.isArray(input.tags)) {
    const tags = (typeof input.tags === 'string' ? [input.tags] : input.tags as unknown[]).filter(t => {
      const c = typeof t === 'string' ? unsafeCharOf(t.trim()) : undefined
      if (c !== undefined) drop(`tags: a tag held ${describeUnsafe(c)}`)
      return c === undefined
    })
    if (tags.length === 0) delete input.tags
    else input.tags = tags
  }
  if (typeof input.description === 'string') {
    // a CRLF line end (a Windows-made MISP comment or STIX description) is a line end, not a CR
    const description = input.description.replace(/\r\n/g, '\n')
    input.description = description
    const c = unsafeCharOf(description.trim(), { allowLines: true })
    if (c !== undefined) {
      drop(`description: held ${describeUnsafe(c)}`)
      delete input.description
    }
  }
}

export async function importRows (rows: AsyncIterable<Row>, o: ImportOptions): Promise<ImportSummary> {
  // the tags added to every row are the user's own: a bad one stops the import before it starts
  normalizeTags(o.defaults.tags, 'tag')
  const s: ImportSummary = { read: 0, imported: 0, skipped: 0, reasons: {}, skippedLines: [], dropped: {}, entries: 0, revoked: 0, context: {}, reports: 0, reportLinksMissing: 0, reportsUnchanged: 0, dryRun: o.send === undefined }
  /** reports wait until the indicators they link are stored */
  const reports: Array<{ line: number, report: ReportRowInput }> = []
  const skip = (reason: string, line: number | undefined, lineReason = reason): void => {
    s.skipped++
    s.reasons[reason] = (s.reasons[reason] ?? 0) + 1
    if (line !== undefined && s.skippedLines.length < SKIPPED_LINES) s.skippedLines.push({ line, reason: lineReason })
  }
  const drop = (reason: string): void => { s.dropped[reason] = (s.dropped[reason] ?? 0) + 1 }
  const size = o.batchSize ?? 5000
  let batch: Array<Record<string, unknown>> = []
  /** the file line of each row in `batch` */
  let batchLines: number[] = []
  /** batches sent and not yet answered: two in flight, so reading the file and storing overlap */
  const inFlight: Array<Promise<void>> = []
  let failure: unknown
  const settle = async (all: boolean): Promise<void> => {
    while (inFlight.length > (all ? 0 : IN_FLIGHT - 1)) await inFlight.shift()
    if (failure !== undefined) throw failure
  }
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const sent = batch
    const lines = batchLines
    batch = []
    batchLines = []
    if (o.send === undefined) { s.imported += sent.length; return }
    const send = o.send
    inFlight.push((async () => {
      try {
        const r = await send(sent)
        s.entries += r.entries
        s.imported += sent.length - (r.skipped?.length ?? 0)
        for (const why of r.skipped ?? []) {
          if (typeof why === 'string') skip(why, undefined)
          else skip(why.reason, lines[why.index])
        }
      } catch (err) {
        failure ??= new PhalanxError(err instanceof PhalanxError ? err.code : 'PX_ERR_INTERNAL',
          `importing stopped: a batch of ${sent.length} was refused (${(err as Error).message}); ${s.imported} indicator${s.imported === 1 ? '' : 's'} before it ${s.imported === 1 ? 'was' : 'were'} imported`, { cause: err })
      }
    })())
    await settle(false)
  }
  for await (const row of rows) {
    if (!('report' in row && row.made === true)) s.read++
    if ('skip' in row) skip(row.skip, row.line)
    else if ('context' in row) s.context[row.context] = (s.context[row.context] ?? 0) + 1
    else if ('report' in row) {
      if (reports.length >= MAX_REPORTS) skip(`an import shares at most ${MAX_REPORTS} reports`, row.line)
      else reports.push(row)
    }
    else if ('revoke' in row) {
      if (o.send === undefined || o.revoke === undefined) s.revoked++
      else {
        // earlier rows may be the indicator this withdraws: send them first
        await flush()
        await settle(true)
        if (await o.revoke(row.revoke.type, row.revoke.value)) s.revoked++
        else skip('withdrawn by the source, and not stored here', row.line)
      }
    } else {
      const input: Record<string, unknown> = { ...row.input }
      if (input.type === undefined && o.defaults.type !== undefined) input.type = o.defaults.type
      if (input.tlp === undefined && o.defaults.tlp !== undefined) input.tlp = o.defaults.tlp
      if (input.confidence === undefined && o.defaults.confidence !== undefined) input.confidence = o.defaults.confidence
      if (o.defaults.tags !== undefined && o.defaults.tags.length > 0) input.tags = [...new Set([...(Array.isArray(input.tags) ? input.tags as string[] : []), ...o.defaults.tags])]
      const dropped: string[] = []
      dropUnsafeFields(input, why => dropped.push(why))
      try {
        // the node's own validation: what passes here passes there
        const parsed = parseIndicatorInput(input, { tlp: 'CLEAR', confidence: 50 })
        // and its route rule, so a dry run and the import agree (a RED row never enters a circle)
        const v = publishViolation(parsed.tlp, { to: o.defaults.toCircle === true ? 'circle' : 'local' })
        if (v !== null) {
          skip(`${v.field}: TLP:${parsed.tlp} never goes to a circle (import it without --circle to keep it in the private scope)`, row.line)
        } else {
          batch.push(input)
          batchLines.push(row.line)
          for (const why of dropped) drop(why)
        }
      } catch (err) {
        skip(reasonOf(err), row.line, reasonOf(err, true))
      }
      if (batch.length >= size) await flush()
    }
    o.onRow?.(s)
  }
  await flush()
  await settle(true)
  for (const r of reports) {
    if (o.send === undefined || o.report === undefined) { s.reports++; continue }
    try {
      const { missing, unchanged } = await o.report(r.report)
      s.reports++
      s.reportLinksMissing += missing
      if (unchanged === true) s.reportsUnchanged++
    } catch (err) {
      if (!(err instanceof PhalanxError) || err.code === 'PX_ERR_CLOSED' || err.code === 'PX_ERR_NODE_NOT_RUNNING' || err.code === 'PX_ERR_UNAUTHORIZED') throw err
      skip(`report: ${reasonOf(err)}`, r.line, `report "${clip(r.report.title, 60)}": ${reasonOf(err, true)}`)
    }
  }
  return s
}

/** reports one import shares at most (each is one request) */
const MAX_REPORTS = 10_000

/** batches in flight to the node at once */
const IN_FLIGHT = 2
