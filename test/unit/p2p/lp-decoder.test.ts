/**
 * A short read of a length prefix without a new Error each time (src/p2p/lp-decoder.ts): a
 * real `LengthPrefixedDecoder` of @libp2p/utils, built as noise builds it (a two-byte
 * big-endian prefix), fed encrypted-frame-sized chunks as a TCP socket delivers them.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { installLengthPrefixRule, lengthPrefixRuleInstalled } from '../../../src/p2p/lp-decoder.js'

/**
 * A two-byte big-endian length decoder that counts the errors it builds: what
 * @chainsafe/libp2p-noise passes (encoder.ts `uint16BEDecode`), which throws a new RangeError
 * when fewer than two bytes are left.
 */
function counting (): { decode: ((data: { byteLength: number, subarray: (a: number, b: number) => Uint8Array }) => number) & { bytes: number }, built: () => number } {
  let built = 0
  const decode = Object.assign((data: { byteLength: number, subarray: (a: number, b: number) => Uint8Array }) => {
    if (data.byteLength < 2) { built++; throw new RangeError('Could not decode int16BE') }
    const b = data.subarray(0, 2)
    return (b[0] << 8) + b[1]
  }, { bytes: 2 })
  return { decode, built: () => built }
}

function decoder (lengthDecoder: unknown): LengthPrefixedDecoder {
  return new LengthPrefixedDecoder({ lengthDecoder: lengthDecoder as any, maxBufferSize: 16 * 1024 * 1024, encodingLength: () => 2 })
}

function frame (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length)
  out[0] = body.length >> 8
  out[1] = body.length & 0xff
  out.set(body, 2)
  return out
}

/** `n` frames of `size` bytes, each its own chunk (one TCP read per gossip copy) */
function oneFramePerRead (d: LengthPrefixedDecoder, n: number, size: number): number {
  let frames = 0
  for (let i = 0; i < n; i++) for (const f of d.decode(frame(new Uint8Array(size).fill(i & 0xff)))) { expect(f.byteLength).toBe(size); frames++ }
  return frames
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** the bodies a decoder yields for `bytes` delivered in chunks cut at `cuts` */
function decodeAll (d: LengthPrefixedDecoder, bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  for (const c of [...cuts.filter(x => x > 0 && x < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (c <= at) continue
    for (const f of d.decode(bytes.subarray(at, c))) out.push(f.subarray())
    at = c
  }
  return out
}

describe('length prefix: a short read without a new error', () => {
  it('@libp2p/utils alone builds an error for every read that ends on a frame boundary (why the rule exists)', () => {
    // runs before the rule is installed in this file; if a later @libp2p/utils stops doing
    // this, the rule (lp-decoder.ts) has done its job and can go
    expect(lengthPrefixRuleInstalled()).toBe(false)
    const c = counting()
    expect(oneFramePerRead(decoder(c.decode), 300, 900)).toBe(300)
    expect(c.built()).toBe(300)
  })

  it('with the rule, the same reads build none, and every frame comes out', () => {
    expect(installLengthPrefixRule()).toBe(true)
    expect(installLengthPrefixRule()).toBe(true)
    expect(lengthPrefixRuleInstalled()).toBe(true)
    const c = counting()
    expect(oneFramePerRead(decoder(c.decode), 300, 900)).toBe(300)
    expect(c.built()).toBe(0)
  })

  it('frames cut anywhere across reads (a prefix split in two included) come out whole and in order, as without the rule', () => {
    installLengthPrefixRule()
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(4000), { maxLength: 30 }),
      (bodies, cuts) => {
        const bytes = concat(bodies.map(frame))
        const out = decodeAll(decoder(counting().decode), bytes, cuts)
        expect(out.map(b => Buffer.from(b).toString('hex'))).toEqual(bodies.map(b => Buffer.from(b).toString('hex')))
      }
    ), { numRuns: 300 })
    // one byte of a prefix: the package's own decoder still says "wait" (its RangeError)
    const c = counting()
    const d = decoder(c.decode)
    const f = frame(new Uint8Array([1, 2, 3]))
    expect([...d.decode(f.subarray(0, 1))]).toHaveLength(0)
    expect(c.built()).toBe(1)
    expect([...d.decode(f.subarray(1))].map(b => [...b.subarray()])).toEqual([[1, 2, 3]])
  })

  it('a length past the bound still fails as the package fails it', () => {
    installLengthPrefixRule()
    const d = new LengthPrefixedDecoder({ lengthDecoder: counting().decode as any, maxDataLength: 100, encodingLength: () => 2 })
    expect(() => [...d.decode(frame(new Uint8Array(200)))]).toThrow(/length/i)
  })
})
