/**
 * The connection gater and blocking, between two real libp2p hosts on 127.0.0.1 (host.ts):
 * members pass, others only while an invite is open or while this node dials them itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { OrgKey } from '../../../src/identity/index.js'
import { Connections } from '../../../src/p2p/connections.js'
import { createHost, type Host } from '../../../src/p2p/host.js'
import { silent } from '../../utils/p2p.js'

interface Side { key: OrgKey, seed: Uint8Array, members: Set<string>, invites: boolean, connections: Connections, host: Host }

async function side (): Promise<Side> {
  const seed = randomBytes(32)
  const s: Partial<Side> = { seed, key: OrgKey.fromSeed(seed), members: new Set(), invites: false }
  s.connections = new Connections({ circles: { mine: () => [], peerKeys: () => s.members!, hasOpenInvites: () => s.invites! }, self: s.key!.publicKeyHex, log: silent, signal: new AbortController().signal })
  s.host = await createHost({ host: '127.0.0.1', port: 0 }, seed, s.connections.gater())
  s.connections.attach(s.host)
  return s as Side
}

describe('Connections: the gater', () => {
  let a: Side, b: Side
  beforeEach(async () => { [a, b] = await Promise.all([side(), side()]) })
  afterEach(async () => { await Promise.all([a.host.stop(), b.host.stop()]) })

  const dial = async (from: Side, to: Side): Promise<boolean> => {
    try {
      await from.host.dial(multiaddr(`${to.host.getMultiaddrs()[0].toString()}`), { signal: AbortSignal.timeout(5000) })
      // the answering side refuses after the handshake: give it a moment to hang up
      await new Promise(resolve => setTimeout(resolve, 200))
      return from.connections.connectedKeys().includes(to.key.publicKeyHex)
    } catch {
      return false
    }
  }

  it('refuses to dial an org that is in none of its circles', async () => {
    b.members.add(a.key.publicKeyHex); b.connections.refreshAllowed()
    expect(await dial(a, b)).toBe(false)
  })

  it('a dial to a bare address (no peer id) of a non-member is refused once its key is known', async () => {
    b.members.add(a.key.publicKeyHex); b.connections.refreshAllowed()
    const bare = b.host.getMultiaddrs()[0].toString().replace(/\/p2p\/[^/]+$/, '')
    const ok = await a.host.dial(multiaddr(bare), { signal: AbortSignal.timeout(5000) }).then(() => true, () => false)
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(ok).toBe(false)
    expect(a.connections.connectedKeys()).toEqual([])
  })

  it('refuses an inbound non-member while no invite is open', async () => {
    a.members.add(b.key.publicKeyHex); a.connections.refreshAllowed()
    expect(await dial(a, b)).toBe(false)
  })

  it('lets an inbound non-member in while an invite is open', async () => {
    a.members.add(b.key.publicKeyHex); a.connections.refreshAllowed()
    b.invites = true
    expect(await dial(a, b)).toBe(true)
    expect(b.connections.connectedKeys()).toEqual([a.key.publicKeyHex])
  })

  it('connects members both ways', async () => {
    a.members.add(b.key.publicKeyHex); a.connections.refreshAllowed()
    b.members.add(a.key.publicKeyHex); b.connections.refreshAllowed()
    expect(await dial(a, b)).toBe(true)
  })

  it('dials a non-member only while it asks it something (a join)', async () => {
    b.invites = true
    expect(await dial(a, b)).toBe(false)
    const id = b.host.peerId.toString()
    expect(await a.connections.dialOutsider(id, async () => await dial(a, b))).toBe(true)
  })

  it('a blocked member is hung up and refused, whatever the invites, until unblocked', async () => {
    a.members.add(b.key.publicKeyHex); a.connections.refreshAllowed()
    b.members.add(a.key.publicKeyHex); b.connections.refreshAllowed()
    expect(await dial(a, b)).toBe(true)
    b.invites = true
    b.connections.block(a.key.publicKeyHex)
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(b.connections.connectedKeys()).toEqual([])
    expect(await dial(a, b)).toBe(false)
    b.connections.unblock(a.key.publicKeyHex)
    expect(await dial(a, b)).toBe(true)
  })
})
