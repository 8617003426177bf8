/**
 * Verify: the offline check of a node's store (`phalanx verify`). The node must be stopped:
 * its store is opened only if it exists, written to never, and closed again. The CLI reaches
 * the store only through this use case.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { PhalanxError } from '../errors.js'
import { OWN_SEQ_FILE, STORE_DIR, readOwnSeq, verifyStoreAt, type CheckReport } from '../store/index.js'

export interface VerifyOptions {
  /** verify every entry's signature (the slow part) */
  signatures: boolean
  /** stop collecting after this many problems */
  maxProblems: number
}

export interface VerifyReport extends CheckReport {
  signatures: boolean
  /** how long the check took */
  seconds: number
}

/** check the store of the node whose data dir is `dataDir` */
export async function verifyDataDir (dataDir: string, opts: VerifyOptions): Promise<VerifyReport> {
  const path = join(dataDir, STORE_DIR)
  if (!existsSync(path)) throw new PhalanxError('PX_ERR_STORE', `no store at ${path} (wrong --data?)`, { field: 'data' })
  const t0 = Date.now()
  // the last own seq of each log, kept outside the store: a lost tail shows against it
  const ownSeq = readOwnSeq(join(dataDir, OWN_SEQ_FILE))
  const report = await verifyStoreAt(path, { signatures: opts.signatures, maxProblems: opts.maxProblems, ...(ownSeq !== undefined ? { ownSeq } : {}) })
  return { ...report, signatures: opts.signatures, seconds: Number(((Date.now() - t0) / 1000).toFixed(2)) }
}
