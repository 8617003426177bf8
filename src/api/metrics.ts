/**
 * Prometheus metrics (GET /metrics). One registry per node, so several nodes can share a
 * process (tests) without mixing their figures.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { StoreCounts } from '../store/index.js'

/** what the gauges read when scraped (narrow: the node's figures, not the node) */
export interface MetricSources {
  /** the store's counts, or undefined when the store is closed */
  counts: () => StoreCounts | undefined
  /** records waiting to be written */
  queuedItems: () => number
  /** gossip verdicts since start, or undefined without a network */
  gossipCounts: () => { accepted: number, ignored: number, rejected: number, direct?: number } | undefined
  /** gossip messages received since start, every copy (duplicates included), or undefined without a network */
  gossipReceived?: () => number | undefined
}

export interface ApiMetrics {
  registry: Registry
  requests: Counter
  errors: Counter<'code'>
  published: Counter
  lookups: Counter<'result'>
}

/** how often the event-loop lag is sampled: a stall of this long or more is always seen */
export const EVENT_LOOP_SAMPLE_MS = 100

export function createMetrics (src: MetricSources): ApiMetrics {
  const registry = new Registry()
  // the event-loop lag histogram samples every EVENT_LOOP_SAMPLE_MS: prom-client's default
  // (10 ms) woke an idle node's main thread ~100 times a second, half of its idle CPU (issue 17)
  collectDefaultMetrics({ register: registry, prefix: 'phalanx_process_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  const counts = (k: 'entries' | 'indicators' | 'revoked' | 'sightings') => function (this: Gauge) { this.set(src.counts()?.[k] ?? 0) }
  new Gauge({ name: 'phalanx_store_entries', help: 'entries stored', registers: [registry], collect: counts('entries') })
  new Gauge({ name: 'phalanx_store_indicators', help: 'indicators stored (current versions)', registers: [registry], collect: counts('indicators') })
  new Gauge({ name: 'phalanx_store_revoked', help: 'indicators revoked by their origin', registers: [registry], collect: counts('revoked') })
  new Gauge({ name: 'phalanx_ingest_queue_items', help: 'records waiting to be written', registers: [registry], collect () { this.set(src.queuedItems()) } })
  new Gauge({
    name: 'phalanx_gossip_messages',
    help: 'gossip messages judged since start, by verdict (rejected: refused and penalized; ignored: not relayed)',
    labelNames: ['verdict'],
    registers: [registry],
    collect () {
      const c = src.gossipCounts()
      for (const v of ['accepted', 'ignored', 'rejected'] as const) this.set({ verdict: v }, c?.[v] ?? 0)
    }
  })
  new Gauge({
    name: 'phalanx_gossip_direct',
    help: 'gossip messages accepted and not relayed since start: their origin flooded them to every member (DIRECT)',
    registers: [registry],
    collect () { this.set(src.gossipCounts()?.direct ?? 0) }
  })
  new Gauge({
    name: 'phalanx_gossip_received',
    help: 'gossip messages received since start, every copy: the judged ones and the duplicates gossipsub drops unjudged',
    registers: [registry],
    collect () { this.set(src.gossipReceived?.() ?? 0) }
  })
  return {
    registry,
    requests: new Counter({ name: 'phalanx_api_requests_total', help: 'API requests', registers: [registry] }),
    errors: new Counter({ name: 'phalanx_api_errors_total', help: 'API requests refused, by error code', labelNames: ['code'], registers: [registry] }),
    published: new Counter({ name: 'phalanx_published_indicators_total', help: 'indicators published through the API', registers: [registry] }),
    lookups: new Counter({ name: 'phalanx_lookups_total', help: 'lookups, by result', labelNames: ['result'], registers: [registry] })
  }
}
