// The dashboard's pure parts: the alert conditions, the failure window, the peer status
// cache and an unreachable peer, and /dashboard.json on the metrics server.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  CONFLICT_BACKLOG_ALERT, CounterWindow, SYNC_FAILURES_ALERT, SYNC_LAG_ALERT_SECONDS, evaluateAlerts, type DashboardData, type DashboardMember,
} from './dashboard-data.js';
import { createDashboardFeed } from './dashboard-feed.js';
import { PeerStatusCache, fetchPeerStatus, type PeerStatus } from './dashboard-peers.js';
import { startMetricsServer, type MetricsServer } from './http-server.js';
import { createNodeMetrics } from './node-metrics.js';

type Base = Omit<DashboardData, 'alerts'>;

const member = (name: string, healthy = true, role = 'follower'): DashboardMember => ({
  id: name, name, clientUrl: '', self: false, role, healthy, reason: healthy ? '' : 'unreachable at http://127.0.0.1:1: ECONNREFUSED',
});

function healthyRegion(): Base {
  return {
    generatedAtMs: 0, self: { name: 'n1', id: '1', role: 'leader', leader: '1' },
    members: [member('n1', true, 'leader'), member('n2'), member('n3')],
    edges: [{ replicaId: 'edge:a:1', device: 'a', connected: true, member: '1', lastSeenMs: 0, lagOps: 0, lagSeconds: 0, bytesIn: 1, bytesOut: 1, skewMs: 0 }],
    namespaces: [{ name: 'docs', prefix: 'docs/', level: 'eventual', crdtType: 'mv', keys: 3, unresolvedConflicts: 2 }],
    leaderChanges: [], syncFailuresRecent: 0,
  };
}

describe('dashboard alerts', () => {
  it('none in a healthy region', () => {
    assert.deepEqual(evaluateAlerts(healthyRegion()), []);
  });

  it('each rule\'s condition, with its name and severity', () => {
    const d = healthyRegion();
    d.self.leader = '0';
    d.members[2] = member('n3', false, 'unknown');
    d.edges[0]!.lagSeconds = SYNC_LAG_ALERT_SECONDS + 1;
    d.syncFailuresRecent = SYNC_FAILURES_ALERT + 1;
    d.namespaces[0]!.unresolvedConflicts = CONFLICT_BACKLOG_ALERT + 1;
    const alerts = evaluateAlerts(d);
    assert.deepEqual(alerts.map((a) => [a.name, a.severity]), [
      ['NoLeader', 'critical'], ['MemberDown', 'critical'], ['SyncLagHigh', 'warning'], ['SyncFailure', 'critical'], ['ConflictResolutionBacklog', 'warning'],
    ]);
    assert.match(alerts[1]!.summary, /member n3 is down: unreachable/);
    assert.match(alerts[2]!.summary, /edge:a:1/);
  });

  it('thresholds are "over", not "at"', () => {
    const d = healthyRegion();
    d.edges[0]!.lagSeconds = SYNC_LAG_ALERT_SECONDS;
    d.syncFailuresRecent = SYNC_FAILURES_ALERT;
    d.namespaces[0]!.unresolvedConflicts = CONFLICT_BACKLOG_ALERT;
    assert.deepEqual(evaluateAlerts(d), []);
  });
});

describe('counter window', () => {
  it('the increase over the window, from the last sample at or before its start', () => {
    const w = new CounterWindow(1_000);
    assert.equal(w.increase(), 0);
    w.sample(5, 0);
    w.sample(7, 500);
    assert.equal(w.increase(), 2);
    w.sample(9, 1_000);
    assert.equal(w.increase(), 4, 'the sample at the window start is the base');
    w.sample(9, 2_100);
    assert.equal(w.increase(), 0, 'nothing new within the last second');
  });
});

describe('peer status', () => {
  it('an unreachable peer is a status with the reason, not a throw', async () => {
    // A port that was just free and is closed again: the connection is refused.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const st = await fetchPeerStatus(`http://127.0.0.1:${port}`);
    assert.equal(st.reachable, false);
    assert.equal(st.healthy, false);
    assert.match(st.reason, new RegExp(`unreachable at http://127.0.0.1:${port}`));
  });

  it('the cache asks each URL once per period and forgets removed members', async () => {
    const asked: string[] = [];
    const ask = (url: string): Promise<PeerStatus> => {
      asked.push(url);
      return Promise.resolve({ reachable: true, healthy: true, reason: '' });
    };
    const cache = new PeerStatusCache(ask, 1_000);
    await Promise.all([cache.get('a', 0), cache.get('a', 10), cache.get('b', 10)]);
    assert.deepEqual(asked, ['a', 'b']);
    await cache.get('a', 1_000);
    assert.deepEqual(asked, ['a', 'b', 'a']);
    cache.keepOnly(new Set(['a']));
    await cache.get('b', 1_001);
    assert.deepEqual(asked, ['a', 'b', 'a', 'b']);
  });
});

describe('/dashboard.json', () => {
  const servers: MetricsServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('answers 404 without a source (an edge), the data with alerts with one', async () => {
    const h = createNodeMetrics({ name: 'n1', defaultMetrics: false });
    const plain = await startMetricsServer({ registry: h.registry, snapshot: h.snapshot, port: 0 });
    servers.push(plain);
    assert.equal((await fetch(`${plain.url}/dashboard.json`)).status, 404);

    let gathered = 0;
    const feed = createDashboardFeed(h.registry, () => {
      gathered++;
      const { syncFailuresRecent: _, ...base } = healthyRegion();
      return Promise.resolve({ ...base, self: { ...base.self, leader: '0' } });
    });
    const server = await startMetricsServer({ registry: h.registry, snapshot: h.snapshot, port: 0, dashboard: () => feed.data() });
    servers.push(server);
    const [r1, r2] = await Promise.all([fetch(`${server.url}/dashboard.json`), fetch(`${server.url}/dashboard.json`)]);
    assert.equal(r1.status, 200);
    const d = (await r1.json()) as DashboardData;
    await r2.json();
    assert.equal(gathered, 1, 'requests close together share one gather');
    assert.deepEqual(d.alerts.map((a) => a.name), ['NoLeader']);
    assert.equal(d.syncFailuresRecent, 0);
    const page = await (await fetch(`${server.url}/`)).text();
    assert.match(page, /\/dashboard\.json/);
    assert.doesNotMatch(page, /<script src|<link /, 'no external assets');
    feed.close();
  });
});
