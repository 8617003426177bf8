/**
 * CircleManager's rules on a real node (real LevelDB, real ingest path, real signatures):
 * which membership and data entries of shared circles the node accepts (`check`, through
 * `ingest.ingest`), which circles count as its own (`mine`), which circle keys it can open
 * (`circleKey`) and what `removeMember` publishes. Other organizations' entries are signed
 * test-side with their own keys (RemoteLog) and arrive as 'sync' or 'gossip'.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { membershipLogOf } from '../../../src/circles/index.js'
import { PhalanxError } from '../../../src/errors.js'
import { BoxKey, OrgKey, SECRETBOX_KEY_BYTES } from '../../../src/identity/index.js'
import { entryHash, validateItem, type Entry, type Item } from '../../../src/records/index.js'
import { startTestNode, type TestNode } from '../../utils/node.js'
import { RemoteLog } from '../../utils/store.js'

const AMBER = { tlp: 'AMBER' as const }
const item = (raw: Record<string, unknown>): Item => validateItem(raw)
const newCircleId = (): string => `c-${randomBytes(10).toString('hex')}`
const garbage = (): string => Buffer.from(randomBytes(72)).toString('base64')
const indicator = (value: string): Item => item({ kind: 'indicator', type: 'ipv4', value, confidence: 50, tags: ['manager-rules'] })

/** another organization: its signing key and the box key from the same seed */
interface Org { key: OrgKey, box: BoxKey, pub: string }
function newOrg (): Org {
  const seed = randomBytes(32)
  const key = OrgKey.fromSeed(seed)
  return { key, box: BoxKey.fromSeed(seed), pub: key.publicKeyHex }
}

/** the verdict of a call: the PhalanxError's code and field, or what it returned */
async function verdict (fn: () => unknown): Promise<{ code: string, field?: string }> {
  try {
    const r = await fn()
    return { code: typeof r === 'object' && r !== null && 'status' in r ? String(r.status) : 'accepted' }
  } catch (err) {
    if (err instanceof PhalanxError) return err.field !== undefined ? { code: err.code, field: err.field } : { code: err.code }
    return { code: `not a PhalanxError: ${String(err)}` }
  }
}

