/**
 * The OpenAPI 3.1 document served at GET /v1/openapi.json. Error codes come from the one
 * table in errors.ts, so the document cannot drift from what the server answers.
 */
import { ERROR_CODES } from '../errors.js'
import { INDICATOR_TYPES } from '../records/index.js'
import { MATCH_KINDS, RELATED_MAX } from '../store/index.js'
import { TLP_LEVELS } from '../tlp/index.js'

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown, description: string): Record<string, unknown> => ({ description, content: { 'application/json': { schema } } })
/** the error answers of a route; every route can also answer 421 (a Host this API does not serve) and 403 (another origin's page) */
const errorResponses = (...statuses: number[]): Record<string, unknown> =>
  Object.fromEntries([...new Set([...statuses, 403, 421])].sort((a, b) => a - b).map(s => [String(s), json(ref('Error'), Object.entries(ERROR_CODES).filter(([, v]) => v.status === s).map(([k]) => k).join(', '))]))
const q = (name: string, description: string, schema: unknown = { type: 'string' }, required = false): Record<string, unknown> =>
  ({ name, in: 'query', required, description, schema })

const taxii = (description: string): Record<string, unknown> => ({ description, content: { 'application/taxii+json;version=2.1': { schema: { type: 'object' } } } })
const taxiiFilters = ['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]'].map(n => ({ name: n, in: 'query', required: false, schema: { type: 'string' } }))

