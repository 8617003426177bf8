/**
 * A TAXII read token written before `maxTlp` existed (its entry in <data>/taxii-tokens.json has
 * no such field) reads with the default cap, AMBER: across a restart of a real node, the same
 * secret that read AMBER+STRICT while its entry said so no longer reads it once the field is
 * gone, in the private scope and in a circle, in every read endpoint.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PhalanxNode } from '../../src/node.js'
import { apiCall, startTestNode, type ApiResponse, type TestNode } from '../utils/node.js'

const TAXII = 'application/taxii+json;version=2.1'
const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const
const valueOf = (scope: string, tlp: string): string => `legacy-${tlp.toLowerCase().replace('+', '-')}.${scope}.example`

let t: TestNode | undefined
let restarted: PhalanxNode | undefined
afterAll(async () => {
  if (restarted === undefined) { await t?.stop(); return }
  // the first node is stopped already; the restarted one owns the data dir now
  try { await restarted.stop() } finally { rmSync(t!.dataDir, { recursive: true, force: true }) }
})

describe('a read token made before maxTlp existed', () => {
  it('reads up to AMBER after a restart without the field, where the same token with maxTlp AMBER+STRICT read AMBER+STRICT', async () => {
    t = await startTestNode()
    const circle = (await t.api('/v1/circles', { json: { name: 'legacy caps' } })).body.id as string
    // AMBER+STRICT first: a capped listing must go on past it, not end its page there
    for (const tlp of ['AMBER+STRICT', 'CLEAR', 'GREEN', 'AMBER'] as const) {
      for (const [scope, target] of [['local', {}], ['circle', { circle }]] as const) {
        const r = await t.api('/v1/indicators', { json: { value: valueOf(scope, tlp), tlp, ...target } })
        expect(r.status, r.text).toBe(201)
      }
    }
    const made = await t.api('/v1/tokens', { json: { name: 'old siem', collections: ['local', circle], maxTlp: 'AMBER+STRICT' } })
    expect(made.status, made.text).toBe(201)
    const secret = made.body.token as string
    const asToken = { Authorization: `Basic ${Buffer.from(`siem:${secret}`).toString('base64')}`, Accept: TAXII }

    /** what the token reads on the node at `url`, per collection title */
    const read = async (url: string, adminToken: string) => {
      const get = async (path: string, headers: Record<string, string> = asToken): Promise<ApiResponse> => await apiCall(url, adminToken, path, { token: null, headers })
      const cols = await get('/taxii2/api/collections/')
      expect(cols.status, cols.text).toBe(200)
      const out: Record<string, { objects: string[], manifest: string[], strictObject: number, strictVersions: number }> = {}
      for (const c of cols.body.collections as Array<{ id: string, title: string }>) {
        const objs = await get(`/taxii2/api/collections/${c.id}/objects/`)
        expect(objs.status, objs.text).toBe(200)
        const man = await get(`/taxii2/api/collections/${c.id}/manifest/`)
        expect(man.status, man.text).toBe(200)
        // the STIX id of the AMBER+STRICT object, as the API token (no cap) sees it
        const admin = { Authorization: `Bearer ${adminToken}`, Accept: TAXII }
        const all = (await get(`/taxii2/api/collections/${c.id}/objects/`, admin)).body.objects as Array<{ id: string, name: string }>
        const scope = c.title === 'Private scope' ? 'local' : 'circle'
        const strict = all.find(o => o.name === valueOf(scope, 'AMBER+STRICT'))
        expect(strict, `${c.title}: the AMBER+STRICT object is stored`).toBeDefined()
        const byId = new Map(all.map(o => [o.id, o.name]))
        out[c.title] = {
          objects: ((objs.body.objects ?? []) as Array<{ name: string }>).map(o => o.name).sort(),
          manifest: ((man.body.objects ?? []) as Array<{ id: string }>).map(o => byId.get(o.id) ?? o.id).sort(),
          strictObject: (await get(`/taxii2/api/collections/${c.id}/objects/${strict!.id}/`)).status,
          strictVersions: (await get(`/taxii2/api/collections/${c.id}/objects/${strict!.id}/versions/`)).status
        }
      }
      return out
    }
    const expected = (tlps: readonly string[], strictStatus: number) => Object.fromEntries(['local', 'circle'].map(scope => {
      const names = tlps.map(tlp => valueOf(scope, tlp)).sort()
      return [scope === 'local' ? 'Private scope' : 'legacy caps', { objects: names, manifest: names, strictObject: strictStatus, strictVersions: strictStatus }]
    }))

    // with its maxTlp in the file, the token reads everything, AMBER+STRICT included
    expect(await read(t.url, t.token)).toEqual(expected(TLPS, 200))

    // the node stops, its data dir stays; the token file is rewritten as an older version wrote it
    const config = t.node.config
    await t.node.stop()
    const file = join(t.dataDir, 'taxii-tokens.json')
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { tokens: Array<Record<string, unknown>> }
    const entry = doc.tokens.find(x => x.id === made.body.id)
    expect(entry?.maxTlp).toBe('AMBER+STRICT')
    delete entry!.maxTlp
    writeFileSync(file, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 })
    chmodSync(file, 0o600)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).not.toContain('maxTlp')

    restarted = new PhalanxNode(config)
    await restarted.start()
    expect(restarted.apiUrl).not.toBeNull()
    // the same secret, the same collections: AMBER+STRICT is gone from every read endpoint,
    // CLEAR, GREEN and AMBER stay (the API token still sees it: it is the cap, not the data)
    expect(await read(restarted.apiUrl!, restarted.token)).toEqual(expected(['CLEAR', 'GREEN', 'AMBER'], 404))
  })
})
