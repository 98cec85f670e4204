// Metrics of delta sync sessions (issues 14 and 17). Every series is labelled by the
// direction of the data it counts, `source` → `target`, where each end is "region" or an edge
// group, "edge-group:<group>" (the edge's `--group`, default "default", sent in its HELLO).
// Labels are bounded by configuration, never by device: at most SYNC_GROUP_LABELS_MAX groups
// get a label of their own per process, later ones share "edge-group:other" (an edge's own
// figures are in `rsctl edge list`, through the EdgeAdmin RPC). `reason` is one of the
// SyncError codes or a session end reason. The gauges read the live sessions when scraped.

import { Counter, Gauge, type Registry } from 'prom-client';

/** The region's end of every series. */
export const REGION_LABEL = 'region';
/** The group an edge belongs to when it names none (an edge older than groups, or `--group` unset). */
export const DEFAULT_EDGE_GROUP = 'default';
/** Distinct edge groups labelled per process; a fleet that names more shares "edge-group:other". */
export const SYNC_GROUP_LABELS_MAX = 64;
/** A group name as `regionstore edge --group` accepts it. */
export const EDGE_GROUP_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const OTHER_GROUP_LABEL = 'edge-group:other';

/** What the gauges read when scraped (the host's live sessions and known edges). */
export interface SyncFigures {
  /** Sessions connected now. */
  connected: number;
  /** Per (source, target): seconds the target is behind the source; the gauge keeps the worst per pair. */
  lag: Array<{ source: string; target: string; seconds: number }>;
  /** Per connected edge: its measured clock skew (seconds, its clock minus ours). */
  skewSeconds: number[];
}

export type SyncFiguresSource = () => SyncFigures;

export interface SyncMetrics {
  /** Bytes on the wire from `source` to `target`. */
  bytes(source: string, target: string, n: number): void;
  /** CRDT records carried from `source` to `target` (sent by the source, or newly applied by the target). */
  ops(source: string, target: string, n: number): void;
  failure(source: string, target: string, reason: string): void;
  /** A session sent `target` everything from an empty vector although it held data (target 0). */
  fullReplay(source: string, target: string): void;
  resync(reason: 'tombstone_ttl' | 'gc_frontier'): void;
  setSource(source: SyncFiguresSource): void;
  /** The label of an edge group: "edge-group:<group>", bounded (see SYNC_GROUP_LABELS_MAX). */
  groupLabel(group: string): string;
}

/** Groups → labels with the cardinality bound; one per registry (a process's metrics). */
export function groupLabeler(max = SYNC_GROUP_LABELS_MAX): (group: string) => string {
  const seen = new Set<string>();
  return (group) => {
    const g = group === '' ? DEFAULT_EDGE_GROUP : group;
    if (!EDGE_GROUP_NAME_RE.test(g)) return OTHER_GROUP_LABEL;
    if (!seen.has(g)) {
      if (seen.size >= max) return OTHER_GROUP_LABEL;
      seen.add(g);
    }
    return `edge-group:${g}`;
  };
}

const unbounded = groupLabeler();
export const noopSyncMetrics: SyncMetrics = {
  bytes() {}, ops() {}, failure() {}, fullReplay() {}, resync() {}, setSource() {}, groupLabel: (g) => unbounded(g),
};

const ok = (n: number): boolean => Number.isFinite(n) && n > 0;
const none: SyncFiguresSource = () => ({ connected: 0, lag: [], skewSeconds: [] });

export function syncCollectors(registry: Registry, prefix: string): SyncMetrics {
  const registers = [registry];
  let source = none;
  const labelNames = ['source', 'target'] as const;
  const bytes = new Counter({ name: prefix + 'sync_bytes_total', help: 'Bytes of sync sessions on the wire, from source to target (region or edge-group:<group>).', labelNames, registers });
  const ops = new Counter({ name: prefix + 'sync_ops_total', help: 'CRDT records carried by sync sessions, from source to target.', labelNames, registers });
  const failures = new Counter({
    name: prefix + 'sync_failures_total', help: 'Sync refusals and failed sessions, by source, target and reason (a refused page: the direction it was going; a failed session: edge group to region).',
    labelNames: ['source', 'target', 'reason'], registers,
  });
  const replays = new Counter({ name: prefix + 'sync_full_replays_total', help: 'Sessions that sent the target everything from an empty vector although it held data (target 0).', labelNames, registers });
  const resyncs = new Counter({ name: prefix + 'sync_resyncs_total', help: 'Namespaces an edge was told to resync from a snapshot, by reason.', labelNames: ['reason'], registers });
  const connected = new Gauge({
    name: prefix + 'sync_edges_connected', help: 'Edge sessions connected to this member.', registers,
    collect() { this.set(source().connected); },
  });
  const lag = new Gauge({
    name: prefix + 'sync_lag_seconds',
    help: 'How far the target is behind the source: the age of the oldest change the target has not acknowledged (the worst over the target group\'s edges).',
    labelNames, registers,
    collect() {
      this.reset();
      const worst = new Map<string, { source: string; target: string; seconds: number }>();
      for (const l of source().lag) {
        const k = `${l.source}\u0000${l.target}`;
        const w = worst.get(k);
        if (w === undefined || l.seconds > w.seconds) worst.set(k, l);
      }
      for (const l of worst.values()) this.set({ source: l.source, target: l.target }, Number.isFinite(l.seconds) ? Math.max(0, l.seconds) : 0);
    },
  });
  const skew = new Gauge({
    name: prefix + 'edge_clock_skew_seconds', help: 'The largest absolute clock skew measured among connected edges (per edge: rsctl edge list).', registers,
    collect() {
      let m = 0;
      for (const s of source().skewSeconds) m = Math.max(m, Math.abs(s));
      this.set(m);
    },
  });
  void [connected, lag, skew]; // read by the registry when scraped

  return {
    bytes(s, t, n) { if (ok(n)) bytes.inc({ source: s, target: t }, n); },
    ops(s, t, n) { if (ok(n)) ops.inc({ source: s, target: t }, n); },
    failure(s, t, reason) { failures.inc({ source: s, target: t, reason }); },
    fullReplay(s, t) { replays.inc({ source: s, target: t }); },
    resync(reason) { resyncs.inc({ reason }); },
    setSource(s) { source = s; },
    groupLabel: groupLabeler(),
  };
}
