// The client port of a real 3-member cluster as etcd's: etcdctl 3.4 with http:// endpoints
// (it then sends the scheme in :authority) for every kind of command, including the
// per-endpoint ones; HTTP/1.1 /metrics, /health, /version beside gRPC on the same port;
// and `etcdctl check datascale`, which reads /metrics there.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdctl, eventually, haveTool, startTestCluster, type TestCluster } from './helpers/cluster.js';

const HAVE_ETCDCTL = haveTool('etcdctl', 'etcd-client');
/** check datascale --load=s writes 10k keys; about 10 s here, 25 s on a loaded machine. */
const DATASCALE_TIMEOUT_MS = 120_000;

interface EndpointStatus {
  Endpoint: string;
  Status: { leader: number; header: { member_id: number } };
}

async function ok(endpoints: string | string[], ...args: string[]): Promise<string> {
  const r = await etcdctl(endpoints, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

describe('the client port: etcdctl with http:// endpoints, HTTP/1.1 beside gRPC', { skip: !HAVE_ETCDCTL, timeout: 300_000 }, () => {
  let c: TestCluster;
  let urls: string[];

  before(async () => {
    c = await startTestCluster({ timings: 'etcd' });
    urls = c.nodes.map((n) => n.clientUrl);
    assert.ok(urls.every((u) => u.startsWith('http://')));
  });
  after(async () => c?.cleanup());

  test('put, get, del, txn, lease and member list', async () => {
    assert.equal(await ok(urls, 'put', 'cp/a', '1'), 'OK\n');
    assert.equal(await ok(urls, 'get', 'cp/a', '--print-value-only'), '1\n');
    const txn = await etcdctl(urls, ['txn'], 'value("cp/a") = "1"\n\nput cp/b 2\n\n\n');
    assert.equal(txn.code, 0, txn.stderr);
    assert.match(txn.stdout, /^SUCCESS/);
    assert.equal(await ok(urls, 'get', 'cp/', '--prefix', '--keys-only'), 'cp/a\n\ncp/b\n\n');
    assert.equal(await ok(urls, 'del', 'cp/', '--prefix'), '2\n');
    const lease = /lease ([0-9a-f]+) granted/.exec(await ok(urls, 'lease', 'grant', '60'))?.[1];
    assert.ok(lease);
    assert.match(await ok(urls, 'lease', 'timetolive', lease), /remaining/);
    assert.equal((await ok(urls, 'member', 'list')).trim().split('\n').length, 3);
  });

  test('per-endpoint commands: endpoint status, hashkv, health, move-leader', async () => {
    const status = JSON.parse(await ok(urls, 'endpoint', 'status', '-w', 'json')) as EndpointStatus[];
    assert.deepEqual(status.map((s) => s.Endpoint).sort(), [...urls].sort());
    assert.equal(new Set(status.map((s) => s.Status.leader)).size, 1);
    await ok(urls, 'put', 'cp/h', 'x');
    await eventually('equal hashes on every member', async () => {
      const h = JSON.parse(await ok(urls, 'endpoint', 'hashkv', '-w', 'json')) as Array<{ Endpoint: string; HashKV: { hash: number } }>;
      assert.equal(h.length, 3);
      return new Set(h.map((x) => x.HashKV.hash)).size === 1 ? true : undefined;
    });
    const health = await etcdctl(urls, ['endpoint', 'health']);
    assert.equal(health.code, 0, health.stderr);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3);

    const leader = status.find((s) => s.Status.header.member_id === s.Status.leader)!;
    const target = status.find((s) => s.Status.header.member_id !== s.Status.leader)!;
    assert.match(await ok(leader.Endpoint, 'move-leader', target.Status.header.member_id.toString(16)), /Leadership transferred from/);
    await eventually('the new leader', async () => {
      const s = JSON.parse(await ok(urls, 'endpoint', 'status', '-w', 'json')) as EndpointStatus[];
      return s.every((x) => x.Status.leader === target.Status.header.member_id) ? true : undefined;
    });
  });

  test('HTTP/1.1 /metrics, /health, /version on the client port, gRPC on the same port', async () => {
    const url = urls[0]!;
    // /health reads the member's raft status as of its last tick (every heartbeat), so just
    // after the leader move above it may still say "no leader" for one tick: wait for it.
    const health = await eventually('/health 200 after the leader move', async () => {
      const r = await fetch(`${url}/health`);
      return r.status === 200 ? r : undefined;
    });
    const [metrics, version, get] = await Promise.all([
      fetch(`${url}/metrics`),
      fetch(`${url}/version`),
      ok(url, 'get', 'cp/h', '--print-value-only'),
    ]);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^# TYPE regionstore_/m);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { health: 'true', reason: '' });
    assert.deepEqual(await version.json(), { etcdserver: '3.5.0', etcdcluster: '3.5.0' });
    assert.equal(get, 'x\n');
    assert.equal((await fetch(`${url}/v2/keys`)).status, 404);
  });

  test('etcdctl check datascale --load=s', async () => {
    const t0 = Date.now();
    const r = await etcdctl(urls, ['check', 'datascale', '--load=s'], undefined, DATASCALE_TIMEOUT_MS);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-500));
    assert.match(r.stdout, /PASS: Approximate system memory used : [\d.]+ MB/);
    console.log(`check datascale --load=s: ${((Date.now() - t0) / 1000).toFixed(1)} s; ${/PASS: .*/.exec(r.stdout)?.[0]}`);
  });
});
