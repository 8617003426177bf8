/**
 * The quota flood benchmark (part of `npm run bench`; alone: `BENCH_ONLY=quota npm run bench`
 * or `node dist/scripts/quota.js`). Issue 13, part 2: a member floods at its maximum while
 * autocannon runs lookups against the victim.
 *
 *   victim   a node in a child process (`npm start`'s 256 MiB heap), default configuration,
 *            holding QUOTA_STORE indicators (half of the lookups hit them)
 *   flooder  a member that joined the victim's circle by an invite: a raw libp2p peer in this
 *            process with the node's own stack, signing full bulk entries (620 records,
 *            ~62 KB, just under the 64 KiB limit) of its log as fast as it can and gossiping
 *            each to the victim
 *   phases   a baseline: the same lookups with no flood (this run's machine speed); the
 *            burst: what the flooder's quota lets through at once (a bulk publish's worth)
 *            is ingested at full speed, as a local import would be, until the victim shows the
 *            flooder over quota and has written what it took (lookup figures under `burst`); then the steady flood, the
 *            member flooding at its maximum past its quota, for QUOTA_SECONDS
 *   figures  lookup req/s, p50 and p99 in the steady flood (target ≤ 50 ms); the victim's peak
 *            RSS (target ≤ 500 MB); what was offered, what the victim stored and dropped,
 *            whether it shows the flooder as over quota
 *
 * Bounded: the burst phase at most BURST_MAX_SECONDS, the steady one QUOTA_SECONDS
 * (BENCH_QUOTA_SECONDS, default 20), the flood at most MAX_FLOOD_ENTRIES entries; every wait
 * has a deadline.
 */
import '../src/polyfill.js'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { OrgKey, libp2pPrivateKeyFromSeed } from '../src/identity/index.js'
import { canonicalJson, ENTRY_VERSION, signEntry, type Entry, type Item } from '../src/records/index.js'
import { parseInvite } from '../src/circles/index.js'
import { encodeEnvelope, peerIdOfKey, topicOf, JOIN_PROTOCOL } from '../src/p2p/index.js'
import { entryHash } from '../src/records/index.js'
import { api, startChild, untilTrue, type Child } from './propagation.js'

const say = (msg: string): void => { process.stderr.write(`[quota] ${msg}\n`) }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const SECONDS = Number(process.env.BENCH_QUOTA_SECONDS ?? '20')
/** the no-flood baseline lasts this long (s) */
const BASELINE_SECONDS = 10
/** the burst phase lasts at most this long (s) */
const BURST_MAX_SECONDS = 60
/** at most this many entries offered, whatever the time (memory of the bench, not the victim) */
const MAX_FLOOD_ENTRIES = 100_000

type Pubsub = GossipSub & { publish: (topic: string, data: Uint8Array, opts?: { ignoreDuplicatePublishError?: boolean }) => Promise<unknown> }

/** a member that signs whatever it is told to and gossips it: the flooder */
async function startFlooder (): Promise<{ key: OrgKey, p2p: Libp2p<{ pubsub: GossipSub, identify: unknown }> }> {
  const seed = randomBytes(32)
  const p2p = await createLibp2p({
    privateKey: await libp2pPrivateKeyFromSeed(seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', msgIdFn: (m) => createHash('sha256').update(m.data).digest(), allowPublishToZeroTopicPeers: true, emitSelf: false, floodPublish: true })
    }
  }) as unknown as Libp2p<{ pubsub: GossipSub, identify: unknown }>
  return { key: OrgKey.fromSeed(seed), p2p }
}

/** redeem an invite as a node would (one join request) */
async function join (p2p: Libp2p<any>, code: string): Promise<void> {
  const invite = parseInvite(code)
  const signal = AbortSignal.timeout(15_000)
  const stream = await p2p.dialProtocol(multiaddr(`${invite.addrs[0]}/p2p/${peerIdOfKey(invite.inviter)}`), JOIN_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: 8 * 1024 * 1024 })
  await lp.write(Buffer.from(JSON.stringify({ circle: invite.circle, secret: invite.secret, org: 'Flooder' })), { signal })
  const reply = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'))
  await stream.close().catch(() => {})
  if (reply.error !== undefined) throw new Error(`join refused: ${String(reply.error.message)}`)
}

/** records in a flooded entry: as many short domain indicators as fit a full entry (< 64 KiB) */
const FLOOD_RECORDS = 620

