#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=8
/**
 * `phalanx`: init and start a node, and drive a running one through its HTTP API.
 * Every command takes --json and then prints exactly one JSON object on stdout (errors too:
 * {"error":{code,message,field}}). Exit code 0 on success, the code's exit status from
 * ERROR_CODES otherwise, with a one-line reason on stderr.
 *
 * Nothing a node or a peer named reaches the terminal raw: every name, org, tag, value and
 * message in a human-readable line is escaped (records/text.ts `escapeForTerminal`: `\x1b`,
 * `\x0d`, `\u202e` for control, bidirectional and invisible characters, LF and TAB too), and
 * each whole human output once more but for its own line breaks. JSON output writes them as
 * \uXXXX escapes (`escapeJsonText`: JSON.stringify alone leaves C1, bidi and U+2028 raw).
 */
import '../polyfill.js'
import { Command, CommanderError, Option } from 'commander'
import { createInterface } from 'node:readline'
import { ERROR_CODES, PhalanxError, isPhalanxError } from '../errors.js'
import { DEFAULT_TOKEN_CEILING } from '../tlp/index.js'
import { initIdentity, loadIdentity, peerIdFromSeed, hasIdentity } from '../identity/index.js'
import { connect, resolveDataDir } from './client.js'
import { filterOptions, registerTransferCommands } from './transfer.js'
import { formerCircle, registerCircleCommands } from './circle.js'
import { registerWatchCommand } from './watch.js'
import { registerAdvisoryCommands } from './advisory.js'
import { registerReportCommands } from './report.js'
import { escapeForTerminal, escapeJsonText } from '../records/text.js'
import { RED_PREFIX, isRedLog, type StoredIndicator } from '../records/index.js'

/** indicators per POST when reading NDJSON from stdin (the API's per-call maximum) */
const STDIN_CHUNK = 10_000

interface GlobalOpts { data?: string, json?: boolean }

let jsonMode = process.argv.includes('--json')
/** `phalanx start`: a node runs in this process */
let runningNode = false

/** a text from the node (a name, an org, a tag, a value, a message) as one safe piece of a line */
function t (s: unknown): string {
  return escapeForTerminal(String(s))
}

function print (obj: unknown, human: () => string): void {
  if (jsonMode) process.stdout.write(escapeJsonText(JSON.stringify(obj)) + '\n')
  // the second line of defense: whatever a line forgot to escape, but its own line breaks
  else process.stdout.write(escapeForTerminal(human(), { keepLines: true }) + '\n')
}

function fail (err: unknown): never {
  const e = isPhalanxError(err) ? err : new PhalanxError('PX_ERR_INTERNAL', (err as Error)?.message ?? String(err))
  if (jsonMode) process.stdout.write(escapeJsonText(JSON.stringify({ error: e.toJSON() })) + '\n')
  process.stderr.write(`phalanx: ${e.field !== undefined && e.field !== '' && !e.message.includes(e.field) ? `${t(e.field)}: ` : ''}${t(e.message)}\n`)
  process.exit(e.exitCode)
}

function globals (cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals<GlobalOpts>()
}

function intArg (name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new PhalanxError('PX_ERR_VALIDATION', `${name} must be a non-negative integer, got "${v}"`, { field: name })
    return Number(v)
  }
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** "1 record", "2 records" */
function plural (n: number, noun: string): string { return `${n} ${noun}${n === 1 ? '' : 's'}` }

function shortKey (k: string): string { return `${k.slice(0, 12)}…` }

/** a lookup's sightings by organization (the API's `sighted`) */
interface Sighted {
  orgs: number
  byAction: Record<string, number>
  count: number
  lastSeen: string
  perOrg: Array<{ publicKey: string, org: string | null, action: string, count: number, lastSeen: string, note?: string }>
}

/** "sightings: 3 orgs (blocked 2, seen 1, false-positive 0 …), last …" and a line per org */
function sightedText (s: Sighted | null | undefined): string {
  if (s === null || s === undefined) return ''
  const by = Object.entries(s.byAction).map(([a, n]) => `${t(a)} ${n}`).join(', ')
  const rows = s.perOrg.map(o => `\n    ${(o.org !== null ? t(o.org) : shortKey(t(o.publicKey))).padEnd(24)} ${t(o.action).padEnd(15)} ${String(o.count).padStart(6)}  last ${t(o.lastSeen)}${o.note !== undefined ? `  "${t(o.note)}"` : ''}`).join('')
  return `\n  sightings: ${plural(s.orgs, 'org')} (${by}), ${s.count} in all, last ${t(s.lastSeen)}${rows}`
}

