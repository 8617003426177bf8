/**
 * TAXII 2.1 "add objects" (docs/API.md, "TAXII 2.1"): the STIX objects of an envelope become
 * indicators of the collection's circle, read the way `phalanx import --format stix` reads a
 * bundle (the same rows: patterns, markings → TLP, labels and linked objects → tags), and a
 * status resource tells, object by object, what was stored and why anything was not.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { PhalanxNode } from '../../node.js'
import { MAX_BULK_INDICATORS } from '../../node.js'
import { PhalanxError, ValidationError } from '../../errors.js'
import { LOCAL_CIRCLE, indicatorId, isIndicatorType, normalizeValue, parseIndicatorInput } from '../../records/index.js'
import { stixRows } from '../../stix/index.js'

/** objects in one envelope (a 10 MiB body of indicators holds ~20,000) */
export const MAX_ADD_OBJECTS = 50_000
/** a STIX id is "<type>--<uuid>": types are short */
const MAX_ID_LENGTH = 256

interface ObjectRef { id: string, version: string, message?: string }

/** TAXII 2.1 status resource (section 4.3.1) */
export interface TaxiiStatus {
  id: string
  status: 'complete' | 'pending'
  request_timestamp: string
  total_count: number
  success_count: number
  successes: ObjectRef[]
  failure_count: number
  failures: ObjectRef[]
  pending_count: number
  pendings: ObjectRef[]
}

/** what happened to one object: values stored, kept as context, revoked, or why not */
interface Outcome { stored: number, context: boolean, revoked: number, problems: string[] }

/** the reason of a refused value, without the value itself */
function reasonOf (err: unknown): string {
  if (!(err instanceof PhalanxError)) return 'invalid indicator'
  return err.field !== undefined && err.field !== '' ? `${err.field}: ${err.message}` : err.message
}

/** the stable code of an error about the node, for a status message */
function codeOf (err: unknown): string {
  return err instanceof PhalanxError ? err.code : 'internal error'
}

/** an error about the object (4xx), not about the node: it fails that object only */
function isObjectError (err: unknown): boolean {
  return err instanceof PhalanxError && err.status < 500 && err.code !== 'PX_ERR_RATE_LIMITED'
}

/** the `objects` of a TAXII envelope, or a 400 naming what is wrong */
export function envelopeObjects (body: unknown): Array<Record<string, unknown>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', 'the body is a TAXII envelope: {"objects": [...]}')
  const objects = (body as { objects?: unknown }).objects
  if (!Array.isArray(objects)) throw new ValidationError('objects', 'objects must be an array of STIX objects')
  if (objects.length > MAX_ADD_OBJECTS) throw new PhalanxError('PX_ERR_PAYLOAD_TOO_LARGE', `at most ${MAX_ADD_OBJECTS} objects per envelope; got ${objects.length}`, { field: 'objects' })
  objects.forEach((o, i) => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ValidationError(`objects[${i}]`, 'a STIX object is a JSON object')
    const { type, id } = o as Record<string, unknown>
    if (typeof type !== 'string' || typeof id !== 'string' || !id.startsWith(`${type}--`) || id.length > MAX_ID_LENGTH) {
      throw new ValidationError(`objects[${i}].id`, `a STIX object has a type and an id "<type>--<uuid>" (at most ${MAX_ID_LENGTH} characters)`)
    }
  })
  return objects as Array<Record<string, unknown>>
}

/**
 * Store the indicators of `objects` in `circle` (LOCAL_CIRCLE: the private scope) and return
 * the status. Every value is validated first; the good ones are published in atomic batches
 * of up to 10,000. An object counts as a success when all its values were stored (or it was
 * kept as context of one, or its revocation applied); otherwise it is a failure with reasons.
 */
