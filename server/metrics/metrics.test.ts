import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startMetricsServer, type MetricsServer } from './http-server.js';
import { ProposalFailure, createNodeMetrics, noopNodeMetrics } from './node-metrics.js';

/** `# TYPE name type` lines of an exposition, as a map. */
function types(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('node metrics', () => {
  it('eventual namespaces: ops applied by namespace and type, gauges from the registered source', async () => {
    const h = createNodeMetrics({ name: 'ev', defaultMetrics: false });
    h.metrics.crdtOpsApplied('ctr', 'counter', 3);
    h.metrics.crdtOpsApplied('ctr', 'counter', 2);
    h.metrics.crdtFigures(() => [{ namespace: 'ev', unresolvedConflicts: 0, supersededRecords: 4, completenessRatio: 0.5, gaps: 2 }]);
    const text = await h.registry.metrics();
    assert.equal(sample(text, 'regionstore_crdt_ops_applied_total{namespace="ctr",type="counter"}'), 5);
    assert.equal(sample(text, 'regionstore_crdt_superseded_records{namespace="ev"}'), 4);
    assert.equal(sample(text, 'regionstore_events_completeness_ratio{namespace="ev"}'), 0.5);
    assert.equal(sample(text, 'regionstore_events_gaps{namespace="ev"}'), 2);
    assert.equal(sample(text, 'regionstore_unresolved_conflicts{namespace="ev"}'), 0);
    assert.equal(types(text).get('regionstore_crdt_ops_applied_total'), 'counter');
  });

  const servers: MetricsServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('serves every metric with its type on an OS-chosen port', async () => {
    const h = createNodeMetrics({ name: 'n1' });
    const m = h.metrics;
    m.raftStatus({ term: 3, isLeader: true, commit: 10, applied: 9, hasLeader: true });
    m.leaderChanged();
    m.proposalCommitted(5);
    m.proposalFailed(ProposalFailure.timeout);
    m.pendingProposals(2);
    m.persistDuration(0.002, 7);
    m.applyDuration(0.001, 7);
    m.peerSendFailed(2);
    m.peerQueueDrop('3', 4);
    m.snapshotSent();
    m.snapshotReceived();
    m.grpcRequest('etcdserverpb.KV/Range', 'OK', 0.0003);
    m.grpcRequest('KV/Put', 5, 0.001);
    m.keys(42);
    m.dbSize(4096);
    m.recordCache({ bytes: 1000, hits: 7, misses: 3 });
    m.recordCache({ bytes: 1200, hits: 10, misses: 3 });
    m.recordCache({ bytes: 100, hits: 2, misses: 1 }); // a new store after a snapshot: totals restart
    m.readServed('session', 'follower');
    m.readServed('session', 'follower');
    m.readServed('linearizable', 'leader');
    m.boundedRead('forwarded');
    m.sessionWait(0.004);
    const server = await startMetricsServer({ registry: h.registry, snapshot: h.snapshot, port: 0 });
    servers.push(server);
    assert.ok(server.port > 0);

    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const t = types(text);
    const expected: Record<string, string> = {
      regionstore_node_info: 'gauge',
      regionstore_raft_term: 'gauge',
      regionstore_raft_leader_changes_total: 'counter',
      regionstore_raft_is_leader: 'gauge',
      regionstore_raft_has_leader: 'gauge',
      regionstore_raft_commit_index: 'gauge',
      regionstore_raft_applied_index: 'gauge',
      regionstore_proposals_committed_total: 'counter',
      regionstore_proposals_failed_total: 'counter',
      regionstore_proposals_pending: 'gauge',
      regionstore_raft_persist_duration_seconds: 'histogram',
      regionstore_raft_persist_batch_entries: 'histogram',
      regionstore_apply_duration_seconds: 'histogram',
      regionstore_apply_batch_entries: 'histogram',
      regionstore_peer_send_failures_total: 'counter',
      regionstore_peer_queue_drops_total: 'counter',
      regionstore_snapshots_sent_total: 'counter',
      regionstore_snapshots_received_total: 'counter',
      regionstore_grpc_requests_total: 'counter',
      regionstore_grpc_request_duration_seconds: 'histogram',
      regionstore_mvcc_keys: 'gauge',
      regionstore_db_size_bytes: 'gauge',
      regionstore_mvcc_record_cache_bytes: 'gauge',
      regionstore_mvcc_record_cache_lookups_total: 'counter',
      regionstore_reads_total: 'counter',
      regionstore_bounded_reads_not_local_total: 'counter',
      regionstore_session_read_wait_seconds: 'histogram',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(t.get(name), type, name);

    assert.equal(sample(text, 'regionstore_raft_term'), 3);
    assert.equal(sample(text, 'regionstore_raft_commit_index'), 10);
    assert.equal(sample(text, 'regionstore_proposals_committed_total'), 5);
    assert.equal(sample(text, 'regionstore_proposals_failed_total{reason="timeout"}'), 1);
    assert.equal(sample(text, 'regionstore_peer_queue_drops_total{peer="3"}'), 4);
    assert.equal(sample(text, 'regionstore_grpc_requests_total{method="etcdserverpb.KV/Range",code="OK"}'), 1);
    assert.equal(sample(text, 'regionstore_grpc_requests_total{method="KV/Put",code="NOT_FOUND"}'), 1);
    assert.equal(sample(text, 'regionstore_raft_persist_duration_seconds_count'), 1);
    assert.equal(sample(text, 'regionstore_db_size_bytes'), 4096);
    assert.equal(sample(text, 'regionstore_mvcc_record_cache_bytes'), 100);
    assert.equal(sample(text, 'regionstore_mvcc_record_cache_lookups_total{result="hit"}'), 12);
    assert.equal(sample(text, 'regionstore_mvcc_record_cache_lookups_total{result="miss"}'), 4);
    assert.equal(sample(text, 'regionstore_node_info{name="n1"}'), 1);
    assert.equal(sample(text, 'regionstore_reads_total{level="session",role="follower"}'), 2);
    assert.equal(sample(text, 'regionstore_reads_total{level="linearizable",role="leader"}'), 1);
    assert.equal(sample(text, 'regionstore_bounded_reads_not_local_total{outcome="forwarded"}'), 1);
    assert.equal(sample(text, 'regionstore_session_read_wait_seconds_count'), 1);

    const status = (await (await fetch(`${server.url}/status.json`)).json()) as Record<string, unknown>;
    assert.equal(status.name, 'n1');
    assert.equal(status.isLeader, true);
    assert.equal(status.keys, 42);

    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /status\.json/);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  });

  it('two nodes in one process keep separate registries', async () => {
    const a = createNodeMetrics({ name: 'a', defaultMetrics: false });
    const b = createNodeMetrics({ name: 'b', defaultMetrics: false });
    a.metrics.keys(1);
    b.metrics.keys(2);
    assert.equal(sample(await a.registry.metrics(), 'regionstore_mvcc_keys'), 1);
    assert.equal(sample(await b.registry.metrics(), 'regionstore_mvcc_keys'), 2);
  });

  it('ignores values prom-client would throw on', () => {
    const h = createNodeMetrics({ name: 'x', defaultMetrics: false });
    h.metrics.persistDuration(Number.NaN, -1);
    h.metrics.keys(Number.NaN);
    h.metrics.proposalCommitted(-3);
    assert.equal(h.snapshot().proposalsCommitted, 0);
    noopNodeMetrics.grpcRequest('m', 'OK', 1);
  });

  it('/health follows the leader, like etcd, and takes a custom check', async () => {
    const h = createNodeMetrics({ name: 'n2', defaultMetrics: false });
    const server = await startMetricsServer({ registry: h.registry, snapshot: h.snapshot, port: 0 });
    servers.push(server);
    let res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { health: 'false', reason: 'RAFT NO LEADER' });
    h.metrics.raftStatus({ term: 2, isLeader: false, commit: 1, applied: 1, hasLeader: true });
    res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { health: 'true', reason: '' });

    const custom = await startMetricsServer({
      registry: h.registry, snapshot: h.snapshot, port: 0,
      health: async () => { throw new Error('disk gone'); },
    });
    servers.push(custom);
    res = await fetch(`${custom.url}/health`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { health: 'false', reason: 'health check failed: disk gone' });
  });
});
