/**
 * How soon V8 optimizes a function, for a process that runs a node (`phalanx start`).
 *
 * V8 moves a function to its optimizing compiler (TurboFan) once the function has run about
 * 132 KB of its own bytecode (`--interrupt-budget`). A node's per-entry path is hundreds of
 * small functions, each run once or a few times per gossip entry: at tens of entries a second,
 * many of them still ran in V8's baseline tier minutes after start, and V8 was still compiling
 * ~90 new ones in the 20 s after a 1,000-entry warm-up (`--trace-opt`, one receiver of a
 * 10-node circle at 50/s). An 8× smaller budget (16 KB) optimized a function after about an
 * eighth of the calls, so more of the path ran optimized: 624 TurboFan compiles over the same
 * run against 411. In a 10-node circle at 50/s receiver CPU per 1,000 records was 0.88× and the
 * origin's 0.89× (3 interleaved pairs; README, Performance).
 *
 * With 16 KB the receive path itself (validate, checkEntry, ingest, applyEntry: one call per
 * entry) was still compiled 2–16 s into the latency run that follows 2,000 warm-up publishes in
 * a 25-node circle at 200/s (`--trace-opt`, every node, placed on the wall clock), so that run
 * measured 25 processes compiling the same functions at once. At 4 KB (32× smaller) they are
 * optimized during the warm-up: p50 / p99 of that run 78–100 / 243–278 ms against 102–156 /
 * 243–354 ms, medians 0.75× / 0.85×, receiver CPU per 1,000 records 0.96× (7 interleaved
 * pairs). 2 KB and 1 KB were no better (p99 200–328 ms). The trade: colder functions reach the
 * budget too, so a circle far from saturation spends more CPU per record (10 nodes at 50/s:
 * 1.10× at the receivers, 1.17× at the origin; 1.05× and 1.03× after a longer warm-up), with
 * p99 43 → 59 ms (target ≤ 100 ms).
 *
 * Process-wide, so only the daemon's entry point applies it, before it loads the node's
 * modules; tests and libraries that embed a node keep V8's defaults.
 */
import { setFlagsFromString } from 'node:v8'

/** V8's flag: optimize a function after 4 KB of its bytecode has run (V8's default: 132 KB) */
export const TIERING_FLAGS = '--interrupt-budget=4096'

/** apply TIERING_FLAGS to this process; returns them (`phalanx start` logs them) */
export function tuneTiering (): string {
  setFlagsFromString(TIERING_FLAGS)
  return TIERING_FLAGS
}
