// The keyed CRDT types of eventual namespaces (regionstore.v1.Crdt): lww put|get|del,
// mv get|put, counter add|get, set add|remove|members, and per namespace conflicts,
// superseded and crdt hash. Keys are full etcd keys: the namespace is the one owning the
// key. Writes print OK (simple) or their dots (json, table); reads take --consistency and
// --read as `rsctl get` does. See crdt-output.ts for the formats.

import type { Client, CrdtOpWriteResult, CrdtReadOptions } from '../../index.js';
import { FROM_KEY, prefixEnd } from '../../index.js';
import { expectArgs, flag, parseIntArg, UsageError, type FlagSpec } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import {
  conflictsJson, counterJson, dotText, hashJson, hlcText, lwwEntryJson, answerJson, mvJson, setJson, supersededJson, supersededLine,
  supersededRow, SUPERSEDED_HEADERS, vectorText, writeJson,
} from '../crdt-output.js';
import { ExitCode } from '../exit.js';
import { readAll, readOptionsOf, serializableOf } from './kv.js';

export const READ_FLAGS: FlagSpec[] = [
  { name: 'consistency', type: 'string', arg: 'l|s', default: 'l', help: 'l: linearizable (the merged state as of a ReadIndex round), s: serializable (the member\'s copy).' },
  { name: 'read', type: 'string', arg: 'linearizable|serializable|bounded:<ms>|session', help: 'Read level (overrides --consistency).' },
  { name: 'min-revision', type: 'int', arg: '<revision>', help: 'With --read session: the lowest revision to accept.' },
];

/** --consistency, --read, --min-revision as the client's read options (read before ctx.client(): a usage error needs no cluster). */
export function crdtReadOptions(ctx: Context): CrdtReadOptions {
  return { ...readOptionsOf(ctx.flags, ctx.command), serializable: serializableOf(ctx.flags, ctx.command) };
}

/** A write's answer: OK, or the op's dot and HLC with the revision and vector. */
export function printWrite(ctx: Context, r: CrdtOpWriteResult): void {
  if (ctx.global.writeOut === 'json') return ctx.out.json(writeJson(r));
  if (ctx.global.writeOut === 'table') return ctx.out.table(['DOT', 'HLC', 'REVISION', 'VECTOR'], [[dotText(r.dot), hlcText(r.hlc), String(r.revision), vectorText(r.vector)]]);
  ctx.out.line('OK');
}

/** Sends the write; checks its arguments before it asks for the client (a usage error needs no cluster). */
type Send = (client: () => Promise<Client>, args: string[], ctx: Context) => Promise<CrdtOpWriteResult>;

/** A one-op write command taking `args` [min, max] positional arguments. */
function keyWrite(name: string, usage: string, summary: string, args: [number, number], send: Send, flags: FlagSpec[] = [], description?: string): Command {
  return {
    name, usage, summary, flags, ...(description === undefined ? {} : { description }),
    async run(ctx) {
      expectArgs(ctx.args, args[0], args[1], this.usage, this.name);
      printWrite(ctx, await send(() => ctx.client(), ctx.args, ctx));
    },
  };
}

/** The value argument, or all of stdin when it is absent (as `rsctl put`). */
async function valueArg(ctx: Context, i: number): Promise<string | Buffer> {
  return ctx.args[i] ?? (await readAll(ctx.stdin));
}

// ---- lww ----

const lwwGet: Command = {
  name: 'lww get',
  usage: 'rsctl lww get <key> [range_end] [flags]',
  summary: 'Gets an lww key or range: the value, its HLC and writer',
  description: 'Without --limit every key of the range is fetched, page by page. Simple output is the key and value lines, as `rsctl get`.',
  flags: [
    { name: 'prefix', type: 'boolean', help: 'Every key with <key> as a prefix.' },
    { name: 'from-key', type: 'boolean', help: 'Every key >= <key>.' },
    { name: 'limit', type: 'int', arg: '<n>', help: 'One answer of at most this many keys.' },
    { name: 'print-value-only', type: 'boolean', help: 'Values without keys (simple output).' },
    ...READ_FLAGS,
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 2, this.usage, this.name);
    const f = ctx.flags;
    const [key, given] = ctx.args as [string, string | undefined];
    if ([flag.bool(f, 'prefix'), flag.bool(f, 'from-key'), given !== undefined].filter(Boolean).length > 1) {
      throw new UsageError('give at most one of [range_end], --prefix and --from-key', this.name);
    }
    const rangeEnd = flag.bool(f, 'prefix') ? prefixEnd(key) : flag.bool(f, 'from-key') ? FROM_KEY : given;
    const limit = flag.int(f, 'limit');
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.lwwRange(key, rangeEnd, { ...readOpts, ...(limit === undefined ? { all: true } : { limit }) });
    if (ctx.global.writeOut === 'json') return ctx.out.json({ ...answerJson(r), entries: r.entries.map(lwwEntryJson), more: r.more });
    if (ctx.global.writeOut === 'table') {
      return ctx.out.table(['KEY', 'VALUE', 'HLC', 'WRITER'], r.entries.map((e) => [e.key.toString(), e.value.toString(), hlcText(e.hlc), dotText(e.writer)]));
    }
    for (const e of r.entries) {
      if (!flag.bool(f, 'print-value-only')) ctx.out.bytesLine(e.key);
      ctx.out.bytesLine(e.value);
    }
  },
};

