/**
 * Trust circles: membership folded from signed control entries (state.ts), circle keys
 * and admin operations (manager.ts), invite codes (invite.ts).
 */
export { applyControlEntry, checkDataEntry, currentMembers, isAdmin, isCurrentMember, circleOfLog, isMembershipLog, membershipLogOf, MEMBERSHIP_SUFFIX } from './state.js'
export type { CircleState, Member, SealedKey } from './state.js'
export { CircleManager } from './manager.js'
export type { CircleManagerComponents, CircleView, MemberView, CircleListener } from './manager.js'
export { makeInvite, parseInvite, inviteSecretHash, isOpenInvite, useKeptInvite, parseDuration } from './invite.js'
export type { Invite, SignedInvite, KeptInvite } from './invite.js'
