/**
 * Test helper: the use cases of src/operations (Indicators, Sightings, Advisories, Reports, Status) over a real
 * store (LevelDB in a temp dir, a started Ingest), wired the way node.ts wires them. In place
 * of the CircleManager they see a fixed membership view (`FixedCircles`): the circles this
 * node is in and their members, as plain data a test sets. No network: Status sees none.
 * `close()` stops ingest, closes the store and removes the temp dir.
 */
import { pino } from 'pino'
import { PhalanxError } from '../../src/errors.js'
import { fingerprint } from '../../src/identity/index.js'
import { currentMembers, type CircleManager, type CircleState, type CircleView, type Member } from '../../src/circles/index.js'
import { Advisories, Indicators, Reports, Sightings, Status, type NodeFacts } from '../../src/operations/index.js'
import type { Tlp } from '../../src/tlp/index.js'
import { openStore, randomKey, type StoreHarness } from './store.js'

/** a circle's membership as plain data: this node (`me`) and the other current members */
export function circleState (id: string, me: string, others: readonly string[] = [], removed: readonly string[] = []): CircleState {
  const created = '2026-01-01T00:00:00.000Z'
  const member = (key: string, removedToo: boolean): Member => ({
    key,
    org: `org-${key.slice(0, 8)}`,
    role: key === me ? 'admin' : 'member',
    addedBy: me,
    addedAt: created,
    addrs: [],
    ...(removedToo ? { removed: { at: created, by: me, upTo: 0 } } : {})
  })
  const members = new Map<string, Member>()
  members.set(me, member(me, false))
  for (const k of others) members.set(k, member(k, false))
  for (const k of removed) members.set(k, member(k, true))
  return { id, name: `Circle ${id}`, founder: me, created, members, keys: new Map(), epoch: 1, entries: members.size, rekey: [] }
}

/** the membership view the use cases ask (mine, former, peerKeys, view, get), over states a test sets */
export class FixedCircles implements Pick<CircleManager, 'mine' | 'former' | 'formerError' | 'peerKeys' | 'view' | 'get'> {
  readonly states = new Map<string, CircleState>()

  constructor (readonly me: string) {}

  /** this node is in circle `id`, with these other current members */
  join (id: string, others: readonly string[] = [], removed: readonly string[] = []): void {
    this.states.set(id, circleState(id, this.me, others, removed))
  }

  get (circle: string): CircleState | undefined { return this.states.get(circle) }

  mine (): CircleState[] { return [...this.states.values()] }

  /** this node is a current member of every circle a test sets */
  former (): CircleState[] { return [] }

  formerError (): null { return null }

  view (s: CircleState): CircleView {
    return { id: s.id, name: s.name, founder: s.founder, created: s.created, epoch: s.epoch, role: 'admin', members: currentMembers(s).length, status: 'member' }
  }

  peerKeys (): Set<string> {
    const out = new Set<string>()
    for (const s of this.mine()) for (const m of currentMembers(s)) out.add(m.key)
    out.delete(this.me)
    return out
  }
}

export interface OpsHarness extends StoreHarness {
  indicators: Indicators
  sightings: Sightings
  advisories: Advisories
  reports: Reports
  status: Status
  circles: FixedCircles
  /** this node's public key (hex) */
  me: string
  facts: NodeFacts
}

export interface OpsHarnessOptions {
  defaultTlp?: Tlp
  defaultConfidence?: number
  /** records queued for writing above which a publish is refused */
  maxQueuedItems?: number
}

export const OPS_ORG = 'Ops Test Org'

/** a real store and ingest with the use cases built over them */
export async function openOps (opts: OpsHarnessOptions = {}): Promise<OpsHarness> {
  const key = randomKey()
  const h = await openStore({ key, ingest: { sync: false } })
  const me = key.publicKeyHex
  const circles = new FixedCircles(me)
  const publish = { defaultTlp: opts.defaultTlp ?? 'AMBER', defaultConfidence: opts.defaultConfidence ?? 50 }
  const log = pino({ level: 'silent' })
  const reports = new Reports({ store: h.store, ingest: h.ingest, circles, identity: { publicKey: me, org: OPS_ORG } })
  const indicators = new Indicators({ store: h.store, ingest: h.ingest, circles, identity: { publicKey: me, org: OPS_ORG }, publish, maxQueuedItems: opts.maxQueuedItems ?? 50_000, log, reports })
  const sightings = new Sightings({ store: h.store, ingest: h.ingest, circles, indicators, identity: { publicKey: me }, publish })
  const advisories = new Advisories({ store: h.store, ingest: h.ingest, circles, identity: { publicKey: me } })
  const facts: NodeFacts = { version: '0.0.0-test', apiUrl: null, peerId: 'peer-under-test', dataDir: h.dir, startedAt: '2026-01-01T00:00:00.000Z' }
  const status = new Status({ store: h.store, ingest: h.ingest, circles, identity: { publicKey: me, fingerprint: fingerprint(me), org: OPS_ORG }, network: () => undefined, about: () => facts })
  return { ...h, indicators, sightings, advisories, reports, status, circles, me, facts }
}

/** the PhalanxError `run` throws or rejects with (fails the test when it ends otherwise) */
export async function refusal (run: () => unknown): Promise<PhalanxError> {
  try {
    await run()
  } catch (err) {
    if (err instanceof PhalanxError) return err
    throw new Error(`expected a PhalanxError, got ${String(err)}`)
  }
  throw new Error('expected a PhalanxError, the call succeeded')
}
