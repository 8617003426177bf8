/**
 * Who may ask this node about a circle (entries, control, sync): this node and the asking
 * org must both be current members of it.
 */
import { PhalanxError } from '../../errors.js'
import { circleOfLog, type CircleManager, type CircleState } from '../../circles/index.js'

/** a circle's state for a request from `key` (a circle id or one of its log names); throws otherwise */
export function circleForMember (circles: Pick<CircleManager, 'get' | 'mine'>, circle: unknown, key: string): CircleState {
  const s = typeof circle === 'string' ? circles.get(circleOfLog(circle)) : undefined
  if (s === undefined || !circles.mine().includes(s)) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', 'no such circle here')
  const m = s.members.get(key)
  if (m === undefined || m.removed !== undefined) throw new PhalanxError('PX_ERR_NOT_MEMBER', 'you are not a member of this circle')
  return s
}
