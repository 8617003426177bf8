/**
 * The local HTTP API: what analysts, firewalls and the CLI use. Bearer token required,
 * 127.0.0.1 by default, JSON errors with stable codes (docs/API.md).
 */
export { createApiServer, parseNdjson } from './server.js'
export type { ApiServer } from './server.js'
export { buildOpenApi } from './openapi.js'