describe('CircleManager on a real node', () => {
  let t: TestNode
  let me: string
  beforeAll(async () => {
    t = await startTestNode()
    me = t.node.identity.publicKey
  })
  afterAll(async () => { await t?.stop() })

  const ingest = async (entry: Entry, source: string): Promise<{ code: string, field?: string }> => await verdict(async () => await t.node.ingest.ingest(entry, source))

  /** A's genesis of `g` was stored: A's next entry follows it */
  function follow (g: { log: RemoteLog, entry: Entry }): void {
    g.log.seq = g.entry.seq
    g.log.prev = entryHash(g.entry)
  }

  /** A's genesis of a new circle: A admin, `others` members, epoch 1 sealed (really) to all */
  function genesisBy (a: Org, others: string[], opts: { tlp?: 'AMBER' | 'GREEN' } = {}): { id: string, log: RemoteLog, entry: Entry, key: Uint8Array } {
    const id = newCircleId()
    const log = new RemoteLog(a.key, membershipLogOf(id))
    const key = randomBytes(SECRETBOX_KEY_BYTES)
    const sealed = Object.fromEntries([a.pub, ...others].map(k => [k, a.box.seal(k, key)]))
    const entry = log.peek([
      item({ kind: 'circle', name: 'ISAC' }),
      item({ kind: 'member', op: 'add', key: a.pub, role: 'admin', org: 'A' }),
      ...others.map(k => item({ kind: 'member', op: 'add', key: k, role: 'member' })),
      item({ kind: 'key', epoch: 1, sealed })
    ], { tlp: opts.tlp ?? 'AMBER' })
    return { id, log, entry, key }
  }

  describe('check: the genesis of a shared circle', () => {
    it('refuses a genesis nobody asked for from another org (sync, gossip) with PX_ERR_UNKNOWN_CIRCLE, storing nothing', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      for (const source of ['sync', 'gossip']) expect(await ingest(g.entry, source)).toEqual({ code: 'PX_ERR_UNKNOWN_CIRCLE' })
      expect(t.node.circles.get(g.id)).toBeUndefined()
      expect(t.node.store.head(membershipLogOf(g.id), a.pub)).toBeUndefined()
    })

    it('accepts the same genesis once the node expects the circle (join, connect) and folds it', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'PX_ERR_UNKNOWN_CIRCLE' })
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)).toMatchObject({ id: g.id, founder: a.pub, epoch: 1 })
    })

    it('accepts a genesis of the node\'s own (source local) without being asked', async () => {
      const id = newCircleId()
      const own = new RemoteLog(t.node.identity.key, membershipLogOf(id))
      const entry = own.peek([
        item({ kind: 'circle', name: 'own' }),
        item({ kind: 'member', op: 'add', key: me, role: 'admin' }),
        item({ kind: 'key', epoch: 1, sealed: { [me]: garbage() } })
      ], AMBER)
      expect(await ingest(entry, 'local')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(id)?.founder).toBe(me)
    })

    it('refuses a second genesis of a known circle as a rule break of the fold (PX_ERR_VALIDATION, items[0])', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      const usurper = newOrg()
      const second = new RemoteLog(usurper.key, membershipLogOf(g.id)).peek([
        item({ kind: 'circle', name: 'mine now' }),
        item({ kind: 'member', op: 'add', key: usurper.pub, role: 'admin' }),
        item({ kind: 'key', epoch: 1, sealed: { [usurper.pub]: garbage() } })
      ], AMBER)
      expect(await ingest(second, 'sync')).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items[0]' })
      expect(t.node.circles.get(g.id)?.founder).toBe(a.pub)
    })

    it('refuses an indicator in the membership log of an unknown circle as malformed (PX_ERR_VALIDATION, items)', async () => {
      const x = newOrg()
      const entry = new RemoteLog(x.key, membershipLogOf(newCircleId())).peek([indicator('192.0.2.60')], AMBER)
      expect(await ingest(entry, 'sync')).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
    })

    it('refuses a membership entry without records as malformed, not with a crash (PX_ERR_VALIDATION, items)', async () => {
      const x = newOrg()
      const entry = new RemoteLog(x.key, membershipLogOf(newCircleId())).peek([], AMBER)
      expect(await verdict(() => { t.node.circles.check(entry, 'sync') })).toEqual({ code: 'PX_ERR_VALIDATION', field: 'items' })
    })
  })

  describe('check: TLP of circle logs', () => {
    it('refuses a membership-log entry that is not AMBER (PX_ERR_TLP_VIOLATION, field tlp), genesis or later', async () => {
      const a = newOrg()
      const green = genesisBy(a, [me], { tlp: 'GREEN' })
      t.node.circles.expect(green.id)
      expect(await ingest(green.entry, 'sync')).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      expect(t.node.circles.get(green.id)).toBeUndefined()

      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      follow(g)
      const b = newOrg()
      const add = [item({ kind: 'member', op: 'add', key: b.pub, role: 'member' }), item({ kind: 'key', epoch: 1, sealed: { [b.pub]: a.box.seal(b.pub, g.key) } })]
      expect(await ingest(g.log.peek(add, { tlp: 'GREEN' }), 'sync')).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      expect(t.node.circles.get(g.id)?.members.has(b.pub)).toBe(false)
      expect(await ingest(g.log.peek(add, AMBER), 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)?.members.has(b.pub)).toBe(true)
    })

    it('refuses a data entry of a circle the node does not know (PX_ERR_UNKNOWN_CIRCLE, field circle)', async () => {
      const x = newOrg()
      const entry = new RemoteLog(x.key, newCircleId()).peek([indicator('192.0.2.61')], AMBER)
      expect(await ingest(entry, 'sync')).toEqual({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'circle' })
    })

    it('refuses a RED data entry in a circle log (PX_ERR_TLP_VIOLATION, field tlp); the same member\'s AMBER entry is stored', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      const data = new RemoteLog(a.key, g.id)
      expect(await ingest(data.peek([indicator('192.0.2.62')], { tlp: 'RED' }), 'sync')).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      expect(t.node.store.head(g.id, a.pub)).toBeUndefined()
      expect(await ingest(data.peek([indicator('192.0.2.62')], AMBER), 'sync')).toEqual({ code: 'stored' })
      expect(t.node.store.head(g.id, a.pub)?.seq).toBe(1)
    })
  })

  describe('check, entries of a later version (kept unread)', () => {
    const later = (value: string): Item => ({ kind: 'playbook', title: value } as unknown as Item)
    it('a member\'s entry is kept, in the data log and in the membership log; a non-member\'s, an unknown circle\'s and a wrong label are refused', async () => {
      const a = newOrg()
      const x = newOrg()
      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      expect(await ingest(new RemoteLog(x.key, g.id).peek([later('stranger')], AMBER), 'sync')).toEqual({ code: 'PX_ERR_NOT_MEMBER' })
      expect(await ingest(new RemoteLog(a.key, newCircleId()).peek([later('unknown circle')], AMBER), 'sync')).toEqual({ code: 'PX_ERR_UNKNOWN_CIRCLE', field: 'circle' })
      const data = new RemoteLog(a.key, g.id)
      expect(await ingest(data.peek([later('red in a circle')], { tlp: 'RED' }), 'sync')).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      expect(await ingest(data.next([later('member')], AMBER), 'sync')).toEqual({ code: 'stored' })
      follow(g)
      expect(await ingest(g.log.peek([later('membership, not AMBER')], { tlp: 'GREEN' }), 'sync')).toEqual({ code: 'PX_ERR_TLP_VIOLATION', field: 'tlp' })
      const before = t.node.circles.get(g.id)!.members.size
      expect(await ingest(g.log.next([later('membership')], AMBER), 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)!.members.size).toBe(before)
    })
  })

  describe('mine', () => {
    it('holds the circles the node is a current member of: not one it was removed from, nor one it was never in', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      follow(g)
      expect(t.node.circles.mine().map(s => s.id)).toContain(g.id)

      const removal = g.log.peek([
        item({ kind: 'member', op: 'remove', key: me, upTo: 0 }),
        item({ kind: 'key', epoch: 2, sealed: { [a.pub]: a.box.seal(a.pub, randomBytes(SECRETBOX_KEY_BYTES)) } })
      ], AMBER)
      expect(await ingest(removal, 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)?.members.get(me)?.removed).toBeDefined()
      expect(t.node.circles.mine().map(s => s.id)).not.toContain(g.id)
      expect(t.node.circles.all().map(s => s.id)).toContain(g.id)

      const without = genesisBy(newOrg(), [])
      t.node.circles.expect(without.id)
      expect(await ingest(without.entry, 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.all().map(s => s.id)).toContain(without.id)
      expect(t.node.circles.mine().map(s => s.id)).not.toContain(without.id)
    })
  })

  describe('circleKey', () => {
    it('opens the key sealed to this node; null for an unknown circle or epoch, a circle it holds no key of, a box that does not open, or a key of the wrong length', async () => {
      const a = newOrg()
      const g = genesisBy(a, [me])
      t.node.circles.expect(g.id)
      expect(await ingest(g.entry, 'sync')).toEqual({ code: 'stored' })
      follow(g)
      const k1 = t.node.circles.circleKey(g.id)
      expect(k1?.epoch).toBe(1)
      expect(Buffer.from(k1!.key).equals(Buffer.from(g.key))).toBe(true)

      expect(t.node.circles.circleKey(newCircleId())).toBeNull()
      expect(t.node.circles.circleKey(g.id, 7)).toBeNull()

      // epoch 2: what A sealed to this node is random bytes
      const rotate = (sealedForMe: string): Entry => g.log.next([item({ kind: 'key', epoch: t.node.circles.get(g.id)!.epoch + 1, sealed: { [a.pub]: a.box.seal(a.pub, randomBytes(SECRETBOX_KEY_BYTES)), [me]: sealedForMe } })], AMBER)
      expect(await ingest(rotate(garbage()), 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)?.epoch).toBe(2)
      expect(t.node.circles.circleKey(g.id)).toBeNull()
      expect(t.node.circles.circleKey(g.id, 2)).toBeNull()

      // epoch 3: a box that opens, holding 16 bytes instead of a circle key
      expect(await ingest(rotate(a.box.seal(me, randomBytes(16))), 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.get(g.id)?.epoch).toBe(3)
      expect(t.node.circles.circleKey(g.id)).toBeNull()

      // the epoch-1 key still opens
      expect(Buffer.from(t.node.circles.circleKey(g.id, 1)!.key).equals(Buffer.from(g.key))).toBe(true)

      // a circle this node knows but holds no key of
      const other = genesisBy(newOrg(), [])
      t.node.circles.expect(other.id)
      expect(await ingest(other.entry, 'sync')).toEqual({ code: 'stored' })
      expect(t.node.circles.circleKey(other.id)).toBeNull()
    })
  })

  describe('removeMember', () => {
    it('removes the member up to its last entry and seals a new key to every remaining member only', async () => {
      const view = await t.node.admin.create('removals', 'test-org')
      const a = newOrg()
      const b = newOrg()
      await t.node.admin.addMember(view.id, a.pub, 'A')
      await t.node.admin.addMember(view.id, b.pub, 'B')
      const bData = new RemoteLog(b.key, view.id)
      expect(await ingest(bData.next([indicator('192.0.2.70')], AMBER), 'sync')).toEqual({ code: 'stored' })
      expect(await ingest(bData.next([indicator('192.0.2.71')], AMBER), 'sync')).toEqual({ code: 'stored' })
      const epoch1 = t.node.circles.circleKey(view.id)!

      await t.node.admin.removeMember(view.id, b.pub)
      const s = t.node.circles.get(view.id)!
      expect(s.members.get(b.pub)?.removed).toMatchObject({ by: me, upTo: bData.seq })
      expect(s.epoch).toBe(epoch1.epoch + 1)
      const sealed = s.keys.get(s.epoch)!
      expect([...sealed.keys()].sort()).toEqual([me, a.pub].sort())
      const mine = t.node.circles.circleKey(view.id)!
      expect(mine.epoch).toBe(s.epoch)
      expect(Buffer.from(mine.key).equals(Buffer.from(epoch1.key))).toBe(false)
      // A opens the same new key
      const forA = a.box.open(sealed.get(a.pub)!.by, sealed.get(a.pub)!.sealed)
      expect(forA).not.toBeNull()
      expect(Buffer.from(forA!).equals(Buffer.from(mine.key))).toBe(true)

      // a member with no entries in the circle is removed up to seq 0
      await t.node.admin.removeMember(view.id, a.pub)
      const s2 = t.node.circles.get(view.id)!
      expect(s2.members.get(a.pub)?.removed).toMatchObject({ by: me, upTo: 0 })
      expect([...s2.keys.get(s2.epoch)!.keys()]).toEqual([me])
    })

    it('refuses to remove a non-member or a removed member (PX_ERR_NOT_FOUND, field key), publishing nothing', async () => {
      const view = await t.node.admin.create('no such member', 'test-org')
      const b = newOrg()
      await t.node.admin.addMember(view.id, b.pub, 'B')
      await t.node.admin.removeMember(view.id, b.pub)
      const before = t.node.circles.get(view.id)!
      expect(await verdict(async () => { await t.node.admin.removeMember(view.id, newOrg().pub) })).toEqual({ code: 'PX_ERR_NOT_FOUND', field: 'key' })
      expect(await verdict(async () => { await t.node.admin.removeMember(view.id, b.pub) })).toEqual({ code: 'PX_ERR_NOT_FOUND', field: 'key' })
      const after = t.node.circles.get(view.id)!
      expect(after.entries).toBe(before.entries)
      expect(after.epoch).toBe(before.epoch)
    })
  })
})
