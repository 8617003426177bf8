/**
 * Structured logs (pino). One root per process; each module takes a child named after its
 * folder (`phalanx:store:ingest`). Secrets never reach a log: known secret-bearing fields
 * are redacted as a second line of defence.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function createLogger (level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino({
    name: 'phalanx',
    level,
    redact: { paths: ['token', 'seed', 'key', 'secret', 'authorization', 'req.headers.authorization', '*.token', '*.seed', '*.secret'], censor: '[redacted]' },
    base: { pid: process.pid }
  }, destination ?? pino.destination({ dest: 2, sync: false }))
}

export function childLogger (root: Logger, component: string): Logger {
  return root.child({ component: `phalanx:${component}` })
}
