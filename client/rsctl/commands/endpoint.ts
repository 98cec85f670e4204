// endpoint status | health: one line (or row) per endpoint, as etcdctl prints them.
// With --cluster the endpoints are every member's client URLs (from member list).
// An endpoint that does not answer is reported and makes the exit code 3.

import { performance } from 'node:perf_hooks';
import type { Client, MemberStatus } from '../../index.js';
import { expectArgs, flag } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import { describeFailure, ExitCode, exitCodeOf } from '../exit.js';
import { headerJson } from '../etcd-json.js';
import { hex } from '../ids.js';
import { RawNumber } from '../output.js';

const CLUSTER_FLAG = { name: 'cluster', type: 'boolean', help: 'Every member\'s client URLs (from member list) instead of --endpoints.' } as const;

/** The client over the endpoints to report on, and whether it must be closed afterwards. */
async function targets(ctx: Context): Promise<{ client: Client; owned: boolean }> {
  const client = await ctx.client();
  if (!flag.bool(ctx.flags, 'cluster')) return { client, owned: false };
  const members = await client.cluster.list();
  const urls = members.members.flatMap((m) => m.clientUrls);
  return { client: ctx.clientFor(urls), owned: true };
}

/** Sizes as etcdctl prints them (SI units, as go-humanize's Bytes). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function statusRow(s: MemberStatus): string[] {
  return [
    s.endpoint, hex(s.memberId), s.version, humanBytes(s.dbSize), String(s.isLeader), String(s.isLearner),
    String(s.raftTerm), String(s.raftIndex), String(s.raftAppliedIndex), s.errors.join(', '),
  ];
}

function statusJson(s: MemberStatus): unknown {
  return {
    Endpoint: s.endpoint,
    Status: {
      header: headerJson(s.header), version: s.version, dbSize: s.dbSize, leader: new RawNumber(s.leader), raftIndex: s.raftIndex,
      raftTerm: s.raftTerm, raftAppliedIndex: s.raftAppliedIndex, dbSizeInUse: s.dbSizeInUse, isLearner: s.isLearner, errors: s.errors,
    },
  };
}

const status: Command = {
  name: 'endpoint status',
  usage: 'rsctl endpoint status [--cluster]',
  summary: 'Shows each endpoint\'s member id, version, size, role and raft position',
  description: 'Simple output: ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER, RAFT TERM, RAFT INDEX, RAFT APPLIED INDEX, ERRORS.',
  flags: [CLUSTER_FLAG],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const { client, owned } = await targets(ctx);
    try {
      const all = await client.maintenance.statusAll();
      let code: number = ExitCode.ok;
      const ok: MemberStatus[] = [];
      for (const s of all) {
        if ('status' in s) ok.push(s.status);
        else {
          ctx.out.note(`Failed to get the status of endpoint ${s.endpoint}: ${describeFailure(s.error, this.name).trimEnd()}`);
          code = Math.max(code, exitCodeOf(s.error));
        }
      }
      if (ctx.global.writeOut === 'json') ctx.out.json(ok.map(statusJson));
      else if (ctx.global.writeOut === 'table') {
        ctx.out.table(['ENDPOINT', 'ID', 'VERSION', 'DB SIZE', 'IS LEADER', 'IS LEARNER', 'RAFT TERM', 'RAFT INDEX', 'RAFT APPLIED INDEX', 'ERRORS'], ok.map(statusRow));
      } else for (const s of ok) ctx.out.line(statusRow(s).join(', '));
      return code;
    } finally {
      if (owned) client.close();
    }
  },
};

interface Health {
  endpoint: string;
  health: boolean;
  took: string;
  error?: string;
}

const health: Command = {
  name: 'endpoint health',
  usage: 'rsctl endpoint health [--cluster]',
  summary: 'Checks that each endpoint serves a linearizable read (through the leader)',
  flags: [CLUSTER_FLAG],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const { client, owned } = await targets(ctx);
    try {
      const results = await Promise.all(client.endpoints.map(async (endpoint): Promise<Health> => {
        const start = performance.now();
        try {
          await client.get('health', { endpoint });
          return { endpoint, health: true, took: `${(performance.now() - start).toFixed(3)}ms` };
        } catch (err) {
          return { endpoint, health: false, took: `${(performance.now() - start).toFixed(3)}ms`, error: (err as Error).message };
        }
      }));
      if (ctx.global.writeOut === 'json') ctx.out.json(results);
      else if (ctx.global.writeOut === 'table') {
        ctx.out.table(['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'], results.map((h) => [h.endpoint, String(h.health), h.took, h.error ?? '']));
      } else {
        for (const h of results) {
          if (h.health) ctx.out.line(`${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}`);
          else ctx.out.note(`${h.endpoint} is unhealthy: failed to commit proposal: ${h.error ?? ''}`);
        }
      }
      if (results.every((h) => h.health)) return ExitCode.ok;
      ctx.out.note('Error: unhealthy cluster\nHint: a member that is down or cut off from the leader cannot serve; rsctl endpoint status shows who leads');
      return ExitCode.unavailable;
    } finally {
      if (owned) client.close();
    }
  },
};

export const endpointGroup: CommandGroup = {
  name: 'endpoint',
  summary: 'Endpoint commands: status, health',
  commands: [status, health],
};
