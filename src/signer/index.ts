/**
 * Signer: seals this origin's entries on a worker thread, so that signing (the dearest
 * step of a publish, ~35 µs per entry) runs beside the writer instead of in its way. Seals
 * come back in the order groups were sent. Without the compiled worker (e.g. from
 * TypeScript sources without a build) it seals in this thread, with the same results.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'
import { PhalanxError } from '../errors.js'
import { ChainSealer, type EntryToSeal, type SealedOut } from './chain-sealer.js'
import type { OrgKey } from '../identity/keys.js'

export type { EntryToSeal, SealedOut } from './chain-sealer.js'
export { ChainSealer } from './chain-sealer.js'

export interface Signer {
  /** set the chain heads: circle → hash of this origin's last stored entry */
  reset: (heads: Array<[string, string | null]>) => void
  seal: (entries: EntryToSeal[]) => Promise<SealedOut[]>
  close: () => Promise<void>
  /** whether seals currently run on the worker thread */
  readonly threaded: boolean
}

/** the compiled worker next to this module, or the built one when running from sources */
function workerPath (): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [resolve(here, 'worker.js'), resolve(here, '../../dist/src/signer/worker.js')]
  return candidates.find(p => existsSync(p))
}

class InThreadSigner implements Signer {
  readonly threaded = false
  readonly #sealer: ChainSealer
  constructor (key: OrgKey | Uint8Array) { this.#sealer = new ChainSealer(key) }
  reset (heads: Array<[string, string | null]>): void { this.#sealer.reset(heads) }
  async seal (entries: EntryToSeal[]): Promise<SealedOut[]> { return this.#sealer.seal(entries) }
  async close (): Promise<void> {}
}

/**
 * Seals on a worker thread. If the thread dies (it should not: it only signs), pending seals
 * fail, and from then on this signer seals in the calling thread: the writer re-syncs the
 * chain heads after a failed seal, so the log continues correctly either way.
 */
class WorkerSigner implements Signer {
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (s: SealedOut[]) => void, reject: (e: unknown) => void }>()
  readonly #fallback: InThreadSigner
  #next = 0
  #failed: Error | undefined
  #closing = false

  constructor (path: string, key: OrgKey, seed: Uint8Array) {
    this.#fallback = new InThreadSigner(key)
    // the signer holds a key and a few groups of entries: a small heap is plenty
    this.#worker = new Worker(path, { workerData: { seed }, resourceLimits: { maxOldGenerationSizeMb: 64 } })
    this.#worker.unref()
    this.#worker.on('message', (m: { id: number, sealed?: SealedOut[], error?: string }) => {
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if (m.sealed !== undefined) p.resolve(m.sealed)
      else p.reject(new PhalanxError('PX_ERR_INTERNAL', `signer: ${m.error ?? 'failed'}`))
    })
    this.#worker.on('error', (err) => { this.#fail(err) })
    this.#worker.on('exit', (code) => { if (!this.#closing) this.#fail(new Error(`signer thread exited with code ${code}`)) })
  }

  get threaded (): boolean { return this.#failed === undefined }

  #fail (err: Error): void {
    if (this.#failed !== undefined) return
    this.#failed = err
    for (const p of this.#pending.values()) p.reject(new PhalanxError('PX_ERR_INTERNAL', `signer thread failed: ${err.message}`))
    this.#pending.clear()
  }

  reset (heads: Array<[string, string | null]>): void {
    // both keep the heads: the fallback may take over at any moment
    this.#fallback.reset(heads)
    if (this.#failed === undefined) this.#worker.postMessage({ type: 'reset', heads })
  }

  async seal (entries: EntryToSeal[]): Promise<SealedOut[]> {
    if (this.#failed !== undefined) return await this.#fallback.seal(entries)
    const id = this.#next++
    return await new Promise<SealedOut[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ type: 'seal', id, entries })
    })
  }

  /** for tests: end the thread as a crash would */
  async crashForTest (): Promise<void> {
    await this.#worker.terminate()
  }

  async close (): Promise<void> {
    this.#closing = true
    await this.#worker.terminate()
  }
}

/** a signer thread when a seed is given and the compiled worker exists; else in this thread */
export function createSigner (key: OrgKey, seed?: Uint8Array): Signer {
  const path = seed === undefined ? undefined : workerPath()
  return path === undefined || seed === undefined ? new InThreadSigner(key) : new WorkerSigner(path, key, seed)
}
