/**
 * Shared arbitraries of the peer-protocol fuzz tests: mutations of valid frames (bit flips,
 * truncation, extension, splices, huge lengths) and of valid JSON (fields dropped, swapped,
 * replaced by wrong types, deep nesting, huge strings, prototype-pollution keys), and purely
 * random bytes. Runs and seed come from the environment so a failure can be replayed:
 *
 *     FUZZ_RUNS=1000 FUZZ_SEED=12345 npx vitest run test/unit/p2p/fuzz
 *
 * fast-check prints the seed and the path of a failing run (`seed`, `path`); FUZZ_PATH
 * replays that one run.
 */
import fc from 'fast-check'
import { pino, type Logger } from 'pino'

/** runs per property (each file scales it to its cost) */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 200)

/** fast-check options: the run count, and the seed and path to replay when given */
export function fuzzOptions (runs = RUNS): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED
  const path = process.env.FUZZ_PATH
  return {
    numRuns: runs,
    ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
    ...(path !== undefined && path !== '' ? { path } : {}),
    // async properties with real I/O: no per-run time-outs; vitest's test time-out bounds a file
    endOnFailure: true
  }
}

/** keys that pollute prototypes or shadow methods a careless reader may call */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty', 'then', 'length'] as const

/** a string value that stands for deep nesting (expanded in the JSON text: no JS recursion test-side) */
const DEEP = '@@DEEP:'
const DEEP_MARKER = /"@@DEEP:([ao]):(\d+)@@"/g

/** a JSON text nested `n` deep (arrays or objects) */
export function deepJson (n: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n)
}

/** JSON values that trip careless code: wrong types, objects that cannot print, huge, deep */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1.5, 2 ** 53, 1e308, -1e308, '', ' ', '\u0000', '\r\n\u001b[2K', '\u202e', 'NaN', '1', '[]', '{}', [], {}, [null], ['a', 1]) },
  // String(x) throws on these (no callable toString / valueOf after JSON.parse)
  { weight: 2, arbitrary: fc.constantFrom<unknown>({ toString: 1 }, { toString: null, valueOf: null }, { valueOf: {} , toString: [] }, { toJSON: 1 }, { then: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map(n => 'x'.repeat(n)) },
  // nesting deep enough to overflow a recursive reader: a marker that `mutatedJson` expands in the text
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'o'), fc.integer({ min: 100, max: 30_000 })).map(([k, n]) => `${DEEP}${k}:${n}@@`) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS).map(k => JSON.parse(`{"${k}":{"polluted":true}}`) as unknown) }
)

type JsonObject = Record<string, unknown>

/** one mutation of a JSON object (applied at the top level or inside a nested object) */
type JsonMutation =
  | { op: 'drop', pick: number }
  | { op: 'replace', pick: number, value: unknown }
  | { op: 'add', key: string, value: unknown }
  | { op: 'swap', pick: number, other: number }
  | { op: 'wrap', pick: number }
  | { op: 'nest', pick: number, depth: number }

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), pick: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 })), value: hostileValue }) },
  fc.record({ op: fc.constant('swap' as const), pick: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('wrap' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('nest' as const), pick: fc.nat(), depth: fc.integer({ min: 2, max: 200 }) })
)

function isObject (v: unknown): v is JsonObject { return v !== null && typeof v === 'object' && !Array.isArray(v) }

/** set an own property (a key like `__proto__` becomes data, as JSON.parse makes it) */
function put (o: JsonObject, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

/** the objects of a value (itself, and those in its fields and arrays, a few levels down) */
function objectsOf (v: unknown, out: JsonObject[] = [], depth = 0): JsonObject[] {
  if (depth > 3) return out
  if (Array.isArray(v)) for (const x of v.slice(0, 4)) objectsOf(x, out, depth + 1)
  else if (isObject(v)) { out.push(v); for (const x of Object.values(v)) objectsOf(x, out, depth + 1) }
  return out
}

function copyOf (v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v)) as unknown
}

function applyJson (root: unknown, where: number, m: JsonMutation): void {
  const targets = objectsOf(root)
  if (targets.length === 0) return
  const o = targets[where % targets.length]
  const keys = Object.keys(o)
  const key = (i: number): string | undefined => keys.length === 0 ? undefined : keys[i % keys.length]
  switch (m.op) {
    case 'drop': { const k = key(m.pick); if (k !== undefined) delete o[k]; break }
    // a copy: the arbitraries' constants are shared between runs and must not be mutated
    case 'replace': { const k = key(m.pick); if (k !== undefined) put(o, k, copyOf(m.value)); break }
    case 'add': put(o, m.key, copyOf(m.value)); break
    case 'swap': {
      const a = key(m.pick); const b = key(m.other)
      if (a !== undefined && b !== undefined) { const t = o[a]; put(o, a, o[b]); put(o, b, t) }
      break
    }
    case 'wrap': { const k = key(m.pick); if (k !== undefined) put(o, k, [o[k]]); break }
    case 'nest': {
      const k = key(m.pick)
      if (k !== undefined) { let v: unknown = o[k]; for (let i = 0; i < m.depth; i++) v = { v }; put(o, k, v) }
      break
    }
  }
}

/** the JSON text of `base` (a JSON-compatible value) after 1–4 mutations, anywhere in it */
export function mutatedJson (base: unknown): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fc.nat(), jsonMutation), { minLength: 1, maxLength: 4 }).map(ms => {
    const copy = JSON.parse(JSON.stringify(base)) as unknown
    for (const [where, m] of ms) applyJson(copy, where, m)
    return (JSON.stringify(copy) ?? 'null').replace(DEEP_MARKER, (_, k: string, n: string) => deepJson(Number(n), k === 'a' ? 'array' : 'object'))
  })
}


/** byte-level mutations of a valid frame */
export function mutatedBytes (base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }).map(fs => {
    const out = Uint8Array.from(base)
    for (const [i, bit] of fs) if (out.length > 0) out[i % out.length] ^= 1 << bit
    return out
  })
  const truncate = fc.nat(Math.max(0, base.length - 1)).map(n => base.subarray(0, n))
  const extend = fc.uint8Array({ minLength: 1, maxLength: 256 }).map(tail => Buffer.concat([base, tail]))
  const splice = fc.tuple(fc.nat(base.length), fc.nat(64), fc.uint8Array({ maxLength: 64 })).map(([at, del, ins]) => Buffer.concat([base.subarray(0, at), ins, base.subarray(Math.min(base.length, at + del))]))
  const setByte = fc.tuple(fc.nat(Math.min(base.length, 64)), fc.constantFrom(0, 1, 2, 3, 0x7f, 0x80, 0xff)).map(([i, b]) => { const out = Uint8Array.from(base); if (i < out.length) out[i] = b; return out })
  return fc.oneof(flips, truncate, extend, splice, setByte)
}

/** purely random bytes, short or long */
export const randomBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 64, maxLength: 4096 })
)

/** an unsigned varint (the length prefix of @libp2p/utils' lpStream), up to 2^53 */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

/** one length-prefixed frame */
export function frame (body: Uint8Array): Uint8Array {
  return Buffer.concat([varint(body.length), body])
}

/**
 * The logger of the code under fuzz: every level, so that what a log line evaluates and
 * serializes runs too, written to /dev/null (PX_TEST_LOG=<level> shows them on stdout).
 */
export const fuzzLog: Logger = process.env.PX_TEST_LOG !== undefined
  ? pino({ level: process.env.PX_TEST_LOG })
  : pino({ level: 'trace' }, pino.destination({ dest: '/dev/null', sync: true }))
