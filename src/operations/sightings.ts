/**
 * Sightings: this organization saw a value (count, first and last seen, a note), told to a
 * circle or kept in the private scope. A sighting names the value, so it passes on no more
 * than a publish of it would (the TLP policy, through Indicators.reshareViolation).
 */
import { PhalanxError, ValidationError } from '../errors.js'
import { LOCAL_CIRCLE, checkKeys, isObject, optionalText, parseTime, LIMITS, type SightingItem } from '../records/index.js'
import { parseTlp, publishViolation, refuse, type Tlp } from '../tlp/index.js'
import type { CircleManager } from '../circles/index.js'
import type { EntryReceipt, Ingest, LevelStore, SightingSummary } from '../store/index.js'
import type { Indicators } from './indicators.js'
import { resolveCircle } from './input.js'

export interface SightingComponents {
  store: Pick<LevelStore, 'sightings'>
  ingest: Pick<Ingest, 'publish'>
  circles: Pick<CircleManager, 'mine' | 'formerError'>
  indicators: Pick<Indicators, 'normalizeLookup' | 'reshareViolation'>
  publish: { defaultTlp: Tlp }
}

export class Sightings {
  readonly #c: SightingComponents

  constructor (components: SightingComponents) {
    this.#c = components
  }

  async record (raw: unknown): Promise<{ entry: EntryReceipt, sightings: SightingSummary | undefined }> {
    if (!isObject(raw)) throw new ValidationError('', 'a sighting must be a JSON object')
    checkKeys(raw, new Set(['type', 'value', 'count', 'firstSeen', 'lastSeen', 'note', 'tlp', 'circle']), '')
    const { type, value } = this.#c.indicators.normalizeLookup(raw.value, raw.type)
    const count = raw.count ?? 1
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LIMITS.SIGHTING_COUNT_MAX) {
      throw new ValidationError('count', `count must be an integer from 1 to ${LIMITS.SIGHTING_COUNT_MAX}`)
    }
    const now = new Date().toISOString()
    const firstSeen = raw.firstSeen === undefined ? (raw.lastSeen === undefined ? now : parseTime(raw.lastSeen, 'lastSeen')) : parseTime(raw.firstSeen, 'firstSeen')
    const lastSeen = raw.lastSeen === undefined ? (raw.firstSeen === undefined ? now : firstSeen) : parseTime(raw.lastSeen, 'lastSeen')
    if (lastSeen < firstSeen) throw new ValidationError('lastSeen', 'lastSeen must not be before firstSeen')
    const note = optionalText(raw.note, 'note', LIMITS.REASON_MAX)
    const item: SightingItem = { kind: 'sighting', type, value, count, firstSeen, lastSeen, ...(note !== undefined ? { note } : {}) }
    const tlp = raw.tlp === undefined ? this.#c.publish.defaultTlp : parseTlp(raw.tlp)
    const circle = resolveCircle(this.#c.circles, raw.circle, 'circle')
    // a sighting follows its label's routes: RED never goes to a circle
    refuse(publishViolation(tlp, { to: circle === LOCAL_CIRCLE ? 'local' : 'circle' }))
    // a sighting names the value: it passes on no more than a publish of it would
    const why = this.#c.indicators.reshareViolation(type, value, tlp, circle)
    if (why !== null) throw new PhalanxError('PX_ERR_TLP_VIOLATION', why, { field: 'value' })
    const res = await this.#c.ingest.publish([{ circle, tlp, items: [item] }])
    return { entry: res.entries[0], sightings: this.#c.store.sightings(type, value) }
  }
}
