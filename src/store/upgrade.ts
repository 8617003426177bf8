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
 * Format 3 → 4 (after v0.2): the host index (hosts.ts), built from the value index: every url,
 * email and domain value that lists an indicator is filed under its host and parent domains.
 * The step first clears the bucket (a crash half-way starts it again from nothing) and holds
 * at most BATCH host records in memory.
 *
 * This is the store's own format work: it writes below Ingest, which is not running yet.
 */
import type { Level } from 'level'
import { indicatorId, type Entry, type IndicatorType, type StoredIndicator } from '../records/index.js'
import { hostKeysOf, withHostValue, type HostRecord } from './hosts.js'
import type { ValueRecord } from './interface.js'
import { HIGH, META_KEY, ROOT_PREFIX, SEP, headKey, valueKey, type BucketName } from './keys.js'

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

/** the value types the host index files (hosts.ts namesHost) */
const HOST_TYPES: IndicatorType[] = ['domain', 'email', 'url']

/** format 3 → 4: build the host index from the value index; writes format 4 */
export async function upgradeToHosts (db: Root): Promise<{ values: number }> {
  const hostPrefix = rootKey('byHost', '')
  await db.clear({ gte: hostPrefix, lt: hostPrefix + HIGH })
  let values = 0
  // the records touched since the last write: read from the store once, written once
  let touched = new Map<string, HostRecord>()
  const flush = async (): Promise<void> => {
    if (touched.size === 0) return
    await db.batch([...touched].map(([key, rec]) => ({ type: 'put' as const, key, value: JSON.stringify(rec) })))
    touched = new Map()
  }
  for (const type of HOST_TYPES) {
    const prefix = rootKey('byValue', valueKey(type, ''))
    for await (const [k, v] of db.iterator({ gt: prefix, lt: prefix + HIGH })) {
      if ((JSON.parse(v as string) as ValueRecord).ids.length === 0) continue // sightings only
      const value = k.slice(prefix.length)
      for (const [host, below] of hostKeysOf(type, value)) {
        const key = hostPrefix + host
        let rec = touched.get(key)
        if (rec === undefined) {
          const raw = await db.get(key) as string | undefined
          rec = raw === undefined ? undefined : JSON.parse(raw) as HostRecord
        }
        touched.set(key, withHostValue(rec, type, value, below))
      }
      values++
      if (touched.size >= BATCH) await flush()
    }
  }
  await flush()
  await db.batch([{ type: 'put', key: rootKey('meta', META_KEY.format), value: JSON.stringify(4) }], { sync: true })
  return { values }
}
