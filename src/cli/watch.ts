/**
 * `phalanx watch`: the node's live stream (`GET /v1/stream`, server-sent events) as one line per
 * event, for an analyst's terminal: new indicators, updates and revocations, advisories and
 * their acks, and other organizations' sightings of this node's own indicators, with the org and
 * circle by name and the TLP in colour on a terminal (`NO_COLOR` turns colour off); `--json`
 * prints each event as one JSON line for machines. It follows the stream until interrupted:
 * when the node goes away (a restart, a new API port) it reconnects every few seconds, reading
 * the node's address again, and resumes after the last event it printed (`last_event_id`), so
 * nothing stored meanwhile is missed or printed twice.
 *
 * Everything a node or a peer chose (values, names, tags, reasons) is escaped before it reaches
 * the terminal.
 */
import type { Command } from 'commander'
import { PhalanxError } from '../errors.js'
import { escapeForTerminal, escapeJsonText } from '../records/text.js'
import { isRedLog, lastChangeOf, type StoredIndicator } from '../records/index.js'
import { connect, resolveDataDir, type ApiClient } from './client.js'
import type { CliHelpers } from './transfer.js'

/** one server-sent event */
export interface StreamEvent {
  id?: string
  event: string
  data: string
}

/**
 * Server-sent events from text chunks (the WHATWG event-stream format: `field: value` lines,
 * a blank line ends an event, `:` starts a comment). `retry` sets how long to wait before a
 * reconnect.
 */
export class EventStreamParser {
  #buffer = ''
  #id: string | undefined
  #event = ''
  #data: string[] = []
  retryMs: number | undefined

