/**
 * Yamux window updates at half the window, as the other yamux implementations send them.
 *
 * @libp2p/yamux 8 answers every data frame it receives with a window-update frame: each gossip
 * copy a node receives costs a second message back (a yamux frame, a noise encryption and a
 * TCP write at the receiver; a TCP read, a decryption and a frame at the sender). In a
 * receiver's CPU profile at 10 nodes at 50/s, `sendWindowUpdate` was 10.7% of the main
 * thread's samples (issue 17; the figures it moved are in the README). hashicorp/yamux (the
 * spec's reference), the Go libp2p fork and rust-yamux (libp2p/rust-yamux#109) send an update
 * only once half of the receive window has been used, or when the update carries a flag (the
 * stream's SYN/ACK).
 *
 * This puts that rule in front of YamuxStream's own `sendWindowUpdate` (the class is the
 * package's public `./stream` export): when the stream is established and less than half of
 * its window is used, nothing is sent; otherwise the package's method runs unchanged (its
 * window auto-tuning included). The sender never waits for credit while half a window is
 * left, so flow control holds (bulk transfers larger than the window are covered by the
 * sync and gossip tests). If a later version changes the shape this relies on, nothing is
 * changed and the host says so (`installYamuxWindowRule` returns false).
 */
import { YamuxStream, StreamState } from '@libp2p/yamux/stream'

const INSTALLED = Symbol.for('phalanx.yamux.halfWindowUpdates')

/** the fields of YamuxStream the rule reads (public properties in @libp2p/yamux 8) */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/**
 * Install the half-window rule once per process; true when it is in place. Only the stream's
 * state and window counters are read; the package's method sends every update that is sent.
 */
export function installYamuxWindowRule (): boolean {
  const proto = YamuxStream.prototype as unknown as Record<string | symbol, unknown>
  if (proto[INSTALLED] === true) return true
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function' || typeof StreamState?.Established !== 'number') return false
  proto.sendWindowUpdate = function sendWindowUpdateAtHalf (this: WindowFields) {
    if (this.state === StreamState.Established && typeof this.recvWindow === 'number' &&
      this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    return (original as (this: WindowFields) => unknown).call(this)
  }
  proto[INSTALLED] = true
  return true
}

/** whether the rule is in place (tests, status) */
export function yamuxWindowRuleInstalled (): boolean {
  return (YamuxStream.prototype as unknown as Record<symbol, unknown>)[INSTALLED] === true
}
