/**
 * The signer thread: a ChainSealer behind a message port. Messages are handled in order,
 * so the chain stays consistent with the order the writer sends groups in. The seed comes
 * in workerData and never leaves this thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { ChainSealer, type EntryToSeal } from './chain-sealer.js'

type Msg =
  | { type: 'reset', heads: Array<[string, string | null]> }
  | { type: 'seal', id: number, entries: EntryToSeal[] }

const sealer = new ChainSealer(workerData.seed as Uint8Array)

parentPort!.on('message', (msg: Msg) => {
  if (msg.type === 'reset') { sealer.reset(msg.heads); return }
  try {
    parentPort!.postMessage({ id: msg.id, sealed: sealer.seal(msg.entries) })
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message })
  }
})
