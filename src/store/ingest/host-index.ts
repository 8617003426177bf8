/**
 * Keeping the host index (../hosts.ts) in the writer's batch: a value is filed under its hosts
 * when its value record gains its first indicator, and taken out when it loses its last one
 * (a purge), so the host index names exactly the values the value index lists ids for.
 *
 * A host record that is full and already truncated is not rewritten for a value it would not
 * list: the value is counted in the host's `hostMore` key (HostMore), a few bytes. Any change
 * to the record's list (a nearer value, a purge of a listed one) folds that count back into
 * the record's `n`.
 */
import type { IndicatorType } from '../../records/index.js'
import { farthestBelow, hostKeysOf, isFullAndTruncated, withHostValue, withoutHostValue, type HostMore, type HostRecord } from '../hosts.js'
import type { Tx } from './tx.js'

/** file (type, value) under its host and parent domains (a value gaining its first indicator) */
export function fileHostValue (tx: Tx, type: IndicatorType, value: string): void {
  for (const [key, below] of hostKeysOf(type, value)) {
    const more = tx.get<HostMore>('hostMore', key)
    // past a full, truncated record: counted, the record not even read
    if (more !== undefined && below >= more.far) {
      tx.put('hostMore', key, { more: more.more + 1, far: more.far })
      continue
    }
    const rec = tx.get<HostRecord>('byHost', key)
    const next = withHostValue(rec, type, value, below)
    if (next === rec) continue
    if (rec !== undefined && next.v === rec.v && isFullAndTruncated(rec)) {
      // not listed by a record that already says "more": counted apart, the record left as it is
      tx.put('hostMore', key, { more: (more?.more ?? 0) + 1, far: more?.far ?? farthestBelow(rec.v) })
      continue
    }
    // the list changed (or the record is not yet truncated): a count kept apart folds back
    tx.put('byHost', key, more === undefined ? next : { n: next.n + more.more, v: next.v })
    if (more !== undefined) tx.del('hostMore', key)
  }
}

/** take (type, value) out of its host and parent domains */
export function unfileHostValue (tx: Tx, type: string, value: string): void {
  for (const [key] of hostKeysOf(type, value)) {
    const rec = tx.get<HostRecord>('byHost', key)
    if (rec === undefined) continue
    const more = tx.get<HostMore>('hostMore', key)
    if (more !== undefined) {
      if (!rec.v.some(x => x[1] === value && x[0] === type)) {
        // an unlisted value: one fewer counted past the record
        if (more.more > 1) tx.put('hostMore', key, { more: more.more - 1, far: more.far })
        else tx.del('hostMore', key)
        continue
      }
      // a listed value: the list changes, the count folds back into the record
      tx.del('hostMore', key)
      const rest = withoutHostValue({ n: rec.n + more.more, v: rec.v }, type, value)
      if (rest === undefined) tx.del('byHost', key)
      else tx.put('byHost', key, rest)
      continue
    }
    const rest = withoutHostValue(rec, type, value)
    if (rest === undefined) tx.del('byHost', key)
    else tx.put('byHost', key, rest)
  }
}
