// The region's edge host (issue 14): serves regionstore.v1.EdgeSync streams (server/api's
// EdgeSyncBackend, structurally) and regionstore.v1.EdgeAdmin's list. The leader hosts the
// sessions; a follower answers SyncError{not-leader, detail: the leader's client URL, fatal}
// rather than forwarding: an edge session is a long stream whose uploads become Raft
// entries and whose downloads follow the applied state, so hosting it where proposals and
// the freshest applied state are costs one redirect, while a forwarding follower would add a
// hop to every page and still have to hand over on every leader change. A member that loses
// leadership hands each session over (session.handOver: not-leader once its uploads in flight
// are applied and ACKed). Known edges are recorded through Raft (RegionCrdt.recordEdge), at
// most one entry per session per EDGE_RECORD_INTERVAL_MS plus one at open and close.

import type { SyncMetrics } from '../../metrics/sync-metrics.js';
import type { EdgeRecord, EdgeUpdate } from '../../eventual/edges.js';
import type { Logger } from '../../util/logger.js';
import type { RegionCrdt } from '../eventual/backend.js';
import type { RegionNode } from '../region-node.js';
import { vectorToWire } from './codec.js';
import { EDGE_RECORD_INTERVAL_MS, SYNC_PEER_SILENCE_MS } from './limits.js';
import { RegionReplicaSide } from './replica-side.js';
import { EdgeSession, type SessionHost, type SessionStream } from './session.js';

/** How often the host looks at the member's role (to hand sessions over). */
const LEADER_POLL_MS = 100;
/** A known edge counts as connected to another member if it was heard from within this. */
const CONNECTED_RECENT_MS = SYNC_PEER_SILENCE_MS;

export class EdgeHost implements SessionHost {
  readonly side: RegionReplicaSide;
  private readonly sessions = new Set<EdgeSession>();
  private readonly lastRecorded = new Map<EdgeSession, number>();
  private readonly recordTimers = new Map<EdgeSession, NodeJS.Timeout>();
  private readonly poll: NodeJS.Timeout;

  constructor(private readonly node: RegionNode, private readonly crdt: RegionCrdt, private readonly metrics: SyncMetrics, private readonly logger: Logger) {
    this.side = new RegionReplicaSide(node, crdt);
    this.poll = setInterval(() => this.checkLeadership(), LEADER_POLL_MS);
    this.poll.unref();
    metrics.setSource(() => ({
      connected: this.sessions.size,
      lag: [...this.sessions].map((s) => ({ source: 'region', target: 'edge', seconds: s.lagSeconds() })),
      skewSeconds: [...this.sessions].map((s) => s.skewMs / 1000),
    }));
  }

  close(): void {
    clearInterval(this.poll);
    for (const t of this.recordTimers.values()) clearTimeout(t);
  }

  // ---- EdgeSyncBackend

  serve(stream: SessionStream): void {
    void new EdgeSession(stream, this.side, this);
  }

  // ---- SessionHost

  /** The leader's client URL when this member is not the leader. */
  notLeader(): string | undefined {
    if (this.node.isLeader) return undefined;
    const leader = this.node.members.list().find((m) => m.id === this.node.leaderId);
    return leader?.clientUrls[0] ?? '';
  }

  private checkLeadership(): void {
    if (this.sessions.size === 0 || this.node.isLeader) return;
    const detail = this.notLeader() ?? '';
    for (const s of this.sessions) void s.handOver(detail);
  }

  resyncNamespaces(replicaId: string, namespaces: string[]): string[] {
    const rec = this.node.eventual.edges().get(replicaId);
    if (rec === undefined) return [];
    const now = Date.now();
    return namespaces.filter((ns) => {
      const def = this.side.definition(ns);
      return def !== undefined && def.tombstoneTtlS > 0 && now - rec.lastSeenMs > def.tombstoneTtlS * 1000;
    });
  }

  knownAcked(replicaId: string, ns: string): ReadonlyMap<string, number> | undefined {
    const v = this.node.eventual.edges().get(replicaId)?.acked[ns];
    return v === undefined ? undefined : new Map(Object.entries(v));
  }

  opened(s: EdgeSession): void {
    this.sessions.add(s);
    this.logger.info('edge session opened', { replica: s.replicaId, session: s.sessionId, skewMs: s.skewMs });
    this.record(s, this.node.id);
  }

  closed(s: EdgeSession, reason: string): void {
    this.sessions.delete(s);
    clearTimeout(this.recordTimers.get(s));
    this.recordTimers.delete(s);
    this.lastRecorded.delete(s);
    this.logger.info('edge session closed', { replica: s.replicaId, session: s.sessionId, reason });
    this.record(s, 0);
  }

  changed(s: EdgeSession): void {
    if (!this.sessions.has(s) || this.recordTimers.has(s)) return;
    const wait = Math.max(0, (this.lastRecorded.get(s) ?? 0) + EDGE_RECORD_INTERVAL_MS - Date.now());
    this.recordTimers.set(s, setTimeout(() => {
      this.recordTimers.delete(s);
      if (this.sessions.has(s)) this.record(s, this.node.id);
    }, wait));
  }

