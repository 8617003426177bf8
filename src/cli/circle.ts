/**
 * `phalanx circle …`: create, list, invite, join, add, connect, members, sync, remove, leave,
 * rename-member. Every
 * name and org a node or a peer chose is escaped (`t`) before it reaches the terminal: the
 * fingerprint people compare by phone must stay on its own line.
 */
import type { Command } from 'commander'
import { connect, resolveDataDir } from './client.js'
import type { CliHelpers } from './transfer.js'

/** "REMOVED by admin ABCD-… at …" or "LEFT at …": a circle this node is no longer in */
export function formerCircle (c: { status?: string, removed?: { at: string, byFingerprint: string } }, t: (s: unknown) => string): string {
  if (c.removed === undefined) return t(String(c.status ?? '').toUpperCase())
  return c.status === 'left' ? `LEFT at ${t(c.removed.at)}` : `REMOVED by admin ${t(c.removed.byFingerprint)} at ${t(c.removed.at)}`
}

export function registerCircleCommands (program: Command, { print, globals, t }: CliHelpers): void {
  const circle = program.command('circle').description('trust circles: create, invite, join, members')

  circle.command('create')
    .description('create a circle with you as its first admin')
    .argument('<name>', 'the circle\'s name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ id: string, name: string }>('POST', '/v1/circles', { name })
      print(r, () => `created circle "${t(r.name)}"\n  id: ${t(r.id)}`)
    })

  circle.command('list')
    .description('circles this node is in')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ circles: Array<{ id: string, name: string, role: string | null, members: number, epoch: number, status?: string, removed?: { at: string, byFingerprint: string } }> }>('GET', '/v1/circles')
      print(r, () => r.circles.length === 0
        ? 'in no circle yet'
        : r.circles.map(c => c.status === 'removed' || c.status === 'left'
          ? `${t(c.id)}  ${t(c.name)}  (${formerCircle(c, t)}; what this node stored stays)`
          : `${t(c.id)}  ${t(c.name)}  (${t(c.role)}, ${c.members} member(s), key epoch ${c.epoch})`).join('\n'))
    })

  circle.command('invite')
    .description('make a one-time invite code for another organization')
    .argument('<circle>', 'circle id')
    .option('--expires <duration>', 'validity, e.g. 30m, 24h, 7d', '24h')
    .action(async (id: string, opts: { expires: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ code: string, expires: string }>('POST', `/v1/circles/${encodeURIComponent(id)}/invites`, { expires: opts.expires })
      // the code alone on stdout (CODE=$(phalanx circle invite …) works); what it is on stderr
      print(r, () => { process.stderr.write(`invite code (one use, expires ${r.expires}):\n`); return r.code })
    })

  circle.command('join')
    .description('join a circle with an invite code')
    .argument('<code>', 'the invite code')
    .action(async (code: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ circle: { id: string, name: string }, inviter: { org: string, fingerprint: string, publicKey: string } }>('POST', '/v1/circles/join', { code })
      print(r, () => `joined "${t(r.circle.name)}" (${t(r.circle.id)})\n  invited by: ${t(r.inviter.org)}\n  their fingerprint: ${t(r.inviter.fingerprint)}\ncompare it with them over another channel`)
    })

  circle.command('add')
    .description('add an organization by public key (compare its fingerprint out of band first)')
    .argument('<circle>', 'circle id')
    .argument('<publicKey>', 'the org\'s public key (phalanx id shows it)')
    .option('--org <name>', 'the organization\'s name')
    .option('--role <role>', 'member or admin', 'member')
    .action(async (id: string, key: string, opts: { org?: string, role: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ org: string, fingerprint: string, publicKey: string, role: string }>('POST', `/v1/circles/${encodeURIComponent(id)}/members`, { publicKey: key, role: opts.role, ...(opts.org !== undefined ? { org: opts.org } : {}) })
      print(r, () => `added ${r.org !== '' ? t(r.org) : '(no name)'} as ${t(r.role)}\n  fingerprint: ${t(r.fingerprint)}`)
    })

  circle.command('connect')
    .description('after being added by key: fetch the circle from a member at this address')
    .argument('<circle>', 'circle id')
    .argument('<multiaddr>', 'a member\'s address, ending in /p2p/<peer id> (its phalanx status shows it)')
    .action(async (id: string, addr: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ circle: { id: string, name: string }, peer: { org: string, fingerprint: string } }>('POST', `/v1/circles/${encodeURIComponent(id)}/connect`, { addr })
      print(r, () => `in "${t(r.circle.name)}" (${t(r.circle.id)})\n  via: ${t(r.peer.org)} ${t(r.peer.fingerprint)}`)
    })

  circle.command('members')
    .description('members of a circle: org, fingerprint, role, online')
    .argument('<circle>', 'circle id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ members: Array<{ publicKey: string, org: string, fingerprint: string, role: string, online: boolean, lastSeen: string | null, overQuota?: boolean, quota?: { since: string, dropped: number } | null }> }>('GET', `/v1/circles/${encodeURIComponent(id)}/members`)
      print(r, () => r.members.map(m => `${m.online ? 'online ' : 'offline'}  ${t(m.role).padEnd(6)}  ${t(m.fingerprint)}  ${t(m.org)}${m.online ? '' : `  (last seen ${m.lastSeen !== null ? t(m.lastSeen) : 'never, since this node started'})`}` +
        (m.overQuota === true && m.quota != null ? `  OVER QUOTA since ${t(m.quota.since)} (${m.quota.dropped} entries ignored)` : '')).join('\n'))
    })

  circle.command('sync')
    .description('anti-entropy sync of a circle now: with one member, or every connected member')
    .argument('<circle>', 'circle id')
    .option('--member <key>', 'the member to sync with, by public key or fingerprint')
    .action(async (id: string, opts: { member?: string }, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ circle: string, syncs: Array<{ member: string, outcome: { entries: number, bytes: number, stored: number, forks: number, rejected: number, inSync: boolean, ms: number } | null }> }>('POST', `/v1/circles/${encodeURIComponent(id)}/sync`, opts.member !== undefined ? { member: opts.member } : {})
      print(r, () => r.syncs.length === 0
        ? 'no member of this circle is connected'
        : r.syncs.map(s => s.outcome === null
          ? `${s.member.slice(0, 16)}…  not reachable`
          : `${s.member.slice(0, 16)}…  ${s.outcome.stored} new entries (${s.outcome.entries} received, ${s.outcome.bytes} bytes) in ${s.outcome.ms} ms; ${s.outcome.inSync ? 'in sync' : 'not in sync yet'}${s.outcome.forks > 0 ? `; ${s.outcome.forks} FORK(S)` : ''}${s.outcome.rejected > 0 ? `; ${s.outcome.rejected} refused` : ''}`).join('\n'))
    })

  circle.command('remove')
    .description('remove a member; the circle key rotates so it reads nothing new')
    .argument('<circle>', 'circle id')
    .argument('<member>', 'the member\'s public key or fingerprint (circle members shows it)')
    .action(async (id: string, key: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ removed: string }>('DELETE', `/v1/circles/${encodeURIComponent(id)}/members/${encodeURIComponent(key)}`)
      print(r, () => `removed ${r.removed.slice(0, 16)}…; the circle key was rotated`)
    })

  circle.command('leave')
    .description('leave a circle: your signed leave record tells the others, and an admin rotates the circle key')
    .argument('<circle>', 'circle id or name')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ circle: string, name: string, upTo: number }>('POST', `/v1/circles/${encodeURIComponent(id)}/leave`, {})
      print(r, () => `left "${t(r.name)}" (${t(r.circle)}); what you stored stays${r.upTo > 0 ? `, and your entries up to seq ${r.upTo} still stand for the others` : ''}`)
    })

  circle.command('rename-member')
    .description('record a member\'s organization name anew (admin only): every member then shows it')
    .argument('<circle>', 'circle id or name')
    .argument('<member>', 'the member\'s public key or fingerprint (circle members shows it)')
    .argument('<org>', 'the organization name to show')
    .action(async (id: string, key: string, org: string, _opts: unknown, cmd: Command) => {
      const client = connect(resolveDataDir(globals(cmd).data))
      const r = await client.request<{ org: string, fingerprint: string }>('PATCH', `/v1/circles/${encodeURIComponent(id)}/members/${encodeURIComponent(key)}`, { org })
      print(r, () => `${t(r.fingerprint)} is now "${t(r.org)}" in this circle`)
    })
}
