// edge status: an edge's own view of its link to the region (regionstore.v1.EdgeAdmin
// EdgeStatus), asked of the edge itself: connected or offline since when, the region endpoint,
// durable vectors, lag, bytes, skew, the strong copy's staleness, incarnation.

import type { EdgeStatus } from '../../index.js';
import { expectArgs } from '../args.js';
import type { Command } from '../command.js';

function statusJson(s: EdgeStatus): Record<string, unknown> {
  return {
    replica_id: s.replicaId, device_id: s.deviceId, incarnation: s.incarnation, previous_incarnations: s.previousIncarnations,
    connected: s.connected, region_endpoint: s.regionEndpoint, offline_since_ms: s.offlineSinceMs, last_error: s.lastError,
    lag_ops: s.lagOps, lag_seconds: s.lagSeconds, bytes_in: s.bytesIn, bytes_out: s.bytesOut, ops_in: s.opsIn, ops_out: s.opsOut,
    skew_ms: s.skewMs, strong_staleness_ms: s.strongStalenessMs, strong_revision: s.strongRevision, local_revision: s.localRevision,
    sessions: s.sessions, connects: s.connects,
    skew_refusals: s.skewRefusals, last_skew_refusal: s.lastSkewRefusal, last_skew_refusal_ms: s.lastSkewRefusalMs,
    resyncs: s.resyncs, resyncing: s.resyncing, storage_note: s.storageNote,
    vectors: Object.fromEntries(s.vectors.map((v) => [v.namespace, Object.fromEntries(v.vector.map((x) => [x.origin, x.seq]))])),
  };
}

export function printEdgeStatus(out: { json(v: unknown): void; line(t?: string): void }, format: string, s: EdgeStatus): void {
  if (format === 'json') return out.json(statusJson(s));
  const state = s.connected ? `connected to ${s.regionEndpoint}` : `offline since ${s.offlineSinceMs === 0 ? 'start' : new Date(s.offlineSinceMs).toISOString()}`;
  out.line(`replica: ${s.replicaId} (incarnation ${s.incarnation}${s.previousIncarnations.length > 0 ? `, before: ${s.previousIncarnations.join(', ')}` : ''})`);
  out.line(`region: ${state}${s.lastError !== '' && !s.connected ? ` (${s.lastError})` : ''}`);
  out.line(`lag: ${s.lagOps} ops, ${s.lagSeconds.toFixed(1)} s; bytes in ${s.bytesIn}, out ${s.bytesOut}; ops in ${s.opsIn}, out ${s.opsOut}; skew ${s.skewMs} ms`);
  out.line(`strong copy: revision ${s.strongRevision}, ${s.strongStalenessMs < 0 ? 'never caught up' : `${s.strongStalenessMs} ms stale`}; local revision ${s.localRevision}`);
  if (s.skewRefusals > 0) out.line(`clock skew: ${s.skewRefusals} page(s) refused, last at ${new Date(s.lastSkewRefusalMs).toISOString()}: ${s.lastSkewRefusal}`);
  if (s.resyncs > 0 || s.resyncing.length > 0) out.line(`resyncs (tombstone_ttl): ${s.resyncs}${s.resyncing.length > 0 ? `; downloading: ${s.resyncing.join(', ')}` : ''}`);
  if (s.storageNote !== '') out.line(`storage: ${s.storageNote}`);
  for (const v of s.vectors) out.line(`vector ${v.namespace}: ${v.vector.map((e) => `${e.origin}=${e.seq}`).join(' ') || '(empty)'}`);
}

export const edgeStatusCommand: Command = {
  name: 'edge status',
  usage: 'rsctl --endpoints <edge> edge status',
  summary: 'An edge\'s own view: connected or offline since, region endpoint, vectors, lag, bytes, skew, staleness, incarnation',
  description: 'Asked of an edge (its client port). A region member answers that it is not an edge: use rsctl edge list there.',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const s = await (await ctx.client()).edges.status();
    printEdgeStatus(ctx.out, ctx.global.writeOut, s);
  },
};
