/**
 * How soon V8 optimizes a function, for a process that runs a node (`phalanx start`).
 *
 * V8 moves a function to its optimizing compiler (TurboFan) once the function has run about
 * 132 KB of its own bytecode (`--interrupt-budget`). A node's per-entry path is hundreds of
 * small functions, each run once or a few times per gossip entry: at tens of entries a second,
 * many of them still ran in V8's baseline tier minutes after start, and V8 was still compiling
 * ~90 new ones in the 20 s after a 1,000-entry warm-up (`--trace-opt`, one receiver of a
 * 10-node circle at 50/s). An 8× smaller budget optimizes a function after about an eighth of
 * the calls, so more of the path runs optimized: 624 TurboFan compiles over the same run
 * against 411 (the long tail still arrives: ~110 in those 20 s). In a 10-node circle at 50/s
 * receiver CPU per 1,000 records was 0.88× and the origin's 0.89× (3 interleaved pairs;
 * README, Performance).
 *
 * Process-wide, so only the daemon's entry point applies it, before it loads the node's
 * modules; tests and libraries that embed a node keep V8's defaults.
 */
import { setFlagsFromString } from 'node:v8'

/** V8's flag: optimize a function after 16 KB of its bytecode has run (V8's default: 132 KB) */
export const TIERING_FLAGS = '--interrupt-budget=16384'

/** apply TIERING_FLAGS to this process; returns them (`phalanx start` logs them) */
export function tuneTiering (): string {
  setFlagsFromString(TIERING_FLAGS)
  return TIERING_FLAGS
}
