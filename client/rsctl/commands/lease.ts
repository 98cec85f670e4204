// lease grant | revoke | timetolive | keep-alive | list, with etcdctl's output.
// Lease ids are hexadecimal on the command line and in simple output (as etcdctl's).

import { expectArgs, flag, parseIntArg } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import { headerJson } from '../etcd-json.js';
import { parseHexId } from '../ids.js';
import { RawNumber } from '../output.js';

/** etcdctl prints lease ids as %016x. */
function leaseHex(id: string): string {
  return BigInt.asUintN(64, BigInt(id)).toString(16).padStart(16, '0');
}

function leaseArg(ctx: Context, usage: string): string {
  expectArgs(ctx.args, 1, 1, usage, ctx.command);
  return parseHexId(ctx.args[0] as string, 'the lease id', ctx.command);
}

const grant: Command = {
  name: 'lease grant',
  usage: 'rsctl lease grant <ttl>',
  summary: 'Grants a lease of <ttl> seconds',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const ttl = parseIntArg(ctx.args[0] as string, 'the TTL (seconds)', 1);
    const g = await (await ctx.client()).leases.grant(ttl);
    if (ctx.global.writeOut === 'json') return ctx.out.json({ header: headerJson(g.header), ID: new RawNumber(g.id), TTL: g.ttl });
    ctx.out.line(`lease ${leaseHex(g.id)} granted with TTL(${g.ttl}s)`);
  },
};

const revoke: Command = {
  name: 'lease revoke',
  usage: 'rsctl lease revoke <lease-id>',
  summary: 'Revokes a lease (its keys are deleted)',
  flags: [],
  async run(ctx) {
    const id = leaseArg(ctx, this.usage);
    const h = await (await ctx.client()).leases.revoke(id);
    if (ctx.global.writeOut === 'json') return ctx.out.json({ header: headerJson(h) });
    ctx.out.line(`lease ${leaseHex(id)} revoked`);
  },
};

const timeToLive: Command = {
  name: 'lease timetolive',
  usage: 'rsctl lease timetolive <lease-id> [--keys]',
  summary: 'Shows a lease\'s granted and remaining TTL',
  flags: [{ name: 'keys', type: 'boolean', help: 'Also list the keys attached to the lease.' }],
  async run(ctx) {
    const id = leaseArg(ctx, this.usage);
    const withKeys = flag.bool(ctx.flags, 'keys');
    const t = await (await ctx.client()).leases.timeToLive(id, { keys: withKeys });
    if (ctx.global.writeOut === 'json') {
      return ctx.out.json({
        header: headerJson(t.header), ID: new RawNumber(id), TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys.map((k) => k.toString('base64')),
      });
    }
    if (t.ttl < 0) return ctx.out.line(`lease ${leaseHex(id)} already expired`);
    const keys = withKeys ? `, attached keys([${t.keys.map((k) => k.toString()).join(' ')}])` : '';
    ctx.out.line(`lease ${leaseHex(id)} granted with TTL(${t.grantedTtl}s), remaining(${t.ttl}s)${keys}`);
  },
};

const keepAlive: Command = {
  name: 'lease keep-alive',
  usage: 'rsctl lease keep-alive <lease-id> [--once]',
  summary: 'Renews a lease until Ctrl-C (or once)',
  description: 'Prints one line per renewal. Exits 1 when the lease expires or is revoked (3 when it could not be renewed for its TTL).',
  flags: [{ name: 'once', type: 'boolean', help: 'Renew once and exit.' }],
  async run(ctx) {
    const id = leaseArg(ctx, this.usage);
    const client = await ctx.client();
    const print = (ttl: number): void => {
      if (ctx.global.writeOut === 'json') ctx.out.json({ ID: new RawNumber(id), TTL: ttl });
      else ctx.out.line(`lease ${leaseHex(id)} keepalived with TTL(${ttl})`);
    };
    if (flag.bool(ctx.flags, 'once')) {
      print((await client.leases.keepAliveOnce(id, { timeoutMs: ctx.global.commandTimeoutMs })).ttl);
      return;
    }
    const kept = await client.leases.keepAlive(id);
    kept.on('keepalive', print);
    const stopped = new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    const lost = await Promise.race([kept.lost, stopped]);
    kept.release(); // Ctrl-C stops renewing; it does not revoke (as etcdctl)
    if (lost !== undefined) throw lost;
  },
};

const list: Command = {
  name: 'lease list',
  usage: 'rsctl lease list',
  summary: 'Lists the live leases',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const ids = await (await ctx.client()).leases.list();
    if (ctx.global.writeOut === 'json') return ctx.out.json({ leases: ids.map((id) => ({ id: new RawNumber(id) })) });
    if (ctx.global.writeOut === 'table') return ctx.out.table(['LEASE ID'], ids.map((id) => [leaseHex(id)]));
    ctx.out.line(`found ${ids.length} leases`);
    for (const id of ids) ctx.out.line(leaseHex(id));
  },
};

export const leaseGroup: CommandGroup = {
  name: 'lease',
  summary: 'Lease commands: grant, revoke, timetolive, keep-alive, list',
  commands: [grant, revoke, timeToLive, keepAlive, list],
};
