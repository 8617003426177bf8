/**
 * TAXII 2.1 resources and checks without a server: timestamps with microseconds both ways,
 * Accept and Content-Type, the envelopes and their keys, an add's envelope refused naming the
 * part at fault, and the status of an add, object by object.
 */
import { describe, expect, it } from 'vitest'
import { PhalanxError } from '../../../src/errors.js'
import {
  MAX_ADD_OBJECTS, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, acceptsTaxii, apiRootResource, collectionOf, collectionResource, discoveryResource,
  envelopeObjects, isTaxiiContentType, manifestEnvelope, microsOfTaxiiTime, objectsEnvelope, stableUuid, statusResource, taxiiErrorMessage,
  taxiiTimeOfMicros, versionsEnvelope
} from '../../../src/interop/index.js'

describe('TAXII timestamps', () => {
  it('microseconds ↔ TAXII time, both ways', () => {
    const micros = Date.parse('2026-01-31T09:00:00.123Z') * 1000 + 456
    expect(taxiiTimeOfMicros(micros)).toBe('2026-01-31T09:00:00.123456Z')
    expect(microsOfTaxiiTime('2026-01-31T09:00:00.123456Z', 'added_after')).toBe(micros)
    expect(microsOfTaxiiTime('2026-01-31T09:00:00Z', 'added_after')).toBe(Date.parse('2026-01-31T09:00:00Z') * 1000)
    expect(microsOfTaxiiTime('2026-01-31T09:00:00.5Z', 'x')).toBe(Date.parse('2026-01-31T09:00:00Z') * 1000 + 500_000)
  })

  it('refuses a time that is not a TAXII timestamp, naming the field', () => {
    for (const bad of ['2026-01-31', '2026-01-31T09:00:00.1234567Z', '2026-01-31T09:00:00+01:00', 'yesterday', '2026-13-45T99:00:00Z']) {
      expect(() => microsOfTaxiiTime(bad, 'added_after'), bad).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'added_after' }))
    }
  })
})

describe('TAXII media types', () => {
  it('Accept: the TAXII 2.1 media type, with or without its version, a wildcard, or none', () => {
    for (const ok of [undefined, '', '  ', '*/*', 'application/*', TAXII_MEDIA_TYPE, 'application/taxii+json', 'text/html, application/taxii+json;version=2.1', 'APPLICATION/TAXII+JSON; version=2.1']) {
      expect(acceptsTaxii(ok), String(ok)).toBe(true)
    }
    for (const no of ['application/json', 'application/taxii+json;version=2.0', 'text/html', STIX_MEDIA_TYPE]) expect(acceptsTaxii(no), no).toBe(false)
  })

  it('Content-Type of an add: the TAXII 2.1 media type only', () => {
    expect(isTaxiiContentType(TAXII_MEDIA_TYPE)).toBe(true)
    expect(isTaxiiContentType('application/taxii+json')).toBe(true)
    expect(isTaxiiContentType('application/taxii+json; charset=utf-8')).toBe(true)
    for (const no of [undefined, '', 'application/json', 'application/taxii+json;version=2.0', STIX_MEDIA_TYPE]) expect(isTaxiiContentType(no), String(no)).toBe(false)
  })
})

