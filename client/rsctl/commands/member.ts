// member list | add | remove | promote | update, with etcdctl's output. Member ids are
// hexadecimal on the command line and in simple/table output.

import type { Member, MemberListResult } from '../../index.js';
import { expectArgs, flag, UsageError } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import { headerJson, memberJson } from '../etcd-json.js';
import { hex, parseHexId } from '../ids.js';

function printMembersJson(ctx: Context, r: MemberListResult, extra: Record<string, unknown> = {}): void {
  ctx.out.json({ header: headerJson(r.header), ...extra, members: r.members.map(memberJson) });
}

function memberRow(m: Member): string[] {
  return [hex(m.id), m.name === '' ? 'unstarted' : 'started', m.name, m.peerUrls.join(','), m.clientUrls.join(','), String(m.isLearner)];
}

function peerUrls(ctx: Context): string[] {
  const urls = flag.list(ctx.flags, 'peer-urls');
  if (urls.length === 0) throw new UsageError('--peer-urls is required (comma-separated http://host:port)', ctx.command);
  return urls;
}

function idArg(ctx: Context, usage: string): string {
  expectArgs(ctx.args, 1, 1, usage, ctx.command);
  return parseHexId(ctx.args[0] as string, 'the member id', ctx.command);
}

const list: Command = {
  name: 'member list',
  usage: 'rsctl member list [--consistency l|s]',
  summary: 'Lists the members',
  description: 'Simple output: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER (comma-separated).',
  flags: [{ name: 'consistency', type: 'string', arg: 'l|s', default: 's', help: 'l: the leader\'s view (a ReadIndex round), s: the answering member\'s.' }],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const c = flag.str(ctx.flags, 'consistency');
    if (c !== 'l' && c !== 's') throw new UsageError('--consistency must be l or s', this.name);
    const r = await (await ctx.client()).cluster.list({ linearizable: c === 'l' });
    if (ctx.global.writeOut === 'json') return printMembersJson(ctx, r);
    const rows = r.members.map(memberRow);
    if (ctx.global.writeOut === 'table') return ctx.out.table(['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'], rows);
    for (const row of rows) ctx.out.line(row.join(', '));
  },
};

const add: Command = {
  name: 'member add',
  usage: 'rsctl member add <name> --peer-urls <urls> [--learner]',
  summary: 'Adds a member; prints the settings to start it with',
  flags: [
    { name: 'peer-urls', type: 'list', arg: '<urls>', help: 'The new member\'s peer URLs, comma-separated.' },
    { name: 'learner', type: 'boolean', help: 'Add it as a learner (non-voting until promoted).' },
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const name = ctx.args[0] as string;
    const urls = peerUrls(ctx);
    const r = await (await ctx.client()).cluster.add(urls, { learner: flag.bool(ctx.flags, 'learner') });
    if (ctx.global.writeOut === 'json') return printMembersJson(ctx, r, { member: memberJson(r.member) });
    const initial = r.members.flatMap((m) => m.peerUrls.map((u) => `${m.id === r.member.id ? name : m.name}=${u}`));
    ctx.out.line(`Member ${hex(r.member.id)} added to cluster ${hex(r.header.clusterId)}`);
    ctx.out.line();
    ctx.out.line(`ETCD_NAME="${name}"`);
    ctx.out.line(`ETCD_INITIAL_CLUSTER="${initial.join(',')}"`);
    ctx.out.line(`ETCD_INITIAL_ADVERTISE_PEER_URLS="${urls.join(',')}"`);
    ctx.out.line('ETCD_INITIAL_CLUSTER_STATE="existing"');
  },
};

const remove: Command = {
  name: 'member remove',
  usage: 'rsctl member remove <member-id>',
  summary: 'Removes a member',
  flags: [],
  async run(ctx) {
    const id = idArg(ctx, this.usage);
    const r = await (await ctx.client()).cluster.remove(id);
    if (ctx.global.writeOut === 'json') return printMembersJson(ctx, r);
    ctx.out.line(`Member ${hex(id)} removed from cluster ${hex(r.header.clusterId)}`);
  },
};

const promote: Command = {
  name: 'member promote',
  usage: 'rsctl member promote <member-id>',
  summary: 'Promotes a learner to a voting member',
  flags: [],
  async run(ctx) {
    const id = idArg(ctx, this.usage);
    const r = await (await ctx.client()).cluster.promote(id);
    if (ctx.global.writeOut === 'json') return printMembersJson(ctx, r);
    ctx.out.line(`Member ${hex(id)} promoted in cluster ${hex(r.header.clusterId)}`);
  },
};

const update: Command = {
  name: 'member update',
  usage: 'rsctl member update <member-id> --peer-urls <urls>',
  summary: 'Changes a member\'s peer URLs',
  flags: [{ name: 'peer-urls', type: 'list', arg: '<urls>', help: 'The member\'s new peer URLs, comma-separated.' }],
  async run(ctx) {
    const id = idArg(ctx, this.usage);
    const r = await (await ctx.client()).cluster.update(id, peerUrls(ctx));
    if (ctx.global.writeOut === 'json') return printMembersJson(ctx, r);
    ctx.out.line(`Member ${hex(id)} updated in cluster ${hex(r.header.clusterId)}`);
  },
};

export const memberGroup: CommandGroup = {
  name: 'member',
  summary: 'Membership commands: list, add, remove, promote, update',
  commands: [list, add, remove, promote, update],
};
