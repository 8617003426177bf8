/**
 * The host index (src/store/hosts.ts) and the lookups it serves (src/store/query.ts): a domain
 * lookup finds the URLs and emails on it and below it, a url or email lookup the stored domain
 * or IP of its host; related records obey the same visibility as exact ones; purges take them
 * out; the index and the answer stay bounded. Real LevelDB in a temp dir.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ValidationError } from '../../../src/errors.js'
import { normalizeValue, type IndicatorItem, type IndicatorType } from '../../../src/records/index.js'
import { HOST_DEPTH, HOST_LIST_MAX, RELATED_MAX, checkStore, lookupValue, type LookupResult } from '../../../src/store/index.js'
import { hostKeysOf, hostOf, parentDomains, withHostValue, withoutHostValue } from '../../../src/store/hosts.js'
import { damageStore } from '../../utils/raw-store.js'
import { openStore, type StoreHarness } from '../../utils/store.js'

function ind (type: IndicatorType, value: string, extra: Partial<IndicatorItem> = {}): IndicatorItem {
  return { kind: 'indicator', type, value, confidence: 70, tags: [], ...extra }
}

/** (match, type, value) of each match, in order */
const kinds = (r: LookupResult): Array<[string, string, string]> => r.matches.map(m => [m.match, m.type, m.value])

describe('host index keys', () => {
  it('files a url and an email under their host and its parents (two labels at least), a domain under its parents only', () => {
    expect(hostKeysOf('url', 'https://login-micros0ft.example/auth')).toEqual([['login-micros0ft.example', 0]])
    expect(hostKeysOf('url', 'http://user:pw@a.b.evil.example.:8080/x?y#z')).toEqual([['a.b.evil.example', 0], ['b.evil.example', 1], ['evil.example', 2]])
    expect(hostKeysOf('email', 'ceo@mail.evil.example')).toEqual([['mail.evil.example', 0], ['evil.example', 1]])
    expect(hostKeysOf('domain', 'a.b.evil.example')).toEqual([['b.evil.example', 1], ['evil.example', 2]])
    expect(hostKeysOf('domain', 'evil.example')).toEqual([])
    // an IP host only under itself; a one-label host nowhere; other types nowhere
    expect(hostKeysOf('url', 'http://192.0.2.7/x')).toEqual([['192.0.2.7', 0]])
    expect(hostKeysOf('url', 'http://[2001:db8::1]:8080/x')).toEqual([['2001:db8::1', 0]])
    expect(hostKeysOf('url', 'http://intranet/x')).toEqual([])
    expect(hostKeysOf('ipv4', '192.0.2.7')).toEqual([])
    expect(hostOf('sha256', 'ab')).toBeUndefined()
  })

  it('reads the host of a normalized URL as the WHATWG parser does (without brackets and trailing dot)', () => {
    const whatwg = (url: string): string => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
    const same = (raw: string): void => {
      let url: string
      try {
        url = normalizeValue('url', raw)
      } catch (err) {
        if (err instanceof ValidationError) return
        throw err
      }
      expect(hostOf('url', url), `${raw} → ${url}`).toBe(whatwg(url))
    }
    for (const raw of [
      'hxxps://login-micros0ft[.]example/auth', 'http://a%40b:p%2Fw@evil.example:81/x?y=@z#@w', 'http://u:p@[2001:db8::1]:8080/',
      'ftps://user@files.example:990', 'wss://x.example?q=/', 'http://evil.example.#frag', 'http://192.0.2.7:8080', 'http://@evil.example/'
    ]) same(raw)
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withUserInfo: true, withPort: true, withIPv4: true, withIPv6: true } }), same), { numRuns: 200 })
  })

  it(`reaches at most ${HOST_DEPTH} labels above a host`, () => {
    const keys = hostKeysOf('url', 'http://a.b.c.d.e.f.example/')
    expect(keys.map(k => k[1])).toEqual([0, 1, 2, 3, 4])
    expect(keys.at(-1)).toEqual(['e.f.example', HOST_DEPTH])
    expect(parentDomains('a.b.evil.example')).toEqual(['b.evil.example', 'evil.example'])
    expect(parentDomains('evil.example')).toEqual([])
  })

  it(`a record lists at most ${HOST_LIST_MAX} values, the nearest kept, and counts them all`, () => {
    let rec = withHostValue(undefined, 'url', 'http://x.example/0', 2)
    for (let i = 1; i < HOST_LIST_MAX; i++) rec = withHostValue(rec, 'url', `http://x.example/${i}`, 2)
    expect(rec).toMatchObject({ n: HOST_LIST_MAX })
    expect(withHostValue(rec, 'url', 'http://x.example/0', 2)).toBe(rec) // already listed
    const farther = withHostValue(rec, 'url', 'http://far.example/', 3)
    expect(farther.n).toBe(HOST_LIST_MAX + 1)
    expect(farther.v.some(x => x[1] === 'http://far.example/')).toBe(false)
    const nearer = withHostValue(farther, 'email', 'a@near.example', 0)
    expect(nearer.n).toBe(HOST_LIST_MAX + 2)
    expect(nearer.v).toHaveLength(HOST_LIST_MAX)
    expect(nearer.v.some(x => x[1] === 'a@near.example')).toBe(true)
    expect(withoutHostValue(nearer, 'email', 'a@near.example')).toMatchObject({ n: HOST_LIST_MAX + 1 })
    expect(withoutHostValue(withHostValue(undefined, 'url', 'http://x.example/', 0), 'url', 'http://x.example/')).toBeUndefined()
  })
})