const lwwGroup: CommandGroup = {
  name: 'lww',
  summary: 'Last-writer-wins keys of an eventual lww namespace',
  commands: [
    keyWrite('lww put', 'rsctl lww put <key> [value]', 'Puts an lww key (the latest HLC wins everywhere)', [1, 2], async (c, a, ctx) => {
      const value = await valueArg(ctx, 1);
      return (await c()).crdt.lwwPut(a[0]!, value);
    },
      [], 'Without [value], the value is read from stdin (all of it, as bytes).'),
    lwwGet,
    keyWrite('lww del', 'rsctl lww del <key>', 'Deletes an lww key (a tombstone that wins over older puts)', [1, 1], async (c, a) => (await c()).crdt.lwwDelete(a[0]!)),
  ],
};

// ---- mv ----

const mvGet: Command = {
  name: 'mv get',
  usage: 'rsctl mv get <key> [flags]',
  summary: 'Gets an mv key: its sibling values and the context token for the next put',
  description: 'Simple output: one line per sibling value, then "context: <token>" (give it to `rsctl mv put --context` to replace these siblings).',
  flags: READ_FLAGS,
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.mvGet(ctx.args[0]!, readOpts);
    if (ctx.global.writeOut === 'json') return ctx.out.json(mvJson(r));
    if (ctx.global.writeOut === 'table') {
      ctx.out.table(['VALUE', 'DOT'], r.values.map((v, i) => [v.toString(), dotText(r.dots[i])]));
    } else {
      for (const v of r.values) ctx.out.bytesLine(v);
    }
    if (r.context !== '') ctx.out.line(`context: ${r.context}`);
  },
};

const mvGroup: CommandGroup = {
  name: 'mv',
  summary: 'Multi-value keys of an eventual mv namespace (concurrent writes are kept as siblings)',
  commands: [
    mvGet,
    keyWrite('mv put', 'rsctl mv put <key> [value] [--context TOKEN]', 'Puts a value of an mv key, replacing the siblings its context saw', [1, 2],
      async (c, a, ctx) => {
        const value = await valueArg(ctx, 1);
        return (await c()).crdt.mvPut(a[0]!, value, flag.str(ctx.flags, 'context'));
      },
      [{ name: 'context', type: 'string', arg: '<token>', help: 'The token `rsctl mv get` printed (absent: the value becomes one more sibling).' }],
      'Without [value], the value is read from stdin.'),
  ],
};

// ---- counter ----

const counterGet: Command = {
  name: 'counter get',
  usage: 'rsctl counter get <key> [flags]',
  summary: 'Gets a counter (0 when never written)',
  description: 'Simple output is the value; json and table add the sums of increments (p) and decrements (n).',
  flags: READ_FLAGS,
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.counterGet(ctx.args[0]!, readOpts);
    if (ctx.global.writeOut === 'json') return ctx.out.json(counterJson(r));
    if (ctx.global.writeOut === 'table') return ctx.out.table(['KEY', 'VALUE', 'P', 'N'], [[r.key.toString(), String(r.value), String(r.p), String(r.n)]]);
    ctx.out.line(String(r.value));
  },
};

const counterGroup: CommandGroup = {
  name: 'counter',
  summary: 'Counters of an eventual counter namespace',
  commands: [
    keyWrite('counter add', 'rsctl counter add <key> <delta>', 'Adds a whole number (negative subtracts) to a counter', [2, 2],
      async (c, a) => {
        const delta = parseIntArg(a[1]!, '<delta>', Number.MIN_SAFE_INTEGER);
        return (await c()).crdt.counterAdd(a[0]!, delta);
      }, [],
      'A negative <delta> may be written as is (rsctl counter add hits -3).'),
    counterGet,
  ],
};

// ---- set ----

const setMembers: Command = {
  name: 'set members',
  usage: 'rsctl set members <key> [flags]',
  summary: 'Lists the members of a set, one per line',
  flags: READ_FLAGS,
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.setMembers(ctx.args[0]!, readOpts);
    if (ctx.global.writeOut === 'json') return ctx.out.json(setJson(r));
    if (ctx.global.writeOut === 'table') return ctx.out.table(['MEMBER'], r.members.map((m) => [m.toString()]));
    for (const m of r.members) ctx.out.bytesLine(m);
  },
};

const setGroup: CommandGroup = {
  name: 'set',
  summary: 'Sets of an eventual set namespace (add wins over a concurrent remove)',
  commands: [
    keyWrite('set add', 'rsctl set add <key> <member>', 'Adds a member to a set', [2, 2], async (c, a) => (await c()).crdt.setAdd(a[0]!, a[1]!)),
    keyWrite('set remove', 'rsctl set remove <key> <member>', 'Removes a member (the adds of it observed so far)', [2, 2], async (c, a) => (await c()).crdt.setRemove(a[0]!, a[1]!)),
    setMembers,
  ],
};