/** a full bulk entry of short domain indicators (~62 KB canonical) */
function bulkItems (n: number): Item[] {
  return Array.from({ length: FLOOD_RECORDS }, (_, i) => ({ kind: 'indicator', type: 'domain', value: `f${n}-${i}.flood.example`, confidence: 50, tags: [] }) as Item)
}

function peakRssMb (pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? -1 : Math.round(Number(m[1]) / 1024)
}

export async function benchQuotaFlood (storeSize: number): Promise<Record<string, unknown>> {
  const victim: Child = await startChild(0)
  const flooder = await startFlooder()
  let flooding = true
  try {
    const circle = (await api<{ id: string }>(victim, '/v1/circles', { name: 'quota' })).id
    say(`filling the victim with ${storeSize} indicators…`)
    const values: string[] = []
    for (let i = 0; i < storeSize; i += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, storeSize - i) }, (_, k) => ({ type: 'domain', value: `v${i + k}.victim.example`, confidence: 50 }))
      values.push(...chunk.filter((_, k) => k % 50 === 0).map(c => c.value))
      await api(victim, '/v1/indicators', { indicators: chunk, tlp: 'GREEN', circle })
    }
    const { code } = await api<{ code: string }>(victim, `/v1/circles/${circle}/invites`, { expires: '1h' })
    await join(flooder.p2p, code)
    const status = await api<{ peerId: string, publicKey: string, multiaddrs: string[] }>(victim, '/v1/status')
    await flooder.p2p.dial(multiaddr(`${status.multiaddrs.find(a => a.includes('127.0.0.1')) ?? status.multiaddrs[0]}/p2p/${status.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const pubsub = flooder.p2p.services.pubsub as Pubsub
    const topic = topicOf(circle)
    pubsub.topicValidators.set(topic, () => TopicValidatorResult.Ignore)
    pubsub.subscribe(topic)
    await untilTrue('the flooder to see the victim on the topic', async () => pubsub.getSubscribers(topic).some(p => p.toString() === status.peerId), 15_000)
    await sleep(1500)

    const paths: string[] = []
    for (let i = 0; i < 2000; i++) {
      paths.push(`/v1/lookup?value=${encodeURIComponent(values[(i * 7919) % values.length])}`)
      paths.push(`/v1/lookup?value=${encodeURIComponent(`miss${i}.nowhere.example`)}`)
    }
    let k = 0
    const probe = signEntry({ v: ENTRY_VERSION, circle, origin: flooder.key.publicKeyHex, seq: MAX_FLOOD_ENTRIES, prev: 'ab'.repeat(32), tlp: 'CLEAR', created: new Date().toISOString(), items: bulkItems(MAX_FLOOD_ENTRIES) }, flooder.key)
    if (canonicalJson(probe).length >= 64 * 1024) throw new Error('a flooded entry is over the 64 KiB limit')
    // the flood: entries in log order, as fast as this process signs and sends them
    let offered = 0
    let prev: string | null = null
    const startFlood = async (): Promise<void> => {
      const deadline = Date.now() + (SECONDS + BURST_MAX_SECONDS + 10) * 1000
      while (flooding && offered < MAX_FLOOD_ENTRIES && Date.now() < deadline) {
        const e: Entry = signEntry({ v: ENTRY_VERSION, circle, origin: flooder.key.publicKeyHex, seq: offered + 1, prev, tlp: 'CLEAR', created: new Date().toISOString(), items: bulkItems(offered) }, flooder.key)
        prev = entryHash(e)
        offered++
        await pubsub.publish(topic, encodeEnvelope(canonicalJson(e), prev, null), { ignoreDuplicatePublishError: true })
        // one macrotask turn per entry: the flooder's own queues drain (its memory, not the victim's)
        await new Promise(resolve => setImmediate(resolve))
      }
    }
    let flood: Promise<void> = Promise.resolve()
    /** lookups under load until stopped or `seconds` passed */
    const load = (seconds: number): { done: Promise<autocannon.Result>, stop: () => void } => {
      let inst: { stop: () => void } | undefined
      const done = new Promise<autocannon.Result>((resolve, reject) => {
        inst = autocannon({
          url: victim.apiUrl,
          connections: 16,
          pipelining: 1,
          duration: seconds,
          headers: { authorization: `Bearer ${victim.token}` },
          requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: paths[k++ % paths.length] }) }]
        }, (err: unknown, r: autocannon.Result) => { err != null ? reject(err) : resolve(r) }) as unknown as { stop: () => void }
      })
      return { done, stop: () => { inst?.stop() } }
    }
    type Status = { overQuota: Array<{ origin: string, dropped: number }>, gossipDrops: unknown, counts: { entries: number }, ingestQueue: number }
    const over = (st: Status): boolean => st.overQuota.some(o => o.origin === flooder.key.publicKeyHex)
    // phase 0, the baseline: the same lookups with no flood (the machine's speed this run)
    say(`baseline: autocannon ${BASELINE_SECONDS}s on /v1/lookup, no flood…`)
    const baseline = await load(BASELINE_SECONDS).done
    const entriesBefore = (await api<Status>(victim, '/v1/status')).counts.entries
    // phase 1, the burst: what the quota lets through at once is ingested at full speed (as a
    // local import would be), until the victim shows the flooder over quota and has written it
    say(`flood; lookups until the flooder is over quota (at most ${BURST_MAX_SECONDS}s)…`)
    const t0 = Date.now()
    flood = startFlood()
    const burst = load(BURST_MAX_SECONDS)
    let overAt: number | null = null
    while (Date.now() - t0 < BURST_MAX_SECONDS * 1000) {
      await sleep(500)
      const st = await api<Status>(victim, '/v1/status')
      if (overAt === null && over(st)) overAt = Date.now()
      // the burst ends when the flooder is over quota and what its quota let through is written
      if (overAt !== null && st.ingestQueue === 0) break
    }
    burst.stop()
    const burstResult = await burst.done
    // phase 2, the steady flood: the member floods at its maximum, past its quota
    say(`steady flood and autocannon ${SECONDS}s on /v1/lookup…`)
    const t1 = Date.now()
    const offeredBefore = offered
    const steady = await load(SECONDS).done
    const steadySeconds = (Date.now() - t1) / 1000
    const during = await api<Status>(victim, '/v1/status')
    // entries stored since the flood began (a dropped entry leaves a gap: the ones after it are stored ahead of it)
    const flooderEntries = during.counts.entries - entriesBefore
    flooding = false
    await flood
    const figures = {
      seconds: SECONDS,
      storeIndicators: storeSize,
      lookupReqPerSec: Math.round(steady.requests.average),
      lookupP50ms: steady.latency.p50,
      lookupP99ms: steady.latency.p99,
      lookupErrors: steady.errors + steady.non2xx + burstResult.errors + burstResult.non2xx + baseline.errors + baseline.non2xx,
      baseline: { lookupReqPerSec: Math.round(baseline.requests.average), lookupP50ms: baseline.latency.p50, lookupP99ms: baseline.latency.p99 },
      burst: {
        secondsToOverQuota: overAt === null ? null : Number(((overAt - t0) / 1000).toFixed(1)),
        seconds: Number(((t1 - t0) / 1000).toFixed(1)),
        lookupReqPerSec: Math.round(burstResult.requests.average),
        lookupP50ms: burstResult.latency.p50,
        lookupP99ms: burstResult.latency.p99
      },
      victimPeakRssMb: peakRssMb(victim.proc.pid!),
      floodEntriesOffered: offered,
      floodEntriesPerSecSteady: Math.round((offered - offeredBefore) / steadySeconds),
      floodEntriesStored: flooderEntries,
      floodRecordsStored: flooderEntries * FLOOD_RECORDS,
      flooderOverQuota: over(during),
      flooderDropped: during.overQuota.find(o => o.origin === flooder.key.publicKeyHex)?.dropped ?? 0,
      gossipDrops: during.gossipDrops
    }
    return { ...figures, targets: { lookupP99Under50ms: figures.lookupP99ms <= 50, victimRssUnder500mb: figures.victimPeakRssMb <= 500 } }
  } finally {
    flooding = false
    try { await flooder.p2p.stop() } catch { /* stopping anyway */ }
    victim.proc.kill('SIGTERM')
    await Promise.race([new Promise(resolve => victim.proc.once('exit', resolve)), sleep(15_000)])
    rmSync(victim.dataDir, { recursive: true, force: true })
  }
}

// alone: node dist/scripts/quota.js
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchQuotaFlood(Number(process.env.BENCH_QUOTA_STORE ?? '100000'))
    .then(r => { process.stdout.write(JSON.stringify({ quotaFlood: r }, null, 2) + '\n') })
    .catch((err) => { process.stderr.write(`quota bench failed: ${(err as Error).stack ?? String(err)}\n`); process.exitCode = 1 })
}
