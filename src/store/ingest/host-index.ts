/**
 * Keeping the host index (../hosts.ts) in the writer's batch: a value is filed under its hosts
 * when its value record gains its first indicator, and taken out when it loses its last one
 * (a purge), so the host index names exactly the values the value index lists ids for.
 */
import type { IndicatorType } from '../../records/index.js'
import { hostKeysOf, withHostValue, withoutHostValue, type HostRecord } from '../hosts.js'
import type { Tx } from './tx.js'

/** file (type, value) under its host and parent domains */
export function fileHostValue (tx: Tx, type: IndicatorType, value: string): void {
  for (const [key, below] of hostKeysOf(type, value)) {
    tx.put('byHost', key, withHostValue(tx.get<HostRecord>('byHost', key), type, value, below))
  }
}

/** take (type, value) out of its host and parent domains */
export function unfileHostValue (tx: Tx, type: string, value: string): void {
  for (const [key] of hostKeysOf(type, value)) {
    const rec = tx.get<HostRecord>('byHost', key)
    if (rec === undefined) continue
    const rest = withoutHostValue(rec, type, value)
    if (rest === undefined) tx.del('byHost', key)
    else tx.put('byHost', key, rest)
  }
}
