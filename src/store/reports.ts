/**
 * Reads of reports and of the ATT&CK names (issue 16): kept apart from level-store.ts, through
 * the store's own bucket reader. Reports are few (a scan lists them); which reports link an
 * indicator is one cached getSync (a lookup asks it of each exact match).
 */
import { LevelStore, readBucket } from './level-store.js'
import type { AttackTechnique, StoredReport } from './interface.js'

/** a report by id (its latest version), or undefined */
export function reportOf (store: LevelStore, id: string): StoredReport | undefined {
  store.assertOpen()
  return store.readUncached<StoredReport>('reports', id)
}

/** every report this node holds, of one circle or all, revoked ones too, newest version first */
export async function reportsIn (store: LevelStore, circle?: string): Promise<StoredReport[]> {
  store.assertOpen()
  const out: StoredReport[] = []
  for await (const v of readBucket(store, 'reports').values()) {
    const r = v as StoredReport
    if (circle === undefined || r.circle === circle) out.push(r)
  }
  return out.sort((a, b) => (a.created === b.created ? (a.id < b.id ? 1 : -1) : a.created < b.created ? 1 : -1))
}

/** ids of the reports whose latest version links the indicator `id` (sorted) */
export function reportsLinking (store: LevelStore, id: string): string[] {
  store.assertOpen()
  return store.read<string[]>('reportLinks', id) ?? []
}

/** an ATT&CK technique's name and tactics, when the operator imported an ATT&CK bundle */
export function attackTechnique (store: LevelStore, id: string): AttackTechnique | undefined {
  store.assertOpen()
  return store.read<AttackTechnique>('attack', id)
}

/** how many technique names the store holds (0: no ATT&CK bundle imported) */
export async function attackTechniqueCount (store: LevelStore): Promise<number> {
  store.assertOpen()
  let n = 0
  for await (const _ of readBucket(store, 'attack').keys()) n++
  return n
}
