// What the dashboard page shows (GET /dashboard.json on the metrics port), and the alert
// conditions evaluated on it. The page is an operator's view of the region as this member
// sees it; it carries metadata only (names, ids, counts, figures), never a key or a value.
//
// The alerts are the conditions of the shipped Prometheus rules (docker/prometheus), taken
// here at this instant: a member without Prometheus still shows them, and one with it shows
// them before a rule's `for:` period has passed.

/** One member of the region, as this member knows it. */
export interface DashboardMember {
  /** Hex, as etcdctl prints member ids. */
  id: string;
  name: string;
  clientUrl: string;
  /** This member is the one serving the page. */
  self: boolean;
  /** 'leader' | 'follower' | 'learner' | 'unknown' (unreachable). */
  role: string;
  term?: number;
  appliedIndex?: number;
  raftIndex?: number;
  healthy: boolean;
  /** Why not healthy ('' when healthy): etcd's /health reason, or why it could not be asked. */
  reason: string;
}

/** One known edge replica (the region's known-edge table plus this member's live sessions). */
export interface DashboardEdge {
  replicaId: string;
  device: string;
  connected: boolean;
  /** Hex id of the member it is connected to ('' when none). */
  member: string;
  lastSeenMs: number;
  lagOps: number;
  lagSeconds: number;
  bytesIn: number;
  bytesOut: number;
  skewMs: number;
}

export interface DashboardNamespace {
  name: string;
  prefix: string;
  level: string;
  crdtType: string;
  /** Live keys it owns (nested namespaces' keys left out); undefined when not counted yet. */
  keys?: number;
  /** mv: keys with more than one sibling. */
  unresolvedConflicts?: number;
  /** events: events held / events the devices' highest seqs say exist (1: none missing). */
  completeness?: number;
}

export interface DashboardLeaderChange {
  atMs: number;
  leader: string;
  term: number;
}

export type AlertSeverity = 'critical' | 'warning';

export interface DashboardAlert {
  /** The Prometheus rule's name (docker/prometheus/rules.yaml). */
  name: string;
  severity: AlertSeverity;
  /** For a person: what is wrong and where. */
  summary: string;
}

export interface DashboardData {
  generatedAtMs: number;
  self: { name: string; id: string; role: string; leader: string };
  members: DashboardMember[];
  edges: DashboardEdge[];
  namespaces: DashboardNamespace[];
  leaderChanges: DashboardLeaderChange[];
  /** Sync failures counted by this member within SYNC_FAILURE_WINDOW_MS. */
  syncFailuresRecent: number;
  alerts: DashboardAlert[];
}

/** SyncLagHigh: an edge further behind than this (the rule's 300 s). */
export const SYNC_LAG_ALERT_SECONDS = 300;
/** SyncFailure: more than this many failures within SYNC_FAILURE_WINDOW_MS (the rule's 3 in 5 m). */
export const SYNC_FAILURES_ALERT = 3;
export const SYNC_FAILURE_WINDOW_MS = 5 * 60_000;
/** ConflictResolutionBacklog: more unresolved mv conflicts in a namespace than this (the rule's 10). */
export const CONFLICT_BACKLOG_ALERT = 10;

/** The alert conditions that hold in `d` now (its `alerts` field is not read). */
export function evaluateAlerts(d: Omit<DashboardData, 'alerts'>): DashboardAlert[] {
  const out: DashboardAlert[] = [];
  if (d.self.leader === '' || d.self.leader === '0') {
    out.push({ name: 'NoLeader', severity: 'critical', summary: `member ${d.self.name} sees no leader` });
  }
  for (const m of d.members) {
    if (!m.healthy) out.push({ name: 'MemberDown', severity: 'critical', summary: `member ${m.name || m.id} is ${m.role === 'unknown' ? 'down' : 'unhealthy'}: ${m.reason}` });
  }
  for (const e of d.edges) {
    if (e.lagSeconds > SYNC_LAG_ALERT_SECONDS) {
      out.push({ name: 'SyncLagHigh', severity: 'warning', summary: `edge ${e.replicaId} is ${Math.round(e.lagSeconds)} s (${e.lagOps} ops) behind the region` });
    }
  }
  if (d.syncFailuresRecent > SYNC_FAILURES_ALERT) {
    out.push({ name: 'SyncFailure', severity: 'critical', summary: `${d.syncFailuresRecent} sync failures on this member in the last ${SYNC_FAILURE_WINDOW_MS / 60_000} min` });
  }
  for (const n of d.namespaces) {
    if ((n.unresolvedConflicts ?? 0) > CONFLICT_BACKLOG_ALERT) {
      out.push({ name: 'ConflictResolutionBacklog', severity: 'warning', summary: `namespace ${n.name} has ${n.unresolvedConflicts} unresolved conflicts` });
    }
  }
  return out;
}

/**
 * How much a running total grew within the last `windowMs`: samples are taken when asked
 * and by the caller's timer; the oldest sample at or before the window's start is the base
 * (the first sample when the process is younger than the window).
 */
export class CounterWindow {
  private readonly samples: Array<{ atMs: number; total: number }> = [];

  constructor(private readonly windowMs: number) {}

  sample(total: number, atMs: number): void {
    this.samples.push({ atMs, total });
    // Keep one sample older than the window: it is the base of the increase.
    while (this.samples.length > 2 && this.samples[1]!.atMs <= atMs - this.windowMs) this.samples.shift();
  }

  increase(): number {
    if (this.samples.length === 0) return 0;
    return Math.max(0, this.samples[this.samples.length - 1]!.total - this.samples[0]!.total);
  }
}
