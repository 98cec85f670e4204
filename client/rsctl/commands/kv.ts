// put, get, del: etcdctl's commands, flags and output.

import type { KeyRange, KeyValue, RangeOptions, ReadLevelOptions, SortOrder, SortTarget } from '../../index.js';
import { parseReadFlag } from './namespace.js';
import { expectArgs, flag, UsageError, type FlagSpec, type Flags } from '../args.js';
import type { Command, Context } from '../command.js';
import { deleteJson, putJson, rangeJson } from '../etcd-json.js';
import { hex, parseHexId } from '../ids.js';
import type { Output } from '../output.js';

/** Reads a whole stream (a value or a txn script given on stdin). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

const RANGE_FLAGS: FlagSpec[] = [
  { name: 'prefix', type: 'boolean', help: 'Every key with <key> as a prefix.' },
  { name: 'from-key', type: 'boolean', help: 'Every key >= <key>.' },
];

/** The key range of `<key> [range_end]` with --prefix / --from-key. */
export function keyRange(args: readonly string[], flags: Flags, command: string): KeyRange {
  const rangeEnd = args[1];
  const given = [flag.bool(flags, 'prefix'), flag.bool(flags, 'from-key'), rangeEnd !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('give at most one of [range_end], --prefix and --from-key', command);
  if (flag.bool(flags, 'prefix')) return { prefix: true };
  if (flag.bool(flags, 'from-key')) return { fromKey: true };
  return rangeEnd === undefined ? {} : { rangeEnd };
}

/** The key's line (unless valueOnly) and the value's line, as etcdctl (--keys-only gives an empty value line). */
export function printKv(out: Output, kv: KeyValue, opts: { valueOnly?: boolean } = {}): void {
  if (opts.valueOnly !== true) out.bytesLine(kv.key);
  out.bytesLine(kv.value);
}

const put: Command = {
  name: 'put',
  usage: 'rsctl put <key> [value] [flags]',
  summary: 'Puts the given key into the store',
  description: 'Without [value], the value is read from stdin (all of it, as bytes).',
  flags: [
    { name: 'lease', type: 'string', arg: '<id>', help: 'Attach the key to this lease (hex id, as `rsctl lease grant` prints it).' },
    { name: 'prev-kv', type: 'boolean', help: 'Print the key\'s previous value.' },
    { name: 'ignore-value', type: 'boolean', help: 'Keep the current value (update the lease only).' },
    { name: 'ignore-lease', type: 'boolean', help: 'Keep the current lease.' },
  ],
  async run(ctx: Context) {
    expectArgs(ctx.args, 1, 2, this.usage, this.name);
    const [key, given] = ctx.args as [string, string | undefined];
    const ignoreValue = flag.bool(ctx.flags, 'ignore-value');
    if (ignoreValue && given !== undefined) throw new UsageError('--ignore-value takes no [value]', this.name);
    const value = given ?? (ignoreValue ? '' : await readAll(ctx.stdin));
    const lease = flag.str(ctx.flags, 'lease');
    const r = await (await ctx.client()).put(key, value, {
      ...(lease === undefined ? {} : { lease: parseHexId(lease, '--lease', this.name) }),
      prevKv: flag.bool(ctx.flags, 'prev-kv'),
      ignoreValue,
      ignoreLease: flag.bool(ctx.flags, 'ignore-lease'),
    });
    if (ctx.global.writeOut === 'json') return ctx.out.json(putJson(r));
    ctx.out.line('OK');
    if (r.prevKv !== undefined) printKv(ctx.out, r.prevKv);
  },
};

const SORT_TARGETS: Record<string, SortTarget> = { KEY: 'key', VERSION: 'version', CREATE: 'create', MODIFY: 'mod', VALUE: 'value' };
const SORT_ORDERS: Record<string, SortOrder> = { ASCEND: 'ascend', DESCEND: 'descend' };

function sortOption(flags: Flags, command: string): RangeOptions['sort'] {
  const by = flag.str(flags, 'sort-by')?.toUpperCase();
  const order = flag.str(flags, 'order')?.toUpperCase();
  if (by === undefined && order === undefined) return undefined;
  if (by !== undefined && SORT_TARGETS[by] === undefined) throw new UsageError(`--sort-by must be one of ${Object.keys(SORT_TARGETS).join(', ')}`, command);
  if (order !== undefined && SORT_ORDERS[order] === undefined) throw new UsageError('--order must be ASCEND or DESCEND', command);
  return { target: SORT_TARGETS[by ?? 'KEY'] ?? 'key', order: SORT_ORDERS[order ?? 'ASCEND'] ?? 'ascend' };
}

/** --read and --min-revision as read-level options (none when --read is absent). */
export function readOptionsOf(f: Flags, command: string): ReadLevelOptions {
  const text = flag.str(f, 'read');
  const min = flag.int(f, 'min-revision');
  if (text === undefined) {
    if (min !== undefined) throw new UsageError('--min-revision needs --read session', command);
    return {};
  }
  const r = parseReadFlag(text, command);
  if (min !== undefined && r.readLevel !== 'session') throw new UsageError('--min-revision needs --read session', command);
  return { ...r, ...(min === undefined ? {} : { minRevision: min }) };
}

export function serializableOf(flags: Flags, command: string): boolean {
  const c = flag.str(flags, 'consistency') ?? 'l';
  if (c !== 'l' && c !== 's') throw new UsageError('--consistency must be l (linearizable) or s (serializable)', command);
  return c === 's';
}

const get: Command = {
  name: 'get',
  usage: 'rsctl get <key> [range_end] [flags]',
  summary: 'Gets the key or a range of keys',
  description: 'With [range_end], every key in [key, range_end).',
  flags: [
    ...RANGE_FLAGS,
    { name: 'limit', type: 'int', arg: '<n>', help: 'At most this many keys (0: no limit).' },
    { name: 'rev', type: 'int', arg: '<revision>', help: 'Read at this revision (0: the latest).' },
    { name: 'consistency', type: 'string', arg: 'l|s', default: 'l', help: 'l: linearizable (through the leader), s: serializable (the member\'s local copy, may be stale).' },
    { name: 'sort-by', type: 'string', arg: '<target>', help: 'CREATE, KEY, MODIFY, VALUE or VERSION.' },
    { name: 'order', type: 'string', arg: '<order>', help: 'ASCEND or DESCEND (with --sort-by; default ASCEND).' },
    { name: 'keys-only', type: 'boolean', help: 'Keys without values.' },
    { name: 'count-only', type: 'boolean', help: 'Only the number of keys.' },
    { name: 'print-value-only', type: 'boolean', help: 'Values without keys (simple output).' },
    { name: 'read', type: 'string', arg: 'linearizable|serializable|bounded:<ms>|session', help: 'Read level (overrides --consistency; json output shows what the member served).' },
    { name: 'min-revision', type: 'int', arg: '<revision>', help: 'With --read session: the lowest revision to accept (e.g. one a put printed).' },
  ],
  async run(ctx: Context) {
    expectArgs(ctx.args, 1, 2, this.usage, this.name);
    const f = ctx.flags;
    const sort = sortOption(f, this.name);
    const read = readOptionsOf(f, this.name);
    const r = await (await ctx.client()).range(ctx.args[0] as string, {
      ...read,
      ...keyRange(ctx.args, f, this.name),
      limit: flag.int(f, 'limit') ?? 0,
      revision: flag.int(f, 'rev') ?? 0,
      serializable: serializableOf(f, this.name),
      keysOnly: flag.bool(f, 'keys-only'),
      countOnly: flag.bool(f, 'count-only'),
      ...(sort === undefined ? {} : { sort }),
    });
    if (ctx.global.writeOut === 'json') {
      const info = r.readInfo;
      const readJson = info === undefined ? {} : { read: { level: info.level, applied_revision: info.appliedRevision, ...(info.stalenessMs === undefined ? {} : { staleness_ms: info.stalenessMs }) } };
      return ctx.out.json({ ...rangeJson(r), ...readJson });
    }
    if (ctx.global.writeOut === 'table') {
      return ctx.out.table(['KEY', 'VALUE', 'CREATE REV', 'MOD REV', 'VERSION', 'LEASE'], r.kvs.map((kv) => [
        kv.key.toString(), kv.value.toString(), String(kv.createRevision), String(kv.modRevision), String(kv.version), kv.lease === '0' ? '' : hex(kv.lease),
      ]));
    }
    if (flag.bool(f, 'count-only')) return ctx.out.line(String(r.count));
    for (const kv of r.kvs) printKv(ctx.out, kv, { valueOnly: flag.bool(f, 'print-value-only') });
  },
};

const del: Command = {
  name: 'del',
  usage: 'rsctl del <key> [range_end] [flags]',
  summary: 'Deletes the key or a range of keys',
  description: 'Prints how many keys were deleted.',
  flags: [...RANGE_FLAGS, { name: 'prev-kv', type: 'boolean', help: 'Print the deleted keys and values.' }],
  async run(ctx: Context) {
    expectArgs(ctx.args, 1, 2, this.usage, this.name);
    const r = await (await ctx.client()).delete(ctx.args[0] as string, {
      ...keyRange(ctx.args, ctx.flags, this.name),
      prevKv: flag.bool(ctx.flags, 'prev-kv'),
    });
    if (ctx.global.writeOut === 'json') return ctx.out.json(deleteJson(r));
    ctx.out.line(String(r.deleted));
    for (const kv of r.prevKvs) printKv(ctx.out, kv);
  },
};

export const kvCommands: Command[] = [put, get, del];
