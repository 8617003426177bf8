/**
 * The TAXII 2.1 client of `phalanx import --format taxii` against small TAXII servers on
 * 127.0.0.1 that answer the ways real ones do: `next` paging, paging by added_after from
 * X-TAXII-Date-Added-Last (no `next`), a page repeated forever, an error message, not JSON;
 * marking definitions of one page give the TLP of indicators on later pages.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectionUrl, taxiiRows, type TaxiiProgress } from '../../../src/interop/index.js'

let server: Server | undefined
afterEach(async () => { await new Promise(resolve => server?.close(resolve) ?? resolve(undefined)); server = undefined })

type Handler = (url: URL, req: IncomingMessage, res: ServerResponse) => void
async function serve (handler: Handler): Promise<string> {
  server = createServer((req, res) => { handler(new URL(req.url ?? '/', 'http://x'), req, res) })
  await new Promise<void>(resolve => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/collections/c1/`
}
const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/taxii+json;version=2.1', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body))
}
const ind = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'indicator', spec_version: '2.1', id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, pattern: `[domain-name:value = 'n${n}.client.example']`, pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z', ...extra })
async function all (src: Parameters<typeof taxiiRows>[0], progress?: TaxiiProgress): Promise<any[]> {
  const out: any[] = []
  for await (const r of taxiiRows(src, progress)) out.push(r)
  return out
}

describe('TAXII client', () => {
  it('follows next; a marking definition on one page gives the TLP on the next; Basic auth is sent', async () => {
    let auth: string | undefined
    const url = await serve((u, req, res) => {
      auth = req.headers.authorization
      expect(req.headers.accept).toBe('application/taxii+json;version=2.1')
      if (u.searchParams.get('next') === null) {
        send(res, 200, { more: true, next: 'p2', objects: [{ type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--11111111-1111-4111-8111-111111111111', definition_type: 'tlp', definition: { tlp: 'amber' } }, ind(1)] }, { 'X-TAXII-Date-Added-Last': '2026-01-01T00:00:01.000000Z' })
      } else {
        send(res, 200, { more: false, objects: [ind(2, { object_marking_refs: ['marking-definition--11111111-1111-4111-8111-111111111111'] })] }, { 'X-TAXII-Date-Added-Last': '2026-01-01T00:00:02.000000Z' })
      }
    })
    const progress: TaxiiProgress = { pages: 0, objects: 0 }
    const rows = await all({ collection: url, user: 'me', password: 'pa:ss' }, progress)
    expect(auth).toBe(`Basic ${Buffer.from('me:pa:ss').toString('base64')}`)
    expect(rows).toEqual([
      { line: 1, context: 'marking-definition' },
      { line: 2, input: expect.objectContaining({ value: 'n1.client.example' }) },
      { line: 3, input: expect.objectContaining({ value: 'n2.client.example', tlp: 'AMBER' }) }
    ])
    expect(rows[1].input.tlp).toBeUndefined()
    expect(progress).toEqual({ pages: 2, objects: 3, dateAddedLast: '2026-01-01T00:00:02.000000Z' })
  })

  it('without next, goes on with added_after from X-TAXII-Date-Added-Last', async () => {
    const asked: Array<string | null> = []
    const url = await serve((u, _req, res) => {
      const after = u.searchParams.get('added_after')
      asked.push(after)
      if (after === null) send(res, 200, { more: true, objects: [ind(1), ind(2)] }, { 'X-TAXII-Date-Added-Last': 'T2' })
      else if (after === 'T2') send(res, 200, { more: false, objects: [ind(3)] }, { 'X-TAXII-Date-Added-Last': 'T3' })
      else send(res, 200, { more: false })
    })
    const rows = await all({ collection: url })
    expect(rows.map(r => r.input.value)).toEqual(['n1.client.example', 'n2.client.example', 'n3.client.example'])
    expect(asked).toEqual([null, 'T2'])
  })

  it('stops with an error when a server sends the same page again and again', async () => {
    const url = await serve((_u, _req, res) => { send(res, 200, { more: true, next: 'same', objects: [ind(1)] }) })
    await expect(all({ collection: url })).rejects.toThrow(/same page twice/)
  })

  it('says what the server answered: a TAXII error message, a body that is not an envelope', async () => {
    let url = await serve((_u, _req, res) => { send(res, 403, { title: 'Forbidden', description: 'no read access to c1' }) })
    await expect(all({ collection: url })).rejects.toThrow(/answered 403 \(Forbidden: no read access to c1\).*check --user/)
    await new Promise(resolve => server!.close(resolve))
    url = await serve((_u, _req, res) => { send(res, 200, '<html>hello</html>') })
    await expect(all({ collection: url })).rejects.toThrow(/did not answer a JSON envelope/)
    await new Promise(resolve => server!.close(resolve))
    url = await serve((_u, _req, res) => { send(res, 200, { more: false, objects: 'many' }) })
    await expect(all({ collection: url })).rejects.toThrow(/objects is not an array/)
  })

  it('takes only http(s) collection URLs without credentials in them', () => {
    expect(collectionUrl('https://taxii.example/api/collections/abc').href).toBe('https://taxii.example/api/collections/abc/')
    for (const bad of ['not a url', 'ftp://taxii.example/api/collections/abc/', 'https://u:p@taxii.example/api/collections/abc/', 'https://taxii.example/api/']) {
      expect(() => collectionUrl(bad), bad).toThrow()
    }
  })
})