describe('lookups related through a host', () => {
  let h: StoreHarness
  beforeEach(async () => { h = await openStore() })
  afterEach(async () => { await h.close() })

  const publish = async (items: IndicatorItem[], tlp: 'CLEAR' | 'AMBER' = 'AMBER'): Promise<string[]> =>
    (await h.ingest.publish([{ circle: 'local', tlp, items }])).ids.filter((x): x is string => x !== null)

  it('the README example: a lookup of a domain finds the URL published on it', async () => {
    await publish([ind('url', 'https://login-micros0ft.example/auth', { tags: ['phishing'] })])
    const r = lookupValue(h.store, 'domain', 'login-micros0ft.example')
    expect(r.found).toBe(true)
    expect(kinds(r)).toEqual([['url-host', 'url', 'https://login-micros0ft.example/auth']])
    expect(r.matches[0]).toMatchObject({ tags: ['phishing'], tlp: 'AMBER' })
    expect(r.truncated).toBeUndefined()
  })

  it('a domain lookup: the domain, URLs and emails on it and below it (nearest first), stored subdomains and parent domains', async () => {
    await publish([
      ind('domain', 'evil.example'),
      ind('domain', 'mail.evil.example'),
      ind('url', 'http://a.b.evil.example/x'),
      ind('url', 'https://evil.example/login'),
      ind('email', 'ceo@evil.example'),
      ind('email', 'it@mail.evil.example'),
      ind('domain', 'example-parent.example'),
      ind('url', 'http://a.b.c.d.e.evil.example/too-deep'),
      ind('url', 'http://notevil.example/'),
      ind('sha256', 'a'.repeat(64))
    ])
    const r = lookupValue(h.store, 'domain', 'evil.example')
    expect(kinds(r)).toEqual([
      ['exact', 'domain', 'evil.example'],
      ['url-host', 'url', 'https://evil.example/login'],
      ['email-domain', 'email', 'ceo@evil.example'],
      ['subdomain', 'domain', 'mail.evil.example'],
      ['subdomain-email', 'email', 'it@mail.evil.example'],
      ['subdomain-url', 'url', 'http://a.b.evil.example/x']
    ])
    expect(r.matches.map(m => m.below)).toEqual([undefined, undefined, undefined, 1, 1, 2])
    // a stored parent of the looked-up domain
    expect(kinds(lookupValue(h.store, 'domain', 'x.mail.evil.example'))).toEqual([['parent-domain', 'domain', 'mail.evil.example'], ['parent-domain', 'domain', 'evil.example']])
    // 5 labels below is past HOST_DEPTH; the parent is found from the deep host's side
    expect(kinds(lookupValue(h.store, 'domain', 'e.evil.example'))).toEqual([['subdomain-url', 'url', 'http://a.b.c.d.e.evil.example/too-deep'], ['parent-domain', 'domain', 'evil.example']])
    // nothing on an unknown domain
    expect(lookupValue(h.store, 'domain', 'nowhere.example')).toEqual({ type: 'domain', value: 'nowhere.example', found: false, matches: [], sightings: null })
  })

  it('a url lookup: the stored domain of its host and its parents; an IP host: the stored IP and CIDRs; an email: its domain', async () => {
    await publish([
      ind('domain', 'b.evil.example'),
      ind('domain', 'evil.example'),
      ind('ipv4', '192.0.2.7'),
      ind('cidr', '192.0.2.0/24'),
      ind('ipv6', '2001:db8::1'),
      ind('url', 'http://192.0.2.7/bins/x86')
    ])
    expect(kinds(lookupValue(h.store, 'url', 'http://b.evil.example/x'))).toEqual([['host-domain', 'domain', 'b.evil.example'], ['parent-domain', 'domain', 'evil.example']])
    expect(kinds(lookupValue(h.store, 'url', 'http://a.b.evil.example/x'))).toEqual([['parent-domain', 'domain', 'b.evil.example'], ['parent-domain', 'domain', 'evil.example']])
    expect(kinds(lookupValue(h.store, 'url', 'http://192.0.2.7/other'))).toEqual([['host-ip', 'ipv4', '192.0.2.7'], ['host-cidr', 'cidr', '192.0.2.0/24']])
    expect(kinds(lookupValue(h.store, 'url', 'https://[2001:db8::1]/'))).toEqual([['host-ip', 'ipv6', '2001:db8::1']])
    expect(kinds(lookupValue(h.store, 'email', 'x@b.evil.example'))).toEqual([['host-domain', 'domain', 'b.evil.example'], ['parent-domain', 'domain', 'evil.example']])
    // an IP lookup: the IP, its CIDR, and the URL on it
    expect(kinds(lookupValue(h.store, 'ipv4', '192.0.2.7'))).toEqual([['exact', 'ipv4', '192.0.2.7'], ['cidr', 'cidr', '192.0.2.0/24'], ['url-host', 'url', 'http://192.0.2.7/bins/x86']])
  })

  it('a revoked or expired related record is hidden, named with its match, like an exact one', async () => {
    const [revoked] = await publish([ind('url', 'https://evil.example/old')])
    await publish([ind('url', 'https://evil.example/expired', { validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2020-02-01T00:00:00.000Z' })])
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'revoke', id: revoked, reason: 'fixed' }] }])
    const r = lookupValue(h.store, 'domain', 'evil.example')
    expect(r.found).toBe(false)
    expect(r.matches).toEqual([])
    expect(r.hidden).toEqual([
      expect.objectContaining({ id: revoked, match: 'url-host', type: 'url', value: 'https://evil.example/old', why: 'revoked', reason: 'fixed' }),
      expect.objectContaining({ match: 'url-host', type: 'url', value: 'https://evil.example/expired', why: 'expired', at: '2020-02-01T00:00:00.000Z' })
    ])
    expect(kinds(lookupValue(h.store, 'domain', 'evil.example', { includeRevoked: true }))).toEqual([['url-host', 'url', 'https://evil.example/old']])
  })

  it('a purge takes the value out of the host index; a value with sightings only is never in it', async () => {
    const expiring = { validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2020-02-01T00:00:00.000Z' }
    await publish([ind('url', 'https://a.evil.example/gone', expiring), ind('url', 'https://a.evil.example/stays')])
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [{ kind: 'sighting', type: 'url', value: 'https://a.evil.example/seen', count: 1, firstSeen: '2020-01-05T00:00:00.000Z', lastSeen: '2020-01-05T00:00:00.000Z' }] }])
    expect(h.store.hostRecord('evil.example')).toMatchObject({ n: 2 })
    expect((await h.ingest.purgeExpired('2021-01-01T00:00:00.000Z')).purged).toBe(1)
    expect(h.store.hostRecord('evil.example')).toEqual({ n: 1, v: [['url', 'https://a.evil.example/stays', 1]] })
    expect(lookupValue(h.store, 'domain', 'evil.example', { includeExpired: true }).matches.map(m => m.value)).toEqual(['https://a.evil.example/stays'])
    // a second origin's copy of a value is filed once; both are found
    await publish([ind('url', 'https://a.evil.example/stays')])
    expect(h.store.hostRecord('evil.example')).toMatchObject({ n: 1 })
    expect((await checkStore(h.store)).ok).toBe(true)
  })

  it(`a domain with more related records than ${RELATED_MAX} answers ${RELATED_MAX} and says it was truncated`, async () => {
    const items = Array.from({ length: RELATED_MAX + 20 }, (_, i) => ind('url', `http://s${i}.big.example/p`))
    await publish(items)
    const r = lookupValue(h.store, 'domain', 'big.example')
    expect(r.matches).toHaveLength(RELATED_MAX)
    expect(r.matches.every(m => m.match === 'subdomain-url' && m.below === 1)).toBe(true)
    expect(r.truncated).toBe(true)
    expect(h.store.hostRecord('big.example')).toMatchObject({ n: RELATED_MAX + 20 })
    // the exact match is never cut
    await publish([ind('domain', 'big.example')])
    const again = lookupValue(h.store, 'domain', 'big.example')
    expect(again.matches[0]).toMatchObject({ match: 'exact', value: 'big.example' })
    expect(again.matches).toHaveLength(RELATED_MAX + 1)
  })
})

