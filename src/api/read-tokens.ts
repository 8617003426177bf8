/**
 * Read tokens for TAXII clients: a SIEM or a partner's TAXII client gets a token that reads
 * the collections of the circles it names (and the private scope only if named), and nothing
 * else, and nothing stricter than its `maxTlp` (default AMBER); never the node's API token. Kept hashed (SHA-256) in `<data>/taxii-tokens.json`
 * (mode 0600); the secret is shown once, when it is made.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PhalanxError, ValidationError } from '../errors.js'
import { writeFileAtomic } from '../identity/index.js'
import { LOCAL_CIRCLE } from '../records/index.js'
import { DEFAULT_TOKEN_CEILING, parseTlp, tokenCeilingViolation, type Tlp } from '../tlp/index.js'

export const READ_TOKENS_FILE = 'taxii-tokens.json'
/** what a read token reads at most unless it says otherwise (the TLP policy's default ceiling) */
export const DEFAULT_MAX_TLP: Tlp = DEFAULT_TOKEN_CEILING
const PREFIX = 'pxr_'

export interface ReadToken {
  id: string
  name: string
  /** circle ids (and `local` for the private scope) whose collections it reads */
  collections: string[]
  /** the strictest TLP it reads (default AMBER: AMBER+STRICT stays with the organization) */
  maxTlp?: Tlp
  created: string
  hash: string
}

export type ReadTokenView = Omit<ReadToken, 'hash'>

function hashOf (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

export class ReadTokens {
  readonly #path: string
  #tokens: ReadToken[]

  constructor (dataDir: string) {
    this.#path = join(dataDir, READ_TOKENS_FILE)
    this.#tokens = existsSync(this.#path) ? (JSON.parse(readFileSync(this.#path, 'utf8')) as { tokens: ReadToken[] }).tokens : []
  }

  #save (): void {
    writeFileAtomic(this.#path, JSON.stringify({ v: 1, tokens: this.#tokens }, null, 2) + '\n', 0o600)
  }

  list (): ReadTokenView[] {
    return this.#tokens.map(({ hash: _h, ...v }) => v)
  }

  /** a new token reading `collections`; `known` are the circle ids this node is in */
  create (raw: unknown, known: string[]): ReadTokenView & { token: string } {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('', 'the body must be a JSON object {name, collections}')
    const body = raw as Record<string, unknown>
    for (const k of Object.keys(body)) if (k !== 'name' && k !== 'collections' && k !== 'maxTlp') throw new ValidationError(k, `unknown field "${k}"; only name, collections and maxTlp`)
    const maxTlp = body.maxTlp === undefined ? DEFAULT_MAX_TLP : parseTlp(body.maxTlp, 'maxTlp')
    const refused = tokenCeilingViolation(maxTlp)
    if (refused !== null) throw new ValidationError(refused.field, refused.message)
    if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 100) throw new ValidationError('name', 'name is a label of 1 to 100 characters (who uses the token)')
    if (!Array.isArray(body.collections) || body.collections.length === 0 || body.collections.length > 100) throw new ValidationError('collections', 'collections lists 1 to 100 circle ids (or "local" for the private scope)')
    const collections = [...new Set(body.collections as unknown[])]
    collections.forEach((c, i) => {
      if (typeof c !== 'string' || (c !== LOCAL_CIRCLE && !known.includes(c))) throw new PhalanxError('PX_ERR_UNKNOWN_CIRCLE', `collections[${i}]: this node is not in circle ${String(c).slice(0, 80)}`, { field: `collections[${i}]` })
    })
    const token = PREFIX + randomBytes(32).toString('base64url')
    const t: ReadToken = { id: randomBytes(8).toString('hex'), name: body.name.trim(), collections: collections as string[], maxTlp, created: new Date().toISOString(), hash: hashOf(token).toString('hex') }
    this.#tokens.push(t)
    this.#save()
    const { hash: _h, ...view } = t
    return { ...view, token }
  }

  revoke (id: string): void {
    const before = this.#tokens.length
    this.#tokens = this.#tokens.filter(t => t.id !== id)
    if (this.#tokens.length === before) throw new PhalanxError('PX_ERR_NOT_FOUND', `no read token ${id.slice(0, 40)}`, { field: 'id' })
    this.#save()
  }

  /** the token's entry, compared in constant time by hash */
  match (token: string): ReadToken | undefined {
    if (!token.startsWith(PREFIX)) return undefined
    const h = hashOf(token)
    return this.#tokens.find(t => timingSafeEqual(Buffer.from(t.hash, 'hex'), h))
  }
}