export function buildOpenApi (version: string): Record<string, unknown> {
  const time = { type: 'string', format: 'date-time' }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Phalanx node API',
      version,
      description: 'Local API of a Phalanx node. Every route except this document needs `Authorization: Bearer <token>` (the token is in `<data>/api.token`). Every route, this document included and with auth off too, answers only to the Host names 127.0.0.1, localhost, [::1] and those configured (api.host, api.publicUrl, api.allowedHosts; else 421 PX_ERR_HOST) and refuses requests from web pages of another origin (Origin, Sec-Fetch-Site: 403 PX_ERR_ORIGIN); no CORS. Errors are `{"error":{"code","message","field"}}`; the codes are listed under components.schemas.ErrorCode.'
    },
    servers: [{ url: 'http://127.0.0.1:7300' }],
    security: [{ bearer: [] }],
    paths: {
      '/v1/status': { get: { summary: 'Node identity, API address and store counts', responses: { 200: json(ref('Status'), 'status'), ...errorResponses(401) } } },
      '/v1/indicators': {
        post: {
          summary: 'Publish one indicator, or up to 10,000 in one atomic call',
          description: 'Body: one IndicatorInput, or {"indicators":[IndicatorInput…], "tlp"?, "circle"?} (defaults for items that lack them), or NDJSON (`Content-Type: application/x-ndjson`, one IndicatorInput per line). One invalid item refuses the whole call; `field` names it (e.g. `indicators[3].value`). A value another organization shared with you goes to no other circle unless it is CLEAR (GREEN: by an explicit re-share): 403 PX_ERR_TLP_VIOLATION, or with `skip_tlp_violations=true` those items are left out and listed in `skipped` (what importers use).',
          parameters: [{ name: 'skip_tlp_violations', in: 'query', required: false, schema: { type: 'boolean' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [ref('IndicatorInput'), { type: 'object', required: ['indicators'], additionalProperties: false, properties: { indicators: { type: 'array', maxItems: 10000, items: ref('IndicatorInput') }, tlp: ref('Tlp'), circle: { type: 'string' } } }] } },
              'application/x-ndjson': { schema: { type: 'string' } }
            }
          },
          responses: { 201: json(ref('PublishResult'), 'stored and signed; ids in input order (skipped items left out)'), ...errorResponses(400, 401, 403, 413, 415, 429) }
        },
        get: {
          summary: 'Query indicators, paged along the change feed',
          description: 'Results are ordered by when this node stored each version. Pass `nextCursor` back as `cursor` for the next page; it is null when there is nothing more. Revoked and expired indicators are left out unless asked for.',
          parameters: [
            q('type', 'indicator type', ref('IndicatorType')), q('value', 'a value, normalized like a publish (type detected if not given)'),
            q('tag', 'a tag (case-insensitive)'), q('tlp', 'comma-separated TLP labels'), q('origin', 'origin public key (hex)'),
            q('circle', 'circle id'), q('since', 'stored at or after (ISO 8601)'), q('until', 'stored at or before (ISO 8601)'),
            q('limit', 'page size 1..1000 (default 100)', { type: 'integer', minimum: 1, maximum: 1000 }), q('cursor', 'nextCursor of the previous page'),
            q('include_revoked', 'include revoked indicators', { type: 'boolean' }), q('include_expired', 'include indicators past validUntil', { type: 'boolean' })
          ],
          responses: { 200: json({ type: 'object', properties: { indicators: { type: 'array', items: ref('Indicator') }, nextCursor: { type: ['string', 'null'] } } }, 'a page'), ...errorResponses(400, 401) }
        }
      },
      '/v1/indicators/{id}': {
        get: { summary: 'One indicator (revoked ones too)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{32}$' } }], responses: { 200: json(ref('Indicator'), 'the indicator'), ...errorResponses(400, 401, 404) } }
      },
      '/v1/indicators/{id}/revoke': {
        post: {
          summary: 'Revoke one of this organization\'s own indicators (a signed revoke record)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1024 } } } } } },
          responses: { 200: json({ type: 'object' }, 'revoked'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/indicators/{id}/relabel': {
        post: {
          summary: 'The origin loosens its own indicator\'s TLP (signed relabel record)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['tlp'], additionalProperties: false, properties: { tlp: ref('Tlp') } } } } },
          responses: { 200: json({ type: 'object' }, 'relabelled'), ...errorResponses(400, 401, 403, 404) }
        }
      },
      '/v1/indicators/{id}/reshare': {
        post: {
          summary: 'Share a CLEAR or GREEN indicator into another circle as this org\'s record (AMBER, AMBER+STRICT and RED never move)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['circle'], additionalProperties: false, properties: { circle: { type: 'string' } } } } } },
          responses: { 201: json({ type: 'object' }, 're-shared'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/lookup': {
        get: {
          summary: 'Is this value known? An IP also matches stored CIDRs; a domain or IP the URLs and emails on it, a URL or email its host (stored indicators only, no DNS)',
          parameters: [q('value', 'the value, defanged or not', { type: 'string' }, true), q('type', 'indicator type (detected if not given)', ref('IndicatorType')),
            q('include_revoked', 'include revoked', { type: 'boolean' }), q('include_expired', 'include expired', { type: 'boolean' })],
          responses: { 200: json(ref('LookupResult'), 'found or not (never 404 for an unknown value)'), ...errorResponses(400, 401) }
        }
      },
      '/v1/sightings': {
        post: {
          summary: 'Report that this organization saw a value',
          requestBody: { required: true, content: { 'application/json': { schema: ref('SightingInput') } } },
          responses: { 201: json({ type: 'object' }, 'recorded; the value\'s sighting summary'), ...errorResponses(400, 401, 413) }
        }
      },
      '/v1/advisories': {
        post: {
          summary: 'Send an advisory to a circle: every member gets it (gossip, or sync on return) and acknowledges it. Default TLP AMBER; never RED; never looser than the indicators it names (each held in that circle, else 400 naming indicators[i])',
          requestBody: { required: true, content: { 'application/json': { schema: ref('AdvisoryInput') } } },
          responses: { 201: json({ type: 'object', properties: { id: { type: 'string' }, entry: { type: 'object' }, advisory: ref('Advisory') } }, 'sent'), ...errorResponses(400, 401, 403, 404) }
        },
        get: {
          summary: 'The advisories this node holds, newest first, each with its acks counted (acked of expected)',
          parameters: [q('circle', 'circle id or name')],
          responses: { 200: json({ type: 'object', properties: { advisories: { type: 'array', items: ref('AdvisorySummary') } } }, 'advisories'), ...errorResponses(400, 401, 404) }
        }
      },
      '/v1/advisories/{id}': {
        get: { summary: 'One advisory, with who acknowledged it (acks) and which current members of its circle have not yet (pending)', responses: { 200: json(ref('Advisory'), 'the advisory'), ...errorResponses(400, 401, 404) } }
      },
      '/v1/advisories/{id}/ack': {
        post: {
          summary: 'Acknowledge a member\'s advisory (a signed ack in this node\'s log of its circle, at the advisory\'s TLP). 409: this node\'s own advisory, or already acknowledged; 403: not a member of its circle',
          responses: { 201: json({ type: 'object', properties: { advisory: { type: 'string' }, entry: { type: 'object' } } }, 'acknowledged'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/reports': {
        post: {
          summary: 'Share a report (incident or analysis) with a circle, or keep it in the private scope (no circle). Linked indicators (by id, or by value: a live record held there, this node\'s own first) must be held in that circle, else 400 naming indicators[i] or values[i] (skipMissing: left out and listed in missing). Default TLP: AMBER, or the strictest linked indicator when stricter; never looser than that; never RED in a circle. The same nonce again is a new version of the same report',
          requestBody: { required: true, content: { 'application/json': { schema: ref('ReportInput') } } },
          responses: { 201: json({ type: 'object', properties: { id: { type: 'string' }, entry: { type: 'object' }, report: ref('Report'), missing: { type: 'array', items: { type: 'string' } } } }, 'shared'), ...errorResponses(400, 401, 403, 404, 409) }
        },
        get: {
          summary: 'The reports this node holds, newest version first (revoked ones only with include_revoked=true)',
          parameters: [q('circle', 'circle id or name (local: the private scope)'), q('attack', 'an ATT&CK technique id: reports naming it or one of its sub-techniques'), q('actor', 'a threat actor (case-insensitive)'), q('include_revoked', 'include revoked reports', { type: 'boolean' })],
          responses: { 200: json({ type: 'object', properties: { reports: { type: 'array', items: ref('ReportSummary') } } }, 'reports'), ...errorResponses(400, 401, 404) }
        }
      },
      '/v1/reports/{id}': {
        get: { summary: 'One report: its techniques with their ATT&CK names (when imported), its linked indicators with who sighted them', responses: { 200: json(ref('Report'), 'the report'), ...errorResponses(400, 401, 404) } },
        patch: {
          summary: 'A new version of this node\'s own report: the fields given replace the current ones (null clears), the rest stays. 403: another organization\'s report; 409: revoked',
          requestBody: { required: true, content: { 'application/json': { schema: ref('ReportInput') } } },
          responses: { 200: json({ type: 'object', properties: { id: { type: 'string' }, entry: { type: 'object' }, report: ref('Report') } }, 'updated'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/reports/{id}/revoke': {
        post: {
          summary: 'Revoke this node\'s own report everywhere it went (a signed version that holds nothing else). 403: another organization\'s; 409: already revoked',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1024 } } } } } },
          responses: { 200: json({ type: 'object', properties: { id: { type: 'string' }, entry: { type: 'object' } } }, 'revoked'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/attack': {
        post: {
          summary: 'Keep ATT&CK technique names (what `phalanx import FILE --format attack` sends from an ATT&CK STIX bundle): local reference data, never shared. Up to 5,000 per call; a known id is replaced',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['techniques'], additionalProperties: false, properties: { techniques: { type: 'array', maxItems: 5000, items: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string', pattern: '^T\\d{4}(\\.\\d{3})?$' }, name: { type: 'string', maxLength: 200 }, tactics: { type: 'array', items: { type: 'string' } }, deprecated: { type: 'boolean' } } } } } } } } },
          responses: { 200: json({ type: 'object', properties: { stored: { type: 'integer' }, total: { type: 'integer' } } }, 'stored'), ...errorResponses(400, 401, 413) }
        },
        get: {
          summary: 'How many ATT&CK technique names this node holds (0: techniques are shown by id), and one technique with id=',
          parameters: [q('id', 'a technique id, e.g. T1566.002')],
          responses: { 200: json({ type: 'object', properties: { total: { type: 'integer' }, technique: ref('Technique') } }, 'names'), ...errorResponses(400, 401) }
        }
      },
      '/v1/circles': {
        get: { summary: 'Circles this node is in, then those it was removed from or left (status removed or left, with when and by whom)', responses: { 200: json({ type: 'object', properties: { circles: { type: 'array', items: ref('Circle') } } }, 'circles'), ...errorResponses(401) } },
        post: {
          summary: 'Create a circle (this node becomes its first admin)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 200 } } } } } },
          responses: { 201: json(ref('Circle'), 'the new circle'), ...errorResponses(400, 401) }
        }
      },
      '/v1/circles/join': {
        post: {
          summary: 'Join a circle with an invite code: dials the inviter, proves the code, takes the circle log',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['code'], additionalProperties: false, properties: { code: { type: 'string' } } } } } },
          responses: { 200: json({ type: 'object', properties: { circle: { type: 'object' }, inviter: { type: 'object', properties: { publicKey: { type: 'string' }, org: { type: 'string' }, fingerprint: { type: 'string' } } } } }, 'joined'), ...errorResponses(400, 401, 403, 502) }
        }
      },
      '/v1/circles/{id}': {
        get: { summary: 'One circle with its members', responses: { 200: json(ref('Circle'), 'the circle'), ...errorResponses(401, 404) } }
      },
      '/v1/circles/{id}/digest': {
        get: { summary: 'Digest of the circle\'s entry set (SHA-256 over every log head); converged nodes return the same', responses: { 200: json({ type: 'object', properties: { circle: { type: 'string' }, digest: { type: 'string' }, entries: { type: 'integer' }, logs: { type: 'object' } } }, 'digest'), ...errorResponses(401, 404) } }
      },
      '/v1/circles/{id}/sync': {
        post: {
          summary: 'Anti-entropy sync of the circle now, with one member or every connected member (it also runs on connect, on a gap and every p2p.syncIntervalMs)',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { member: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'public key of the member; default every connected member' } } } } } },
          responses: { 200: json({ type: 'object', properties: { circle: { type: 'string' }, syncs: { type: 'array', items: { type: 'object', properties: { member: { type: 'string' }, outcome: { type: ['object', 'null'], description: 'entries, bytes, stored, duplicates, forks, rejected, inSync, ms; null when the member was not reachable' } } } } } }, 'what each sync brought'), ...errorResponses(400, 401, 403, 404, 502) }
        }
      },
      '/v1/purge': {
        post: {
          summary: 'Purge indicators past their validUntil now (their signed entries stay; also runs every store.purgeIntervalMs for those store.purgeExpiredAfterDays past it)',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { expiredBefore: { ...time, description: 'purge those whose validUntil is before this; default now' } } } } } },
          responses: { 200: json({ type: 'object', properties: { scanned: { type: 'integer' }, purged: { type: 'integer' }, expiredBefore: time } }, 'what was purged'), ...errorResponses(400, 401) }
        }
      },
      '/v1/export/blocklist': {
        get: {
          summary: 'A blocklist of live indicators (not revoked, not expired), streamed as text: one value per line (plain), a DNS RPZ zone (rpz, domains) or Suricata/Snort rules (suricata: ipv4, ipv6, cidr, domain). CIDR-aware: an ipv4/ipv6 list carries the stored networks of the family and leaves out the addresses they cover',
          parameters: [
            q('type', 'indicator type (required except for rpz, which is domain)', ref('IndicatorType')),
            q('include_red', 'true: list TLP:RED indicators too (left out otherwise)', { type: 'boolean' }),
            q('exclude_false_positives', 'false: keep values an organization reported as a false positive (left out by default); min_confidence compares the effective confidence', { type: 'boolean' }),
            q('format', 'plain (default), rpz or suricata', { enum: ['plain', 'rpz', 'suricata'] }),
            q('min_confidence', 'only indicators with at least this confidence', { type: 'integer', minimum: 0, maximum: 100 }),
            q('tag', 'only indicators with this tag'),
            q('circle', 'only indicators of this circle (or "local")'),
            q('sid_base', 'first Suricata sid (default: a range per type: ipv4 10000000, ipv6 20000000, cidr 30000000, domain 40000000)', { type: 'integer', minimum: 1 })
          ],
          responses: { 200: { description: 'the list', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses(400, 401) }
        }
      },
      '/v1/export/indicators': {
        get: {
          summary: 'Every indicator that passes the filters (those of GET /v1/indicators, without paging), streamed in one format: csv (a header row), text (a value per line), ndjson (the stored indicators), stix (a STIX 2.1 bundle with the TLP 2.0 markings) or misp (a MISP event titled after the filters). What `phalanx export` prints. TLP:RED is left out unless include_red=true or tlp names it',
          parameters: [
            q('format', 'csv, text, ndjson, stix or misp (required)', { enum: ['csv', 'text', 'ndjson', 'stix', 'misp'] }),
            q('type', 'indicator type', ref('IndicatorType')), q('value', 'a value, normalized like a publish (type detected if not given)'),
            q('tag', 'a tag (case-insensitive)'), q('tlp', 'comma-separated TLP labels'), q('origin', 'origin public key (hex)'),
            q('circle', 'circle id'), q('since', 'stored at or after (ISO 8601)'), q('until', 'stored at or before (ISO 8601)'),
            q('include_revoked', 'include revoked indicators', { type: 'boolean' }), q('include_expired', 'include indicators past validUntil', { type: 'boolean' }),
            q('include_red', 'true: export TLP:RED indicators too (left out unless tlp names RED)', { type: 'boolean' }),
            q('include_reports', 'the reports the labels allow that link an exported indicator, after the indicators (STIX: default true; MISP: default false, true makes the document MISP\'s list of events {"response": [...]})', { type: 'boolean' })
          ],
          responses: {
            200: {
              description: 'the export',
              content: {
                'text/csv': { schema: { type: 'string' } },
                'text/plain': { schema: { type: 'string' } },
                'application/x-ndjson': { schema: { type: 'string' } },
                'application/stix+json;version=2.1': { schema: { type: 'object' } },
                'application/json': { schema: { type: 'object', properties: { Event: { type: 'object' } } } }
              }
            },
            ...errorResponses(400, 401)
          }
        }
      },
      '/v1/stream': {
        get: {
          summary: 'Server-sent events, each with its store cursor as id, in the order stored: `indicator` (data: the stored indicator) per new version that passes the filters; `advisory` (data: the advisory as GET /v1/advisories/{id} reads), `ack` (advisory, title, mine, circle, circleName, publicKey, org, at) and `sighting` (another organization\'s sighting of a value this node has its own indicator of: type, value, circle, circleName, publicKey, org, action, count, lastSeen, note) and `report` (a report\'s new version, update or revocation: the ReportSummary, with update). circle and origin select every kind; the other filters select indicators. A reconnect with Last-Event-ID (or last_event_id) resumes right after that event, so nothing is missed or repeated. Revocations are included unless include_revoked=false',
          parameters: [
            q('type', 'indicator type', ref('IndicatorType')), q('tag', 'tag'), q('tlp', 'TLP levels, comma-separated'), q('origin', 'origin public key'), q('circle', 'circle id'),
            q('include_revoked', 'default true', { type: 'boolean' }), q('include_expired', 'default false', { type: 'boolean' }),
            q('events', 'event kinds, comma-separated: indicator, sighting, advisory, ack, report (default all)'),
            q('last_event_id', 'resume after this event id (for clients that cannot send the Last-Event-ID header)'),
            { name: 'Last-Event-ID', in: 'header', required: false, description: 'resume after this event id', schema: { type: 'string' } }
          ],
          responses: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errorResponses(400, 401) }
        }
      },
      '/taxii2/': { get: { summary: 'TAXII 2.1 discovery, its URLs built from api.publicUrl (else the listen address), never from the Host header (Basic auth with the API token as password, or Bearer; Accept application/taxii+json;version=2.1 or 406)', responses: { 200: taxii('discovery'), ...errorResponses(401, 406) } } },
      '/taxii2/api/': { get: { summary: 'TAXII 2.1 API root', responses: { 200: taxii('API root'), ...errorResponses(401, 406) } } },
      '/taxii2/api/collections/': { get: { summary: 'TAXII collections: one per circle this node is in, and the private scope', responses: { 200: taxii('collections'), ...errorResponses(401, 406) } } },
      '/taxii2/api/collections/{id}/': { get: { summary: 'One TAXII collection', responses: { 200: taxii('collection'), ...errorResponses(401, 404, 406) } } },
      '/taxii2/api/collections/{id}/objects/': {
        get: { summary: 'STIX indicators of the collection in an envelope {more, next, objects}; added_after, limit, next, match[id], match[type], match[version]; X-TAXII-Date-Added-First/Last headers', parameters: taxiiFilters, responses: { 200: taxii('envelope'), ...errorResponses(400, 401, 404, 406) } },
        post: { summary: 'Add STIX objects (an envelope {objects}, Content-Type application/taxii+json;version=2.1, at most 10 MiB): indicators are stored in the collection\'s circle as `phalanx import --format stix` reads them; answers a status resource, object by object (API token only: 403 for a read token)', requestBody: { required: true, content: { 'application/taxii+json;version=2.1': { schema: { type: 'object', required: ['objects'], properties: { objects: { type: 'array', items: { type: 'object' } } } } } } }, responses: { 202: taxii('status'), ...errorResponses(400, 401, 403, 404, 406, 413, 415) } }
      },
      '/taxii2/api/status/{statusId}/': { get: { summary: 'The status of an add (kept in memory for the last 1,000 adds)', responses: { 200: taxii('status'), ...errorResponses(401, 404, 406) } } },
      '/taxii2/api/collections/{id}/manifest/': { get: { summary: 'Manifest of the collection: {more, next, objects: [{id, date_added, version, media_type}]}', parameters: taxiiFilters, responses: { 200: taxii('manifest'), ...errorResponses(400, 401, 404, 406) } } },
      '/taxii2/api/collections/{id}/objects/{objectId}/': { get: { summary: 'One STIX object of the collection, in an envelope', responses: { 200: taxii('envelope'), ...errorResponses(401, 404, 406) } } },
      '/taxii2/api/collections/{id}/objects/{objectId}/versions/': { get: { summary: 'The versions of one object (this node keeps the current one)', responses: { 200: taxii('versions'), ...errorResponses(401, 404, 406) } } },
      '/v1/tokens': {
        get: { summary: 'TAXII read tokens (no secrets): id, name, collections, created', responses: { 200: json({ type: 'object' }, 'tokens'), ...errorResponses(401) } },
        post: {
          summary: 'Make a TAXII read token for the collections of some circles (and "local" for the private scope); the token is shown once',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'collections'], additionalProperties: false, properties: { name: { type: 'string' }, collections: { type: 'array', items: { type: 'string' } } } } } } },
          responses: { 201: json({ type: 'object', properties: { id: { type: 'string' }, token: { type: 'string' }, name: { type: 'string' }, collections: { type: 'array' } } }, 'the token, once'), ...errorResponses(400, 401, 404) }
        }
      },
      '/v1/tokens/{id}': { delete: { summary: 'Revoke a TAXII read token', responses: { 200: json({ type: 'object' }, 'revoked'), ...errorResponses(401, 404) } } },
      '/v1/forks': {
        get: { summary: 'Origins caught signing two different entries for one log position, with both signed entries as evidence', responses: { 200: json({ type: 'object', properties: { forks: { type: 'array', items: ref('Fork') } } }, 'forks'), ...errorResponses(401) } }
      },
      '/v1/circles/{id}/members': {
        get: { summary: 'Members: org, fingerprint, role, online', responses: { 200: json({ type: 'object', properties: { members: { type: 'array', items: ref('Member') } } }, 'members'), ...errorResponses(401, 404) } },
        post: {
          summary: 'Add an organization by public key (admin only; compare its fingerprint out of band first)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['publicKey'], additionalProperties: false, properties: { publicKey: { type: 'string', pattern: '^[0-9a-f]{64}$' }, org: { type: 'string' }, role: { enum: ['member', 'admin'] } } } } } },
          responses: { 201: json(ref('Member'), 'added'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/circles/{id}/members/{key}': {
        delete: { summary: 'Remove a member (admin only); the circle key rotates, and the removed org\'s node is told (a removal notice)', responses: { 200: json({ type: 'object' }, 'removed'), ...errorResponses(400, 401, 403, 404) } },
        patch: {
          summary: 'Record a member\'s organization name anew (admin only; a signed rename record every member applies). {key}: public key or fingerprint',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['org'], additionalProperties: false, properties: { org: { type: 'string', description: 'the name rules of an add: no control, bidirectional or invisible character; at most 200' } } } } } },
          responses: { 200: json(ref('Member'), 'renamed'), ...errorResponses(400, 401, 403, 404) }
        }
      },
      '/v1/circles/{id}/leave': {
        post: {
          summary: 'Leave the circle: a signed leave record the members apply; an admin\'s node rotates the circle key. This node stops dialling and syncing it and keeps what it stored. The last admin cannot leave while other members remain (409)',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: {} } } } },
          responses: { 200: json({ type: 'object', properties: { circle: { type: 'string' }, name: { type: 'string' }, upTo: { type: 'integer', description: 'this node\'s last entry in the circle: its entries up to it still stand' } } }, 'left'), ...errorResponses(400, 401, 403, 404, 409) }
        }
      },
      '/v1/circles/{id}/invites': {
        post: {
          summary: 'Make a one-time invite code (admin only)',
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { expires: { type: 'string', description: 'duration, e.g. 30m, 24h, 7d (default 24h)' } } } } } },
          responses: { 201: json({ type: 'object', properties: { code: { type: 'string' }, expires: time, circle: { type: 'string' } } }, 'the code'), ...errorResponses(400, 401, 403, 404) }
        }
      },
      '/v1/circles/{id}/connect': {
        post: {
          summary: 'After being added by key: fetch the circle log from a member at a multiaddr',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['addr'], additionalProperties: false, properties: { addr: { type: 'string', description: '/ip4/…/tcp/…/p2p/<peer id>' } } } } } },
          responses: { 200: json({ type: 'object' }, 'connected'), ...errorResponses(400, 401, 403, 502) }
        }
      },
      '/v1/peers': { get: { summary: 'Connected peers: org, circles, latency', responses: { 200: json({ type: 'object', properties: { peers: { type: 'array', items: { type: 'object' } } } }, 'peers'), ...errorResponses(401) } } },
      '/v1/outbox': { get: { summary: 'TLP:RED entries waiting for their recipient\'s acknowledgement (retried until then, across restarts)', responses: { 200: json({ type: 'object', properties: { outbox: { type: 'array', items: { type: 'object', properties: { recipient: { type: 'string' }, seq: { type: 'integer' }, hash: { type: 'string' }, attempts: { type: 'integer', description: 'failed attempts to this recipient since the last success' }, nextAttempt: { type: ['string', 'null'], format: 'date-time', description: 'retries back off from p2p.dialIntervalMs doubling up to 5 min; the recipient connecting resets it' } } } } } }, 'waiting entries'), ...errorResponses(401) } } },
      '/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' }, ...errorResponses() } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' }, ...errorResponses(401) } } }
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the token in <data>/api.token' } },
      schemas: {
        IndicatorType: { type: 'string', enum: [...INDICATOR_TYPES] },
        Tlp: { type: 'string', enum: [...TLP_LEVELS], description: 'TLP 2.0; WHITE is accepted as CLEAR, case-insensitive, optional "TLP:" prefix' },
        ErrorCode: { type: 'string', enum: Object.keys(ERROR_CODES), description: Object.entries(ERROR_CODES).map(([k, v]) => `${k} (${v.status}): ${v.description}`).join('\n') },
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: ref('ErrorCode'), message: { type: 'string' }, field: { type: 'string', description: 'the input at fault, e.g. indicators[3].value' } } } } },
        IndicatorInput: {
          type: 'object',
          required: ['value'],
          additionalProperties: false,
          properties: {
            type: ref('IndicatorType'),
            value: { type: 'string', maxLength: 2048, description: 'defanged forms are accepted (hxxp://evil[.]example)' },
            tlp: ref('Tlp'),
            confidence: { type: 'integer', minimum: 0, maximum: 100 },
            tags: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 128 } },
            description: { type: 'string', maxLength: 4096 },
            validFrom: time, validUntil: time, firstSeen: time, lastSeen: time,
            circle: { type: 'string', description: 'target circle; default: the private scope "local"' },
            to: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 64 }], description: 'TLP:RED only: recipients\' public keys; delivered directly, end-to-end encrypted' }
          }
        },
        Indicator: {
          type: 'object',
          properties: {
            id: { type: 'string' }, origin: { type: 'string' }, circle: { type: 'string' }, type: ref('IndicatorType'), value: { type: 'string' }, tlp: ref('Tlp'),
            confidence: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } }, description: { type: 'string' },
            validFrom: time, validUntil: time, firstSeen: time, lastSeen: time, created: time, received: time,
            cursor: { type: 'string' }, entry: { type: 'object', properties: { hash: { type: 'string' }, seq: { type: 'integer' } } },
            version: { type: 'integer' }, revoked: { type: 'object', properties: { at: time, reason: { type: 'string' }, entry: { type: 'string' } } }
          }
        },
        PublishResult: { type: 'object', properties: { id: { type: 'string' }, count: { type: 'integer' }, ids: { type: 'array', items: { type: 'string' } }, entries: { type: 'array', items: { type: 'object', properties: { hash: { type: 'string' }, circle: { type: 'string' }, origin: { type: 'string' }, seq: { type: 'integer' }, items: { type: 'integer' } } } } } },
        LookupResult: {
          type: 'object',
          properties: {
            type: ref('IndicatorType'),
            value: { type: 'string' },
            found: { type: 'boolean', description: 'anything matched: the value, a containing CIDR or a record related through a host' },
            matches: { type: 'array', items: { allOf: [ref('Indicator'), { type: 'object', properties: { match: { enum: [...MATCH_KINDS] }, below: { type: 'integer', description: 'subdomain matches: labels below the looked-up domain' }, effectiveConfidence: { type: 'integer', description: 'confidence once false positives are counted: round(C × (1 + c) / (1 + c + 2f))' } } }] } },
            sightings: { type: ['object', 'null'] },
            sighted: { type: ['object', 'null'], description: 'who sighted the value and what each did', properties: { orgs: { type: 'integer' }, byAction: { type: 'object' }, count: { type: 'integer' }, lastSeen: time, perOrg: { type: 'array', items: { type: 'object', properties: { publicKey: { type: 'string' }, org: { type: ['string', 'null'] }, action: ref('SightingAction'), count: { type: 'integer' }, firstSeen: time, lastSeen: time, note: { type: 'string' } } } } } },
            hidden: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, origin: { type: 'string' }, type: ref('IndicatorType'), value: { type: 'string' }, match: { enum: [...MATCH_KINDS] }, why: { enum: ['revoked', 'expired'] }, at: { type: 'string' }, reason: { type: 'string' } } } },
            reports: { type: 'array', description: 'the live reports linking one of the exact matches, newest first', items: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' }, type: { enum: ['incident', 'analysis'] }, tlp: ref('Tlp'), circle: { type: 'string' }, circleName: { type: ['string', 'null'] }, publicKey: { type: 'string' }, org: { type: ['string', 'null'] } } } },
            truncated: { type: 'boolean', description: `related records were left out (more than ${RELATED_MAX}, or more on one host than its index record lists)` }
          }
        },
        SightingAction: { enum: ['seen', 'blocked', 'false-positive', 'investigating', 'mitigated'] },
        SightingInput: { type: 'object', required: ['value'], additionalProperties: false, properties: { type: ref('IndicatorType'), value: { type: 'string' }, count: { type: 'integer', minimum: 1 }, firstSeen: time, lastSeen: time, note: { type: 'string' }, tlp: ref('Tlp'), circle: { type: 'string', description: 'default: where this node holds the value (a RED record: its origin only)' }, action: ref('SightingAction') } },
        AdvisoryInput: { type: 'object', required: ['circle', 'title'], additionalProperties: false, properties: { circle: { type: 'string', description: 'circle id or name' }, title: { type: 'string', maxLength: 200, description: 'one line' }, text: { type: 'string', maxLength: 4096, description: 'default: the title' }, tlp: ref('Tlp'), severity: { enum: ['low', 'medium', 'high', 'critical'] }, cves: { type: 'array', maxItems: 50, items: { type: 'string', description: 'CVE-YYYY-NNNN…' } }, indicators: { type: 'array', maxItems: 100, items: { type: 'string', description: 'id of an indicator held in that circle' } } } },
        Advisory: { type: 'object', properties: { id: { type: 'string' }, circle: { type: 'string' }, circleName: { type: ['string', 'null'] }, publicKey: { type: 'string', description: 'its author' }, org: { type: ['string', 'null'] }, mine: { type: 'boolean' }, tlp: ref('Tlp'), title: { type: 'string' }, text: { type: 'string' }, severity: { enum: ['low', 'medium', 'high', 'critical'] }, cves: { type: 'array', items: { type: 'string' } }, indicators: { type: 'array', items: { type: 'string' } }, created: time, received: time, acks: { type: 'array', items: { type: 'object', properties: { publicKey: { type: 'string' }, org: { type: ['string', 'null'] }, at: time } } }, pending: { type: 'array', description: 'current members of its circle, the author aside, that have not acknowledged it', items: { type: 'object', properties: { publicKey: { type: 'string' }, org: { type: ['string', 'null'] } } } }, ackedByMe: { type: 'boolean' } } },
        ReportInput: { type: 'object', additionalProperties: false, properties: { circle: { type: 'string', description: 'circle id or name; absent or local: the private scope (create only)' }, type: { enum: ['incident', 'analysis'], description: 'default analysis (kind is accepted for it)' }, kind: { enum: ['incident', 'analysis'] }, title: { type: 'string', maxLength: 300, description: 'one line' }, body: { type: 'string', description: 'Markdown, at most 32 KiB (UTF-8)' }, attack: { type: 'array', maxItems: 100, items: { type: 'string', description: 'ATT&CK technique id: T1566 or T1566.002' } }, actors: { type: 'array', maxItems: 50, items: { type: 'string' } }, malware: { type: 'array', maxItems: 50, items: { type: 'string' } }, campaigns: { type: 'array', maxItems: 50, items: { type: 'string' } }, sectors: { type: 'array', maxItems: 50, items: { type: 'string' } }, references: { type: 'array', maxItems: 20, items: { type: 'string' } }, indicators: { type: 'array', maxItems: 500, items: { type: 'string', description: 'id of an indicator held in that circle' } }, values: { type: 'array', maxItems: 500, items: { oneOf: [{ type: 'string' }, { type: 'object', properties: { type: ref('IndicatorType'), value: { type: 'string' } } }] }, description: 'linked indicators by value' }, published: time, tlp: ref('Tlp'), nonce: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'create only: makes the id deterministic (an import uses the STIX report UUID)' }, skipMissing: { type: 'boolean', description: 'leave out linked indicators not held there (listed in missing) instead of refusing' } } },
        Technique: { type: 'object', properties: { id: { type: 'string' }, name: { type: ['string', 'null'], description: 'null until an ATT&CK bundle is imported' }, tactics: { type: 'array', items: { type: 'string' } }, url: { type: 'string' } } },
        Report: { type: 'object', properties: { id: { type: 'string' }, circle: { type: 'string' }, circleName: { type: ['string', 'null'] }, publicKey: { type: 'string', description: 'its author' }, org: { type: ['string', 'null'] }, mine: { type: 'boolean' }, tlp: ref('Tlp'), type: { enum: ['incident', 'analysis'] }, title: { type: 'string' }, body: { type: 'string' }, techniques: { type: 'array', items: ref('Technique') }, actors: { type: 'array', items: { type: 'string' } }, malware: { type: 'array', items: { type: 'string' } }, campaigns: { type: 'array', items: { type: 'string' } }, sectors: { type: 'array', items: { type: 'string' } }, references: { type: 'array', items: { type: 'string' } }, indicators: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, held: { type: 'boolean' }, type: ref('IndicatorType'), value: { type: 'string' }, tlp: ref('Tlp'), publicKey: { type: 'string' }, org: { type: ['string', 'null'] }, revoked: { type: 'boolean' }, sighted: { type: 'object' } } } }, published: time, updated: time, received: time, revoked: { type: 'object', properties: { at: time, reason: { type: 'string' } } } } },
        ReportSummary: { type: 'object', description: 'a Report without body, references and indicators, with indicatorCount', properties: { id: { type: 'string' }, circle: { type: 'string' }, org: { type: ['string', 'null'] }, tlp: ref('Tlp'), type: { enum: ['incident', 'analysis'] }, title: { type: 'string' }, updated: time, indicatorCount: { type: 'integer' } } },
        AdvisorySummary: { type: 'object', description: 'an Advisory without text, acks and pending, with acked and expected counts', properties: { id: { type: 'string' }, circle: { type: 'string' }, org: { type: ['string', 'null'] }, tlp: ref('Tlp'), title: { type: 'string' }, created: time, acked: { type: 'integer' }, expected: { type: 'integer' } } },
        Circle: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, founder: { type: 'string' }, created: time, epoch: { type: 'integer', description: 'circle key epoch (rotates on removal)' }, role: { enum: ['admin', 'member', null] }, members: { type: 'integer' }, status: { enum: ['member', 'removed', 'left'], description: 'removed: an admin removed this node (its node was told by a signed removal notice); left: this node left' }, removed: { type: 'object', description: 'when removed or left', properties: { at: time, by: { type: 'string', description: 'the admin\'s public key (this node\'s own when it left)' }, byFingerprint: { type: 'string' } } } } },
        Member: { type: 'object', properties: { publicKey: { type: 'string' }, org: { type: 'string' }, fingerprint: { type: 'string' }, role: { enum: ['admin', 'member'] }, online: { type: 'boolean' }, lastSeen: { type: ['string', 'null'], format: 'date-time', description: 'when this node last had a connection to it (since this node started)' }, addedAt: time, addedBy: { type: 'string' }, addrs: { type: 'array', items: { type: 'string' } }, overQuota: { type: 'boolean', description: 'its gossip went past its quota (p2p.quota) within the hold time' }, quota: { type: ['object', 'null'], description: 'when over quota: since, last, dropped (entries), droppedBytes' }, removed: { type: 'object', description: 'a former member (in the state only): at, by' }, left: { const: true, description: 'it left by itself (a leave record)' } } },
        Fork: { type: 'object', properties: { circle: { type: 'string', description: 'the log (circle id, or <circle>:members)' }, origin: { type: 'string' }, seq: { type: 'integer' }, kind: { enum: ['seq', 'prev'], description: 'seq: two entries with the same seq; prev: an entry whose prev names another entry at seq - 1' }, detected: time, source: { type: 'string' }, entries: { type: 'array', minItems: 2, maxItems: 2, description: 'the entry this node holds, then the conflicting one; both verify against origin' } } },
        Status: { type: 'object', properties: { forks: { type: 'integer' }, warnings: { type: 'array', items: { type: 'string' } }, sync: { type: ['object', 'null'], description: 'totals of anti-entropy syncs since start' },  multiaddrs: { type: 'array', items: { type: 'string' } }, peers: { type: 'integer' }, version: { type: 'string' }, apiUrl: { type: 'string' }, peerId: { type: 'string' }, publicKey: { type: 'string' }, fingerprint: { type: 'string' }, org: { type: 'string' }, dataDir: { type: 'string' }, startedAt: time, counts: { type: 'object' }, circles: { type: 'array', description: 'each circle with records, entries, origins, lastSync and inSync {members, of}' }, ingestQueue: { type: 'integer' }, overQuota: { type: 'array', description: 'members past their gossip quota within the hold time: origin, fingerprint, org, since, last, dropped, droppedBytes. Empty when all is well.', items: { type: 'object' } }, gossipDrops: { type: ['object', 'null'], description: 'gossip messages ignored since start: queueFull, overQuota; and the gossip queue bound maxQueuedItems' }, behindOwnTail: { type: 'array', description: 'own logs that end below the seq this node last signed in them (a lost tail); it signs nothing in them until sync brought the entries back or an operator accepted the loss. Empty when all is well.', items: { type: 'object', properties: { log: { type: 'string' }, head: { type: 'integer' }, signed: { type: 'integer' } } } } } }
      }
    }
  }
}
