/**
 * Purging expired indicators: the derived record, its id in the value index (with the last id,
 * the value in the host index too) and the counters go; the signed entries stay (sync and
 * verify need them), and so do the index pairs, which readers skip and the `purged` bucket
 * accounts for.
 */
import type { StoredIndicator } from '../../records/index.js'
import { valueKey } from '../keys.js'
import type { ValueRecord } from '../level-store.js'
import { unfileHostValue } from './host-index.js'
import type { Tx } from './tx.js'

/** indicators deleted per write group by a purge */
export const PURGE_CHUNK = 2000

/** delete, in `tx`, the records of `ids` that are still expired before `before` */
export function runPurge (tx: Tx, job: { ids: string[], before: string, at: string }): { purged: number } {
  let purged = 0
  for (const id of job.ids) {
    const ind = tx.get<StoredIndicator>('indicators', id)
    if (ind?.validUntil === undefined || ind.validUntil >= job.before) continue
    tx.del('indicators', id)
    const vk = valueKey(ind.type, ind.value)
    const rec = tx.get<ValueRecord>('byValue', vk)
    if (rec !== undefined) {
      const rest = rec.ids.filter(x => x !== id)
      if (rest.length === 0 && rec.sightings === undefined) tx.del('byValue', vk)
      else tx.put('byValue', vk, { ...rec, ids: rest })
      if (rest.length === 0 && rec.ids.length > 0) unfileHostValue(tx, ind.type, ind.value)
    }
    tx.put('purged', id, job.at)
    tx.state.counts.indicators--
    if (ind.revoked !== undefined) tx.state.counts.revoked--
    purged++
  }
  return { purged }
}
