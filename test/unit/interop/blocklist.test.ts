/**
 * The blocklist renderers over a plain source of indicators (no store): each value once,
 * networks of the family first and the addresses they cover left out, the rpz and suricata
 * lines and headers, sids numbered from sid_base, types a format cannot carry refused.
 */
import { describe, expect, it } from 'vitest'
import { blocklistEntry, blocklistHeader, blocklistLines, checkBlocklistType, DEFAULT_SID_BASES, defaultSidBase, type BlocklistSource } from '../../../src/interop/index.js'
import type { IndicatorType, StoredIndicator } from '../../../src/records/index.js'

/** a source that yields these values per type (the renderer reads only `value`) */
function source (byType: Partial<Record<IndicatorType, string[]>>): { source: BlocklistSource, asked: IndicatorType[] } {
  const asked: IndicatorType[] = []
  return {
    asked,
    source: async function * (type) {
      asked.push(type)
      for (const value of byType[type] ?? []) yield { type, value } as unknown as StoredIndicator
    }
  }
}

async function text (gen: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const chunk of gen) out += chunk
  return out
}

const NOW = new Date('2026-11-25T22:00:00.000Z')
const body = (t: string): string[] => t.split('\n').filter(l => l !== '' && !l.startsWith('#'))

describe('blocklist renderers', () => {
  it('plain: the header line, then each value once', async () => {
    const s = source({ domain: ['evil.example', 'phish.example', 'evil.example'] })
    const t = await text(blocklistLines({ type: 'domain', format: 'plain', now: NOW }, s.source))
    expect(t).toBe('# Phalanx blocklist: domain, plain, 2026-11-25T22:00:00.000Z\nevil.example\nphish.example\n')
    expect(s.asked).toEqual(['domain'])
  })

  it('ipv4 and ipv6: the networks of the family first; addresses a listed network covers left out', async () => {
    const s = source({ cidr: ['203.0.113.0/24', '2001:db8::/32', '203.0.113.0/24', '10.0.0.0/8'], ipv4: ['198.51.100.1', '203.0.113.9', '10.1.2.3', '198.51.100.1'], ipv6: ['2001:db8::7', '2001:db9::1'] })
    expect(body(await text(blocklistLines({ type: 'ipv4', format: 'plain', now: NOW }, s.source)))).toEqual(['203.0.113.0/24', '10.0.0.0/8', '198.51.100.1'])
    expect(s.asked).toEqual(['cidr', 'ipv4'])
    expect(body(await text(blocklistLines({ type: 'ipv6', format: 'plain', now: NOW }, s.source)))).toEqual(['2001:db8::/32', '2001:db9::1'])
    // a cidr list is the networks of both families, as they come
    expect(body(await text(blocklistLines({ type: 'cidr', format: 'plain', now: NOW }, s.source)))).toEqual(['203.0.113.0/24', '2001:db8::/32', '10.0.0.0/8'])
  })

  it('rpz: the zone head (TTL, SOA with the time as serial, NS), then two lines per domain, names ending with a dot', async () => {
    const t = await text(blocklistLines({ type: 'domain', format: 'rpz', now: NOW }, source({ domain: ['evil.example', 'dotted.example.'] }).source))
    expect(t).toBe(`; Phalanx blocklist (RPZ), 2026-11-25T22:00:00.000Z\n$TTL 300\n@ SOA localhost. root.localhost. ${NOW.getTime() / 1000} 3600 600 86400 300\n  NS localhost.\n` +
      'evil.example. CNAME .\n*.evil.example. CNAME .\ndotted.example. CNAME .\n*.dotted.example. CNAME .\n')
  })

  it('suricata: ip rules and dns rules, sids numbered from sid_base (default: a range per type)', async () => {
    const s = source({ cidr: ['203.0.113.0/24'], ipv4: ['198.51.100.1'], domain: ['evil.example'] })
    expect(body(await text(blocklistLines({ type: 'ipv4', format: 'suricata', sidBase: 5000, now: NOW }, s.source)))).toEqual([
      'alert ip [203.0.113.0/24] any -> $HOME_NET any (msg:"Phalanx blocklist 203.0.113.0/24"; sid:5000; rev:1;)',
      'alert ip [198.51.100.1] any -> $HOME_NET any (msg:"Phalanx blocklist 198.51.100.1"; sid:5001; rev:1;)'
    ])
    expect(body(await text(blocklistLines({ type: 'domain', format: 'suricata', now: NOW }, s.source)))).toEqual([
      'alert dns any any -> any any (msg:"Phalanx blocklist domain evil.example"; dns.query; content:"evil.example"; nocase; endswith; sid:40000000; rev:1;)'
    ])
    expect(blocklistHeader({ type: 'ipv4', format: 'suricata', now: NOW })).toBe('# Phalanx blocklist: ipv4, suricata, 2026-11-25T22:00:00.000Z\n')
    expect(blocklistEntry('plain', 'url', 'http://x.example/', 1)).toBe('http://x.example/\n')
  })

  it('suricata: the ipv4, ipv6, cidr and domain lists never share a sid (each type its own range)', async () => {
    const s = source({ cidr: ['203.0.113.0/24', '2001:db8::/32'], ipv4: ['198.51.100.1'], ipv6: ['2001:db9::1'], domain: ['evil.example', 'bad.example'] })
    const sids: number[] = []
    for (const type of ['ipv4', 'ipv6', 'cidr', 'domain'] as const) {
      const rules = body(await text(blocklistLines({ type, format: 'suricata', now: NOW }, s.source)))
      expect(rules.length, type).toBeGreaterThan(0)
      const mine = rules.map(r => Number(/sid:(\d+);/.exec(r)![1]))
      expect(mine[0], type).toBe(defaultSidBase(type))
      sids.push(...mine)
    }
    expect(new Set(sids).size).toBe(sids.length)
    expect(Object.values(DEFAULT_SID_BASES)).toEqual([10_000_000, 20_000_000, 30_000_000, 40_000_000])
  })

  it('a long list comes in chunks of whole lines', async () => {
    const values = Array.from({ length: 20_000 }, (_, i) => `d${i}.chunk.example`)
    const chunks: string[] = []
    for await (const c of blocklistLines({ type: 'domain', format: 'plain', now: NOW }, source({ domain: values }).source)) chunks.push(c)
    expect(chunks.length).toBeGreaterThan(2)
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true)
    expect(body(chunks.join(''))).toEqual(values)
  })

  it('refuses a type the format cannot carry, naming the type, before any line', async () => {
    expect(() => { checkBlocklistType('rpz', 'ipv4') }).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'type' }))
    expect(() => { checkBlocklistType('suricata', 'md5') }).toThrow(expect.objectContaining({ code: 'PX_ERR_VALIDATION', field: 'type' }))
    expect(() => { checkBlocklistType('plain', 'ja3') }).not.toThrow()
    const s = source({ md5: ['d41d8cd98f00b204e9800998ecf8427e'] })
    await expect(text(blocklistLines({ type: 'md5', format: 'rpz', now: NOW }, s.source))).rejects.toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'type' })
    expect(s.asked).toEqual([])
  })
})
