/**
 * Typed errors. Every error Phalanx raises on purpose is a PhalanxError with a stable
 * `code` (PX_ERR_*). ERROR_CODES is the one table mapping each code to an HTTP status, a
 * CLI exit code and a one-line description (docs/API.md is checked against it by a test).
 */

export interface ErrorCodeInfo {
  /** HTTP status the API answers with */
  status: number
  /** process exit code the CLI ends with */
  exit: number
  /** what the code means, for docs */
  description: string
}

export const ERROR_CODES = {
  PX_ERR_VALIDATION: { status: 400, exit: 2, description: 'A field of the input is missing, malformed or out of range; `field` names it.' },
  PX_ERR_BAD_JSON: { status: 400, exit: 2, description: 'The request body is not valid JSON.' },
  PX_ERR_UNAUTHORIZED: { status: 401, exit: 3, description: 'No bearer token, or the token does not match `<data>/api.token`.' },
  PX_ERR_FORBIDDEN: { status: 403, exit: 3, description: 'The caller may not do this (e.g. revoke another origin\'s indicator).' },
  PX_ERR_ORIGIN: { status: 403, exit: 3, description: 'The request comes from a web page of another origin (`Origin` not this API\'s, or `Sec-Fetch-Site: cross-site`/`same-site`): the API answers no cross-origin request, with or without auth.' },
  PX_ERR_HOST: { status: 421, exit: 3, description: 'The `Host` header names a host this API does not serve (DNS rebinding guard): only 127.0.0.1, localhost, [::1], `api.host`, the host of `api.publicUrl` and `api.allowedHosts`.' },
  PX_ERR_NOT_FOUND: { status: 404, exit: 4, description: 'No such indicator, entry or route.' },
  PX_ERR_NOT_ACCEPTABLE: { status: 406, exit: 2, description: 'The request accepts no media type this endpoint answers with (TAXII: application/taxii+json;version=2.1).' },
  PX_ERR_CONFLICT: { status: 409, exit: 5, description: 'The request conflicts with stored state (e.g. revoking an already revoked indicator).' },
  PX_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2, description: 'The request body is not `application/json` (or NDJSON where accepted).' },
  PX_ERR_PAYLOAD_TOO_LARGE: { status: 413, exit: 2, description: 'The request body, the indicator list or an entry is over its size limit.' },
  PX_ERR_RATE_LIMITED: { status: 429, exit: 6, description: 'Too many requests; retry after the `Retry-After` seconds.' },
  PX_ERR_OVER_QUOTA: { status: 429, exit: 6, description: 'A member\'s gossip past its quota (`p2p.quota`: entries/s, bytes/s) was ignored, not relayed; sync brings its entries at this node\'s own pace.' },
  PX_ERR_BAD_SIGNATURE: { status: 400, exit: 7, description: 'An entry\'s Ed25519 signature does not verify against its origin key.' },
  PX_ERR_BAD_ENTRY: { status: 400, exit: 7, description: 'An entry is malformed: schema, hash chain (`seq`/`prev`) or size.' },
  PX_ERR_SEQ_GAP: { status: 409, exit: 7, description: 'An entry arrived before the entries that precede it in its origin\'s log.' },
  PX_ERR_FORK: { status: 409, exit: 7, description: 'An origin signed two different entries with the same (circle, seq).' },
  PX_ERR_UNKNOWN_CIRCLE: { status: 404, exit: 4, description: 'This node is not in that circle (or no such circle exists).' },
  PX_ERR_NOT_MEMBER: { status: 403, exit: 8, description: 'The origin or key is not a current member of the circle, or not an admin where an admin is needed.' },
  PX_ERR_INVITE: { status: 400, exit: 8, description: 'An invite code is malformed, expired, already used, or was not made by this circle\'s admin.' },
  PX_ERR_PEER: { status: 502, exit: 10, description: 'A peer could not be reached or answered with an error (dial, join, delivery).' },
  PX_ERR_TLP_VIOLATION: { status: 403, exit: 8, description: 'The operation would break a TLP 2.0 rule.' },
  PX_ERR_CONFIG: { status: 500, exit: 2, description: 'The configuration (file, env or flag) has an unknown key or a bad value; `field` names it.' },
  PX_ERR_KEY_PERMISSIONS: { status: 500, exit: 9, description: 'A key or token file is readable by group or others; fix with chmod 600.' },
  PX_ERR_IDENTITY: { status: 500, exit: 9, description: 'The identity key is missing or corrupt; run `phalanx init`.' },
  PX_ERR_NODE_NOT_RUNNING: { status: 503, exit: 10, description: 'The CLI found no running node for the data dir (no api.url, or it does not answer).' },
  PX_ERR_STORE: { status: 500, exit: 11, description: 'The LevelDB store failed or has an unknown format version.' },
  PX_ERR_STORE_DAMAGED: { status: 500, exit: 13, description: 'The store directory is damaged (table files without a CURRENT file, CURRENT naming a missing manifest, an unreadable own-seq.json): nothing was opened or changed; run `phalanx repair` with the node stopped.' },
  PX_ERR_OWN_LOG_BEHIND: { status: 503, exit: 14, description: 'This node\'s own log in that circle ends below the seq it last signed (a lost tail: a truncated write-ahead log, an older backup): it signs nothing there until sync recovers its entries from peers, or `phalanx recover --accept-lost-tail` with the node stopped.' },
  PX_ERR_VERIFY: { status: 500, exit: 12, description: '`phalanx verify` found problems in the store (listed in its report).' },
  PX_ERR_CLOSED: { status: 503, exit: 11, description: 'The node is shutting down.' },
  PX_ERR_INTERNAL: { status: 500, exit: 1, description: 'An unexpected failure; the log has details.' }
} as const satisfies Record<string, ErrorCodeInfo>