// ---- per namespace ----

const conflicts: Command = {
  name: 'conflicts',
  usage: 'rsctl conflicts <namespace> [--limit N] [flags]',
  summary: 'Lists the keys of an mv namespace that hold more than one sibling',
  description: 'Without --limit every page is fetched. Simple output: "<key> <siblings>" per key, then "unresolved: <n>".',
  flags: [{ name: 'limit', type: 'int', arg: '<n>', help: 'One answer of at most this many keys.' }, ...READ_FLAGS],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const limit = flag.int(ctx.flags, 'limit');
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.conflicts(ctx.args[0]!, { ...readOpts, ...(limit === undefined ? { all: true } : { limit }) });
    if (ctx.global.writeOut === 'json') return ctx.out.json(conflictsJson(r));
    if (ctx.global.writeOut === 'table') return ctx.out.table(['KEY', 'SIBLINGS'], r.keys.map((k) => [k.key.toString(), String(k.siblings)]));
    for (const k of r.keys) ctx.out.line(`${k.key.toString()} ${k.siblings}`);
    ctx.out.line(`unresolved: ${r.unresolved}`);
  },
};

const superseded: Command = {
  name: 'superseded',
  usage: 'rsctl superseded <namespace> [--key K [--range-end E | --prefix]] [--limit N] [flags]',
  summary: 'Lists the lww writes that lost to a later one and are still held',
  description: 'Simple output: "<key> <value> at <hlc> by <dot>, lost to <dot>" per record, then "total: <n>".',
  flags: [
    { name: 'key', type: 'string', arg: '<key>', help: 'Only this key (or the range from it).' },
    { name: 'range-end', type: 'string', arg: '<key>', help: 'With --key: the range [key, range-end).' },
    { name: 'prefix', type: 'boolean', help: 'With --key: every key with it as a prefix.' },
    { name: 'limit', type: 'int', arg: '<n>', help: 'At most this many records (0: the server\'s default).' },
    ...READ_FLAGS,
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const f = ctx.flags;
    const key = flag.str(f, 'key');
    const end = flag.str(f, 'range-end');
    if ((end !== undefined || flag.bool(f, 'prefix')) && key === undefined) throw new UsageError('--range-end and --prefix need --key', this.name);
    if (end !== undefined && flag.bool(f, 'prefix')) throw new UsageError('give --range-end or --prefix, not both', this.name);
    const rangeEnd = flag.bool(f, 'prefix') ? prefixEnd(key!) : end;
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.superseded(ctx.args[0]!, {
      ...readOpts, ...(key === undefined ? {} : { key }), ...(rangeEnd === undefined ? {} : { rangeEnd }), limit: flag.int(f, 'limit') ?? 0,
    });
    if (ctx.global.writeOut === 'json') return ctx.out.json(supersededJson(r));
    if (ctx.global.writeOut === 'table') return ctx.out.table(SUPERSEDED_HEADERS, r.records.map(supersededRow));
    for (const s of r.records) ctx.out.line(supersededLine(s));
    ctx.out.line(`total: ${r.total}${r.more ? ' (more than shown: raise --limit)' : ''}`);
  },
};

const hash: Command = {
  name: 'crdt hash',
  usage: 'rsctl crdt hash <namespace>',
  summary: 'A digest of a namespace\'s CRDT state from every endpoint (equal on members that applied the same entries)',
  description: 'Each endpoint of --endpoints answers from its own applied state. Simple output: "<endpoint>, <hash>, <applied index>, <revision>" per endpoint. ' +
    'Exits 1 when an endpoint failed.',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const all = await (await ctx.client()).crdt.hashAll(ctx.args[0]!);
    const ok = all.flatMap((a) => ('hash' in a ? [{ endpoint: a.endpoint, r: a.hash }] : []));
    for (const a of all) if ('error' in a) ctx.out.note(`Error (${a.endpoint}): ${a.error.message}`);
    if (ctx.global.writeOut === 'json') ctx.out.json(ok.map((x) => hashJson(x.endpoint, x.r)));
    else if (ctx.global.writeOut === 'table') {
      ctx.out.table(['ENDPOINT', 'HASH', 'APPLIED INDEX', 'REVISION', 'VECTOR'], ok.map((x) => [x.endpoint, String(x.r.hash), String(x.r.appliedIndex), String(x.r.revision), vectorText(x.r.vector)]));
    } else {
      for (const x of ok) ctx.out.line(`${x.endpoint}, ${x.r.hash}, ${x.r.appliedIndex}, ${x.r.revision}`);
    }
    if (ok.length < all.length) {
      // Every endpoint failed: the same error as any other command's (exit 1 or 3).
      if (ok.length === 0) throw (all[0] as { error: Error }).error;
      return ExitCode.failed;
    }
    return ExitCode.ok;
  },
};

export const crdtGroups: Array<Command | CommandGroup> = [
  lwwGroup, mvGroup, counterGroup, setGroup, conflicts, superseded, { name: 'crdt', summary: 'CRDT state of a namespace', commands: [hash] },
];
