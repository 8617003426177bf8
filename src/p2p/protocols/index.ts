/**
 * The request/response protocols: one length-prefixed JSON frame each way (framing.ts), each
 * protocol in its own file stating its limits; sync (../sync.ts) streams batches instead.
 */
export { exchange, serveRequest, MAX_FRAME, MAX_REQUEST_FRAME, REQUEST_TIMEOUT_MS } from './framing.js'
export type { RequestHandler } from './framing.js'
export { Requester } from './request.js'
export { circleForMember } from './authorize.js'
export { JOIN_PROTOCOL, JOIN_MAX_INBOUND_STREAMS, joinHandler, joinWithInvite } from './join.js'
export type { JoinOutcome, InviteRedeemer } from './join.js'
export { CONTROL_PROTOCOL, CONTROL_MAX_INBOUND_STREAMS, controlHandler, takeControlLog, connectAt, ControlPull } from './control.js'
export { ENTRIES_PROTOCOL, ENTRIES_MAX_INBOUND_STREAMS, MAX_ENTRIES_PER_REQUEST, entriesHandler, fetchEntries, fetchEntry } from './entries.js'
export { RED_PROTOCOL, RED_MAX_INBOUND_STREAMS, RED_MAX_BACKOFF_MS, RedDelivery, redHandler, checkRedRoute } from './red.js'
export type { OutboxItem } from './red.js'
export { NOTICE_PROTOCOL, NOTICE_MAX_INBOUND_STREAMS, NOTICE_MAX_ENTRIES, NOTICE_MAX_AGE_MS, NoticeDelivery, noticeHandler } from './notice.js'
export type { NoticeReply } from './notice.js'