export type ErrorCode = keyof typeof ERROR_CODES

export class PhalanxError extends Error {
  readonly code: ErrorCode
  /** the input field at fault, as a path like `indicators[3].value` */
  readonly field?: string
  readonly meta?: Record<string, unknown>

  constructor (code: ErrorCode, message: string, opts: { field?: string, meta?: Record<string, unknown>, cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'PhalanxError'
    this.code = code
    if (opts.field !== undefined) this.field = opts.field
    if (opts.meta !== undefined) this.meta = opts.meta
  }

  get status (): number { return ERROR_CODES[this.code].status }
  get exitCode (): number { return ERROR_CODES[this.code].exit }

  toJSON (): { code: ErrorCode, message: string, field?: string } {
    return { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) }
  }
}

export class ValidationError extends PhalanxError {
  constructor (field: string, message: string, meta?: Record<string, unknown>) {
    super('PX_ERR_VALIDATION', message, { field, ...(meta !== undefined ? { meta } : {}) })
    this.name = 'ValidationError'
  }
}

/**
 * prefix the field path of an error about one item of a list, e.g. `value` →
 * `indicators[3].value`: a ValidationError always; with `anyCode`, also another PhalanxError
 * that names a field (a TLP violation on `tlp`, an unknown circle on `circle`), keeping its code
 */
export function withFieldPrefix (err: unknown, prefix: string, opts: { anyCode?: boolean } = {}): unknown {
  if (err instanceof PhalanxError && err.code === 'PX_ERR_VALIDATION') {
    const field = err.field !== undefined && err.field !== '' ? `${prefix}.${err.field}` : prefix
    return new ValidationError(field, err.message, err.meta)
  }
  if (opts.anyCode === true && err instanceof PhalanxError && err.field !== undefined && err.field !== '') {
    return new PhalanxError(err.code, err.message, { field: `${prefix}.${err.field}`, ...(err.meta !== undefined ? { meta: err.meta } : {}), cause: err })
  }
  return err
}

export function isPhalanxError (err: unknown): err is PhalanxError {
  return err instanceof PhalanxError
}