export async function addStixObjects (node: PhalanxNode, circle: string, objects: Array<Record<string, unknown>>, log: Logger): Promise<TaxiiStatus> {
  const requested = new Date().toISOString()
  const outcomes: Outcome[] = objects.map(() => ({ stored: 0, context: false, revoked: 0, problems: [] }))
  const defaults = { tlp: node.config.publish.defaultTlp, confidence: node.config.publish.defaultConfidence }
  /** valid inputs not yet stored, each with the object it came from */
  let pending: Array<{ input: Record<string, unknown>, at: number }> = []
  /** whether anything was stored or revoked yet (a refusal before that is the request's) */
  let changed = false
  const flush = async (): Promise<void> => {
    for (let i = 0; i < pending.length; i += MAX_BULK_INDICATORS) {
      const chunk = pending.slice(i, i + MAX_BULK_INDICATORS)
      try {
        // a value another organization shared with us (reshareViolation) fails its object alone
        const out = await node.ops.indicators.publishIndicators(chunk.map(c => c.input), { skipTlpViolations: true })
        changed = true
        const left = new Map((out.skipped ?? []).map(x => [x.index, x.message]))
        chunk.forEach((c, k) => { const why = left.get(k); if (why === undefined) outcomes[c.at].stored++; else outcomes[c.at].problems.push(why) })
      } catch (err) {
        // the node is busy, stopping or failing and nothing is stored yet: the request fails
        // (429 / 503 / 500) and the client retries it
        if (!changed && !isObjectError(err)) throw err
        if (!isObjectError(err)) log.error({ err }, 'TAXII add: a batch was not stored')
        // this batch was refused whole (nothing of it stored): its objects fail with the reason
        for (const c of chunk) outcomes[c.at].problems.push(`not stored: ${isObjectError(err) ? reasonOf(err) : `${codeOf(err)}, retry`}`)
      }
    }
    pending = []
  }
  for (const row of stixRows({ type: 'bundle', objects })) {
    const at = row.line - 1
    const out = outcomes[at]
    if ('skip' in row) out.problems.push(row.skip)
    else if ('context' in row) out.context = true
    else if ('revoke' in row) {
      // an earlier object of the envelope may be what this withdraws: store those first
      await flush()
      let problem: string | null
      try {
        problem = await revokeValue(node, circle, row.revoke.type, row.revoke.value)
      } catch (err) {
        if (!changed) throw err
        log.error({ err }, 'TAXII add: a revocation failed')
        problem = `revoke failed: ${codeOf(err)}, retry`
      }
      if (problem === null) { out.revoked++; changed = true } else out.problems.push(problem)
    } else {
      try {
        const p = parseIndicatorInput(row.input, defaults)
        // (publish would refuse the whole batch for this one; other-org values it skips, below)
        if (p.tlp === 'RED' && circle !== LOCAL_CIRCLE) throw new PhalanxError('PX_ERR_TLP_VIOLATION', 'TLP:RED never goes to a circle: add it to the private scope\'s collection', { field: 'tlp' })
        pending.push({ input: { ...row.input, circle }, at })
      } catch (err) {
        out.problems.push(reasonOf(err))
      }
    }
  }
  await flush()
  const successes: ObjectRef[] = []
  const failures: ObjectRef[] = []
  objects.forEach((o, i) => {
    const out = outcomes[i]
    // a status names each object's version: its modified, else its created, else the request's time
    const ref: ObjectRef = { id: o.id as string, version: typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : requested }
    if (out.problems.length === 0 && (out.stored > 0 || out.context || out.revoked > 0)) successes.push(ref)
    else failures.push({ ...ref, message: [...new Set(out.problems)].join('; ').slice(0, 1000) || 'nothing to store' })
  })
  return {
    id: randomUUID(),
    status: 'complete',
    request_timestamp: requested,
    total_count: objects.length,
    success_count: successes.length,
    successes,
    failure_count: failures.length,
    failures,
    pending_count: 0,
    pendings: []
  }
}

/** revoke this node's indicator of the value in this circle; null when done, else why not */
async function revokeValue (node: PhalanxNode, circle: string, type: string, value: string): Promise<string | null> {
  if (!isIndicatorType(type)) return `revoked: unknown type ${type.slice(0, 40)}`
  let id: string
  try { id = indicatorId(node.identity.publicKey, type, normalizeValue(type, value)) } catch (err) { return `revoked: ${reasonOf(err)}` }
  const ind = node.store.getIndicator(id)
  if (ind === undefined || ind.circle !== circle) return 'revoked by the source, and not stored in this collection by this node'
  if (ind.revoked !== undefined) return null
  try {
    await node.ops.indicators.revoke(id, 'revoked in STIX (TAXII add objects)')
    return null
  } catch (err) {
    if (!isObjectError(err)) throw err
    return `revoke failed: ${reasonOf(err)}`
  }
}
