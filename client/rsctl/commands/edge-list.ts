// edge list: every edge the region knows (regionstore.v1.EdgeAdmin), asked of a region member.
// Simple output is one line per edge; table a row per edge; json the list with snake_case
// names, the acked vectors and the causally stable vector per namespace.

import type { EdgeInfo, EdgeList } from '../../index.js';
import { expectArgs } from '../args.js';
import type { Command } from '../command.js';

function ago(ms: number, now: number): string {
  if (ms === 0) return 'never';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 120 ? `${s.toFixed(1)}s ago` : s < 7200 ? `${(s / 60).toFixed(1)}m ago` : `${(s / 3600).toFixed(1)}h ago`;
}

function vectorText(v: EdgeInfo['acked'][number]['vector']): string {
  return v.map((e) => `${e.origin}=${e.seq}`).join(' ');
}

function ackedText(e: EdgeInfo): string {
  return e.acked.map((a) => `${a.namespace}{${vectorText(a.vector)}}`).join(' ');
}

function edgeJson(e: EdgeInfo): Record<string, unknown> {
  return {
    replica_id: e.replicaId, device_id: e.deviceId, incarnation: e.incarnation, connected: e.connected, member_id: e.memberId,
    last_seen_ms: e.lastSeenMs, lag_ops: e.lagOps, lag_seconds: e.lagSeconds, bytes_in: e.bytesIn, bytes_out: e.bytesOut,
    ops_in: e.opsIn, ops_out: e.opsOut, skew_ms: e.skewMs,
    acked: Object.fromEntries(e.acked.map((a) => [a.namespace, Object.fromEntries(a.vector.map((x) => [x.origin, x.seq]))])),
  };
}

const HEADERS = ['REPLICA', 'STATE', 'LAG OPS', 'LAG S', 'BYTES IN', 'BYTES OUT', 'SKEW MS', 'ACKED'];

function row(e: EdgeInfo, now: number): string[] {
  return [
    e.replicaId, e.connected ? 'connected' : `last seen ${ago(e.lastSeenMs, now)}`, String(e.lagOps), e.lagSeconds.toFixed(1),
    String(e.bytesIn), String(e.bytesOut), String(e.skewMs), ackedText(e),
  ];
}

export function printEdgeList(out: { json(v: unknown): void; table(h: readonly string[], rows: ReadonlyArray<readonly string[]>): void; line(t?: string): void }, format: string, list: EdgeList, now = Date.now()): void {
  if (format === 'json') {
    return out.json({
      member_id: list.memberId, edges: list.edges.map(edgeJson),
      stable: Object.fromEntries(list.stable.map((s) => [s.namespace, Object.fromEntries(s.vector.map((x) => [x.origin, x.seq]))])),
    });
  }
  if (format === 'table') return out.table(HEADERS, list.edges.map((e) => row(e, now)));
  if (list.edges.length === 0) return out.line('no edges known to this region');
  for (const e of list.edges) out.line(row(e, now).join(', '));
}

export const edgeListCommand: Command = {
  name: 'edge list',
  usage: 'rsctl edge list',
  summary: 'Lists the edges the region knows: connected or last seen, lag, bytes each way, skew, acked vectors',
  description: 'Asked of a region member (any: the known-edge table is replicated). `connected` is what the answering member knows: its own sessions, else a session another member recorded recently.',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const list = await (await ctx.client()).edges.list();
    printEdgeList(ctx.out, ctx.global.writeOut, list);
  },
};
