// The dashboard's figures from a region member (server/metrics/dashboard-feed.ts serves
// them): the members (this one from its own state, the peers by asking each over its
// client URL: dashboard-peers.ts says why), the known edges (the replicated table plus the
// live sessions, as `rsctl edge list` shows them), the namespaces with their key counts
// and eventual running counts, and the leader changes this member saw. Metadata only.

import type { DashboardData, DashboardNamespace } from '../metrics/dashboard-data.js';
import type { PeerStatusCache } from '../metrics/dashboard-peers.js';
import type { HealthResult } from '../metrics/http-server.js';
import type { EdgeHost } from './edge-host/host.js';
import type { RegionNode } from './region-node.js';

/** Key counts are a keys-only scan per namespace: taken at most this often, shown in between. */
export const NAMESPACE_KEYS_REFRESH_MS = 5_000;

const ZERO = new Uint8Array([0]);
const hex = (id: number): string => id.toString(16);
/** A figure of the admin list's loosely typed rows (0 when absent). */
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export interface DashboardSourceOptions {
  node: RegionNode;
  edges: EdgeHost;
  /** This member's /health answer. */
  health: () => Promise<HealthResult>;
  peers: PeerStatusCache;
}

export class RegionDashboardSource {
  private keyCounts = new Map<string, number>();
  private keysCountedAtMs = -Infinity;
  private counting: Promise<void> | undefined;

  constructor(private readonly o: DashboardSourceOptions) {}

  async gather(): Promise<Omit<DashboardData, 'alerts' | 'syncFailuresRecent'>> {
    const { node } = this.o;
    const [members, edges, namespaces] = await Promise.all([this.members(), this.edges(), this.namespaces()]);
    const selfRole = node.isLeader ? 'leader' : node.members.get(node.id)?.isLearner === true ? 'learner' : 'follower';
    return {
      generatedAtMs: Date.now(),
      self: { name: node.opts.name, id: hex(node.id), role: selfRole, leader: hex(node.leaderId) },
      members, edges, namespaces,
      leaderChanges: node.recentLeaderChanges().map((c) => ({ atMs: c.atMs, leader: hex(c.leader), term: c.term })).reverse(),
    };
  }

  private async members(): Promise<DashboardData['members']> {
    const { node, peers } = this.o;
    const list = node.members.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    peers.keepOnly(new Set(list.flatMap((m) => m.clientUrls.slice(0, 1))));
    return Promise.all(list.map(async (m) => {
      const clientUrl = m.clientUrls[0] ?? '';
      if (m.id === node.id) {
        const h = await this.o.health();
        const st = node.status();
        return {
          id: hex(m.id), name: m.name, clientUrl, self: true,
          role: node.isLeader ? 'leader' : m.isLearner ? 'learner' : 'follower',
          term: node.term, appliedIndex: node.appliedIndex, raftIndex: st.commit,
          healthy: h.healthy, reason: h.healthy ? '' : (h.reason ?? ''),
        };
      }
      if (clientUrl === '') {
        // Added but not started yet: it has published no client URL.
        return { id: hex(m.id), name: m.name, clientUrl, self: false, role: 'unknown', healthy: false, reason: 'not started: it has published no client URL yet' };
      }
      const p = await peers.get(clientUrl);
      const role = !p.reachable ? 'unknown' : p.isLearner === true || m.isLearner ? 'learner' : p.leader === hex(m.id) ? 'leader' : 'follower';
      return {
        id: hex(m.id), name: m.name, clientUrl, self: false, role,
        ...(p.term !== undefined ? { term: p.term } : {}),
        ...(p.appliedIndex !== undefined ? { appliedIndex: p.appliedIndex } : {}),
        ...(p.raftIndex !== undefined ? { raftIndex: p.raftIndex } : {}),
        healthy: p.healthy, reason: p.reason,
      };
    }));
  }

  private async edges(): Promise<DashboardData['edges']> {
    const { edges } = await this.o.edges.listEdges();
    return edges.map((e) => ({
      replicaId: String(e.replicaId), device: String(e.deviceId), connected: e.connected === true,
      member: num(e.memberId) === 0 ? '' : hex(num(e.memberId)), lastSeenMs: num(e.lastSeenMs),
      lagOps: num(e.lagOps), lagSeconds: num(e.lagSeconds), bytesIn: num(e.bytesIn), bytesOut: num(e.bytesOut), skewMs: num(e.skewMs),
    }));
  }

  private async namespaces(): Promise<DashboardNamespace[]> {
    const { node } = this.o;
    if (Date.now() - this.keysCountedAtMs >= NAMESPACE_KEYS_REFRESH_MS) {
      // A member that cannot read its state now (a snapshot being installed, a state being
      // rebuilt) shows the last counts; the next refresh tries again.
      this.counting ??= this.countKeys().catch(() => undefined).finally(() => {
        this.counting = undefined;
      });
      // The first answer waits for the counts; later ones show the last counts meanwhile.
      if (this.keyCounts.size === 0) await this.counting;
    }
    return node.namespaces.list().map((d) => {
      const out: DashboardNamespace = { name: d.name, prefix: d.prefix, level: d.level, crdtType: d.crdtType };
      const keys = this.keyCounts.get(d.name);
      if (keys !== undefined) out.keys = keys;
      if (d.level === 'eventual') {
        const c = node.eventual.counts(d.name);
        if (d.crdtType === 'mv') out.unresolvedConflicts = c.unresolved;
        if (d.crdtType === 'events') out.completeness = c.eventsHighest === 0 ? 1 : c.eventsHeld / c.eventsHighest;
      }
      return out;
    });
  }

  /** Live keys per namespace over the ranges it owns (a nested namespace's keys are its own). */
  private async countKeys(): Promise<void> {
    const { node } = this.o;
    const registry = node.namespaces;
    const counts = new Map<string, number>();
    await node.readLocal(async (mvcc) => {
      for (const d of registry.list()) {
        let n = 0;
        for (const r of registry.ownedRanges(new TextEncoder().encode(d.prefix))) {
          // etcd's "\0": the lowest key, and as a range end every key from the start on.
          const key = r.start.length === 0 ? ZERO : r.start;
          const res = await mvcc.range({ key, rangeEnd: r.end ?? ZERO, countOnly: true });
          n += res.count;
        }
        counts.set(d.name, n);
      }
    });
    this.keyCounts = counts;
    this.keysCountedAtMs = Date.now();
  }
}