function formatIndicator (i: StoredIndicator & { match?: string, effectiveConfidence?: number }): string {
  const flags = [i.revoked !== undefined ? 'REVOKED' : '', i.match === 'cidr' ? 'via CIDR' : ''].filter(Boolean).join(' ')
  const effective = i.effectiveConfidence !== undefined && i.effectiveConfidence !== i.confidence ? ` (effective ${i.effectiveConfidence}: false positives reported)` : ''
  return `${t(i.type).padEnd(7)} ${t(i.value)}  TLP:${t(i.tlp)}  conf ${i.confidence}${effective}${i.tags.length > 0 ? `  [${i.tags.map(t).join(', ')}]` : ''}  origin ${shortKey(t(i.origin))}  id ${t(i.id)}${flags !== '' ? `  ${flags}` : ''}`
}

/** what GET /v1/lookup answers (docs/API.md) */
interface LookupAnswer {
  type: string
  value: string
  found: boolean
  matches: Array<StoredIndicator & { match: string, below?: number, effectiveConfidence?: number }>
  sightings: { count: number, lastSeen: string } | null
  sighted?: Sighted | null
  hidden?: Array<{ id: string, origin: string, type?: string, value?: string, match: string, why: 'revoked' | 'expired', at: string, reason?: string }>
  truncated?: boolean
  reports?: Array<{ id: string, title: string, type: string, tlp: string, circle: string, circleName: string | null, publicKey: string, org: string | null }>
}

/** `  in reports: TITLE (ORG, TLP:AMBER) ID`: the reports linking the value */
function reportsText (r: LookupAnswer): string {
  const list = r.reports ?? []
  if (list.length === 0) return ''
  return `\n  in reports:${list.map(x => `\n    ${t(x.title)} (${x.org !== null ? t(x.org) : `${x.publicKey.slice(0, 16)}…`}, TLP:${t(x.tlp)})  report ${t(x.id)}`).join('')}`
}

/** a related match's kind, as `phalanx lookup` names it */
function relatedLabel (m: { match: string, below?: number }): string {
  return `${m.match}${m.below !== undefined ? ` (${m.below} below)` : ''}`
}

/** `phalanx lookup`: the value's own records, then those related through a host, each saying how it matched */
function formatLookup (r: LookupAnswer): string {
  const own = r.matches.filter(m => m.match === 'exact' || m.match === 'cidr')
  const related = r.matches.filter(m => m.match !== 'exact' && m.match !== 'cidr')
  // what was left out, and how to see it: a revoked value is not "unknown"
  const hidden = (r.hidden ?? []).map(h => `\n  ${h.why === 'revoked' ? `REVOKED by its origin at ${t(h.at)}${h.reason !== undefined ? ` (${t(h.reason)})` : ''}` : `EXPIRED since ${t(h.at)}`}${h.match === 'cidr' ? ' via CIDR' : h.match !== 'exact' ? ` related ${t(h.match)}: ${t(h.type ?? '')} ${t(h.value ?? '')}` : ''}  origin ${shortKey(t(h.origin))}  id ${t(h.id)}`).join('')
  const flags = [...new Set((r.hidden ?? []).map(h => `--include-${h.why}`))].join(' ')
  const lines = own.map(m => '  ' + formatIndicator(m))
  if (related.length > 0) {
    lines.push(`  related through a host (stored indicators, no DNS):${r.truncated === true ? ` the first ${related.length}, more are known` : ''}`)
    const width = Math.max(...related.map(m => relatedLabel(m).length))
    for (const m of related) lines.push(`  ${relatedLabel(m).padEnd(width)}  ${formatIndicator(m)}`)
  }
  return r.found
    ? `${t(r.type)} ${t(r.value)}: FOUND (${own.length} exact, ${related.length} related)\n${lines.join('\n')}${sightedText(r.sighted)}${reportsText(r)}${hidden !== '' ? `\n  also known, left out (${flags} shows them):${hidden}` : ''}`
    : `${t(r.type)} ${t(r.value)}: not found${hidden !== '' ? `, but known and left out (${flags} shows them):${hidden}` : ''}${sightedText(r.sighted)}`
}

