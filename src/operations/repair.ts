/**
 * Offline repairs of a stopped node's data dir (`phalanx repair`, `phalanx recover
 * --accept-lost-tail`). Both refuse while a node runs on the data dir, and neither changes
 * anything it has not copied or recorded first.
 */
import { cpSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { PhalanxError } from '../errors.js'
import { API_URL_FILE } from '../identity/index.js'
import { OWN_SEQ_FILE, readHeadsAt, STORE_DIR, inspectStoreDir, readOwnSeq, repairStoreDir, writeOwnSeqSync, type AcceptedLoss } from '../store/index.js'
import { verifyDataDir, type VerifyReport } from './verify.js'

export interface RepairReport {
  store: string
  /** the copy of the store taken before anything was changed */
  backup: string
  /** what the directory looked like before the repair */
  before: string
  /** the offline check after the repair */
  verify: VerifyReport
}

/** refuse while a node runs on `dataDir` (its api.url is there) */
function assertStopped (dataDir: string): void {
  if (existsSync(join(dataDir, API_URL_FILE))) {
    throw new PhalanxError('PX_ERR_STORE', `a node seems to run on ${dataDir} (${API_URL_FILE} exists): stop it first (remove a stale ${API_URL_FILE} left by a killed node)`, { field: 'data' })
  }
}

/**
 * Copy the store to `<store>.backup-<timestamp>`, run LevelDB's repair over it (it rebuilds
 * the manifest from the table files and write-ahead logs it finds, moving what it cannot
 * read to `lost/`), then run the offline check. The copy is taken first and kept.
 */
export async function repairDataDir (dataDir: string, opts: { signatures?: boolean } = {}): Promise<RepairReport> {
  const store = join(dataDir, STORE_DIR)
  if (!existsSync(store)) throw new PhalanxError('PX_ERR_STORE', `no store at ${store} (wrong --data?)`, { field: 'data' })
  assertStopped(dataDir)
  const dir = inspectStoreDir(store)
  const before = dir.state === 'damaged' ? `damaged: ${dir.reason}` : dir.state === 'whole' ? `readable (CURRENT names ${dir.manifest})` : 'no database files'
  const backup = `${store}.backup-${new Date().toISOString().replace(/[:.]/g, '-')}`
  cpSync(store, backup, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true })
  try {
    await repairStoreDir(store)
  } catch (err) {
    if (err instanceof PhalanxError) throw new PhalanxError(err.code, `${err.message}; the copy taken before is ${backup}`, { cause: err })
    throw err
  }
  const verify = await verifyDataDir(dataDir, { signatures: opts.signatures ?? true, maxProblems: 1000 })
  return { store, backup, before, verify }
}

export interface AcceptReport {
  /** the logs whose lost tail was accepted now, with where each goes on */
  accepted: Array<{ log: string } & AcceptedLoss>
}

/**
 * The operator accepts that the lost tail of every own log behind its own tail is gone (no
 * peer can send it back): each such log goes on at the seq it last signed + 2, so no seq a
 * peer may hold is ever signed again (a fork of itself) and the seq right after it stays
 * unsigned (an entry there would not chain on what peers hold). Recorded in own-seq.json; the
 * node reads it at its next start.
 */
export async function acceptLostTail (dataDir: string): Promise<AcceptReport> {
  assertStopped(dataDir)
  const path = join(dataDir, OWN_SEQ_FILE)
  const rec = readOwnSeq(path)
  if (rec === undefined) return { accepted: [] }
  const heads = await readHeadsAt(join(dataDir, STORE_DIR), rec.origin, Object.keys(rec.logs))
  const accepted: AcceptReport['accepted'] = []
  const at = new Date().toISOString()
  for (const [log, signed] of Object.entries(rec.logs)) {
    const head = heads.get(log) ?? 0
    const known = rec.accepted?.[log]
    if (head >= signed || (known !== undefined && known.signed >= signed)) continue
    const a: AcceptedLoss = { head, signed, next: signed + 2, at }
    rec.accepted = { ...(rec.accepted ?? {}), [log]: a }
    accepted.push({ log, ...a })
  }
  if (accepted.length > 0) writeOwnSeqSync(path, rec)
  return { accepted }
}
