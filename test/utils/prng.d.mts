/** mulberry32: a seeded PRNG, uniform in [0, 1) */
export function prng (seed: number): () => number
