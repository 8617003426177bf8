/**
 * Store format upgrades, run once when a store of an older format is opened, before anything
 * else reads it. Each step is idempotent (it recomputes from the entries, which never change),
 * so a crash in the middle repeats the step on the next open; the new format number is written
 * in the step's last batch.
 *
 * Format 2 → 3 (v0.1 → v0.2): an indicator keeps `reach`, every log its origin's record went to
 * (a re-share to another circle, RED to several recipients), so that a revoke or a relabel
 * reaches all of them (src/tlp/policy.ts `reachOf`). Only ids found in more than one log get the
 * field; memory holds one origin's ids at a time.
 *
 * This is the store's own format work: it writes below Ingest, which is not running yet.
 */
import type { Level } from 'level'
import { indicatorId, type Entry, type StoredIndicator } from '../records/index.js'
import { HIGH, META_KEY, ROOT_PREFIX, SEP, headKey, type BucketName } from './keys.js'

const BATCH = 1000

type Root = Level<string, unknown>
const rootKey = (bucket: BucketName, key: string): string => ROOT_PREFIX[bucket] + key

/** format 2 → 3: add `reach` to indicators published in more than one log; writes format 3 */
export async function upgradeToReach (db: Root): Promise<{ indicators: number }> {
  // (circle, origin) of every log, from the heads: one head per log that holds an entry
  const circlesOf = new Map<string, string[]>()
  const headsPrefix = rootKey('heads', '')
  for await (const k of db.keys({ gt: headsPrefix, lt: headsPrefix + HIGH })) {
    const [circle, origin] = k.slice(headsPrefix.length).split(SEP)
    const list = circlesOf.get(origin)
    if (list === undefined) circlesOf.set(origin, [circle])
    else list.push(circle)
  }
  let changed = 0
  let ops: Array<{ type: 'put', key: string, value: string }> = []
  for (const [origin, circles] of circlesOf) {
    if (circles.length < 2) continue // one log: every record of this origin has one place
    const logsOf = new Map<string, Set<string>>()
    for (const circle of circles) {
      const prefix = rootKey('entries', headKey(circle, origin) + SEP)
      for await (const v of db.values({ gt: prefix, lt: prefix + HIGH })) {
        const entry = JSON.parse(v as string) as Entry
        for (const item of entry.items) {
          if (item.kind !== 'indicator') continue
          const id = indicatorId(origin, item.type, item.value)
          const set = logsOf.get(id)
          if (set === undefined) logsOf.set(id, new Set([circle]))
          else set.add(circle)
        }
      }
    }
    for (const [id, logs] of logsOf) {
      if (logs.size < 2) continue
      const raw = await db.get(rootKey('indicators', id)) as string | undefined
      if (raw === undefined) continue // purged
      const ind = JSON.parse(raw) as StoredIndicator
      ind.reach = [...new Set([...(ind.reach ?? []), ...logs, ind.circle])].sort()
      ops.push({ type: 'put', key: rootKey('indicators', id), value: JSON.stringify(ind) })
      changed++
      if (ops.length >= BATCH) { await db.batch(ops); ops = [] }
    }
  }
  ops.push({ type: 'put', key: rootKey('meta', META_KEY.format), value: JSON.stringify(3) })
  await db.batch(ops, { sync: true })
  return { indicators: changed }
}
