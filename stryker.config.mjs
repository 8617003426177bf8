// @ts-check
/**
 * Mutation testing of the security rules (StrykerJS 9, Node 20): `npm run test:mutation`.
 * How to run, read and update it: docs/MUTATION.md.
 *
 * Only the rule code is mutated, by line range (`file:start-end`, 1-based, inclusive; a mutant
 * is made only when it lies wholly inside a range). Each range names the text its first line
 * must hold (`at`): when a file moves, this config refuses to start and says where that text
 * is now, so a stale range never silently mutates the wrong lines. To update the scope, edit
 * SCOPE (and check with `npx stryker run --dryRunOnly`).
 */
import { readFileSync } from 'node:fs'

/** @type {Array<{ range: string, at: string, what: string }>} */
const SCOPE = [
  { range: 'src/tlp/labels.ts:1-38', at: '/**', what: 'the whole file: TLP_LEVELS, RANK, isTlp, parseTlp, tlpRank, tlpsUpTo' },
  { range: 'src/tlp/policy.ts:34-238', at: 'export function refuse (', what: 'every TLP decision of DESIGN §2 (policy.ts from refuse to the end)' },
  { range: 'src/operations/entry-policy.ts:17-55', at: 'export function ownEntriesOnlyPolicy', what: 'ownEntriesOnlyPolicy and nodeEntryPolicy: the private scope takes only our own entries; RED only delivered directly, for us, from an org sharing a circle; circles decide the rest' },
  { range: 'src/operations/indicators.ts:64-67', at: '#checkRecipient (', what: '#checkRecipient: a RED recipient is another org sharing a circle' },
  { range: 'src/operations/sightings.ts:46-46', at: 'refuse(publishViolation(tlp, { to: circle === LOCAL_CIRCLE', what: 'a sighting follows its label\'s routes: RED never to a circle' },
  { range: 'src/operations/indicators.ts:84-100', at: 'reshareViolation (type: string', what: 'reshareViolation: the held records of other origins handed to the policy (pass-on rules)' },
  { range: 'src/operations/indicators.ts:130-130', at: 'refuse(publishViolation(p.tlp, { to: \'recipients\'', what: 'publish: RED to recipients only, no circle with "to"' },
  { range: 'src/operations/indicators.ts:134-140', at: 'const denied = publishViolation(p.tlp, { to: circle === LOCAL_CIRCLE', what: 'publish: no RED into a circle (an import skips the row, anything else is refused)' },
  { range: 'src/operations/indicators.ts:246-246', at: 'const res = await this.#c.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), ind.tlp)', what: 'revoke: to every log of the record\'s reach' },
  { range: 'src/operations/indicators.ts:258-258', at: 'refuse(relabelViolation(ind.tlp, tlp))', what: 'relabel: only loosens' },
  { range: 'src/operations/indicators.ts:260-260', at: 'const res = await this.#c.ingest.publish(reachOf(ind).map(log => ({ circle: log, tlp: entryLabelFor(logKindOf(log), tlp)', what: 'relabel: to every log of the reach' },
  { range: 'src/operations/indicators.ts:275-275', at: 'refuse(reshareViolation(ind.tlp))', what: 'reshare by id: CLEAR and GREEN only' },
  { range: 'src/operations/indicators.ts:337-339', at: 'function logKindOf (log: string)', what: 'logKindOf: recipient log / private scope / circle' },
  { range: 'src/store/ingest/derive.ts:145-146', at: 'const reach = reachWith(prev, entry.circle)', what: 'an older version still widens the reach' },
  { range: 'src/store/ingest/derive.ts:171-172', at: 'const reach = reachWith(prev, entry.circle) ?? prev.reach', what: 'a new version keeps and widens the reach' },
  { range: 'src/store/ingest/derive.ts:282-287', at: 'if (prev === undefined || prev.origin !== entry.origin) {', what: 'applyRelabel: only the origin, only when it loosens' },
  { range: 'src/p2p/connections.ts:80-80', at: 'const allowed = (peer', what: 'gater(): the `allowed` closure (member and not blocked)' },
  { range: 'src/p2p/connections.ts:82-85', at: 'denyDialPeer:', what: 'gater(): denyDialPeer / denyInboundEncryptedConnection / denyOutboundEncryptedConnection' },
  { range: 'src/p2p/gossip/validator.ts:154-189', at: 'let env', what: 'GossipValidator.validate: gossip checks before ingest (decode, sealed/clear and circle key, JSON, batch size, entry shape, circle of the topic, "sent in the clear", the membership and label pre-check)' },
  { range: 'src/p2p/gossip/validator.ts:277-279', at: 'if (r.status !== \'stored\') return ignore(\'duplicate\'', what: 'judge: a later-version entry is ignored (not relayed), a stored one accepted' },
  { range: 'src/p2p/connections.ts:90-94', at: 'refreshAllowed ()', what: 'refreshAllowed: the connection allow list from the circles' },
  { range: 'src/p2p/protocols/authorize.ts:9-15', at: 'export function circleForMember (', what: 'circleForMember: both ends current members of the circle (entries, control, sync)' },
  { range: 'src/p2p/protocols/red.ts:46-68', at: 'export function checkRedRoute (', what: 'checkRedRoute and redHandler: sealed by the peer to us, RED origin is the peer, recipient log is ours' },
  { range: 'src/circles/manager.ts:95-97', at: 'mine (): CircleState[]', what: 'CircleManager.mine: circles this node is a current member of' },
  { range: 'src/circles/manager.ts:118-123', at: 'peerKeys (): Set<string>', what: 'CircleManager.peerKeys: the connection allow list (current members, not us)' },
  { range: 'src/circles/manager.ts:126-148', at: 'check (entry: Entry, source: string, unreadable', what: 'CircleManager.check: entry policy for shared circles (genesis asked for, labels, members; unreadable entries: member and label only)' },
  { range: 'src/circles/manager.ts:177-194', at: 'circleKey (circle: string, epoch', what: 'CircleManager.circleKey: the circle key of an epoch, only as sealed to this node' },
  { range: 'src/operations/circle-admin.ts:64-75', at: 'async removeMember (', what: 'CircleAdmin.removeMember: remove + key rotation sealed to every remaining member' },
  { range: 'src/circles/state.ts:15-22', at: 'export function membershipLogOf', what: 'membership log <-> circle mapping (used by every circle-of-topic / circle-of-log check)' },
  { range: 'src/circles/state.ts:56-217', at: 'export function isCurrentMember', what: 'membership fold: isCurrentMember, isAdmin, currentMembers, cloneState, notMember, applyControlEntry, checkDataEntry; the gossip pre-check originViolation, admissionViolation' },
  { range: 'src/api/read-tokens.ts:59-61', at: 'const maxTlp = body.maxTlp', what: 'ReadTokens.create: maxTlp parsed, default AMBER, never RED (tokenCeilingViolation)' },
  { range: 'src/api/read-tokens.ts:64-67', at: 'const collections = [...new Set(', what: 'ReadTokens.create: collections only of circles this node is in (or local)' },
  { range: 'src/api/read-tokens.ts:84-88', at: 'match (token: string)', what: 'ReadTokens.match: prefix and constant-time hash match' },
  { range: 'src/api/server.ts:160-167', at: 'if (m !== null && taxii && !tokenMatches', what: 'onRequest: a read token (TAXII only) sets the request\'s collections and maxTlp (default AMBER)' },
  { range: 'src/api/routes/taxii.ts:75-75', at: 'return { scope: req.taxiiScope, maxTlp: req.taxiiMaxTlp }', what: 'callerOf: a read token\'s collections and cap (API token: neither)' },
  { range: 'src/operations/taxii.ts:113-113', at: '.filter(c => scope === undefined', what: 'Taxii.collections: only the read token\'s collections' },
  { range: 'src/operations/taxii.ts:118-119', at: 'const c = this.collections(caller).find', what: 'Taxii.collection: another collection is "not found"' },
  { range: 'src/operations/taxii.ts:125-125', at: 'return caller.scope === undefined', what: 'Taxii.mayAdd: a read token never adds objects' },
  { range: 'src/operations/taxii.ts:131-131', at: 'if (!this.mayAdd(caller))', what: 'Taxii.addTarget: a read token is refused (before the body is read)' },
  { range: 'src/operations/taxii.ts:169-169', at: 'if (!withinCeiling(ind.tlp, maxTlp))', what: 'Taxii page/take: objects stricter than the cap are left out (withinCeiling, src/tlp/policy.ts)' },
  { range: 'src/operations/taxii.ts:271-271', at: 'if (circle !== LOCAL_CIRCLE && !mayEnterCircle(p.tlp))', what: 'Taxii.add: no RED into a circle\'s collection' },
  { range: 'src/operations/export.ts:74-75', at: 'const tlps = bulkExportLabels(', what: 'export: RED left out of bulk exports unless asked for' },
  { range: 'src/p2p/sync.ts:278-278', at: '?.circle !== circle) { out.rejected++', what: 'client #ingestBatch: an entry of another circle in the reply is refused' },
  { range: 'src/p2p/sync.ts:327-327', at: 'if (key === null) throw new PhalanxError(\'PX_ERR_PEER\'', what: 'serve: the peer key is an Ed25519 org key' },
  { range: 'src/p2p/sync.ts:332-332', at: 'circle = this.#c.authorize(req?.circle, key)', what: 'serve: the authorization call (#circleForMember)' }
]

