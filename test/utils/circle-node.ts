/**
 * Test helper: a store, ingest, circle manager and circle admin wired as a node wires them
 * (ingest's policy and onStored go to the manager), without the network or the API.
 */
import { pino } from 'pino'
import { CircleManager } from '../../src/circles/index.js'
import { BoxKey, OrgKey } from '../../src/identity/index.js'
import { Ingest, LevelStore } from '../../src/store/index.js'
import { CircleAdmin } from '../../src/operations/index.js'

export interface CircleNode {
  store: LevelStore
  ingest: Ingest
  circles: CircleManager
  admin: CircleAdmin
  /** stop ingest and close the store (once; the directory stays) */
  stop: () => Promise<void>
}

/** open the LevelDB at `path` with the org key of `seed`, and start ingest and the circles */
export async function startCircleNode (seed: Uint8Array, path: string): Promise<CircleNode> {
  const key = OrgKey.fromSeed(seed)
  const store = new LevelStore({ path })
  await store.open()
  const log = pino({ level: 'silent' })
  let circles: CircleManager | undefined
  const ingest = new Ingest({ store, key, policy: { check: (e, s) => circles!.check(e, s) }, log, onStored: stored => circles!.noteStored(stored) }, { sync: false })
  circles = new CircleManager({ store, key, box: BoxKey.fromSeed(seed), log })
  const admin = new CircleAdmin({ circles, ingest, store, key, box: BoxKey.fromSeed(seed) })
  await ingest.start()
  await circles.load()
  let stopped = false
  return { store, ingest, circles, admin, stop: async () => { if (stopped) return; stopped = true; circles!.close(); await ingest.stop(); await store.close() } }
}
