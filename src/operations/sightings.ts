/**
 * Sightings: this organization saw a value and says what it did about it (`action`: seen,
 * blocked, false-positive, investigating, mitigated), with a count, first and last seen and a
 * note. Without a circle, a sighting goes where this node holds the value: to every circle a
 * record of it came in (or went to), and for a RED record only to its origin, directly; where
 * it holds none (or the sighter labels it RED and holds no RED record), to the private scope. Its label in each place is the stricter of AMBER and the
 * strictest record it names there, or what the sighter chooses if that is stricter still (the
 * TLP policy decides: `sightingLabelFor`, `sightingLabelViolation`). A sighting names the value,
 * so it passes on no more than a publish of it would (Indicators.reshareViolation).
 */
import { PhalanxError, ValidationError } from '../errors.js'
import { fingerprint } from '../identity/index.js'
import {
  LOCAL_CIRCLE, RED_PREFIX, SIGHTING_ACTIONS, checkKeys, isInLog, isObject, isRedLog, isSightingAction, makeSightingItem, optionalText, parseTime, redLogOf, LIMITS
} from '../records/index.js'
import { parseTlp, reachOf, refuse, sightingLabelFor, sightingLabelViolation, type LogKind, type Tlp } from '../tlp/index.js'
import type { CircleManager } from '../circles/index.js'
import type { EntryReceipt, Ingest, LevelStore, SightingSummary } from '../store/index.js'
import type { Indicators } from './indicators.js'
import { resolveCircle } from './input.js'

export interface SightingComponents {
  store: Pick<LevelStore, 'sightings' | 'indicatorsOfValueUncached'>
  ingest: Pick<Ingest, 'publish'>
  circles: Pick<CircleManager, 'mine' | 'formerError'>
  indicators: Pick<Indicators, 'normalizeLookup' | 'reshareViolation'>
  identity: { publicKey: string }
  publish: { defaultTlp: Tlp }
}

/** where a sighting went: a circle, the private scope, or an origin's direct (RED) log, and its label there */
export interface SightingSent {
  circle: string
  tlp: Tlp
  /** where that is, for people: a circle's name, "the private scope", "org <fingerprint> (RED, directly)" */
  to: string
}

const SIGHTING_FIELDS = new Set(['type', 'value', 'count', 'firstSeen', 'lastSeen', 'note', 'tlp', 'circle', 'action'])

function kindOf (log: string): LogKind {
  return isRedLog(log) ? 'red' : log === LOCAL_CIRCLE ? 'local' : 'circle'
}

export class Sightings {
  readonly #c: SightingComponents

  constructor (components: SightingComponents) {
    this.#c = components
  }

  async record (raw: unknown): Promise<{ entry: EntryReceipt, entries: EntryReceipt[], sent: SightingSent[], sightings: SightingSummary | undefined }> {
    if (!isObject(raw)) throw new ValidationError('', 'a sighting must be a JSON object')
    checkKeys(raw, SIGHTING_FIELDS, '')
    const { type, value } = this.#c.indicators.normalizeLookup(raw.value, raw.type)
    const count = raw.count ?? 1
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LIMITS.SIGHTING_COUNT_MAX) {
      throw new ValidationError('count', `count must be an integer from 1 to ${LIMITS.SIGHTING_COUNT_MAX}`)
    }
    const action = raw.action ?? 'seen'
    if (!isSightingAction(action)) throw new ValidationError('action', `action must be one of ${SIGHTING_ACTIONS.join(', ')}`)
    const now = new Date().toISOString()
    const firstSeen = raw.firstSeen === undefined ? (raw.lastSeen === undefined ? now : parseTime(raw.lastSeen, 'lastSeen')) : parseTime(raw.firstSeen, 'firstSeen')
    const lastSeen = raw.lastSeen === undefined ? (raw.firstSeen === undefined ? now : firstSeen) : parseTime(raw.lastSeen, 'lastSeen')
    if (lastSeen < firstSeen) throw new ValidationError('lastSeen', 'lastSeen must not be before firstSeen')
    const note = optionalText(raw.note, 'note', LIMITS.REASON_MAX)
    const item = makeSightingItem({ type, value, count, firstSeen, lastSeen, ...(note !== undefined ? { note } : {}), action })
    const chosen = raw.tlp === undefined ? undefined : parseTlp(raw.tlp)

    // where it goes, and the labels of the records of the value held in each place
    const held = new Map<string, Tlp[]>()
    const heldIn = (log: string): Tlp[] => { let l = held.get(log); if (l === undefined) held.set(log, l = []); return l }
    const records = this.#c.store.indicatorsOfValueUncached(type, value)
    let targets: string[]
    if (raw.circle !== undefined) {
      const circle = resolveCircle(this.#c.circles, raw.circle, 'circle')
      for (const r of records) if (isInLog(r, circle)) heldIn(circle).push(r.tlp)
      targets = [circle]
    } else {
      const mine = new Set(this.#c.circles.mine().map(c => c.id))
      for (const r of records) {
        if (isRedLog(r.circle)) {
          // a RED record: its origin alone hears of it (this node's own RED stays here)
          if (r.origin !== this.#c.identity.publicKey) heldIn(redLogOf(r.origin)).push('RED')
          continue
        }
        for (const log of reachOf(r)) if (mine.has(log)) heldIn(log).push(r.tlp)
      }
      // a sighting the sighter labels RED goes to no circle: to RED records' origins, else nowhere but here
      targets = [...held.keys()].filter(log => chosen !== 'RED' || isRedLog(log)).sort()
      if (targets.length === 0) targets = [LOCAL_CIRCLE]
    }
    const batches = targets.map(log => {
      const kind = kindOf(log)
      const there = held.get(log) ?? []
      const tlp = chosen ?? (kind === 'local' && there.length === 0 ? this.#c.publish.defaultTlp : sightingLabelFor(kind, there))
      refuse(sightingLabelViolation(kind, there, tlp))
      // a sighting names the value: it passes on no more than a publish of it would
      if (kind !== 'red') {
        const why = this.#c.indicators.reshareViolation(type, value, tlp, log)
        if (why !== null) throw new PhalanxError('PX_ERR_TLP_VIOLATION', why, { field: 'value' })
      }
      return { circle: log, tlp, items: [item] }
    })
    const res = await this.#c.ingest.publish(batches)
    const names = new Map(this.#c.circles.mine().map(c => [c.id, c.name]))
    const to = (log: string): string => log === LOCAL_CIRCLE ? 'the private scope' : isRedLog(log) ? `org ${fingerprint(log.slice(RED_PREFIX.length))} (RED, directly)` : `circle ${names.get(log) ?? log}`
    return { entry: res.entries[0], entries: res.entries, sent: batches.map(b => ({ circle: b.circle, tlp: b.tlp, to: to(b.circle) })), sightings: this.#c.store.sightings(type, value) }
  }
}