/** refuse to start on a range whose first line no longer holds its text */
function checkScope () {
  const problems = []
  for (const { range, at } of SCOPE) {
    const m = /^(.+):(\d+)-(\d+)$/.exec(range)
    if (m === null) { problems.push(`${range}: not file:start-end`); continue }
    const [, file, start, end] = m
    const lines = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n')
    if (Number(end) > lines.length) problems.push(`${range}: the file has ${lines.length} lines`)
    if (!lines[Number(start) - 1]?.includes(at)) {
      const now = lines.flatMap((l, i) => l.includes(at) ? [i + 1] : [])
      problems.push(`${range}: line ${start} does not hold "${at}" (${now.length > 0 ? `it is at line ${now.join(', ')}` : 'not found in the file'})`)
    }
  }
  if (problems.length > 0) throw new Error(`stryker.config.mjs: the mutation scope is out of date; update SCOPE:\n  ${problems.join('\n  ')}`)
}
checkScope()

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner', './stryker/ignorers.mjs'],
  // logger calls and message text inside the ranges are not rules (see stryker/ignorers.mjs)
  ignorers: ['phalanx-noise'],
  mutate: SCOPE.map(s => s.range),
  // the vitest runner collects per-test coverage with vitest 4 (stryker-setup hooks): each
  // mutant runs only the tests that reached it
  coverageAnalysis: 'perTest',
  // 2 cores: two test-runner processes (each runs its tests one file at a time)
  concurrency: 2,
  // tests start real libp2p nodes and wait for gossip: a mutant is a timeout only well past
  // the time its tests took in the initial run
  timeoutFactor: 3,
  timeoutMS: 30_000,
  dryRunTimeoutMinutes: 20,
  // not copied to the sandbox: build output, data and bench dirs (nothing in the mutation tests reads them)
  ignorePatterns: ['/dist', '/data', '/.bench', '/docs', '/*.log'], // (not test/fixtures/store-v2/*.log: a LevelDB log)
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportTests: false },
  tempDirName: '.stryker-tmp'
}
