/**
 * Seals (signs and hashes) this origin's entries in log order. It owns the `prev` links:
 * each entry's `prev` is the hash of the entry sealed before it in the same circle, so a
 * caller can hand over a whole group before the previous group is sealed. Pure apart from
 * its chain heads; the worker runs one of these, and so does the in-thread fallback.
 */
import { OrgKey } from '../identity/keys.js'
import { sealEntry, type UnsignedEntry } from '../records/index.js'

/** an entry to seal: everything but `prev`, which the sealer fills in */
export type EntryToSeal = Omit<UnsignedEntry, 'prev'>

export interface SealedOut {
  prev: string | null
  sig: string
  hash: string
  size: number
  json: string
}

export class ChainSealer {
  readonly #key: OrgKey
  readonly #heads = new Map<string, string | null>()

  constructor (key: OrgKey | Uint8Array) {
    this.#key = key instanceof OrgKey ? key : OrgKey.fromSeed(key)
  }

  /** set the chain heads (circle → hash of the last stored entry) */
  reset (heads: Array<[string, string | null]>): void {
    this.#heads.clear()
    for (const [c, h] of heads) this.#heads.set(c, h)
  }

  seal (entries: EntryToSeal[]): SealedOut[] {
    return entries.map(e => {
      const prev = this.#heads.get(e.circle) ?? null
      const s = sealEntry({ ...e, prev }, this.#key)
      this.#heads.set(e.circle, s.hash)
      return { prev, sig: s.entry.sig, hash: s.hash, size: s.size, json: s.json }
    })
  }
}
