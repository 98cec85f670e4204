// Metrics of delta sync sessions (issue 14). Labels are bounded: source and target are
// roles ("edge", "region"), never device ids (an edge's own figures are in rsctl edge
// list, through the EdgeAdmin RPC); reason is one of the SyncError codes or a session end
// reason; direction is "in" or "out". The gauges read the live sessions when scraped.

import { Counter, Gauge, type Registry } from 'prom-client';

export type SyncDirection = 'in' | 'out';

/** What the gauges read when scraped (the host's live sessions). */
export interface SyncFigures {
  /** Sessions connected now. */
  connected: number;
  /** Per (source, target): the seconds the target is behind the source (the oldest unacked write). */
  lag: Array<{ source: string; target: string; seconds: number }>;
  /** Per connected edge: its measured clock skew (seconds, its clock minus ours). */
  skewSeconds: number[];
}

export type SyncFiguresSource = () => SyncFigures;

export interface SyncMetrics {
  bytes(direction: SyncDirection, n: number): void;
  ops(direction: SyncDirection, n: number): void;
  failure(source: string, target: string, reason: string): void;
  fullReplay(): void;
  resync(reason: 'tombstone_ttl'): void;
  setSource(source: SyncFiguresSource): void;
}

export const noopSyncMetrics: SyncMetrics = {
  bytes() {}, ops() {}, failure() {}, fullReplay() {}, resync() {}, setSource() {},
};

const ok = (n: number): boolean => Number.isFinite(n) && n > 0;
const none: SyncFiguresSource = () => ({ connected: 0, lag: [], skewSeconds: [] });



export function syncCollectors(registry: Registry, prefix: string): SyncMetrics {
  const registers = [registry];
  let source = none;
  const bytes = new Counter({ name: prefix + 'sync_bytes_total', help: 'Bytes of sync sessions on the wire, by direction (in: received).', labelNames: ['direction'], registers });
  const ops = new Counter({ name: prefix + 'sync_ops_total', help: 'CRDT records carried by sync sessions, by direction (in: received).', labelNames: ['direction'], registers });
  const failures = new Counter({
    name: prefix + 'sync_failures_total', help: 'Sync refusals and failed sessions, by source, target and reason.', labelNames: ['source', 'target', 'reason'], registers,
  });
  const replays = new Counter({ name: prefix + 'sync_full_replays_total', help: 'Sessions that sent a peer everything from an empty vector although it held data (target 0).', registers });
  const resyncs = new Counter({ name: prefix + 'sync_resyncs_total', help: 'Namespaces an edge was told to resync from a snapshot, by reason.', labelNames: ['reason'], registers });
  const connected = new Gauge({
    name: prefix + 'sync_edges_connected', help: 'Edge sessions connected to this member.', registers,
    collect() { this.set(source().connected); },
  });
  const lag = new Gauge({
    name: prefix + 'sync_lag_seconds', help: 'How far the target replica is behind the source (age of the oldest write not yet acknowledged).',
    labelNames: ['source', 'target'], registers,
    collect() {
      this.reset();
      const worst = new Map<string, { source: string; target: string; seconds: number }>();
      for (const l of source().lag) {
        const k = `${l.source}\u0000${l.target}`;
        const w = worst.get(k);
        if (w === undefined || l.seconds > w.seconds) worst.set(k, l);
      }
      for (const l of worst.values()) this.set({ source: l.source, target: l.target }, l.seconds);
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
    bytes(direction, n) { if (ok(n)) bytes.inc({ direction }, n); },
    ops(direction, n) { if (ok(n)) ops.inc({ direction }, n); },
    failure(s, t, reason) { failures.inc({ source: s, target: t, reason }); },
    fullReplay() { replays.inc(); },
    resync(reason) { resyncs.inc({ reason }); },
    setSource(s) { source = s; },
  };
}
