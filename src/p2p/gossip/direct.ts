/**
 * Direct delivery: a message its origin flooded to every member is not relayed.
 *
 * The origin floods its own gossip to every topic peer it is connected to (gossipsub's flood
 * publish); the mesh is there to relay to the members the origin cannot reach. Where the
 * origin reaches every current member itself, every relay is a copy its receiver already
 * has: in a circle of 25, each member received ~3 copies of each entry, decrypted all of them
 * at the transport and dropped two (README, Performance).
 *
 * Guarantees:
 * - the origin marks a message DIRECT (envelope flag) only when every other current member of
 *   the circle is a topic peer its flood publish sends to (subscribed, score at or above
 *   gossipsub's publish threshold) and has announced DIRECT_PROTOCOL (identify): a node that
 *   does not know the flag would refuse the message, so one such member keeps the flag off;
 * - a member that receives a DIRECT message straight from the origin of every entry in it
 *   stores it and does not relay it (the validator answers IGNORE after storing: no forward,
 *   no penalty). A DIRECT message from any other peer is judged and relayed as any other: only
 *   an origin's own connection stops relays, and only of its own entries;
 * - a flood copy lost on the way is not repaired by relays: the member still gets the entries
 *   from the origin's gossip (IHAVE) or from anti-entropy sync.
 */
import type { CircleState } from '../../circles/index.js'
import { currentMembers } from '../../circles/index.js'

/** announced (as a protocol in identify) by nodes that know the DIRECT envelope flag */
export const DIRECT_PROTOCOL = '/phalanx/gossip-direct/1.0.0'

export interface DirectReachComponents {
  /** a circle's state (its current members) */
  circle: (id: string) => CircleState | undefined
  /** this node's org key */
  self: string
  /** the peers gossipsub's flood publish sends `circle`'s messages to, by PeerId string */
  floodPeers: (circle: string) => Set<string>
  /** the PeerId (string) of an org key */
  peerIdOf: (key: string) => string
  /** whether a peer (PeerId string) announced DIRECT_PROTOCOL in its last identify */
  knowsDirect: (peerId: string) => boolean
}

export class DirectReach {
  readonly #c: DirectReachComponents

  constructor (c: DirectReachComponents) { this.#c = c }

  /** whether this node's flood publish on `circle` reaches every other current member, each knowing DIRECT */
  reachesAll (circle: string): boolean {
    const s = this.#c.circle(circle)
    if (s === undefined) return false
    const peers = this.#c.floodPeers(circle)
    for (const m of currentMembers(s)) {
      if (m.key === this.#c.self) continue
      const id = this.#c.peerIdOf(m.key)
      if (!peers.has(id) || !this.#c.knowsDirect(id)) return false
    }
    return true
  }
}
