/**
 * A short read of a length prefix without a new Error each time.
 *
 * @libp2p/utils' `LengthPrefixedDecoder` (noise decodes every encrypted frame with it) reads
 * frames from its buffer until the length prefix no longer decodes: the length decoder throws
 * a RangeError, which the loop catches as "wait for more bytes". After the last whole frame of
 * a chunk the buffer is usually empty, so every TCP read of every connection built a new
 * RangeError, and a new Error captures a stack trace: 18 µs per read against 1.6 µs without
 * it (measured in process, 30 frames deep, warm code; issue 17). Each gossip copy a node
 * receives is at least one read.
 *
 * This puts a guard in front of each decoder's length decoder, once per decoder, on the first
 * `decode`: an empty buffer throws one RangeError made at startup (throwing an existing error
 * captures nothing); anything else goes to the package's length decoder unchanged, so a prefix
 * split across reads still throws the package's own RangeError and a bad length still fails
 * as before. The loop, its bounds and its errors stay the package's. If a later version
 * changes the shape this relies on, nothing is changed and the host says so
 * (`installLengthPrefixRule` returns false).
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'

const INSTALLED = Symbol.for('phalanx.lp.shortReadWithoutStack')
const GUARDED = Symbol.for('phalanx.lp.guarded')

/** what the decoder loop catches as "wait for more bytes"; made once, thrown many times */
const EMPTY = new RangeError('no bytes left for a length prefix (wait for more)')

type LengthDecoder = ((data: { byteLength: number }) => number) & { bytes?: number, [GUARDED]?: true }

/** the fields of LengthPrefixedDecoder the rule reads and sets (public in @libp2p/utils 7) */
interface DecoderFields {
  lengthDecoder: LengthDecoder
}

function guarded (decode: LengthDecoder): LengthDecoder {
  const g: LengthDecoder = (data) => {
    if (data.byteLength === 0) throw EMPTY
    return decode(data)
  }
  if (decode.bytes !== undefined) g.bytes = decode.bytes
  g[GUARDED] = true
  return g
}

/** Install the rule once per process; true when it is in place. */
export function installLengthPrefixRule (): boolean {
  const proto = LengthPrefixedDecoder?.prototype as unknown as Record<string | symbol, unknown> | undefined
  if (proto === undefined) return false
  if (proto[INSTALLED] === true) return true
  const original = proto.decode
  if (typeof original !== 'function') return false
  proto.decode = function decodeWithoutShortReadErrors (this: DecoderFields, buf: unknown) {
    const d = this.lengthDecoder
    if (typeof d === 'function' && d[GUARDED] !== true) this.lengthDecoder = guarded(d)
    return (original as (this: DecoderFields, buf: unknown) => unknown).call(this, buf)
  }
  proto[INSTALLED] = true
  return true
}

/** whether the rule is in place (tests) */
export function lengthPrefixRuleInstalled (): boolean {
  return (LengthPrefixedDecoder.prototype as unknown as Record<symbol, unknown>)[INSTALLED] === true
}
