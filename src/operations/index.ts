/**
 * The use cases (DESIGN §6: api → operations → circles, p2p, store, interop): each a class that
 * asks only for the components it needs. The API routes call them; `node.ts` builds them.
 */
export { Indicators, MAX_BULK_INDICATORS } from './indicators.js'
export type { IndicatorComponents, PublishOutcome } from './indicators.js'
export { Sightings } from './sightings.js'
export type { SightingComponents } from './sightings.js'
export { Circles } from './circles.js'
export { Advisories } from './advisories.js'
export { Reports, attackUrl, MAX_ATTACK_TECHNIQUES } from './reports.js'
export type { ReportComponents, ReportView, ReportSummary, ReportMention, TechniqueView, LinkedIndicatorView } from './reports.js'
export { StreamEvents, STREAM_EVENT_KINDS } from './stream-events.js'
export type { StreamEvent, StreamEventKind, StreamEventFilter, StreamEventComponents } from './stream-events.js'
export type { AdvisoryComponents, AdvisoryView, AdvisorySummary, OrgRef } from './advisories.js'
export { CircleAdmin } from './circle-admin.js'
export type { CircleAdminComponents } from './circle-admin.js'
export type { CircleComponents } from './circles.js'
export { Status } from './status.js'
export type { StatusComponents, NodeStatus, CircleStatus, NodeFacts } from './status.js'
export { Taxii } from './taxii.js'
export type { TaxiiComponents, TaxiiCaller, TaxiiQuery, TaxiiItem, TaxiiPage } from './taxii.js'
export { Exports } from './export.js'
export type { ExportComponents, ExportsComponents, BlocklistOptions, ExportOptions, StreamPage } from './export.js'
export { Withdrawals } from './withdrawals.js'
export type { WithdrawalComponents } from './withdrawals.js'
export { nodeEntryPolicy, ownEntriesOnlyPolicy } from './entry-policy.js'
export { bodyWith, circleIdOf, orgNamesOf, requireCircle, resolveCircle } from './input.js'

import type { Indicators } from './indicators.js'
import type { Sightings } from './sightings.js'
import type { Advisories } from './advisories.js'
import type { Reports } from './reports.js'
import type { StreamEvents } from './stream-events.js'
import type { Circles } from './circles.js'
import type { Status } from './status.js'
import type { Taxii } from './taxii.js'
import type { Exports } from './export.js'

/** every use case of a node, as the API routes receive them */
export interface Operations {
  indicators: Indicators
  sightings: Sightings
  advisories: Advisories
  reports: Reports
  /** the stream's events besides indicator versions */
  events: StreamEvents
  circles: Circles
  status: Status
  taxii: Taxii
  exports: Exports
}
