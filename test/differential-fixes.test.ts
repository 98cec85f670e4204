// Differences from etcd that the differential (test/etcd-differential.test.ts) found, one
// test each, against a real 3-node cluster, so each stays fixed even where etcd is not
// installed. The expected answers are etcd's (3.4 and 3.5 agree on all of them).

import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import { pickFreePorts } from '../cluster/ports.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

let cluster: TestCluster;
/** A client of the leader: lease deadlines live there. */
let c: RawClient;

before(async () => {
  cluster = await startTestCluster();
  const leader = await cluster.leader();
  c = rawClient(cluster.node(leader ?? 'n1').clientUrl.replace(/^http:\/\//, ''));
});
after(async () => {
  c?.close();
  await cluster?.cleanup();
});

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(() => assert.fail('expected the call to fail'), (e: ServiceError) => e);
}

test('a second learner is refused, as etcd refuses it (maxLearners is 1)', async () => {
  const [p1, p2] = await pickFreePorts(2);
  const first = await c.unary('Cluster', 'MemberAdd', { peerURLs: [`http://127.0.0.1:${p1}`], isLearner: true });
  try {
    const err = await failure(c.unary('Cluster', 'MemberAdd', { peerURLs: [`http://127.0.0.1:${p2}`], isLearner: true }));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(err.details, 'etcdserver: too many learner members in cluster');
    const list = await c.unary('Cluster', 'MemberList', {});
    assert.equal(list.members.filter((m: { isLearner: boolean }) => m.isLearner).length, 1);
  } finally {
    await c.unary('Cluster', 'MemberRemove', { ID: first.member.ID });
  }
});

test('LeaseLeases lists the lease that expires first first, as etcd', async () => {
  const late = await c.unary('Lease', 'LeaseGrant', { TTL: 600 });
  const soon = await c.unary('Lease', 'LeaseGrant', { TTL: 60 });
  try {
    const ids = (await c.unary('Lease', 'LeaseLeases', {})).leases.map((l: { ID: string }) => l.ID);
    assert.deepEqual(ids.filter((id: string) => id === late.ID || id === soon.ID), [soon.ID, late.ID]);
  } finally {
    await c.unary('Lease', 'LeaseRevoke', { ID: late.ID });
    await c.unary('Lease', 'LeaseRevoke', { ID: soon.ID });
  }
});

test('Cluster answers carry no revision in their header, as etcd', async () => {
  await c.unary('KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('v') });
  const list = await c.unary('Cluster', 'MemberList', {});
  assert.equal(list.header.revision, '0');
  assert.notEqual(list.header.clusterId, '0');
  assert.notEqual(list.header.memberId, '0');
});

test('Snapshot messages carry no header, as etcd 3.4 and 3.5 send them', async () => {
  const headers = await new Promise<unknown[]>((resolve, reject) => {
    const seen: unknown[] = [];
    const s = c.stream('Maintenance', 'Snapshot', {});
    s.on('data', (r: { header: unknown }) => seen.push(r.header));
    s.on('end', () => resolve(seen));
    s.on('error', reject);
  });
  assert.ok(headers.length > 1);
  assert.deepEqual(headers.filter((h) => h !== null), []);
});

test('HashKV at the compacted revision itself is refused as compacted, as etcd refuses it', async () => {
  await c.unary('KV', 'Put', { key: Buffer.from('h'), value: Buffer.from('1') });
  const put = await c.unary('KV', 'Put', { key: Buffer.from('h'), value: Buffer.from('2') });
  const at = String(Number(put.header.revision) - 1);
  await c.unary('KV', 'Compact', { revision: at, physical: true });
  const err = await failure(c.unary('Maintenance', 'HashKV', { revision: at }));
  assert.equal(err.code, status.OUT_OF_RANGE);
  assert.equal(err.details, 'etcdserver: mvcc: required revision has been compacted');
  // A Range at the compacted revision is still answered; the hash one above it too.
  await c.unary('KV', 'Range', { key: Buffer.from('h'), revision: at });
  await c.unary('Maintenance', 'HashKV', { revision: put.header.revision });
});

test('a watch created with fragment gets a batch over the limit in fragments, as etcd', async () => {
  // Four 600 kB values: 2.4 MB of history, over etcd's 1.5 MiB + 512 KiB stream limit.
  let first = '';
  for (const k of ['1', '2', '3', '4']) {
    const r = await c.unary('KV', 'Put', { key: Buffer.from(`frag/${k}`), value: Buffer.alloc(600_000, k) });
    first ||= r.header.revision;
  }
  const w = c.duplex('Watch', 'Watch');
  const got: Array<{ created: boolean; fragment: boolean; events: unknown[] }> = [];
  const done = new Promise<void>((resolve, reject) => {
    w.on('data', (r: { created: boolean; fragment: boolean; events: unknown[] }) => {
      got.push(r);
      if (got.flatMap((x) => x.events).length === 4) resolve();
    });
    w.on('error', reject);
  });
  w.write({ createRequest: { key: Buffer.from('frag/'), rangeEnd: Buffer.from('frag0'), startRevision: first, fragment: true } });
  await done;
  w.cancel();
  const batches = got.filter((r) => !r.created);
  assert.deepEqual(batches.map((r) => [r.events.length, r.fragment]), [[3, true], [1, false]]);
});

test('a progress request on a stream with watchers gets one answer with watch id -1, as etcd', async () => {
  const w = c.duplex('Watch', 'Watch');
  const got: Array<{ watchId: string; created: boolean; events: unknown[]; header: { revision: string } }> = [];
  let wake: (() => void) | undefined;
  w.on('data', (r: (typeof got)[number]) => {
    got.push(r);
    wake?.();
  });
  const until = async (n: number): Promise<void> => {
    while (got.length < n) await new Promise<void>((r) => (wake = r));
  };
  w.on('error', () => {}); // the cancel at the end
  w.write({ createRequest: { key: Buffer.from('p/a') } });
  w.write({ createRequest: { key: Buffer.from('p/b') } });
  await until(2);
  const put = await c.unary('KV', 'Put', { key: Buffer.from('p/a'), value: Buffer.from('1') });
  await until(3);
  w.write({ progressRequest: {} });
  await until(4);
  // Nothing more should follow: one answer for the stream, not one per watcher.
  await new Promise((r) => setTimeout(r, 300));
  w.cancel();
  const progress = got.slice(3);
  assert.deepEqual(progress.map((r) => [r.watchId, r.events.length]), [['-1', 0]]);
  assert.equal(progress[0]!.header.revision, put.header.revision);
});