  private record(s: EdgeSession, member: number): void {
    this.lastRecorded.set(s, Date.now());
    const acked: Record<string, Record<string, number>> = {};
    for (const [ns, st] of s.ns) acked[ns] = Object.fromEntries(st.acked);
    const u: EdgeUpdate = {
      replicaId: s.replicaId, device: s.device, incarnation: s.incarnation, acked, lastSeenMs: s.lastSeenMs, member,
      bytesInDelta: s.bytesIn - s.recorded.bytesIn, bytesOutDelta: s.bytesOut - s.recorded.bytesOut,
      opsInDelta: s.opsIn - s.recorded.opsIn, opsOutDelta: s.opsOut - s.recorded.opsOut, skewMs: s.skewMs,
    };
    s.recorded = { bytesIn: s.bytesIn, bytesOut: s.bytesOut, opsIn: s.opsIn, opsOut: s.opsOut };
    this.crdt.recordEdge(u).catch((e: unknown) => {
      // Lost with a leader change or a timeout: the next entry carries the vectors again (they
      // only grow), the byte counts of this one are lost (figures, not data).
      this.logger.warn('known-edge entry not recorded', { replica: s.replicaId, error: (e as Error).message });
    });
  }

  metric(e: Parameters<SessionHost['metric']>[0]): void {
    switch (e.kind) {
      case 'bytes': this.metrics.bytes(e.direction, e.n); break;
      case 'ops': this.metrics.ops(e.direction, e.n); break;
      case 'failure': this.metrics.failure(e.source, e.target, e.reason); break;
      case 'full-replay': this.metrics.fullReplay(); break;
      case 'resync': this.metrics.resync('tombstone_ttl'); break;
    }
  }

  log(msg: string, fields: Record<string, unknown>): void {
    this.logger.info(msg, fields);
  }

  // ---- causal stability and the admin list

  /**
   * Per namespace, the pointwise minimum of the region's vector and the acknowledged vector
   * of every known edge heard from within the namespace's tombstone_ttl (a silent one leaves
   * the minimum and must resync when it returns).
   */
  stable(ns: string, now = Date.now()): Map<string, number> {
    const out = this.side.vector(ns);
    const def = this.side.definition(ns);
    for (const rec of this.node.eventual.edges().values()) {
      if (def !== undefined && def.tombstoneTtlS > 0 && now - rec.lastSeenMs > def.tombstoneTtlS * 1000) continue;
      const v = rec.acked[ns];
      if (v === undefined) continue;
      for (const [o, s] of out) out.set(o, Math.min(s, v[o] ?? 0));
    }
    return out;
  }

  async listEdges(): Promise<{ memberId: number; edges: Array<Record<string, unknown>>; stable: Array<{ namespace: string; vector: Array<{ origin: string; seq: number }> }> }> {
    const now = Date.now();
    const live = new Map([...this.sessions].map((s) => [s.replicaId, s]));
    const edges = [...this.node.eventual.edges().values()].sort((a, b) => (a.replicaId < b.replicaId ? -1 : 1)).map((rec) => this.info(rec, live.get(rec.replicaId), now));
    const stable = this.side.eventualNamespaces().map((d) => ({ namespace: d.name, vector: vectorToWire(this.stable(d.name, now)) }));
    return { memberId: this.node.id, edges, stable };
  }

  private info(rec: EdgeRecord, s: EdgeSession | undefined, now: number): Record<string, unknown> {
    let lagOps = 0;
    for (const [ns, v] of Object.entries(rec.acked)) {
      const acked = s?.ns.get(ns)?.acked;
      for (const [o, seq] of this.side.vector(ns)) lagOps += Math.max(0, seq - Math.max(v[o] ?? 0, acked?.get(o) ?? 0));
    }
    const connected = s !== undefined || (rec.member !== 0 && now - rec.lastSeenMs < CONNECTED_RECENT_MS);
    const lastSeen = s?.lastSeenMs ?? rec.lastSeenMs;
    const pending = (x: number, y: number): number => x + (s === undefined ? 0 : y);
    return {
      replicaId: rec.replicaId, deviceId: rec.device, incarnation: rec.incarnation, connected, memberId: s !== undefined ? this.node.id : rec.member,
      lastSeenMs: lastSeen, lagOps, lagSeconds: s !== undefined ? s.lagSeconds(now) : lagOps === 0 ? 0 : (now - lastSeen) / 1000,
      bytesIn: pending(rec.bytesIn, (s?.bytesIn ?? 0) - (s?.recorded.bytesIn ?? 0)), bytesOut: pending(rec.bytesOut, (s?.bytesOut ?? 0) - (s?.recorded.bytesOut ?? 0)),
      opsIn: pending(rec.opsIn, (s?.opsIn ?? 0) - (s?.recorded.opsIn ?? 0)), opsOut: pending(rec.opsOut, (s?.opsOut ?? 0) - (s?.recorded.opsOut ?? 0)),
      skewMs: s?.skewMs ?? rec.skewMs,
      acked: Object.entries(rec.acked).sort(([a], [b]) => (a < b ? -1 : 1)).map(([namespace, v]) => ({ namespace, vector: vectorToWire(v) })),
    };
  }
}
