// Sync metrics (sync-metrics.ts): series by direction (source → target), the edge-group label
// bounded whatever the fleet sends, and the lag gauge keeping the worst per pair.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { SYNC_GROUP_LABELS_MAX, groupLabeler, syncCollectors } from './sync-metrics.js';

test('group labels: default for none, bounded count, anything odd shares edge-group:other', () => {
  const label = groupLabeler(3);
  assert.equal(label(''), 'edge-group:default');
  assert.equal(label('site-a'), 'edge-group:site-a');
  assert.equal(label('site-b'), 'edge-group:site-b');
  assert.equal(label('site-c'), 'edge-group:other', 'past the bound (default, site-a, site-b)');
  assert.equal(label('site-a'), 'edge-group:site-a', 'a group already labelled keeps its label');
  assert.equal(label('Bad Group"'), 'edge-group:other');
  assert.ok(SYNC_GROUP_LABELS_MAX >= 16);
});

test('sync collectors export by source and target, and lag is the worst per pair', async () => {
  const registry = new Registry();
  const m = syncCollectors(registry, 'regionstore_');
  const g = m.groupLabel('site-a');
  m.bytes(g, 'region', 100);
  m.bytes('region', g, 40);
  m.ops('region', g, 3);
  m.failure(g, 'region', 'clock-skew');
  m.fullReplay('region', g);
  m.bytes('region', g, Number.NaN); // ignored, never a throw
  m.setSource(() => ({
    connected: 2, skewSeconds: [-3, 1],
    lag: [{ source: 'region', target: g, seconds: 2 }, { source: 'region', target: g, seconds: 9 }, { source: g, target: 'region', seconds: Number.POSITIVE_INFINITY }],
  }));
  const text = await registry.metrics();
  for (const line of [
    'regionstore_sync_bytes_total{source="edge-group:site-a",target="region"} 100', 'regionstore_sync_bytes_total{source="region",target="edge-group:site-a"} 40',
    'regionstore_sync_ops_total{source="region",target="edge-group:site-a"} 3', 'regionstore_sync_failures_total{source="edge-group:site-a",target="region",reason="clock-skew"} 1',
    'regionstore_sync_full_replays_total{source="region",target="edge-group:site-a"} 1', 'regionstore_sync_lag_seconds{source="region",target="edge-group:site-a"} 9',
    'regionstore_sync_lag_seconds{source="edge-group:site-a",target="region"} 0', 'regionstore_sync_edges_connected 2', 'regionstore_edge_clock_skew_seconds 3',
  ]) assert.ok(text.includes(line), `${line}\nin\n${text}`);
});
