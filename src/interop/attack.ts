/**
 * The ATT&CK names an operator imports (`phalanx import enterprise-attack.json --format
 * attack`, issue 16): MITRE publishes ATT&CK as a STIX 2.1 bundle; each `attack-pattern` with
 * a `mitre-attack` external reference is a technique (T1566) or sub-technique (T1566.002),
 * named, with its tactics (kill chain phases of the mitre-attack chain). Local reference data:
 * a report carries technique ids only, and each node names them from its own copy.
 */
import { PhalanxError } from '../errors.js'

export interface AttackTechniqueRow {
  id: string
  name: string
  tactics?: string[]
  deprecated?: true
}

const TECHNIQUE_RE = /^T\d{4}(\.\d{3})?$/
const TACTIC_RE = /^[a-z][a-z0-9-]{0,63}$/
const NAME_MAX = 200

function isObject (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/** the ATT&CK id of an attack-pattern (its mitre-attack external reference), or undefined */
export function attackIdOf (o: Record<string, unknown>): string | undefined {
  if (!Array.isArray(o.external_references)) return undefined
  for (const r of o.external_references) {
    if (isObject(r) && typeof r.source_name === 'string' && r.source_name.startsWith('mitre-') && typeof r.external_id === 'string') {
      const id = r.external_id.trim().toUpperCase()
      if (TECHNIQUE_RE.test(id)) return id
    }
  }
  return undefined
}

/**
 * The techniques of an ATT&CK bundle: one per technique id (a current one wins over a
 * deprecated or revoked one of the same id). A document that is not a STIX bundle, or holds no
 * technique, is refused with the reason.
 */
export function attackTechniques (doc: unknown): AttackTechniqueRow[] {
  if (!isObject(doc) || doc.type !== 'bundle' || !Array.isArray(doc.objects)) {
    throw new PhalanxError('PX_ERR_VALIDATION', 'an ATT&CK file is a STIX 2.1 bundle ({"type":"bundle","objects":[…]}), e.g. enterprise-attack.json from github.com/mitre-attack/attack-stix-data', { field: 'file' })
  }
  // MITRE's bundles carry their own object types (x-mitre-tactic, -matrix, -collection…): a
  // report's bundle with attack-patterns in it is not a source of names
  if (!doc.objects.some(o => isObject(o) && typeof o.type === 'string' && o.type.startsWith('x-mitre-'))) {
    throw new PhalanxError('PX_ERR_VALIDATION', 'this is not MITRE\'s ATT&CK bundle (it holds no x-mitre-* object, as enterprise-attack.json does): a report\'s bundle is imported with --format stix', { field: 'file' })
  }
  const out = new Map<string, AttackTechniqueRow>()
  for (const o of doc.objects) {
    if (!isObject(o) || o.type !== 'attack-pattern' || typeof o.name !== 'string') continue
    const id = attackIdOf(o)
    if (id === undefined) continue
    // eslint-disable-next-line no-control-regex
    const name = o.name.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, NAME_MAX)
    if (name === '') continue
    const tactics = Array.isArray(o.kill_chain_phases)
      ? [...new Set(o.kill_chain_phases.filter(isObject).filter(p => typeof p.kill_chain_name === 'string' && p.kill_chain_name.startsWith('mitre-') && typeof p.phase_name === 'string' && TACTIC_RE.test(p.phase_name)).map(p => p.phase_name as string))].slice(0, 20)
      : []
    const deprecated = o.revoked === true || o.x_mitre_deprecated === true
    const row: AttackTechniqueRow = { id, name, ...(tactics.length > 0 ? { tactics } : {}), ...(deprecated ? { deprecated: true as const } : {}) }
    const prev = out.get(id)
    if (prev === undefined || (prev.deprecated === true && !deprecated)) out.set(id, row)
  }
  if (out.size === 0) throw new PhalanxError('PX_ERR_VALIDATION', 'the bundle holds no ATT&CK technique (attack-pattern objects with a mitre-attack external_id T####)', { field: 'file' })
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}
