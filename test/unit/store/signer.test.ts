/**
 * The signer thread: own entries signed off the writer's thread still form one unbroken,
 * verifiable log; a log that moves under the writer (an own entry coming in from outside)
 * makes it sign the waiting publishes again rather than store a broken chain.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createSigner, ChainSealer, type EntryToSeal } from '../../../src/signer/index.js'
import { OrgKey } from '../../../src/identity/index.js'
import { ENTRY_VERSION, LOCAL_CIRCLE, makeIndicatorItem, markCanonical, verifyEntrySignature, type Entry } from '../../../src/records/index.js'
import { checkStore } from '../../../src/store/index.js'
import { openStore, RemoteLog, type StoreHarness } from '../../utils/store.js'

const item = (n: number) => markCanonical(makeIndicatorItem({ type: 'domain', value: `s${n}.signer.example`, confidence: 50, tags: [] }))

let h: StoreHarness | undefined
afterEach(async () => { await h?.close(); h = undefined })

describe('signer', () => {
  it('the worker thread seals exactly what the in-thread sealer does', async () => {
    const seed = randomBytes(32)
    const key = OrgKey.fromSeed(seed)
    const entries: EntryToSeal[] = [1, 2, 3].map(seq => ({ v: ENTRY_VERSION, circle: LOCAL_CIRCLE, origin: key.publicKeyHex, seq, tlp: 'GREEN', created: '2026-01-01T00:00:00.000Z', items: [item(seq)] }))
    const threaded = createSigner(key, seed)
    try {
      expect(threaded.threaded).toBe(true)
      threaded.reset([])
      const a = await threaded.seal(entries)
      const b = new ChainSealer(key).seal(entries)
      expect(a).toEqual(b)
      expect(a[0].prev).toBeNull()
      expect(a[1].prev).toBe(a[0].hash)
      expect(a[2].prev).toBe(a[1].hash)
    } finally {
      await threaded.close()
    }
  })

  it('keeps sealing in the calling thread when the worker thread dies', async () => {
    const seed = randomBytes(32)
    const key = OrgKey.fromSeed(seed)
    const e = (seq: number): EntryToSeal => ({ v: ENTRY_VERSION, circle: LOCAL_CIRCLE, origin: key.publicKeyHex, seq, tlp: 'GREEN', created: '2026-01-01T00:00:00.000Z', items: [item(seq)] })
    const signer = createSigner(key, seed) as ReturnType<typeof createSigner> & { crashForTest: () => Promise<void> }
    try {
      signer.reset([])
      const [first] = await signer.seal([e(1)])
      await signer.crashForTest()
      // the writer re-syncs the heads after a failure; then the log goes on, sealed here
      signer.reset([[LOCAL_CIRCLE, first.hash]])
      const [second] = await signer.seal([e(2)])
      expect(signer.threaded).toBe(false)
      expect(second.prev).toBe(first.hash)
      expect(second).toEqual(new ChainSealer(key).seal([e(1), e(2)])[1])
    } finally {
      await signer.close()
    }
  })

  it('concurrent single and bulk publishes signed on the thread form one verifiable log', async () => {
    h = await openStore({ seed: randomBytes(32), ingest: { sync: false } })
    expect(h.ingest.threadedSigner).toBe(true)
    const singles = Array.from({ length: 300 }, (_, i) => h!.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [item(i)] }]))
    const bulk = h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'AMBER', items: Array.from({ length: 2500 }, (_, i) => item(10_000 + i)) }])
    const results = await Promise.all([...singles, bulk])
    // calls that waited together share entries (group commit): each seq once
    const seqs = [...new Set(results.flatMap(r => r.entries.map(e => e.seq)))].sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    const head = h.store.head(LOCAL_CIRCLE, h.key.publicKeyHex)!
    expect(head.seq).toBe(seqs.length)
    for (let s = 1; s <= head.seq; s++) expect(verifyEntrySignature(h.store.getEntry(LOCAL_CIRCLE, h.key.publicKeyHex, s) as Entry)).toBe(true)
    const report = await checkStore(h.store)
    expect(report.problems).toEqual([])
    expect(report.indicators).toBe(2800)
  })

  it('signs waiting publishes again when an own entry from outside moves the log', async () => {
    const seed = randomBytes(32)
    h = await openStore({ seed, ingest: { sync: false } })
    const first = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [item(1)] }])
    expect(first.entries[0].seq).toBe(1)
    // the same organization's entry seq 2, made elsewhere (e.g. restored from a peer)
    const outside = new RemoteLog(OrgKey.fromSeed(seed))
    outside.seq = 1
    outside.prev = first.entries[0].hash
    const e2 = outside.next([item(2)])
    // a publish is planned (seq 2) before the outside entry is written: it must be re-signed as seq 3
    const [stored, again] = await Promise.all([
      h.ingest.ingest(e2),
      h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [item(3)] }])
    ])
    expect(stored.status).toBe('stored')
    expect(again.entries[0].seq).toBe(3)
    expect(h.store.getEntry(LOCAL_CIRCLE, h.key.publicKeyHex, 3)!.prev).toBe(stored.hash)
    const later = await h.ingest.publish([{ circle: LOCAL_CIRCLE, tlp: 'GREEN', items: [item(4)] }])
    expect(later.entries[0].seq).toBe(4)
    expect((await checkStore(h.store)).problems).toEqual([])
  })
})
