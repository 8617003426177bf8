/**
 * Trust circles: membership folded from signed control entries (state.ts), circle keys
 * and the circle entry policy (manager.ts), invite codes (invite.ts).
 */
export { applyControlEntry, checkDataEntry, originViolation, admissionViolation, currentMembers, hasLeft, rotator, isAdmin, isCurrentMember, circleOfLog, isMembershipLog, membershipLogOf, MEMBERSHIP_SUFFIX } from './state.js'
export type { CircleState, Member, SealedKey, ReceivedEntryFields } from './state.js'
export { CircleManager, memberView, formerCircleError } from './manager.js'
export type { CircleManagerComponents, CircleView, MemberView, CircleListener } from './manager.js'
export { makeInvite, parseInvite, inviteSecretHash, isOpenInvite, useKeptInvite, parseDuration } from './invite.js'
export type { Invite, SignedInvite, KeptInvite } from './invite.js'
