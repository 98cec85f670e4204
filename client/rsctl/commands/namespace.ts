// ns create | get | list | update | delete: the namespace registry (regionstore.v1.Namespaces).
// Simple output is one "field: value" line per field (every default written out), table a
// row per namespace, json the definition with snake_case names as on the wire.

import type { Namespace, NamespaceChanges, NamespaceSpec } from '../../index.js';
import { expectArgs, flag, UsageError, type FlagSpec, type Flags } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';

const LEVEL_FLAGS: FlagSpec[] = [
  { name: 'read', type: 'string', arg: 'linearizable|serializable|bounded:<ms>|session', help: 'Default read level of a strong namespace.' },
  { name: 'max-clock-skew-ms', type: 'int', arg: '<ms>', help: 'Eventual: HLC timestamps further ahead than this are refused.' },
  { name: 'tombstone-ttl-s', type: 'int', arg: '<s>', help: 'Eventual: how long delete tombstones are kept.' },
  { name: 'sibling-warn', type: 'int', arg: '<n>', help: 'mv: siblings per key that raise a warning.' },
  { name: 'sibling-cap', type: 'int', arg: '<n>', help: 'mv: siblings per key at most.' },
  { name: 'schema-versions', type: 'list', arg: '<v,...>', help: 'events: accepted schema versions.' },
  { name: 'description', type: 'string', arg: '<text>', help: 'Free-form description.' },
];

/** `--read bounded:200` → readLevel bounded, maxStalenessMs 200. */
export function parseReadFlag(text: string, command: string): Pick<Namespace, 'readLevel'> & { maxStalenessMs?: number } {
  const [level, arg] = text.split(':', 2) as [string, string | undefined];
  if (level === 'bounded') {
    if (arg === undefined) return { readLevel: 'bounded' };
    const ms = Number(arg);
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new UsageError(`--read bounded:<ms> needs a positive whole number of milliseconds, got ${JSON.stringify(arg)}`, command);
    return { readLevel: 'bounded', maxStalenessMs: ms };
  }
  if ((level === 'linearizable' || level === 'serializable' || level === 'session') && arg === undefined) return { readLevel: level };
  throw new UsageError(`--read must be linearizable, serializable, bounded:<ms> or session, got ${JSON.stringify(text)}`, command);
}

