/**
 * Test helpers for the p2p unit tests: org PeerIds, a circle state with given members, and a
 * request served over a real in-memory libp2p stream pair (the protocols' own framing).
 */
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import { streamPair } from '@libp2p/utils'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { libp2pPrivateKeyFromSeed, type OrgKey } from '../../src/identity/index.js'
import type { CircleState } from '../../src/circles/index.js'
import { exchange, serveRequest, type RequestHandler } from '../../src/p2p/protocols/framing.js'

export const silent = pino({ level: 'silent' })

/** the PeerId of an org key's seed (a fresh one when none is given) */
export async function orgPeerId (seed: Uint8Array = randomBytes(32)): Promise<PeerId> {
  return peerIdFromPrivateKey(await libp2pPrivateKeyFromSeed(seed))
}

/** a circle's state with these current (and removed) members */
export function circleState (id: string, members: OrgKey[], removed: OrgKey[] = []): CircleState {
  const at = new Date().toISOString()
  const m = (k: OrgKey, gone: boolean): [string, CircleState['members'] extends Map<string, infer V> ? V : never] => [k.publicKeyHex, {
    key: k.publicKeyHex, org: 'org', role: 'member', addedBy: k.publicKeyHex, addedAt: at, addrs: [], ...(gone ? { removed: { at, by: k.publicKeyHex, upTo: 0 } } : {})
  }]
  return { id, name: id, founder: members[0]?.publicKeyHex ?? '', created: at, members: new Map([...members.map(k => m(k, false)), ...removed.map(k => m(k, true))]), keys: new Map(), epoch: 1, entries: 1, rekey: [] }
}

/** one request to `handle` as the org with PeerId `from`, through the protocols' framing */
export async function request (handle: RequestHandler, from: PeerId, body: unknown): Promise<any> {
  const [client, server] = await streamPair()
  const serving = serveRequest(server, { remotePeer: from }, 'test', silent, handle)
  try {
    return await exchange(client, body, AbortSignal.timeout(10_000))
  } finally {
    await serving
  }
}