describe('a popular host: values past a full record', () => {
  let h: StoreHarness
  beforeEach(async () => { h = await openStore() })
  afterEach(async () => { await h.close() })

  const expiring = { validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2020-02-01T00:00:00.000Z' }
  const url = (i: number, extra: Partial<IndicatorItem> = {}): IndicatorItem => ind('url', `http://s${i}.big.example/p`, extra)
  const publish = async (items: IndicatorItem[]): Promise<void> => { await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items }]) }
  const raw = (bucket: 'byHost' | 'hostMore'): unknown => h.store.readUncached(bucket, 'big.example')

  it(`past ${HOST_LIST_MAX} listed and one counted, a value the record would not list is counted apart; n counts every value; a list change folds the count back`, async () => {
    // s0 (listed) and s256 expire; the record lists s0…s255, one below the host
    await publish([url(0, expiring), ...Array.from({ length: HOST_LIST_MAX - 1 }, (_, i) => url(i + 1))])
    expect(h.store.hostRecord('big.example')).toMatchObject({ n: HOST_LIST_MAX })
    await publish([url(HOST_LIST_MAX, expiring)])
    const full = raw('byHost') as { n: number, v: unknown[] }
    expect(full.n).toBe(HOST_LIST_MAX + 1)
    expect(full.v).toHaveLength(HOST_LIST_MAX)
    expect(raw('hostMore')).toBeUndefined()
    // 50 more, one publish each (20 of them expire): the record is not written again
    for (let i = 1; i <= 50; i++) await publish([url(HOST_LIST_MAX + i, i <= 20 ? expiring : {})])
    expect(raw('byHost')).toEqual(full)
    expect(raw('hostMore')).toEqual({ more: 50, far: 1 })
    expect(h.store.hostRecord('big.example')).toMatchObject({ n: HOST_LIST_MAX + 51 })
    expect(lookupValue(h.store, 'domain', 'big.example').truncated).toBe(true)
    expect((await checkStore(h.store)).problems).toEqual([])
    // a purge of unlisted values counts them out; of a listed one (s0) folds the count back
    expect((await h.ingest.purgeExpired('2021-01-01T00:00:00.000Z')).purged).toBe(22)
    expect(h.store.hostRecord('big.example')).toMatchObject({ n: HOST_LIST_MAX + 51 - 22 })
    expect((raw('byHost') as { v: unknown[] }).v).toHaveLength(HOST_LIST_MAX - 1)
    expect(raw('hostMore')).toBeUndefined()
    expect((await checkStore(h.store)).problems).toEqual([])
    // a listed place is free again: the next value is listed, then the record is full and truncated
    await publish([url(1000)])
    expect((raw('byHost') as { v: unknown[] }).v).toHaveLength(HOST_LIST_MAX)
    await publish([url(1001)])
    expect(raw('hostMore')).toEqual({ more: 1, far: 1 })
    // a nearer value (on the host itself) takes a listed one's place and folds the count back
    await publish([ind('url', 'https://big.example/login')])
    const near = raw('byHost') as { n: number, v: Array<[string, string, number]> }
    expect(raw('hostMore')).toBeUndefined()
    expect(near.n).toBe(HOST_LIST_MAX + 51 - 22 + 3)
    expect(near.v.some(x => x[1] === 'https://big.example/login' && x[2] === 0)).toBe(true)
    expect(lookupValue(h.store, 'domain', 'big.example').matches[0]).toMatchObject({ value: 'https://big.example/login', match: 'url-host' })
    expect((await checkStore(h.store)).problems).toEqual([])
  })

  it('checkStore names a count past a record that is not full, or that names the wrong farthest value', async () => {
    await publish(Array.from({ length: HOST_LIST_MAX + 2 }, (_, i) => url(i)))
    expect(raw('hostMore')).toEqual({ more: 1, far: 1 })
    await publish([ind('url', 'https://a.small.example/x')])
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    await damageStore(path, async b => {
      await b.hostMore.put('small.example', { more: 3, far: 1 })
      await b.hostMore.put('big.example', { more: 1, far: 0 })
    })
    await h.store.open()
    expect((await checkStore(h.store)).problems).toEqual([
      { kind: 'index', key: 'hostMore:big.example', message: 'counts 1 past a record whose farthest listed value is 1 labels down, not 0' },
      { kind: 'index', key: 'hostMore:small.example', message: 'counts values past a host record that is not full and truncated' }
    ])
  })
})

describe('checkStore and the host index', () => {
  let h: StoreHarness
  beforeEach(async () => { h = await openStore() })
  afterEach(async () => { await h.close() })

  it('names a value missing from the host index, and a host record listing what no indicator carries', async () => {
    await h.ingest.publish([{ circle: 'local', tlp: 'AMBER', items: [ind('url', 'https://a.evil.example/x'), ind('email', 'x@evil.example')] }])
    expect((await checkStore(h.store)).problems).toEqual([])
    const path = h.store.options.path
    await h.ingest.stop()
    await h.store.close()
    await damageStore(path, async b => {
      await b.byHost.del('a.evil.example')
      await b.byHost.put('evil.example', { n: 3, v: [['email', 'x@evil.example', 0], ['url', 'https://a.evil.example/x', 1], ['url', 'https://ghost.evil.example/', 1]] })
    })
    await h.store.open()
    const problems = (await checkStore(h.store)).problems
    expect(problems).toEqual([
      { kind: 'index', key: 'byHost:a.evil.example', message: 'host index misses url https://a.evil.example/x' },
      { kind: 'index', key: 'byHost:evil.example', message: 'lists url https://ghost.evil.example/, which no indicator carries' }
    ])
  })
})
