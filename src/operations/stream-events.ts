/**
 * The stream's events besides indicator versions (issue 15, part 4): new advisories, acks,
 * other organizations' sightings of values this node has its own indicator of, and report
 * versions (issue 16: new, updated, revoked). The store keeps
 * them at cursors of the counter that orders the change feed (derive.ts, in the batch of what
 * they tell), so the stream interleaves them with indicator versions in the order stored and
 * resumes after any of them by Last-Event-ID. Here they are read a page at a time, filtered,
 * and told with the names this node's circles recorded.
 */
import type { CircleManager } from '../circles/index.js'
import type { LevelStore, StoreEvent } from '../store/index.js'
import type { Advisories } from './advisories.js'
import type { Reports } from './reports.js'

/** the events `GET /v1/stream` sends (`events=` picks some; default all) */
export const STREAM_EVENT_KINDS = ['indicator', 'sighting', 'advisory', 'ack', 'report'] as const
export type StreamEventKind = typeof STREAM_EVENT_KINDS[number]

export interface StreamEventComponents {
  store: Pick<LevelStore, 'events' | 'advisory'>
  advisories: Pick<Advisories, 'get'>
  reports: Pick<Reports, 'summary'>
  circles: Pick<CircleManager, 'get' | 'mine'>
  identity: { publicKey: string }
}

/** one event as the stream sends it: its id is its store cursor */
export interface StreamEvent {
  id: string
  event: StreamEventKind
  data: unknown
}

/** which of the store's events a stream wants: their kinds, and a circle and an origin when it names them */
export interface StreamEventFilter {
  kinds: ReadonlySet<StreamEventKind>
  circle?: string
  origin?: string
}

/** store events read per page */
const EVENTS_PAGE = 256

export class StreamEvents {
  readonly #c: StreamEventComponents

  constructor (components: StreamEventComponents) {
    this.#c = components
  }

  /**
   * The events after cursor `after` up to `upto` (inclusive) that pass `f`, in cursor order, one
   * page; `next` is where the next page starts, null when this page reached `upto`.
   */
  async page (after: string, upto: string, f: StreamEventFilter): Promise<{ events: StreamEvent[], next: string | null }> {
    const raw = await this.#c.store.events(after, upto, EVENTS_PAGE)
    const events: StreamEvent[] = []
    for (const { cursor, event } of raw) {
      if (!f.kinds.has(event.kind)) continue
      const told = await this.#tell(event)
      if (told === undefined) continue
      if (f.circle !== undefined && told.circle !== f.circle) continue
      if (f.origin !== undefined && told.publicKey !== f.origin) continue
      events.push({ id: cursor, event: event.kind, data: told.data })
    }
    return { events, next: raw.length < EVENTS_PAGE ? null : raw[raw.length - 1].cursor }
  }

  /** an event's data (what it is about, with the names this node knows), its circle and its org's key */
  async #tell (e: StoreEvent): Promise<{ publicKey: string, circle: string, data: unknown } | undefined> {
    switch (e.kind) {
      case 'advisory': {
        if (this.#c.store.advisory(e.id) === undefined) return undefined // written together: cannot happen
        const a = await this.#c.advisories.get(e.id)
        return { publicKey: a.publicKey, circle: a.circle, data: a }
      }
      case 'ack': {
        const a = this.#c.store.advisory(e.advisory)
        return {
          publicKey: e.origin,
          circle: e.circle,
          data: {
            advisory: e.advisory,
            title: a?.title ?? null,
            mine: a?.origin === this.#c.identity.publicKey,
            circle: e.circle,
            circleName: this.#c.circles.get(e.circle)?.name ?? null,
            publicKey: e.origin,
            org: this.#nameOf(e.origin, e.circle),
            at: e.at
          }
        }
      }
      case 'report': {
        const r = this.#c.reports.summary(e.id)
        if (r === undefined) return undefined
        return { publicKey: r.publicKey, circle: r.circle, data: { ...r, update: e.update === true } }
      }
      case 'sighting': {
        const { kind: _k, origin, ...rest } = e
        return { publicKey: origin, circle: e.circle, data: { ...rest, circleName: this.#c.circles.get(e.circle)?.name ?? null, publicKey: origin, org: this.#nameOf(origin, e.circle) } }
      }
    }
  }

  /** an org's name in `circle`, else in any circle of this node; null when unknown */
  #nameOf (key: string, circle: string): string | null {
    const there = this.#c.circles.get(circle)?.members.get(key)?.org
    if (there !== undefined) return there
    for (const s of this.#c.circles.mine()) {
      const org = s.members.get(key)?.org
      if (org !== undefined) return org
    }
    return null
  }
}
