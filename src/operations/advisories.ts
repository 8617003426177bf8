/**
 * Advisories (issue 15, part 3): a member sends a short signed alert to a circle (title, text,
 * optional severity, CVE ids and indicators it names); every member gets it by gossip, a member
 * that was offline by sync; each member acknowledges it with a signed `ack`, and the author's
 * node (any member's, in fact) shows who acknowledged and who has not yet. The TLP policy
 * decides the labels (`advisoryLabelViolation`, `ackLabelFor`): an advisory goes only into a
 * circle, never RED, never looser than the indicators it names there.
 */
import { randomBytes } from 'node:crypto'
import { PhalanxError, ValidationError } from '../errors.js'
import {
  ADVISORY_LIMITS, ADVISORY_SEVERITIES, advisoryId, isAdvisorySeverity, isIndicatorId, isInLog, normalizeCves, optionalName, optionalText,
  type AckItem, type AdvisoryItem
} from '../records/index.js'
import { ADVISORY_DEFAULT_TLP, ackLabelFor, advisoryLabelViolation, parseTlp, refuse, type Tlp } from '../tlp/index.js'
import type { CircleManager, CircleState } from '../circles/index.js'
import type { Ack, EntryReceipt, Ingest, LevelStore, StoredAdvisory } from '../store/index.js'
import { bodyWith, requireCircle } from './input.js'

export interface AdvisoryComponents {
  store: Pick<LevelStore, 'advisory' | 'advisories' | 'acksOf' | 'getIndicator'>
  ingest: Pick<Ingest, 'publish'>
  circles: Pick<CircleManager, 'mine' | 'get' | 'formerError'>
  identity: { publicKey: string }
}

/** an organization as the views name it: its key, and its name in the advisory's circle (null when unknown) */
export interface OrgRef {
  publicKey: string
  org: string | null
}

/** an advisory as the API answers it */
export interface AdvisoryView {
  id: string
  circle: string
  circleName: string | null
  publicKey: string
  org: string | null
  /** this node wrote it */
  mine: boolean
  tlp: Tlp
  title: string
  text: string
  severity?: string
  cves: string[]
  indicators: string[]
  created: string
  received: string
  /** members that acknowledged it, earliest first */
  acks: Array<OrgRef & { at: string }>
  /** current members of its circle, its author aside, that have not acknowledged it yet */
  pending: OrgRef[]
  /** has this node acknowledged it */
  ackedByMe: boolean
}

/** an advisory in a list: its acks counted */
export type AdvisorySummary = Omit<AdvisoryView, 'acks' | 'pending' | 'text'> & { acked: number, expected: number }

const PUBLISH_FIELDS = new Set(['circle', 'title', 'text', 'tlp', 'severity', 'cves', 'indicators'])

export class Advisories {
  readonly #c: AdvisoryComponents

  constructor (components: AdvisoryComponents) {
    this.#c = components
  }

