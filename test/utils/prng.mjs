/**
 * mulberry32: a small seeded PRNG, so that random test choices replay from a printed seed.
 * Plain JavaScript so that both the TypeScript tests and spawned .mjs children can import it.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