  /** the events completed by this chunk */
  push (chunk: string): StreamEvent[] {
    this.#buffer += chunk
    const out: StreamEvent[] = []
    for (let nl = this.#buffer.search(/\r\n|\r|\n/); nl !== -1; nl = this.#buffer.search(/\r\n|\r|\n/)) {
      // a CR at the end of a chunk may be the first half of a CRLF: wait for the next chunk
      if (nl === this.#buffer.length - 1 && this.#buffer[nl] === '\r') break
      const line = this.#buffer.slice(0, nl)
      this.#buffer = this.#buffer.slice(nl + (this.#buffer.startsWith('\r\n', nl) ? 2 : 1))
      if (line === '') {
        if (this.#data.length > 0) out.push({ ...(this.#id !== undefined ? { id: this.#id } : {}), event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n') })
        this.#event = ''
        this.#data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1))
      if (field === 'data') this.#data.push(value)
      else if (field === 'event') this.#event = value
      else if (field === 'id' && !value.includes('\0')) this.#id = value
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
    }
    return out
  }
}

/** names the node knows: org by public key, circle by id */
interface Names {
  own: string
  orgs: Map<string, string>
  circles: Map<string, string>
}

async function namesOf (client: ApiClient): Promise<Names> {
  const status = await client.request<{ publicKey: string }>('GET', '/v1/status')
  const { circles } = await client.request<{ circles: Array<{ id: string, name: string }> }>('GET', '/v1/circles')
  const names: Names = { own: status.publicKey, orgs: new Map(), circles: new Map() }
  for (const c of circles) {
    names.circles.set(c.id, c.name)
    const { members } = await client.request<{ members: Array<{ publicKey: string, org: string }> }>('GET', `/v1/circles/${encodeURIComponent(c.id)}/members`)
    for (const m of members) names.orgs.set(m.publicKey, m.org)
  }
  return names
}

const TLP_COLOUR: Record<string, string> = { RED: '31', 'AMBER+STRICT': '33', AMBER: '33', GREEN: '32', CLEAR: '37' }

/** how an indicator event reads: time, what happened, TLP, type, value, confidence, tags, who and where */
export function formatIndicatorEvent (i: StoredIndicator, names: Names, colour: boolean): string {
  const t = (s: unknown): string => escapeForTerminal(String(s))
  // a relabel is the latest change when its time is the record's last change (records lastChangeOf)
  const what = i.revoked !== undefined ? 'REVOKED' : i.relabeled !== undefined && i.relabeled.at === lastChangeOf(i) ? 'RELABELED' : i.version > 1 ? 'UPDATED' : 'NEW'
  const tlp = `TLP:${t(i.tlp)}`
  const tlpText = colour ? `\x1b[${TLP_COLOUR[i.tlp] ?? '0'}m${tlp}\x1b[0m` : tlp
  const who = i.origin === names.own ? 'us' : names.orgs.has(i.origin) ? t(names.orgs.get(i.origin)) : `${t(i.origin.slice(0, 12))}…`
  const where = i.circle === 'local' ? 'private' : isRedLog(i.circle) ? 'RED, direct' : `in ${t(names.circles.get(i.circle) ?? i.circle)}`
  const time = new Date(i.received ?? i.created).toISOString().slice(11, 19)
  const tail = i.revoked !== undefined && i.revoked.reason !== undefined ? `  (${t(i.revoked.reason)})` : ''
  return `${time}  ${what.padEnd(7)}  ${tlpText}  ${t(i.type)} ${t(i.value)}  conf ${i.confidence}${i.tags.length > 0 ? `  [${i.tags.map(t).join(', ')}]` : ''}  from ${who} ${where}  id ${t(i.id)}${tail}`
}

/** an advisory as the stream tells it (GET /v1/advisories/:id) */
interface AdvisoryEventData { id: string, circle: string, publicKey: string, org: string | null, mine: boolean, tlp: string, title: string, severity?: string, cves: string[], acks: unknown[], pending: unknown[] }
/** an ack as the stream tells it */
interface AckEventData { advisory: string, title: string | null, mine: boolean, circle: string, publicKey: string, org: string | null, at: string }
/** a report's version as the stream tells it (GET /v1/reports lists it so) */
interface ReportEventData { id: string, circle: string, publicKey: string, org: string | null, mine: boolean, tlp: string, type?: string, title?: string, techniques: Array<{ id: string }>, actors: string[], indicatorCount: number, update: boolean, revoked?: { at: string, reason?: string } }
/** another org's sighting of a value this node has its own indicator of */
interface SightingEventData { type: string, value: string, circle: string, publicKey: string, org: string | null, action: string, count: number, lastSeen: string, note?: string }

/** when the node stored an event: its id is a store cursor (microseconds since the epoch, hex) */
function timeOfEvent (id: string | undefined): string {
  const micros = id === undefined ? NaN : parseInt(id, 16)
  return (Number.isFinite(micros) ? new Date(Math.floor(micros / 1000)) : new Date()).toISOString().slice(11, 19)
}

function orgOf (d: { publicKey: string, org: string | null }, names: Names): string {
  const t = (s: unknown): string => escapeForTerminal(String(s))
  if (d.publicKey === names.own) return 'us'
  const org = d.org ?? names.orgs.get(d.publicKey)
  return org !== undefined ? t(org) : `${t(d.publicKey.slice(0, 12))}…`
}

function whereOf (circle: string, names: Names): string {
  return circle === 'local' ? 'private' : isRedLog(circle) ? 'RED, direct' : `in ${escapeForTerminal(names.circles.get(circle) ?? circle)}`
}

function tlpOf (tlp: string, colour: boolean): string {
  const s = `TLP:${escapeForTerminal(tlp)}`
  return colour ? `\x1b[${TLP_COLOUR[tlp] ?? '0'}m${s}\x1b[0m` : s
}

/** how an event other than an indicator reads: one line; undefined for an event this version does not know */
export function formatOtherEvent (event: string, id: string | undefined, data: unknown, names: Names, colour: boolean): string | undefined {
  const t = (s: unknown): string => escapeForTerminal(String(s))
  const time = timeOfEvent(id)
  switch (event) {
    case 'advisory': {
      const a = data as AdvisoryEventData
      return `${time}  ${'ADVISORY'.padEnd(8)}  ${tlpOf(a.tlp, colour)}${a.severity !== undefined ? `  ${t(a.severity.toUpperCase())}` : ''}  "${t(a.title)}"${a.cves.length > 0 ? `  ${a.cves.map(t).join(', ')}` : ''}  from ${orgOf(a, names)} ${whereOf(a.circle, names)}  id ${t(a.id)}${a.mine ? '' : `  (phalanx advisory ack ${t(a.id)})`}`
    }
    case 'ack': {
      const k = data as AckEventData
      const what = k.title !== null ? `"${t(k.title)}"` : `advisory ${t(k.advisory)}`
      return `${time}  ${'ACK'.padEnd(8)}  ${k.publicKey === names.own ? 'we' : orgOf(k, names)} acknowledged ${k.mine ? 'our' : 'the'} advisory ${what} ${whereOf(k.circle, names)}  id ${t(k.advisory)}`
    }
    case 'report': {
      const r = data as ReportEventData
      if (r.revoked !== undefined) return `${time}  ${'REPORT'.padEnd(8)}  REVOKED by ${orgOf(r, names)} ${whereOf(r.circle, names)}${r.revoked.reason !== undefined ? `  (${t(r.revoked.reason)})` : ''}  id ${t(r.id)}`
      const techniques = r.techniques.length > 0 ? `  ${r.techniques.map(x => t(x.id)).join(', ')}` : ''
      const actors = r.actors.length > 0 ? `  actors ${r.actors.map(t).join(', ')}` : ''
      return `${time}  ${'REPORT'.padEnd(8)}  ${tlpOf(r.tlp, colour)}  ${r.update ? 'updated ' : ''}${t(r.type ?? '')} "${t(r.title ?? '')}"${techniques}${actors}  ${r.indicatorCount} ind.  from ${orgOf(r, names)} ${whereOf(r.circle, names)}  id ${t(r.id)}  (phalanx report show ${t(r.id)})`
    }
    case 'sighting': {
      const x = data as SightingEventData
      return `${time}  ${'SIGHTED'.padEnd(8)}  ${orgOf(x, names)} ${t(x.action)} our ${t(x.type)} ${t(x.value)}  ×${x.count} (last ${t(x.lastSeen)}) ${whereOf(x.circle, names)}${x.note !== undefined ? `  (${t(x.note)})` : ''}`
    }
    default: return undefined
  }
}

const RECONNECT_MS = 2000
const RECONNECT_MAX_MS = 15_000

export function registerWatchCommand (program: Command, { globals, t }: CliHelpers): void {
  program.command('watch')
    .description('follow new indicators, updates and revocations, advisories and acks, reports, and sightings of your own indicators live, one line each (reconnects and resumes)')
    .option('--type <type>', 'indicator type')
    .option('--tag <tag>', 'a tag')
    .option('--tlp <list>', 'comma-separated TLP labels')
    .option('--origin <key>', 'origin public key')
    .option('--circle <circle>', 'circle name or id')
    .option('--events <list>', 'comma-separated: indicator, sighting, advisory, ack, report (default all)')
    .option('--no-revoked', 'leave revocations out')
    .option('--include-expired', 'include expired indicators')
    .option('--after <id>', 'start after this event id (what --json printed as id), not at the end')
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const g = globals(cmd)
      const json = g.json === true
      const colour = !json && process.stdout.isTTY && process.env.NO_COLOR === undefined
      const qs = new URLSearchParams()
      const map: Record<string, string> = { type: 'type', tag: 'tag', tlp: 'tlp', origin: 'origin', circle: 'circle', includeExpired: 'include_expired', events: 'events' }
      for (const [k, p] of Object.entries(map)) if (opts[k] !== undefined) qs.set(p, String(opts[k]))
      if (opts.revoked === false) qs.set('include_revoked', 'false')
      let last = typeof opts.after === 'string' ? opts.after : undefined
      let names: Names | undefined
      let namesAt = 0
      let wait = RECONNECT_MS
      let down = false
      for (;;) {
        try {
          // the node's address is read again each time: a restarted node may listen elsewhere
          const client = connect(resolveDataDir(g.data))
          if (!json && (names === undefined || Date.now() - namesAt > 60_000)) { names = await namesOf(client); namesAt = Date.now() }
          const q = new URLSearchParams(qs)
          if (last !== undefined) q.set('last_event_id', last)
          const body = await client.stream(`/v1/stream${q.size > 0 ? `?${q.toString()}` : ''}`)
          if (down) process.stderr.write(`phalanx watch: connected again to ${t(client.url)}${last !== undefined ? `, resuming after ${t(last)}` : ''}\n`)
          down = false
          wait = RECONNECT_MS
          const parser = new EventStreamParser()
          const decoder = new TextDecoder()
          for await (const chunk of body) {
            for (const e of parser.push(decoder.decode(chunk, { stream: true }))) {
              if (e.id !== undefined) last = e.id
              if (json) {
                let data: unknown = e.data
                try { data = JSON.parse(e.data) } catch { /* kept as text */ }
                process.stdout.write(escapeJsonText(JSON.stringify({ event: e.event, id: e.id ?? null, data })) + '\n')
              } else if (e.event === 'indicator') {
                const ind = JSON.parse(e.data) as StoredIndicator
                // a name this view does not know yet (a new member, a new circle): ask again, at most every 5 s
                const unknownOrg = names !== undefined && !names.orgs.has(ind.origin) && ind.origin !== names.own
                const unknownCircle = names !== undefined && ind.circle !== 'local' && !isRedLog(ind.circle) && !names.circles.has(ind.circle)
                if ((unknownOrg || unknownCircle) && Date.now() - namesAt > 5_000) { names = await namesOf(client); namesAt = Date.now() }
                process.stdout.write(formatIndicatorEvent(ind, names!, colour) + '\n')
              } else {
                let line: string | undefined
                try { line = formatOtherEvent(e.event, e.id, JSON.parse(e.data), names!, colour) } catch { /* printed raw below */ }
                process.stdout.write((line ?? `${t(e.event)}  ${t(e.data.slice(0, 500))}`) + '\n')
              }
            }
            if (parser.retryMs !== undefined) wait = Math.min(Math.max(parser.retryMs, 250), RECONNECT_MAX_MS)
          }
          throw new PhalanxError('PX_ERR_NODE_NOT_RUNNING', 'the node ended the stream (stopped?)')
        } catch (err) {
          // a refusal (a bad filter, a bad token) does not get better by trying again
          const code = (err as PhalanxError).code
          if (code !== 'PX_ERR_NODE_NOT_RUNNING' && code !== 'PX_ERR_INTERNAL' && (err as Error).name !== 'TypeError') throw err
          if (!down) process.stderr.write(`phalanx watch: ${t((err as Error).message)}; trying again every ${Math.round(wait / 1000)} s (Ctrl-C ends)\n`)
          down = true
          await new Promise(resolve => setTimeout(resolve, wait))
          wait = Math.min(wait * 2, RECONNECT_MAX_MS)
        }
      }
    })
}
