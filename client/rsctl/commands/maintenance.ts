// compact, snapshot save, move-leader.

import { expectArgs, flag, parseIntArg } from '../args.js';
import type { Command, CommandGroup } from '../command.js';
import { headerJson } from '../etcd-json.js';
import { hex, parseHexId } from '../ids.js';

const compact: Command = {
  name: 'compact',
  usage: 'rsctl compact <revision> [--physical]',
  summary: 'Drops the history below <revision>',
  description: 'Reads and watches at a revision below it fail afterwards with "required revision has been compacted".',
  flags: [{ name: 'physical', type: 'boolean', help: 'Wait until the space is reclaimed.' }],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const rev = parseIntArg(ctx.args[0] as string, 'the revision', 1);
    const h = await (await ctx.client()).kv.compact(rev, { physical: flag.bool(ctx.flags, 'physical') });
    if (ctx.global.writeOut === 'json') return ctx.out.json({ header: headerJson(h) });
    ctx.out.line(`compacted revision ${rev}`);
  },
};

const snapshotSave: Command = {
  name: 'snapshot save',
  usage: 'rsctl snapshot save <file>',
  summary: 'Saves a consistent copy of the leader\'s store to <file>',
  description: [
    'The file is written as <file>.part and renamed once complete. It is etcd\'s snapshot format (a bbolt',
    'database and its SHA-256), so `etcdctl snapshot status/restore` and `regionstore snapshot restore` read it.',
    'Not bounded by --command-timeout: a large store takes a while.',
  ].join('\n'),
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const path = ctx.args[0] as string;
    const client = await ctx.client();
    const leader = await client.findLeader();
    const bytes = await client.maintenance.snapshotToFile(path, { ...(leader === undefined ? {} : { endpoint: leader }), signal: ctx.signal });
    if (ctx.global.writeOut === 'json') return ctx.out.json({ path, size: bytes, endpoint: leader ?? null });
    ctx.out.line(`Snapshot saved at ${path}`);
    ctx.out.note(`${bytes} bytes from ${leader ?? 'a member'}`);
  },
};

const moveLeader: Command = {
  name: 'move-leader',
  usage: 'rsctl move-leader <transferee-member-id>',
  summary: 'Transfers leadership to another member (hex id, from member list)',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const target = parseHexId(ctx.args[0] as string, 'the transferee member id', this.name);
    const client = await ctx.client();
    const before = (await client.maintenance.statusAll()).find((s) => 'status' in s && s.status.isLeader);
    const h = await client.maintenance.moveLeader(target);
    if (ctx.global.writeOut === 'json') return ctx.out.json({ header: headerJson(h) });
    const from = before !== undefined && 'status' in before ? hex(before.status.memberId) : 'the leader';
    ctx.out.line(`Leadership transferred from ${from} to ${hex(target)}`);
  },
};

export const maintenanceCommands: Command[] = [compact, moveLeader];
export const snapshotGroup: CommandGroup = { name: 'snapshot', summary: 'Snapshot commands: save', commands: [snapshotSave] };
