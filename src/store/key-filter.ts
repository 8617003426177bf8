/**
 * A Bloom filter of the keys of one bucket (the value index), so that a read of a key that
 * was never written skips LevelDB: most values of a bulk import are new, and a LevelDB miss
 * (no filter policy in classic-level) costs a few µs where this costs a fraction of one.
 *
 * It answers "maybe" for every key until it is `ready`: the store fills it by a scan in the
 * background after open, while the writer adds every key it stages (before the batch is
 * written, so no reader can see a written key the filter lacks). Deleted keys stay in (a
 * false positive only costs the LevelDB read). When more keys than it was sized for have been
 * added, it asks for a rebuild at four times the size (`onFull`).
 */

/** bits per key at capacity (~0.8% false positives with 7 probes) */
const BITS_PER_KEY = 10
const PROBES = 7

let H1 = 0
let H2 = 0

/** two 32-bit hashes of a key (FNV-1a and a multiply-xorshift), into H1 and H2 */
function hashKey (key: string): void {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15)
  }
  H1 = h1
  H2 = h2 | 1
}

export class KeyFilter {
  readonly #bits: Uint32Array
  readonly #size: number
  #count = 0
  #full = false
  ready = false

  constructor (readonly capacity: number, readonly onFull: () => void = () => {}) {
    this.#size = Math.max(1024, capacity * BITS_PER_KEY) >>> 0
    this.#bits = new Uint32Array(Math.ceil(this.#size / 32))
  }

  get count (): number { return this.#count }

  add (key: string): void {
    hashKey(key)
    for (let i = 0; i < PROBES; i++) {
      const bit = ((H1 + Math.imul(i, H2)) >>> 0) % this.#size
      this.#bits[bit >>> 5] |= 1 << (bit & 31)
    }
    if (++this.#count > this.capacity && !this.#full) {
      this.#full = true
      this.onFull()
    }
  }

  /** false only when the key was surely never added (and the filter is ready) */
  mightHave (key: string): boolean {
    if (!this.ready) return true
    hashKey(key)
    for (let i = 0; i < PROBES; i++) {
      const bit = ((H1 + Math.imul(i, H2)) >>> 0) % this.#size
      if ((this.#bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}