  /** POST /v1/advisories: publish an advisory to a circle; its text defaults to its title */
  async publish (raw: unknown): Promise<{ id: string, entry: EntryReceipt, advisory: AdvisoryView }> {
    bodyWith(raw, PUBLISH_FIELDS)
    if (raw.circle === undefined) throw new ValidationError('circle', 'an advisory goes to a circle: name it (id or name)')
    if (typeof raw.circle !== 'string') throw new ValidationError('circle', 'circle must be a string')
    const circle = requireCircle(this.#c.circles, raw.circle, 'circle')
    const title = optionalName(raw.title, 'title', ADVISORY_LIMITS.TITLE_MAX)
    if (title === undefined) throw new ValidationError('title', `an advisory needs a title (one line, at most ${ADVISORY_LIMITS.TITLE_MAX} characters)`)
    const text = optionalText(raw.text, 'text', ADVISORY_LIMITS.TEXT_MAX) ?? title
    const tlp = raw.tlp === undefined ? ADVISORY_DEFAULT_TLP : parseTlp(raw.tlp)
    const item: AdvisoryItem = { kind: 'advisory', nonce: randomBytes(16).toString('hex'), title, text }
    if (raw.severity !== undefined) {
      if (!isAdvisorySeverity(raw.severity)) throw new ValidationError('severity', `severity must be one of ${ADVISORY_SEVERITIES.join(', ')}`)
      item.severity = raw.severity
    }
    if (raw.cves !== undefined) {
      const cves = normalizeCves(raw.cves, 'cves')
      if (cves.length > 0) item.cves = cves
    }
    const linked: Tlp[] = []
    if (raw.indicators !== undefined) {
      if (!Array.isArray(raw.indicators)) throw new ValidationError('indicators', 'indicators must be an array of indicator ids')
      if (raw.indicators.length > ADVISORY_LIMITS.INDICATORS_MAX) throw new ValidationError('indicators', `indicators holds at most ${ADVISORY_LIMITS.INDICATORS_MAX} ids`)
      const ids = raw.indicators.map((id, i) => {
        const field = `indicators[${i}]`
        if (!isIndicatorId(id)) throw new ValidationError(field, 'an indicator id is 32 lower-case hex characters')
        // an advisory names what its circle holds: a member can look each one up
        const ind = this.#c.store.getIndicator(id)
        if (ind === undefined || !isInLog(ind, circle)) throw new ValidationError(field, `indicator ${id} is not held in circle ${this.#circleName(circle) ?? circle}: an advisory names indicators of its own circle`)
        linked.push(ind.tlp)
        return id
      })
      if (ids.length > 0) item.indicators = [...new Set(ids)].sort()
    }
    refuse(advisoryLabelViolation(tlp, linked))
    const res = await this.#c.ingest.publish([{ circle, tlp, items: [item] }])
    const id = advisoryId(this.#c.identity.publicKey, item.nonce)
    return { id, entry: res.entries[0], advisory: await this.get(id) }
  }

  /** GET /v1/advisories: the advisories this node holds, of one circle (id or name) or all, newest first */
  async list (circleRef?: string): Promise<{ advisories: AdvisorySummary[] }> {
    const circle = circleRef === undefined ? undefined : requireCircle(this.#c.circles, circleRef, 'circle')
    const out: AdvisorySummary[] = []
    for (const a of await this.#c.store.advisories(circle)) {
      const { acks, pending, text: _text, ...rest } = await this.#view(a)
      out.push({ ...rest, acked: acks.length, expected: acks.length + pending.length })
    }
    return { advisories: out }
  }

  /** GET /v1/advisories/:id: one advisory with who acknowledged it and who has not yet */
  async get (id: string): Promise<AdvisoryView> {
    return await this.#view(this.#require(id))
  }

  /** POST /v1/advisories/:id/ack: this node acknowledges a member's advisory, once */
  async ack (id: string, raw: unknown = {}): Promise<{ advisory: string, entry: EntryReceipt }> {
    bodyWith(raw ?? {}, new Set())
    const a = this.#require(id)
    const me = this.#c.identity.publicKey
    if (a.origin === me) throw new PhalanxError('PX_ERR_CONFLICT', 'this is this node\'s own advisory: its members acknowledge it, its author does not', { field: 'id' })
    if (!this.#c.circles.mine().some(s => s.id === a.circle)) {
      const gone = this.#c.circles.formerError(a.circle)
      throw new PhalanxError('PX_ERR_NOT_MEMBER', gone?.message ?? `this node is not a member of circle ${a.circle}, where the advisory was sent`, { field: 'id' })
    }
    if ((await this.#c.store.acksOf(id, a.circle)).some(k => k.origin === me)) {
      throw new PhalanxError('PX_ERR_CONFLICT', `advisory ${id} is already acknowledged by this node`, { field: 'id' })
    }
    const item: AckItem = { kind: 'ack', advisory: id }
    const res = await this.#c.ingest.publish([{ circle: a.circle, tlp: ackLabelFor(a.tlp), items: [item] }])
    return { advisory: id, entry: res.entries[0] }
  }

  #require (id: string): StoredAdvisory {
    if (!isIndicatorId(id)) throw new ValidationError('id', 'an advisory id is 32 lower-case hex characters')
    const a = this.#c.store.advisory(id)
    if (a === undefined) throw new PhalanxError('PX_ERR_NOT_FOUND', `no advisory ${id} here`, { field: 'id' })
    return a
  }

  #state (circle: string): CircleState | undefined {
    return this.#c.circles.get(circle)
  }

  #circleName (circle: string): string | undefined {
    return this.#state(circle)?.name
  }

  async #view (a: StoredAdvisory): Promise<AdvisoryView> {
    const s = this.#state(a.circle)
    const nameOf = (key: string): string | null => s?.members.get(key)?.org ?? null
    const me = this.#c.identity.publicKey
    // the author does not acknowledge its own advisory (an ack it made anyway is not counted)
    const acks = (await this.#c.store.acksOf(a.id, a.circle)).filter((k: Ack) => k.origin !== a.origin)
    const acked = new Set(acks.map(k => k.origin))
    const pending = s === undefined
      ? []
      : [...s.members.values()].filter(m => m.removed === undefined && m.key !== a.origin && !acked.has(m.key)).map(m => ({ publicKey: m.key, org: m.org }))
    pending.sort((x, y) => (x.org === y.org ? (x.publicKey < y.publicKey ? -1 : 1) : x.org < y.org ? -1 : 1))
    return {
      id: a.id,
      circle: a.circle,
      circleName: s?.name ?? null,
      publicKey: a.origin,
      org: nameOf(a.origin),
      mine: a.origin === me,
      tlp: a.tlp,
      title: a.title,
      text: a.text,
      ...(a.severity !== undefined ? { severity: a.severity } : {}),
      cves: a.cves ?? [],
      indicators: a.indicators ?? [],
      created: a.created,
      received: a.received,
      acks: acks.map(k => ({ publicKey: k.origin, org: nameOf(k.origin), at: k.at })),
      pending,
      ackedByMe: acked.has(me)
    }
  }
}