function changesOf(f: Flags, command: string): NamespaceChanges {
  const c: NamespaceChanges = {};
  const read = flag.str(f, 'read');
  if (read !== undefined) Object.assign(c, parseReadFlag(read, command));
  const ints: Array<[string, keyof NamespaceChanges]> = [
    ['max-clock-skew-ms', 'maxClockSkewMs'], ['tombstone-ttl-s', 'tombstoneTtlS'], ['sibling-warn', 'siblingWarn'], ['sibling-cap', 'siblingCap'],
  ];
  for (const [name, field] of ints) {
    const v = flag.int(f, name);
    if (v !== undefined) (c as Record<string, unknown>)[field] = v;
  }
  const versions = flag.list(f, 'schema-versions');
  if (versions.length > 0) {
    c.schemaVersions = versions.map((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--schema-versions takes positive whole numbers, got ${JSON.stringify(v)}`, command);
      return n;
    });
  }
  const description = flag.str(f, 'description');
  if (description !== undefined) c.description = description;
  return c;
}

function nsJson(n: Namespace): Record<string, unknown> {
  return {
    name: n.name, prefix: n.prefix, level: n.level, crdt_type: n.crdtType, read_level: n.readLevel, max_staleness_ms: n.maxStalenessMs,
    max_clock_skew_ms: n.maxClockSkewMs, tombstone_ttl_s: n.tombstoneTtlS, sibling_warn: n.siblingWarn, sibling_cap: n.siblingCap,
    schema_versions: n.schemaVersions, description: n.description,
  };
}

const TABLE_HEADERS = ['NAME', 'PREFIX', 'LEVEL', 'CRDT TYPE', 'READ LEVEL', 'MAX STALENESS MS', 'DESCRIPTION'];
function nsRow(n: Namespace): string[] {
  return [n.name, JSON.stringify(n.prefix), n.level, n.crdtType, n.readLevel, String(n.maxStalenessMs), n.description];
}

function print(ctx: Context, list: Namespace[], single: boolean): void {
  if (ctx.global.writeOut === 'json') return ctx.out.json(single ? nsJson(list[0]!) : { namespaces: list.map(nsJson) });
  if (ctx.global.writeOut === 'table') return ctx.out.table(TABLE_HEADERS, list.map(nsRow));
  if (!single) {
    for (const n of list) ctx.out.line(nsRow(n).join(', '));
    return;
  }
  for (const [k, v] of Object.entries(nsJson(list[0]!))) ctx.out.line(`${k}: ${Array.isArray(v) ? v.join(',') : k === 'prefix' ? JSON.stringify(v) : String(v)}`);
}

const create: Command = {
  name: 'ns create',
  usage: 'rsctl ns create <name> --prefix <p> [--level strong|eventual] [--type lww|mv|counter|set|events] [--read ...] [flags]',
  summary: 'Creates a namespace (level and type are fixed once created)',
  description: 'Refused with FAILED_PRECONDITION while the prefix holds keys of the enclosing namespace.',
  flags: [
    { name: 'prefix', type: 'string', arg: '<prefix>', help: 'Key prefix (printable UTF-8); nested prefixes are allowed.' },
    { name: 'level', type: 'string', arg: 'strong|eventual', default: 'strong', help: 'Consistency level.' },
    { name: 'type', type: 'string', arg: 'lww|mv|counter|set|events', help: 'CRDT type of an eventual namespace (default lww).' },
    ...LEVEL_FLAGS,
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const prefix = flag.str(ctx.flags, 'prefix');
    if (prefix === undefined || prefix === '') throw new UsageError('--prefix is required (e.g. --prefix devices/)', this.name);
    const spec: NamespaceSpec = { name: ctx.args[0]!, prefix, level: (flag.str(ctx.flags, 'level') ?? 'strong') as Namespace['level'], ...changesOf(ctx.flags, this.name) };
    const type = flag.str(ctx.flags, 'type');
    if (type !== undefined) spec.crdtType = type as Namespace['crdtType'];
    const n = await (await ctx.client()).namespaces.create(spec);
    print(ctx, [n], true);
  },
};

const get: Command = {
  name: 'ns get',
  usage: 'rsctl ns get <name> [--consistency l|s]',
  summary: 'Shows a namespace with every field',
  flags: [{ name: 'consistency', type: 'string', arg: 'l|s', default: 'l', help: 'l: after a ReadIndex round, s: the answering member\'s registry.' }],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const n = await (await ctx.client()).namespaces.get(ctx.args[0]!, { serializable: flag.str(ctx.flags, 'consistency') === 's' });
    print(ctx, [n], true);
  },
};

const list: Command = {
  name: 'ns list',
  usage: 'rsctl ns list [--consistency l|s]',
  summary: 'Lists the namespaces',
  flags: [{ name: 'consistency', type: 'string', arg: 'l|s', default: 'l', help: 'l: after a ReadIndex round, s: the answering member\'s registry.' }],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    print(ctx, await (await ctx.client()).namespaces.list({ serializable: flag.str(ctx.flags, 'consistency') === 's' }), false);
  },
};

const update: Command = {
  name: 'ns update',
  usage: 'rsctl ns update <name> [--read ...] [--description ...] [flags]',
  summary: 'Changes the read level, limits, description or schema versions of a namespace',
  flags: LEVEL_FLAGS,
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const changes = changesOf(ctx.flags, this.name);
    if (Object.keys(changes).length === 0) throw new UsageError('name something to change (--read, --description, ...)', this.name);
    print(ctx, [await (await ctx.client()).namespaces.update(ctx.args[0]!, changes)], true);
  },
};

const del: Command = {
  name: 'ns delete',
  usage: 'rsctl ns delete <name> [--force]',
  summary: 'Deletes a namespace (refused while it holds keys, unless --force deletes them too)',
  flags: [{ name: 'force', type: 'boolean', help: 'Delete the namespace\'s keys in the same step.' }],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const r = await (await ctx.client()).namespaces.delete(ctx.args[0]!, { force: flag.bool(ctx.flags, 'force') });
    if (ctx.global.writeOut === 'json') return ctx.out.json({ namespace: nsJson(r.namespace), deleted_keys: r.deletedKeys });
    ctx.out.line(`namespace ${r.namespace.name} deleted${r.deletedKeys > 0 ? ` with ${r.deletedKeys} keys` : ''}`);
  },
};

export const namespaceGroup: CommandGroup = { name: 'ns', summary: 'Namespace registry', commands: [create, get, list, update, del] };
