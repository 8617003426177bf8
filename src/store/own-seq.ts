/**
 * The own-seq file, `<data>/own-seq.json`: the highest seq of each of this node's own logs
 * that was stored, kept outside LevelDB and its write-ahead log. The writer (ingest/) writes
 * it after a write group with own entries is durable and before those entries are handed to
 * gossip or acknowledged, so it never claims less than any peer may have seen. A store
 * whose own head is below it lost its tail (a truncated write-ahead log, a restored older
 * backup): the node must not sign those seqs again (that would be a fork of itself), so it
 * refuses to sign in that log until sync brought its entries back from peers, or until an
 * operator accepted the loss (`phalanx recover --accept-lost-tail`): then the log continues
 * past the lost seqs, never on them. docs/PROTOCOL.md ("Own-seq file").
 */
import { closeSync, existsSync, fdatasync, fsyncSync, openSync, readFileSync, rename, renameSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { promisify } from 'node:util'
import { dirname } from 'node:path'
import { PhalanxError } from '../errors.js'

export const OWN_SEQ_FILE = 'own-seq.json'

/** an operator accepted that seqs head+1..signed of a log are lost; the log goes on at `next` */
export interface AcceptedLoss {
  /** the own head the store held when the loss was accepted */
  head: number
  /** the highest seq the node had signed and stored (the file's value then) */
  signed: number
  /** the seq the log continues with: signed + 2, so that no entry is ever signed on a seq a peer may hold */
  next: number
  at: string
}

export interface OwnSeqRecord {
  v: 1
  /** the origin (public key hex) whose logs these are */
  origin: string
  /** log (circle id, `<circle>:members`, `red:<key>`, `local`) → highest own seq stored */
  logs: Record<string, number>
  /** losses accepted by an operator, by log */
  accepted?: Record<string, AcceptedLoss>
}

const HEX64 = /^[0-9a-f]{64}$/
const isSeq = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

/** the file at `path`, undefined when there is none; a file that does not parse is damage */
export function readOwnSeq (path: string): OwnSeqRecord | undefined {
  if (!existsSync(path)) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw bad(path, `not JSON (${(err as Error).message})`)
  }
  const r = raw as Partial<OwnSeqRecord>
  if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.origin !== 'string' || !HEX64.test(r.origin) ||
    r.logs === null || typeof r.logs !== 'object' || Object.values(r.logs).some(n => !isSeq(n))) {
    throw bad(path, 'not {v:1, origin, logs: {log: seq}}')
  }
  if (r.accepted !== undefined) {
    for (const a of Object.values(r.accepted)) {
      if (a === null || typeof a !== 'object' || !isSeq(a.head) || !isSeq(a.signed) || !isSeq(a.next) || a.next <= a.signed) throw bad(path, 'an accepted loss is not {head, signed, next > signed, at}')
    }
  }
  return r as OwnSeqRecord
}

function bad (path: string, why: string): PhalanxError {
  return new PhalanxError('PX_ERR_STORE_DAMAGED', `${path} is damaged: ${why}. It records the last seq this node signed in each of its logs; ` +
    'if it is lost, move it aside and start the node only after checking with peers that they hold no later entries of this node', { meta: { path } })
}

/**
 * Replace the file atomically: write a temporary file, fsync it, rename it over the old one,
 * fsync the directory (with `sync`; without it, a crash of the machine may keep the old file).
 * The datasync and the rename wait off the main thread; open, write and close of a file of a
 * few hundred bytes are calls of microseconds, and each as a promise on the thread pool cost
 * more than the call (0.77 → 0.34 ms of CPU per write; it runs once per write group of own
 * entries). The rename is not such a call: it waits for the file system's journal, which the
 * store's own fsyncs hold. At the origin of 10 nodes at 50/s, a direct rename blocked the main
 * thread 1.3 ms at the median, 5.8 at p90 and 16.8 at p99 (issue 17), against 0.12 / 0.16 /
 * 4.3 ms for the open.
 */
export async function writeOwnSeq (path: string, record: OwnSeqRecord, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', 0o644)
  try {
    writeFileSync(fd, JSON.stringify(record) + '\n')
    if (sync) await fdatasyncAsync(fd)
  } finally {
    closeSync(fd)
  }
  await renameAsync(tmp, path)
  // the directory is synced once per process (the file's first rename): a later rename that a
  // power loss undoes leaves the previous record, a lower seq — the safe side (a lost tail
  // may go unnoticed, never a false one); an fsync per write group halved single publishes
  if (sync && !dirSynced.has(path)) {
    const dir = await open(dirname(path), 'r')
    try { await dir.sync() } finally { await dir.close() }
    dirSynced.add(path)
  }
}

const fdatasyncAsync = promisify(fdatasync)
const renameAsync = promisify(rename)

/** own-seq files whose directory was synced after their first rename by this process */
const dirSynced = new Set<string>()

/** the same, blocking (offline commands) */
export function writeOwnSeqSync (path: string, record: OwnSeqRecord): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w', 0o644)
  try {
    writeFileSync(fd, JSON.stringify(record) + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dir = openSync(dirname(path), 'r')
  try { fsyncSync(dir) } finally { closeSync(dir) }
}
