// The edge's own gauges and counters on the node registry (the same prom-client registry
// helpers as `serve`): link state, strong-copy staleness, group commits, revisions. Read at
// scrape time (collect), so nothing runs between scrapes.

import { Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../metrics/node-metrics.js';
import { REGION_LABEL, type SyncFiguresSource, type SyncMetrics } from '../metrics/sync-metrics.js';
import type { EdgeNode } from './edge-node.js';

export function registerEdgeMetrics(registry: Registry, node: EdgeNode, sync: SyncMetrics): { stop(): void } {
  const gauges = new Map<string, Gauge>();
  const g = (name: string, help: string, read: () => number): void => {
    const full = `${METRIC_PREFIX}edge_${name}`;
    gauges.set(full, new Gauge({ name: full, help, registers: [registry], collect() {
      this.set(read());
    } }));
  };
  g('connected', '1 while the edge is connected to its region, else 0.', () => (node.upstream.connected ? 1 : 0));
  g('offline_seconds', 'Seconds since the edge lost its region link (0 while connected).', () => {
    const since = node.upstream.offlineSinceMs;
    return node.upstream.connected || since === undefined ? 0 : (Date.now() - since) / 1000;
  });
  g('connects_total', 'Connections made to the region since start.', () => node.upstream.connects);
  g('strong_staleness_seconds', 'How far behind the region the strong namespaces\' copy may be (-1: never caught up).', () => {
    const s = node.feed.stalenessMs();
    return Number.isFinite(s) ? s / 1000 : -1;
  });
  g('strong_revision', 'The region revision the strong namespaces\' copy has applied.', () => node.store.feedRevision);
  g('strong_resyncs_total', 'Rebuilds of the strong copy from a Range after the region compacted its history.', () => node.feed.resyncs);
  g('local_revision', 'The local store\'s revision.', () => node.store.mvcc.currentRevision);
  g('commit_batches_total', 'Group-committed (fsynced) batches of local changes.', () => node.store.commits.batches);
  g('commit_writes_total', 'Local changes made durable in those batches.', () => node.store.commits.writes);
  g('incarnation', 'This data dir\'s incarnation (its replica id is edge:<device>:<incarnation>).', () => node.marker.incarnation);
  sync.setSource(edgeSyncFigures(node, sync.groupLabel(node.replica.group)));
  return {
    stop() {
      for (const n of gauges.keys()) registry.removeSingleMetric(n);
    },
  };
}

/**
 * The edge's side of `regionstore_sync_lag_seconds`: edge group → region, the age of the
 * oldest page its session sent that the region has not acknowledged. Only while a session is
 * open: offline, the edge cannot tell what the region holds (regionstore_edge_offline_seconds
 * says how long the link is down; the region reports its own side).
 */
function edgeSyncFigures(node: EdgeNode, group: string): SyncFiguresSource {
  return () => {
    const sync = node.sessionStatus().sync as { lagMs?: number; skewMs?: number } | undefined;
    const lagMs = node.upstream.connected ? sync?.lagMs : undefined;
    return {
      connected: 0,
      lag: lagMs === undefined ? [] : [{ source: group, target: REGION_LABEL, seconds: lagMs / 1000 }],
      skewSeconds: [],
    };
  };
}