export function buildProgram (): Command {
  const program = new Command('phalanx')
    .description('Peer-to-peer sharing of signed, TLP-tagged indicators of compromise')
    .option('--data <dir>', 'data dir (env PHALANX_DATA, default ./data)')
    .option('--json', 'print exactly one JSON object on stdout')
    // the reason in one line and where usage is, not the whole help (23 lines for a typo)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })

  program.command('init')
    .description('create the organization identity (Ed25519 key, 0600) and API token')
    .option('--org <name>', 'organization name shown to partners')
    .action(async (opts: { org?: string }, cmd: Command) => {
      const dataDir = resolveDataDir(globals(cmd).data)
      const existed = hasIdentity(dataDir)
      const { identity, created } = initIdentity(dataDir, opts.org ?? 'unnamed organization')
      const obj = { created, dataDir, org: identity.org, publicKey: identity.publicKey, fingerprint: identity.fingerprint, peerId: await peerIdFromSeed(identity.seed), token: `${dataDir}/api.token` }
      // an existing identity keeps its org: the name others see is the one their admin recorded
      const renameHint = existed && opts.org !== undefined && opts.org !== identity.org
        ? `\n--org was not applied: the identity exists (org "${t(identity.org)}"). The name other members see is the one\ntheir circle's admin recorded when adding you; an admin changes it with\n  phalanx circle rename-member CIRCLE ${identity.fingerprint} NEWNAME\n(a member cannot rename itself in others' eyes)`
        : ''
      print({ ...obj, ...(renameHint !== '' ? { orgUnchanged: true } : {}) }, () => `${existed ? 'Identity already exists (unchanged)' : 'Created identity'} in ${dataDir}\n  org:         ${t(obj.org)}\n  fingerprint: ${obj.fingerprint}\n  public key:  ${obj.publicKey}\n  peer id:     ${obj.peerId}\n  API token:   ${obj.token}${renameHint}`)
    })

  program.command('start')
    .description('run a node in the foreground (first start creates the identity)')
    .option('--config <file>', 'JSON config file')
    .option('--org <name>', 'organization name (first start only)')
    .option('--api-port <n>', 'API port (0 = any free port)', intArg('api-port'))
    .option('--api-host <host>', 'API bind address')
    .option('--p2p-port <n>', 'peer-to-peer port (0 = any free port)', intArg('p2p-port'))
    .option('--p2p-host <host>', 'peer-to-peer listen address (default 0.0.0.0; 127.0.0.1 keeps peers on this machine)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .action(async (opts: { config?: string, org?: string, apiPort?: number, apiHost?: string, p2pPort?: number, p2pHost?: string, logLevel?: string }, cmd: Command) => {
      // a node keeps running when whoever read its first line closed the pipe
      runningNode = true
      const g = globals(cmd)
      const flags: Record<string, unknown> = {}
      if (g.data !== undefined) flags.dataDir = g.data
      if (opts.org !== undefined) flags.org = opts.org
      if (opts.logLevel !== undefined) flags.logLevel = opts.logLevel
      const api: Record<string, unknown> = {}
      if (opts.apiPort !== undefined) api.port = opts.apiPort
      if (opts.apiHost !== undefined) api.host = opts.apiHost
      if (Object.keys(api).length > 0) flags.api = api
      const p2p: Record<string, unknown> = {}
      if (opts.p2pPort !== undefined) p2p.port = opts.p2pPort
      if (opts.p2pHost !== undefined) p2p.host = opts.p2pHost
      if (Object.keys(p2p).length > 0) flags.p2p = p2p
      // before the node's modules load: their functions start with the daemon's budget
      const { tuneTiering } = await import('../v8-tiering.js')
      const v8Flags = tuneTiering()
      const { loadConfig } = await import('../config/index.js')
      const config = loadConfig({ ...(opts.config !== undefined ? { file: opts.config } : {}), flags })
      const { PhalanxNode } = await import('../node.js')
      const node = new PhalanxNode(config)
      await node.start()
      node.log.info({ v8Flags }, 'V8 tuned for a long-running node')
      const s = await node.ops.status.status()
      const obj = { apiUrl: s.apiUrl, tokenFile: `${node.dataDir}/api.token`, dataDir: node.dataDir, org: s.org, fingerprint: s.fingerprint, publicKey: s.publicKey, peerId: s.peerId, multiaddrs: s.multiaddrs }
      let stopping = false
      const stop = (signal: string): void => {
        if (stopping) return
        stopping = true
        node.log.info({ signal }, 'stopping')
        node.stop().then(() => process.exit(0), (err) => { node.log.error({ err }, 'stop failed'); process.exit(1) })
      }
      // before the banner: whoever waits for it may signal at once, and without a listener
      // Node takes the signal's default action (the process ends without its stop)
      process.on('SIGINT', () => { stop('SIGINT') })
      process.on('SIGTERM', () => { stop('SIGTERM') })
      print(obj, () => `Phalanx node running\n  org:         ${t(obj.org)}\n  fingerprint: ${obj.fingerprint}\n  peer id:     ${obj.peerId}\n  p2p:         ${obj.multiaddrs.join(' ')}\n  API:         ${obj.apiUrl}\n  token:       ${obj.tokenFile}\n  data:        ${obj.dataDir}\nCtrl-C stops it.`)
    })

  program.command('id')
    .description('show this organization\'s public key, fingerprint and name')
    .action(async (_opts: unknown, cmd: Command) => {
      const dataDir = resolveDataDir(globals(cmd).data)
      const id = loadIdentity(dataDir)
      const obj = { org: id.org, publicKey: id.publicKey, fingerprint: id.fingerprint, peerId: await peerIdFromSeed(id.seed) }
      print(obj, () => `org:         ${t(obj.org)}\nfingerprint: ${obj.fingerprint}\npublic key:  ${obj.publicKey}\npeer id:     ${obj.peerId}`)
    })

  program.command('publish')
    .description('publish an indicator, or NDJSON indicators from stdin with `publish -`')
    .argument('[value]', 'the indicator (defanged forms accepted), or "-" to read NDJSON (one indicator object per line) from stdin')
    .option('--type <type>', 'ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, sha512, cve, asn, ja3 (detected if omitted)')
    .option('--value <value>', 'the indicator (defanged forms accepted)')
    .option('--tlp <tlp>', 'CLEAR, GREEN, AMBER, AMBER+STRICT, RED')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--confidence <n>', '0..100', intArg('confidence'))
    .option('--description <text>', 'free text')
    .option('--valid-until <time>', 'ISO 8601 date or time')
    .option('--circle <id>', 'target circle (default: the private scope)')
    .option('--to <key>', 'TLP:RED recipient by public key or fingerprint, delivered directly (repeatable)', collect)
    .action(async (stdin: string | undefined, opts: { type?: string, value?: string, tlp?: string, tag?: string[], confidence?: number, description?: string, validUntil?: string, circle?: string, to?: string[] }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      if (stdin === '-') {
        let total = 0
        let entries = 0
        let chunk: unknown[] = []
        let line = 0
        /** the input line number of each indicator in `chunk` (blank and # lines are skipped) */
        let chunkLines: number[] = []
        const defaults: Record<string, unknown> = {}
        if (opts.tlp !== undefined) defaults.tlp = opts.tlp
        if (opts.circle !== undefined) defaults.circle = opts.circle
        if (opts.to !== undefined) defaults.to = opts.to
        const flush = async (): Promise<void> => {
          if (chunk.length === 0) return
          try {
            const r = await client.request<{ count: number, entries: unknown[] }>('POST', '/v1/indicators', { indicators: chunk, ...defaults })
            total += r.count
            entries += r.entries.length
          } catch (err) {
            // name the input line, not the position in the chunk
            const m = isPhalanxError(err) && err.field !== undefined ? /^indicators\[(\d+)\]\.?(.*)$/.exec(err.field) : null
            if (m !== null && isPhalanxError(err)) {
              const at = chunkLines[Number(m[1])] ?? line
              throw new PhalanxError(err.code, `line ${at}${m[2] !== '' ? ` (${m[2]})` : ''}: ${err.message}; ${plural(total, 'indicator')} before this chunk ${total === 1 ? 'was' : 'were'} stored`, { field: `line ${at}` })
            }
            throw err
          }
          chunk = []
          chunkLines = []
        }
        const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
        for await (const raw of rl) {
          line++
          const s = raw.trim()
          if (s === '' || s.startsWith('#')) continue
          let obj: unknown
          try { obj = JSON.parse(s) } catch {
            await flush()
            throw new PhalanxError('PX_ERR_BAD_JSON', `line ${line} is not valid JSON; ${plural(total, 'indicator')} before it ${total === 1 ? 'was' : 'were'} stored`, { field: `line ${line}` })
          }
          chunkLines.push(line)
          chunk.push(obj)
          if (chunk.length >= STDIN_CHUNK) await flush()
        }
        await flush()
        print({ count: total, entries }, () => `published ${total} indicators in ${entries} signed entries`)
        return
      }
      // `phalanx publish VALUE` or `phalanx publish --value VALUE`
      if (stdin !== undefined && opts.value !== undefined) throw new PhalanxError('PX_ERR_VALIDATION', `two values: "${stdin}" and --value; give one`, { field: 'value' })
      const value = opts.value ?? stdin
      if (value === undefined) throw new PhalanxError('PX_ERR_VALIDATION', 'a value is required: phalanx publish VALUE (or --value VALUE, or "-" to read NDJSON from stdin)', { field: 'value' })
      const body: Record<string, unknown> = { value }
      if (opts.type !== undefined) body.type = opts.type
      if (opts.tlp !== undefined) body.tlp = opts.tlp
      if (opts.tag !== undefined) body.tags = opts.tag
      if (opts.confidence !== undefined) body.confidence = opts.confidence
      if (opts.description !== undefined) body.description = opts.description
      if (opts.validUntil !== undefined) body.validUntil = opts.validUntil
      if (opts.circle !== undefined) body.circle = opts.circle
      if (opts.to !== undefined) body.to = opts.to
      const r = await client.request<{ id: string, entries: Array<{ hash: string, seq: number, circle: string }> }>('POST', '/v1/indicators', body)
      const where = (e: { circle: string }): string => e.circle === 'local'
        ? 'kept private (the private scope: this node only; --circle shares it)'
        : isRedLog(e.circle) ? `to recipient ${t(e.circle.slice(RED_PREFIX.length, RED_PREFIX.length + 16))}…, delivered directly` : `to circle ${t(e.circle)}`
      print({ id: r.id, entry: r.entries[0], entries: r.entries }, () => `published ${r.id} ${[...new Set(r.entries.map(where))].join('; ')} (entry ${r.entries.map(e => `${t(e.circle)}#${e.seq}`).join(', ')})`)
    })

  program.command('lookup')
    .description('is this value known? (an IP also matches stored CIDRs; a domain the URLs and emails on it, a URL its host)')
    .argument('<value>', 'the value, defanged or not')
    .option('--type <type>', 'indicator type (detected if omitted)')
    .option('--include-revoked', 'show revoked indicators too')
    .option('--include-expired', 'show expired indicators too')
    .action(async (value: string, opts: { type?: string, includeRevoked?: boolean, includeExpired?: boolean }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const qs = new URLSearchParams({ value })
      if (opts.type !== undefined) qs.set('type', opts.type)
      if (opts.includeRevoked === true) qs.set('include_revoked', 'true')
      if (opts.includeExpired === true) qs.set('include_expired', 'true')
      const r = await client.request<LookupAnswer>('GET', `/v1/lookup?${qs.toString()}`)
      print(r, () => formatLookup(r))
    })

  filterOptions(program.command('query')
    .description('list indicators matching filters, newest last')
    .option('--value <value>', 'a value'))
    .option('--limit <n>', 'page size (1..1000, default 100)', intArg('limit'))
    .option('--cursor <c>', 'continue after this cursor')
    .option('--all', 'follow cursors until the end (prints all pages)')
    .action(async (opts: Record<string, string | number | boolean | undefined>, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const map: Record<string, string> = { type: 'type', value: 'value', tag: 'tag', tlp: 'tlp', origin: 'origin', circle: 'circle', since: 'since', until: 'until', limit: 'limit', cursor: 'cursor', includeRevoked: 'include_revoked', includeExpired: 'include_expired' }
      const qs = new URLSearchParams()
      for (const [k, p] of Object.entries(map)) if (opts[k] !== undefined) qs.set(p, String(opts[k]))
      const all: StoredIndicator[] = []
      let next: string | null = null
      do {
        if (next !== null) qs.set('cursor', next)
        const page: { indicators: StoredIndicator[], nextCursor: string | null } = await client.request('GET', `/v1/indicators?${qs.toString()}`)
        all.push(...page.indicators)
        next = page.nextCursor
      } while (opts.all === true && next !== null)
      print({ indicators: all, nextCursor: next }, () => `${all.map(formatIndicator).join('\n')}${all.length > 0 ? '\n' : ''}${all.length} indicator(s)${next !== null ? `; more with --cursor ${next}` : ''}`)
    })

  program.command('revoke')
    .description('withdraw one of your own indicators (signed revoke record)')
    .argument('<id>', 'indicator id')
    .option('--reason <text>', 'why')
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, revoked: { at: string } }>('POST', `/v1/indicators/${encodeURIComponent(id)}/revoke`, opts.reason !== undefined ? { reason: opts.reason } : {})
      print(r, () => `revoked ${r.id} at ${r.revoked.at}`)
    })

  program.command('relabel')
    .description('loosen the TLP of one of your own indicators (signed relabel record)')
    .argument('<id>', 'indicator id')
    .requiredOption('--tlp <tlp>', 'the new, looser TLP')
    .action(async (id: string, opts: { tlp: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, tlp: string }>('POST', `/v1/indicators/${encodeURIComponent(id)}/relabel`, { tlp: opts.tlp })
      print(r, () => `${r.id} is now TLP:${r.tlp}`)
    })

  program.command('reshare')
    .description('share a CLEAR or GREEN indicator into another of your circles')
    .argument('<id>', 'indicator id')
    .requiredOption('--circle <id>', 'target circle')
    .action(async (id: string, opts: { circle: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, from: string, to: string }>('POST', `/v1/indicators/${encodeURIComponent(id)}/reshare`, { circle: opts.circle })
      print(r, () => `re-shared into ${r.to} as ${r.id}`)
    })

  program.command('sighting')
    .description('report that your organization saw a value, and what it did about it; sent where this node holds the value (a RED indicator: to its origin only)')
    .argument('<value>', 'the value seen')
    .option('--action <action>', 'seen (default), blocked, false-positive, investigating or mitigated')
    .option('--circle <circle>', 'send it to this circle (name or id) only')
    .option('--note <text>', 'a short note, e.g. "our CDN"')
    .option('--type <type>', 'indicator type (detected if omitted)')
    .option('--count <n>', 'times seen (default 1)', intArg('count'))
    .option('--first-seen <time>', 'ISO 8601')
    .option('--last-seen <time>', 'ISO 8601')
    .option('--tlp <tlp>', 'TLP of the sighting (default: the stricter of AMBER and the records it names there; never looser)')
    .action(async (value: string, opts: { action?: string, circle?: string, note?: string, type?: string, count?: number, firstSeen?: string, lastSeen?: string, tlp?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const body: Record<string, unknown> = { value }
      for (const k of ['action', 'circle', 'note', 'type', 'count', 'firstSeen', 'lastSeen', 'tlp'] as const) if (opts[k] !== undefined) body[k] = opts[k]
      const r = await client.request<{ sent: Array<{ to: string, tlp: string }>, sightings: { count: number, origins: Record<string, unknown> } }>('POST', '/v1/sightings', body)
      print(r, () => `recorded: ${t(opts.action ?? 'seen')} ${t(value)}, sent to ${r.sent.map(s => `${t(s.to)} (TLP:${t(s.tlp)})`).join(', ')}\n  ${t(value)} is sighted by ${plural(Object.keys(r.sightings.origins).length, 'organization')}, ${r.sightings.count} time(s) in all (phalanx lookup shows who did what)`)
    })

  registerCircleCommands(program, { print, globals, collect, intArg, t })
  registerAdvisoryCommands(program, { print, globals, collect, intArg, t })
  registerReportCommands(program, { print, globals, collect, intArg, t })

  program.command('peers')
    .description('connected peers: org, circles, latency')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ peers: Array<{ peerId: string, org: string | null, fingerprint: string, circles: string[], latencyMs: number | null }> }>('GET', '/v1/peers')
      print(r, () => r.peers.length === 0 ? 'no peers connected' : r.peers.map(p => `${p.org !== null ? t(p.org) : '(not in a circle)'}  ${t(p.fingerprint)}  ${p.latencyMs ?? '?'} ms  circles: ${p.circles.map(t).join(', ') || '-'}`).join('\n'))
    })

  program.command('purge')
    .description('purge indicators past their validUntil (records and index ids; the signed entries stay)')
    .option('--before <date>', 'purge those whose validUntil is before this date (default: now)')
    .action(async (opts: { before?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ scanned: number, purged: number, expiredBefore: string }>('POST', '/v1/purge', opts.before !== undefined ? { expiredBefore: opts.before } : {})
      print(r, () => `purged ${r.purged} of ${r.scanned} indicators (validUntil before ${r.expiredBefore})`)
    })

  program.command('forks')
    .description('origins caught signing two different entries for one log position, with both entries as evidence')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ forks: Array<{ circle: string, origin: string, seq: number, kind: string, detected: string, entries: Array<{ sig: string }> }> }>('GET', '/v1/forks')
      print(r, () => r.forks.length === 0
        ? 'no forks'
        : r.forks.map(f => `FORK  origin ${f.origin.slice(0, 16)}…  ${f.circle} seq ${f.seq} (${f.kind})  detected ${f.detected}\n      held: ${f.entries[0].sig.slice(0, 16)}…  other: ${f.entries[1].sig.slice(0, 16)}…`).join('\n'))
    })

  program.command('verify')
    .description('check the whole store offline (stop the node first): every entry\'s signature, every log\'s seq/prev chain, every index against its records, the counters')
    .option('--no-signatures', 'skip the signature checks (the slow part)')
    .action(async (opts: { signatures: boolean }, cmd: Command) => {
      const { verifyDataDir } = await import('../operations/verify.js')
      const report = await verifyDataDir(resolveDataDir(globals(cmd).data), { signatures: opts.signatures, maxProblems: 1000 })
      if (!report.ok) process.exitCode = ERROR_CODES.PX_ERR_VERIFY.exit
      print(report, () => `${report.ok ? 'OK' : 'PROBLEMS FOUND'}: ${report.entries} entries, ${report.indicators} indicators, ${report.indexKeys} index entries checked in ${report.seconds} s${opts.signatures ? '' : ' (signatures not checked)'}` +
        report.problems.map(p => `\n  ${p.kind.padEnd(9)} ${p.key.replace(/\x00/g, '/')}: ${p.message}`).join(''))
    })

  program.command('repair')
    .description('repair a damaged store offline (stop the node first): copy it to <store>.backup-<time>, run LevelDB\'s repair, then verify; exit 0 when the check passes, 12 (PX_ERR_VERIFY) when problems remain')
    .option('--no-signatures', 'skip the signature checks of the verify that follows')
    .action(async (opts: { signatures: boolean }, cmd: Command) => {
      const { repairDataDir } = await import('../operations/repair.js')
      const r = await repairDataDir(resolveDataDir(globals(cmd).data), { signatures: opts.signatures })
      if (!r.verify.ok) process.exitCode = ERROR_CODES.PX_ERR_VERIFY.exit
      print(r, () => `store ${r.store} (before: ${r.before})\n  copied first to ${r.backup}\n  repaired by LevelDB (what it could not read is in ${r.store}/lost/)\n` +
        `${r.verify.ok ? 'OK' : 'PROBLEMS FOUND'}: ${r.verify.entries} entries, ${r.verify.indicators} indicators, ${r.verify.indexKeys} index entries checked in ${r.verify.seconds} s` +
        r.verify.problems.map(p => `\n  ${p.kind.padEnd(9)} ${p.key.replace(/\x00/g, '/')}: ${p.message}`).join(''))
    })

  program.command('recover')
    .description('offline (stop the node first): accept that the lost tail of this node\'s own logs cannot come back from any peer; each such log goes on at its last signed seq + 2, never re-signing a seq')
    .requiredOption('--accept-lost-tail', 'accept the loss (without it nothing is changed)')
    .action(async (_opts: { acceptLostTail: boolean }, cmd: Command) => {
      const { acceptLostTail } = await import('../operations/repair.js')
      const r = await acceptLostTail(resolveDataDir(globals(cmd).data))
      print(r, () => r.accepted.length === 0
        ? 'no own log is behind its own tail: nothing to accept'
        : r.accepted.map(a => `accepted: ${a.log} lost seqs ${a.head + 1}..${a.signed}; it goes on at seq ${a.next} (seq ${a.signed + 1} stays unsigned)`).join('\n'))
    })

  registerTransferCommands(program, { print, globals, collect, intArg, t })
  registerWatchCommand(program, { print, globals, collect, intArg, t })

  const token = program.command('token').description('TAXII read tokens: a client reads the collections of the circles named, nothing else')
  token.command('create')
    .description('a TAXII read token for the collections named (printed once; the node keeps only its hash)')
    .argument('<name>', 'who uses it (a label)')
    .requiredOption('--collection <circle>', 'a circle id or name, or "local" for the private scope (repeatable)', collect)
    .option('--max-tlp <tlp>', 'the strictest TLP it reads (default AMBER; AMBER+STRICT only for your own organization\'s tools)')
    .action(async (name: string, opts: { collection: string[], maxTlp?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, token: string, collections: string[], maxTlp: string }>('POST', '/v1/tokens', { name, collections: opts.collection, ...(opts.maxTlp !== undefined ? { maxTlp: opts.maxTlp } : {}) })
      print(r, () => `read token ${r.id} for ${r.collections.join(', ')}, up to TLP:${r.maxTlp} (shown once; TAXII clients use it as the Basic auth password):\n${r.token}`)
    })
  token.command('list')
    .description('the read tokens: id, name, collections, TLP ceiling (never the token itself)')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ tokens: Array<{ id: string, name: string, collections: string[], maxTlp?: string, created: string }> }>('GET', '/v1/tokens')
      print(r, () => r.tokens.length === 0 ? 'no read tokens' : r.tokens.map(k => `${t(k.id)}  ${t(k.name)}  ${k.collections.map(t).join(', ')}  up to TLP:${k.maxTlp ?? DEFAULT_TOKEN_CEILING}  (${t(k.created)})`).join('\n'))
    })
  token.command('revoke')
    .description('revoke a read token: its next request is refused')
    .argument('<id>', 'the token id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ revoked: string }>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`)
      print(r, () => `revoked read token ${r.revoked}`)
    })

  program.command('status')
    .description('the running node: identity, API address, store counts')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const s = await client.request<{ org: string, fingerprint: string, peerId: string, publicKey: string, apiUrl: string, dataDir: string, startedAt: string, counts: Record<string, number>, multiaddrs: string[], peers: number, warnings: string[], circles: Array<{ id: string, name: string, members: number, records: number, origins: number, lastSync: string | null, inSync: { members: number, of: number }, status?: string, removed?: { at: string, byFingerprint: string } }> }>('GET', '/v1/status')
      const circles = s.circles.map(c => c.status === 'removed' || c.status === 'left'
        ? `\n  ${t(c.name)} (${t(c.id)}): ${formerCircle(c, t)}; ${c.records === null ? '?' : plural(c.records, 'record')} from ${plural(c.origins, 'origin')} kept`
        : `\n  ${t(c.name)} (${t(c.id)}): ${plural(c.members, 'member')}, ${c.records === null ? '?' : plural(c.records, 'record')} from ${plural(c.origins, 'origin')}, last sync ${c.lastSync ?? 'not yet'}, in sync with ${c.inSync.members}/${plural(c.inSync.of, 'member')}`).join('')
      print(s, () => `org:         ${t(s.org)}\nfingerprint: ${s.fingerprint}\npeer id:     ${s.peerId}\nAPI:         ${s.apiUrl}\np2p:         ${s.multiaddrs.join(' ') || '(not started)'}\npeers:       ${s.peers} connected\ncircles:${circles === '' ? '     none' : circles}\ndata:        ${s.dataDir}\nup since:    ${s.startedAt}\nstore:       ${Object.entries(s.counts).map(([k, v]) => `${v} ${k === 'sightings' ? 'sighted values' : k}`).join(', ')}` +
        s.warnings.map(w => `\nWARNING:     ${t(w)}`).join(''))
    })

  return program
}

/**
 * A reader that closed the pipe (`phalanx export … | head`) has what it wanted: the command
 * ends quietly with exit 0, as `cat` under `head` does, whatever it was writing.
 */
function quietOnClosedPipe (): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
      if (!runningNode) process.exit(0)
      // a running node stops writing to that stream, and runs on
      stream.write = () => true
    })
  }
}

async function main (): Promise<void> {
  quietOnClosedPipe()
  const program = buildProgram()
  try {
    await program.parseAsync(process.argv)
    jsonMode = program.opts<GlobalOpts>().json === true || jsonMode
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) process.exit(0)
      // commander already printed its message to stderr
      if (jsonMode) process.stdout.write(JSON.stringify({ error: { code: 'PX_ERR_VALIDATION', message: err.message.replace(/^error: /, '') } }) + '\n')
      process.exit(2)
    }
    fail(err)
  }
}

void main()