describe('TAXII resources', () => {
  it('collections have a stable id derived from the circle; resources say what the caller may do', () => {
    const c = collectionOf('c-0123', 'Finance', 'trust circle c-0123')
    expect(c).toEqual({ id: stableUuid('phalanx-collection:c-0123'), circle: 'c-0123', title: 'Finance', description: 'trust circle c-0123' })
    expect(collectionOf('c-0123', 'x', 'y').id).toBe(c.id)
    expect(collectionResource(c, false)).toEqual({ id: c.id, title: 'Finance', description: 'trust circle c-0123', can_read: true, can_write: false, media_types: [STIX_MEDIA_TYPE] })
    expect(discoveryResource('Org A', 'http://h:1')).toEqual({ title: 'Phalanx node Org A', description: 'TAXII 2.1 over this node\'s indicators: read (the API token, or a read token for its collections) and add objects (the API token)', default: 'http://h:1/taxii2/api/', api_roots: ['http://h:1/taxii2/api/'] })
    expect(apiRootResource(1024)).toMatchObject({ versions: [TAXII_MEDIA_TYPE], max_content_length: 1024 })
  })

  it('envelopes: more and next only when there is more; objects only when there are any', () => {
    const o = { type: 'indicator', id: 'indicator--1', modified: '2026-01-01T00:00:00.000Z' }
    expect(objectsEnvelope([], null)).toEqual({ more: false })
    expect(Object.keys(objectsEnvelope([o], 'abc'))).toEqual(['more', 'next', 'objects'])
    expect(objectsEnvelope([o], 'abc')).toEqual({ more: true, next: 'abc', objects: [o] })
    expect(manifestEnvelope([{ stix: o, dateAdded: '2026-01-02T00:00:00.000001Z' }], null)).toEqual({
      more: false, objects: [{ id: 'indicator--1', date_added: '2026-01-02T00:00:00.000001Z', version: '2026-01-01T00:00:00.000Z', media_type: STIX_MEDIA_TYPE }]
    })
    expect(versionsEnvelope([o])).toEqual({ more: false, versions: ['2026-01-01T00:00:00.000Z'] })
  })

  it('an error message carries the status text, our code, the status and the field', () => {
    const e = new PhalanxError('PX_ERR_NOT_FOUND', 'no collection x', { field: 'id' })
    expect(taxiiErrorMessage(e, 'Not Found')).toEqual({ title: 'Not Found', description: 'no collection x', error_code: 'PX_ERR_NOT_FOUND', http_status: '404', details: { field: 'id' } })
    expect(taxiiErrorMessage(new PhalanxError('PX_ERR_INTERNAL', 'boom'), 'Internal Server Error')).not.toHaveProperty('details')
  })
})

describe('TAXII add: the envelope and the status', () => {
  it('refuses what is not an envelope of STIX objects, naming the part at fault', () => {
    const cases: Array<[unknown, string, string]> = [
      [null, 'PX_ERR_VALIDATION', 'body'], [[], 'PX_ERR_VALIDATION', 'body'], [{}, 'PX_ERR_VALIDATION', 'objects'],
      [{ objects: [1] }, 'PX_ERR_VALIDATION', 'objects[0]'],
      [{ objects: [{ type: 'indicator', id: 'malware--1' }] }, 'PX_ERR_VALIDATION', 'objects[0].id'],
      [{ objects: [{ type: 'indicator', id: `indicator--${'x'.repeat(300)}` }] }, 'PX_ERR_VALIDATION', 'objects[0].id'],
      [{ objects: new Array(MAX_ADD_OBJECTS + 1).fill({ type: 'x', id: 'x--1' }) }, 'PX_ERR_PAYLOAD_TOO_LARGE', 'objects']
    ]
    for (const [body, code, field] of cases) expect(() => envelopeObjects(body), field).toThrow(expect.objectContaining({ code, field }))
    const objects = [{ type: 'indicator', id: 'indicator--1' }]
    expect(envelopeObjects({ objects })).toBe(objects)
  })

  it('the status: successes and failures per object, with versions and reasons', () => {
    const objects = [
      { type: 'indicator', id: 'indicator--a', modified: '2026-01-02T00:00:00.000Z', created: '2026-01-01T00:00:00.000Z' },
      { type: 'indicator', id: 'indicator--b', created: '2026-01-01T00:00:00.000Z' },
      { type: 'malware', id: 'malware--c' },
      { type: 'note', id: 'note--d' },
      { type: 'indicator', id: 'indicator--e' }
    ]
    const s = statusResource(objects, [
      { stored: 1, context: false, revoked: 0, problems: [] },
      { stored: 1, context: false, revoked: 0, problems: ['value: bad', 'value: bad', 'tlp: worse'] },
      { stored: 0, context: true, revoked: 0, problems: [] },
      { stored: 0, context: false, revoked: 0, problems: [] },
      { stored: 0, context: false, revoked: 1, problems: [] }
    ], '2026-03-01T00:00:00.000Z')
    expect(s).toMatchObject({ status: 'complete', request_timestamp: '2026-03-01T00:00:00.000Z', total_count: 5, success_count: 3, failure_count: 2, pending_count: 0, pendings: [] })
    expect(s.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.successes).toEqual([
      { id: 'indicator--a', version: '2026-01-02T00:00:00.000Z' },
      { id: 'malware--c', version: '2026-03-01T00:00:00.000Z' },
      { id: 'indicator--e', version: '2026-03-01T00:00:00.000Z' }
    ])
    expect(s.failures).toEqual([
      { id: 'indicator--b', version: '2026-01-01T00:00:00.000Z', message: 'value: bad; tlp: worse' },
      { id: 'note--d', version: '2026-03-01T00:00:00.000Z', message: 'nothing to store' }
    ])
  })
})
