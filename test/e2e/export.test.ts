/**
 * Feeds for other tools over real HTTP: blocklists (plain, RPZ, Suricata; CIDR-aware; live
 * indicators only) and the SSE stream, which a client that reconnects with Last-Event-ID
 * resumes with every indicator exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestNode, type TestNode } from '../utils/node.js'

let t: TestNode
beforeAll(async () => { t = await startTestNode() })
afterAll(async () => { await t?.stop() })

async function publish (indicators: unknown[]): Promise<string[]> {
  const r = await t.api('/v1/indicators', { json: { indicators } })
  expect(r.status, r.text).toBe(201)
  return r.body.ids
}

const lines = (text: string): string[] => text.split('\n').filter(l => l !== '' && !l.startsWith('#'))

describe('GET /v1/export/blocklist', () => {
  beforeAll(async () => {
    const ids = await publish([
      { type: 'ipv4', value: '198.51.100.1', confidence: 90, tags: ['c2'] },
      { type: 'ipv4', value: '198.51.100.2', confidence: 40 },
      { type: 'ipv4', value: '203.0.113.9', confidence: 80 }, // inside the /24 below
      { type: 'cidr', value: '203.0.113.0/24', confidence: 85 },
      { type: 'cidr', value: '2001:db8::/32', confidence: 85 }, // another family
      { type: 'ipv4', value: '192.0.2.77', confidence: 95 }, // revoked below
      { type: 'ipv4', value: '192.0.2.78', confidence: 95, validFrom: '2020-01-01T00:00:00Z', validUntil: '2020-02-01T00:00:00Z' },
      { type: 'domain', value: 'evil[.]example', confidence: 70, tags: ['c2'] },
      { type: 'domain', value: 'phish.example', confidence: 50 },
      { type: 'domain', value: 'red-only.example', confidence: 90, tlp: 'RED' } // private scope
    ])
    const rev = await t.api(`/v1/indicators/${ids[5]}/revoke`, { method: 'POST' })
    expect(rev.status).toBe(200)
  })

  it('plain: live values of one type, networks of the family first, covered addresses left out', async () => {
    const r = await t.api('/v1/export/blocklist?type=ipv4')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(r.text.startsWith('# Phalanx blocklist: ipv4, plain')).toBe(true)
    expect(lines(r.text)).toEqual(['203.0.113.0/24', '198.51.100.1', '198.51.100.2'])
    expect(lines((await t.api('/v1/export/blocklist?type=ipv4&min_confidence=50')).text)).toEqual(['203.0.113.0/24', '198.51.100.1'])
    expect(lines((await t.api('/v1/export/blocklist?type=ipv4&tag=c2')).text)).toEqual(['198.51.100.1'])
    expect(lines((await t.api('/v1/export/blocklist?type=domain')).text).sort()).toEqual(['evil.example', 'phish.example'])
  })

  it('leaves RED out unless asked for by name (include_red)', async () => {
    expect(lines((await t.api('/v1/export/blocklist?type=domain&include_red=true')).text).sort()).toEqual(['evil.example', 'phish.example', 'red-only.example'])
    expect((await t.api('/v1/export/blocklist?type=domain&include_red=maybe')).body.error).toMatchObject({ field: 'include_red' })
  })

  it('rpz and suricata formats', async () => {
    const rpz = await t.api('/v1/export/blocklist?format=rpz&min_confidence=60')
    expect(rpz.status).toBe(200)
    expect(rpz.text).toMatch(/^; Phalanx blocklist \(RPZ\)/)
    expect(rpz.text).toContain('\nevil.example. CNAME .\n*.evil.example. CNAME .\n')
    expect(rpz.text).not.toContain('phish.example')
    const rules = lines((await t.api('/v1/export/blocklist?type=ipv4&format=suricata&sid_base=5000')).text)
    expect(rules).toEqual([
      'alert ip [203.0.113.0/24] any -> $HOME_NET any (msg:"Phalanx blocklist 203.0.113.0/24"; sid:5000; rev:1;)',
      'alert ip [198.51.100.1] any -> $HOME_NET any (msg:"Phalanx blocklist 198.51.100.1"; sid:5001; rev:1;)',
      'alert ip [198.51.100.2] any -> $HOME_NET any (msg:"Phalanx blocklist 198.51.100.2"; sid:5002; rev:1;)'
    ])
    const dns = lines((await t.api('/v1/export/blocklist?type=domain&format=suricata&tag=c2')).text)
    expect(dns).toEqual(['alert dns any any -> any any (msg:"Phalanx blocklist domain evil.example"; dns.query; content:"evil.example"; nocase; endswith; sid:40000000; rev:1;)'])
  })

  it('names the field at fault', async () => {
    for (const [qs, field] of [['', 'type'], ['type=nope', 'type'], ['type=ipv4&format=pdf', 'format'], ['type=md5&format=rpz', 'type'],
      ['type=ipv4&min_confidence=101', 'min_confidence'], ['type=ipv4&sid_base=0', 'sid_base'], ['type=ipv4&colour=red', 'colour']]) {
      const r = await t.api(`/v1/export/blocklist?${qs}`)
      expect(r.status, qs).toBe(400)
      expect(r.body.error, qs).toMatchObject({ code: 'PX_ERR_VALIDATION', field })
    }
    expect((await t.api('/v1/export/blocklist?type=ipv4', { token: null })).status).toBe(401)
  })
})

/** read SSE events from a stream until `count` arrived (then abort) */
async function readEvents (path: string, count: number, headers: Record<string, string> = {}, onOpen?: () => Promise<void>): Promise<Array<{ id: string, data: any }>> {
  const ac = new AbortController()
  const res = await fetch(t.url + path, { headers: { Authorization: `Bearer ${t.token}`, ...headers }, signal: ac.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  const events: Array<{ id: string, data: any }> = []
  let buf = ''
  const timer = setTimeout(() => { ac.abort() }, 15_000)
  let opened = false
  try {
    while (events.length < count) {
      const { value, done } = await reader.read()
      if (done) break
      buf += value
      if (!opened) { opened = true; await onOpen?.() }
      let k: number
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, k)
        buf = buf.slice(k + 2)
        const id = /^id: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (id !== undefined && data !== undefined) events.push({ id, data: JSON.parse(data) })
      }
    }
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return events
}

describe('GET /v1/stream', () => {
  it('sends new indicators as they are stored; a reconnect with Last-Event-ID gets every one exactly once', async () => {
    // a live client sees what is published after it connected (and nothing older)
    const first = await readEvents('/v1/stream?type=domain', 3, {}, async () => {
      await publish([{ type: 'ipv4', value: '10.9.9.1' }, { type: 'domain', value: 's1.stream.example' }])
      await publish([{ type: 'domain', value: 's2.stream.example' }, { type: 'domain', value: 's3.stream.example' }])
    })
    expect(first.map(e => e.data.value)).toEqual(['s1.stream.example', 's2.stream.example', 's3.stream.example'])
    expect(first.map(e => e.id)).toEqual(first.map(e => e.data.cursor))

    // while it is away: 3 more (in 2 publishes) and a revoke
    const away = await publish([{ type: 'domain', value: 's4.stream.example' }, { type: 'domain', value: 's5.stream.example' }])
    await publish([{ type: 'domain', value: 's6.stream.example' }])
    expect((await t.api(`/v1/indicators/${away[0]}/revoke`, { method: 'POST' })).status).toBe(200)
    const resumed = await readEvents('/v1/stream?type=domain', 3, { 'Last-Event-ID': first[2].id })
    // s4 moved to a later cursor when it was revoked: it comes once, after s6, revoked
    expect(resumed.map(e => [e.data.value, e.data.revoked !== undefined])).toEqual([
      ['s5.stream.example', false], ['s6.stream.example', false], ['s4.stream.example', true]
    ])
    // and nothing else was pending: resuming after the last gives the next new one only
    const next = await readEvents(`/v1/stream?type=domain&last_event_id=${resumed[2].id}`, 1, {}, async () => {
      await publish([{ type: 'domain', value: 's7.stream.example' }])
    })
    expect(next.map(e => e.data.value)).toEqual(['s7.stream.example'])
  })

  it('an open stream does not hold up the node\'s stop: it ends', async () => {
    const n = await startTestNode()
    let ended = false
    try {
      const res = await fetch(`${n.url}/v1/stream`, { headers: { Authorization: `Bearer ${n.token}` } })
      expect(res.status).toBe(200)
      const reading = (async () => { for await (const _ of res.body!) { /* drain */ } ended = true })()
      const stopped = await Promise.race([n.node.stop().then(() => true), new Promise(resolve => setTimeout(() => { resolve(false) }, 5000))])
      expect(stopped).toBe(true)
      await reading
      expect(ended).toBe(true)
    } finally {
      await n.stop()
    }
  })

  it('refuses a bad Last-Event-ID or filter, naming it', async () => {
    const bad = await t.api('/v1/stream', { headers: { 'Last-Event-ID': 'yesterday' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'last-event-id' })
    const f = await t.api('/v1/stream?type=nope')
    expect(f.body.error).toMatchObject({ code: 'PX_ERR_VALIDATION', field: 'type' })
    expect((await t.api('/v1/stream', { token: null })).status).toBe(401)
  })
})
