/**
 * Yamux window updates at half the window (src/p2p/yamux-window.ts): a real YamuxStream (the
 * package's public `./stream` export) fed data frames as its muxer feeds them, the frames it
 * sends collected. A sender that respects the credit it is given must never run out.
 */
import { describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import { defaultLogger } from '@libp2p/logger'
import { YamuxStream, StreamState } from '@libp2p/yamux/stream'
import { installYamuxWindowRule, yamuxWindowRuleInstalled } from '../../../src/p2p/yamux-window.js'

/** yamux frame types and flags (hashicorp/yamux spec.md) */
const DATA = 0
const WINDOW_UPDATE = 1
const ACK = 2
const WINDOW = 256 * 1024

interface Sent { type: number, flag: number, length: number }

function stream (state: StreamState): { s: YamuxStream, sent: Sent[] } {
  const sent: Sent[] = []
  const s = new YamuxStream({
    id: '1',
    streamId: 1,
    state,
    direction: 'inbound',
    log: defaultLogger().forComponent('test:yamux'),
    initialStreamWindowSize: WINDOW,
    maxStreamWindowSize: WINDOW,
    // no RTT known: the window is not auto-tuned, so the credit arithmetic below is exact
    getRTT: () => -1,
    sendFrame: (header: { type: number, flag: number, length: number }) => { sent.push({ type: header.type, flag: header.flag, length: header.length }); return true }
  } as any)
  // read what arrives, as gossipsub's stream reader does (unread data would pause the stream)
  s.addEventListener('message', () => {})
  return { s, sent }
}

/**
 * A sender that sends `frames` frames of `size` bytes only while it holds credit (as yamux's
 * sender does), the receiver's updates giving it more: how many updates came back, and the
 * least credit the sender held before a frame.
 */
function transfer (s: YamuxStream, sent: Sent[], frames: number, size: number): { updates: number, leastCredit: number, starved: number } {
  let credit = WINDOW
  let leastCredit = credit
  let starved = 0
  let seen = sent.length
  for (let i = 0; i < frames; i++) {
    if (credit < size) { starved++; break }
    leastCredit = Math.min(leastCredit, credit)
    credit -= size
    s.handleData({ header: { type: DATA, flag: 0, streamID: 1, length: size }, data: new Uint8ArrayList(new Uint8Array(size)) } as any)
    for (; seen < sent.length; seen++) if (sent[seen].type === WINDOW_UPDATE) credit += sent[seen].length
  }
  return { updates: sent.filter(f => f.type === WINDOW_UPDATE).length, leastCredit, starved }
}

describe('yamux window updates', () => {
  it('@libp2p/yamux alone answers every data frame with a window update (why the rule exists)', () => {
    // runs before the rule is installed in this file; if a later @libp2p/yamux stops doing
    // this, the rule (yamux-window.ts) has done its job and can go
    expect(yamuxWindowRuleInstalled()).toBe(false)
    const { s, sent } = stream(StreamState.Established)
    const r = transfer(s, sent, 400, 1024)
    expect(r.updates).toBe(400)
  })

  it('with the rule, small frames get one update per half window, and the sender never waits for credit', () => {
    expect(installYamuxWindowRule()).toBe(true)
    expect(installYamuxWindowRule()).toBe(true)
    expect(yamuxWindowRuleInstalled()).toBe(true)
    const { s, sent } = stream(StreamState.Established)
    // 400 KiB through a 256 KiB window in 1 KiB frames (a single-record gossip entry is ~1 KiB)
    const r = transfer(s, sent, 400, 1024)
    expect(r.starved).toBe(0)
    expect(r.updates).toBe(3)
    // each update gives back what was used, half a window: the sender kept at least half
    for (const f of sent) expect(f.length).toBe(WINDOW / 2)
    expect(r.leastCredit).toBeGreaterThanOrEqual(WINDOW / 2)
  })

  it('large frames past half the window are answered at once, so a full window never stalls', () => {
    installYamuxWindowRule()
    const { s, sent } = stream(StreamState.Established)
    // 64 frames of 160 KiB (bulk gossip entries): each one uses more than half the window
    const r = transfer(s, sent, 64, 160 * 1024)
    expect(r.starved).toBe(0)
    expect(r.updates).toBe(64)
  })

  it('an update that carries a flag (the ACK of a new inbound stream) is still sent at once', () => {
    installYamuxWindowRule()
    const { s, sent } = stream(StreamState.SYNReceived)
    s.sendWindowUpdate()
    expect(sent).toHaveLength(1)
    expect(sent[0].type).toBe(WINDOW_UPDATE)
    expect(sent[0].flag & ACK).toBe(ACK)
    // established now: a small frame alone sends nothing more
    transfer(s, sent, 1, 1024)
    expect(sent).toHaveLength(1)
  })
})
