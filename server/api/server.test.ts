// The handlers over real gRPC on a loopback port, against the in-process MvccStore
// backend: exact codes and texts, header fields, 64-bit ids, the watch and keep-alive
// streams, the snapshot digest, and the metrics hook.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { ApiCallEvent } from './server.js';
import { rawClient, type RawClient } from './testing/raw-client.js';
import { startTestApi, type TestApi } from './testing/start.js';
import { TEST_CLUSTER_ID, TEST_MEMBER_ID } from './testing/mvcc-backend.js';

let api: TestApi;
let c: RawClient;
const calls: ApiCallEvent[] = [];
const b = (s: string): Buffer => Buffer.from(s);

before(async () => {
  api = await startTestApi({ limits: { txnOpsMax: 4, requestBytesMax: 4096 }, onCall: (e) => calls.push(e) });
  c = rawClient(api.endpoint);
});
after(async () => {
  c.close();
  await api.close();
});

/** Resolves with the stream's final status code (OK when it ended cleanly). */
function streamEnded(s: NodeJS.EventEmitter): Promise<number> {
  return new Promise((resolve) => {
    s.on('error', (e: ServiceError) => resolve(e.code));
    s.on('status', (st: { code: number }) => resolve(st.code));
  });
}

async function fails(p: Promise<unknown>, code: status, details: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, e.details);
    if (typeof details === 'string') assert.equal(e.details, details);
    else assert.match(e.details, details);
    return true;
  });
}

test('put and range carry etcd headers and key-values', async () => {
  // etcd's numbering: an empty store answers revision 1 and its first write is revision 2.
  const empty = await c.unary('KV', 'Range', { key: b('a/'), rangeEnd: b('a0') });
  assert.equal(empty.header.revision, '1');
  // Before any compaction etcd's HashKV says compact_revision -1, and Compact(0) is accepted.
  assert.equal((await c.unary('Maintenance', 'HashKV', { revision: 0 })).compactRevision, '-1');
  await c.unary('KV', 'Compact', { revision: 0 });
  const p1 = await c.unary('KV', 'Put', { key: b('a/1'), value: b('one') });
  assert.equal(p1.header.revision, '2');
  assert.equal(p1.header.clusterId, TEST_CLUSTER_ID);
  assert.equal(p1.header.memberId, String(TEST_MEMBER_ID));
  assert.equal(p1.header.raftTerm, '2');
  const p2 = await c.unary('KV', 'Put', { key: b('a/1'), value: b('uno'), prevKv: true });
  assert.equal(p2.prevKv.value.toString(), 'one');
  assert.equal(Number(p2.header.revision), Number(p1.header.revision) + 1);
  await c.unary('KV', 'Put', { key: b('a/2'), value: b('two') });
  const r = await c.unary('KV', 'Range', { key: b('a/'), rangeEnd: b('a0'), limit: 1 });
  assert.equal(r.count, '2');
  assert.equal(r.more, true);
  assert.equal(r.kvs[0].key.toString(), 'a/1');
  assert.equal(r.kvs[0].version, '2');
});

test('bad input gets etcd codes and texts', async () => {
  await fails(c.unary('KV', 'Put', { key: b(''), value: b('x') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await fails(c.unary('KV', 'Range', { key: b('a'), revision: 1_000_000 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
  await fails(c.unary('KV', 'Put', { key: b('k'), value: Buffer.alloc(5000) }), status.INVALID_ARGUMENT, 'etcdserver: request is too large');
  await fails(c.unary('KV', 'Txn', { success: [{ requestPut: { key: b('k'), value: Buffer.alloc(5000) } }] }), status.INVALID_ARGUMENT, 'etcdserver: request is too large');
  await fails(c.unary('KV', 'Put', { key: b('k'), value: b('v'), lease: '777' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  await fails(c.unary('KV', 'Put', { key: b('k'), value: b('v'), lease: '9223372036854775807' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  const put = (k: string): unknown => ({ requestPut: { key: b(k), value: b('v') } });
  await fails(c.unary('KV', 'Txn', { success: [put('x'), put('x')] }), status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request');
  await fails(
    c.unary('KV', 'Txn', { success: [put('1'), put('2'), put('3'), put('4'), put('5')] }),
    status.INVALID_ARGUMENT,
    'etcdserver: too many operations in txn request',
  );
  await fails(c.unary('KV', 'Compact', { revision: 1_000_000 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
  await fails(c.unary('Lease', 'LeaseGrant', { TTL: '9000000001' }), status.OUT_OF_RANGE, 'etcdserver: too large lease TTL');
  await fails(c.unary('Lease', 'LeaseRevoke', { ID: '18' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  await fails(c.unary('Cluster', 'MemberRemove', { ID: '18446744073709551615' }), status.NOT_FOUND, 'etcdserver: member not found');
  await fails(c.unary('Cluster', 'MemberAdd', { peerURLs: ['not a url'] }), status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
});

test('a range end before the key is an empty range for Range, DeleteRange and compares (etcdctl get zz aa)', async () => {
  await c.unary('KV', 'Put', { key: b('m'), value: b('x') });
  const rev = Number((await c.unary('KV', 'Range', { key: b('m') })).header.revision);
  const r = await c.unary('KV', 'Range', { key: b('zz'), rangeEnd: b('aa') });
  assert.deepEqual([r.kvs.length, r.count, r.more], [0, '0', false]);
  const d = await c.unary('KV', 'DeleteRange', { key: b('zz'), rangeEnd: b('aa'), prevKv: true });
  assert.deepEqual([d.deleted, d.prevKvs.length, Number(d.header.revision)], ['0', 0, rev]);
  const t = await c.unary('KV', 'Txn', { compare: [{ key: b('zz'), rangeEnd: b('aa'), target: 0, result: 0, version: 0 }] });
  assert.equal(t.succeeded, true, 'no key in the range compares as a missing key');
  assert.equal((await c.unary('KV', 'Range', { key: b('m') })).kvs.length, 1);
});

/** A header with only revision set, as etcd sends inside a Txn. */
const zero = (rev: number): object => ({ clusterId: '0', memberId: '0', revision: String(rev), raftTerm: '0' });

test('responses inside a Txn carry only revision in their header; a nested Txn\'s header is empty (etcd)', async () => {
  await c.unary('KV', 'Put', { key: b('n/a'), value: b('1') });
  const t = await c.unary('KV', 'Txn', {
    success: [
      { requestRange: { key: b('n/a') } },
      { requestPut: { key: b('n/b'), value: b('2') } },
      { requestDeleteRange: { key: b('n/none') } },
      { requestTxn: { success: [{ requestRange: { key: b('n/b') } }] } },
    ],
  });
  const top = Number(t.header.revision);
  assert.equal(t.header.memberId, String(TEST_MEMBER_ID));
  // A read before the txn's first write sees the revision before it; after it, the txn's.
  assert.deepEqual(t.responses[0].responseRange.header, zero(top - 1));
  assert.deepEqual(t.responses[1].responsePut.header, zero(top));
  assert.deepEqual(t.responses[2].responseDeleteRange.header, zero(top));
  const nested = t.responses[3].responseTxn;
  assert.deepEqual(nested.header, zero(0));
  assert.deepEqual(nested.responses[0].responseRange.header, zero(top));
  assert.equal(nested.responses[0].responseRange.kvs[0].value.toString(), '2');
});

test('txn compares and branches; compaction answers compacted reads', async () => {
  const t = await c.unary('KV', 'Txn', {
    compare: [{ key: b('a/2'), target: 3, result: 0, value: b('two') }],
    success: [{ requestPut: { key: b('t'), value: b('yes') } }, { requestRange: { key: b('a/2') } }],
    failure: [{ requestPut: { key: b('t'), value: b('no') } }],
  });
  assert.equal(t.succeeded, true);
  assert.equal(t.responses[1].responseRange.kvs[0].value.toString(), 'two');
  const now = Number((await c.unary('KV', 'Range', { key: b('t') })).header.revision);
  await c.unary('KV', 'Compact', { revision: now - 1 });
  await fails(c.unary('KV', 'Range', { key: b('a/1'), revision: now - 2 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
  await fails(c.unary('KV', 'Compact', { revision: now - 2 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
});

test('a write carrying rs-client-id / rs-seq applies once', async () => {
  const md = new Metadata();
  md.set('rs-client-id', 'client-7');
  md.set('rs-seq', '1');
  const first = await c.unary('KV', 'Put', { key: b('once'), value: b('1') }, md);
  const retry = await c.unary('KV', 'Put', { key: b('once'), value: b('1') }, md);
  assert.equal(retry.header.revision, first.header.revision);
  const r = await c.unary('KV', 'Range', { key: b('once') });
  assert.equal(r.kvs[0].version, '1');
  const bad = new Metadata();
  bad.set('rs-client-id', 'client-7');
  await fails(c.unary('KV', 'Put', { key: b('once'), value: b('2') }, bad), status.INVALID_ARGUMENT, /rs-seq/);
});

test('leases: grant, time-to-live, keep-alive stream with exact 64-bit ids, revoke', async () => {
  const g = await c.unary('Lease', 'LeaseGrant', { TTL: 30 });
  const id = g.ID as string;
  await c.unary('KV', 'Put', { key: b('leased'), value: b('v'), lease: id });
  const ttl = await c.unary('Lease', 'LeaseTimeToLive', { ID: id, keys: true });
  assert.equal(ttl.grantedTTL, '30');
  assert.deepEqual(ttl.keys.map(String), ['leased']);
  const gone = await c.unary('Lease', 'LeaseTimeToLive', { ID: '9223372036854775807' });
  assert.equal(gone.TTL, '-1');
  assert.equal(gone.ID, '9223372036854775807');
  const ka = c.duplex('Lease', 'LeaseKeepAlive');
  const kaEnded = streamEnded(ka);
  const answers: any[] = [];
  const done = new Promise<void>((resolve) => ka.on('data', (r) => answers.push(r) === 3 && resolve()));
  ka.write({ ID: id });
  ka.write({ ID: '9223372036854775807' });
  ka.write({ ID: '12345' });
  await done;
  ka.end();
  await kaEnded;
  assert.deepEqual(answers.map((a) => [a.ID, a.TTL]), [[id, '30'], ['9223372036854775807', '0'], ['12345', '0']]);
  const list = await c.unary('Lease', 'LeaseLeases', {});
  assert.ok(list.leases.some((l: { ID: string }) => l.ID === id));
  await c.unary('Lease', 'LeaseRevoke', { ID: id });
  assert.equal((await c.unary('KV', 'Range', { key: b('leased') })).kvs.length, 0);
});

test('watch: created ids, events with prev_kv, cancel, progress, refusals, compacted history', async () => {
  const w = c.duplex('Watch', 'Watch');
  const ended = streamEnded(w);
  const got: any[] = [];
  let waiter: (() => void) | undefined;
  w.on('data', (r) => {
    got.push(r);
    waiter?.();
  });
  const next = async (): Promise<any> => {
    while (got.length === 0) await new Promise<void>((r) => (waiter = r));
    return got.shift();
  };
  w.write({ progressRequest: {} });
  assert.equal((await next()).watchId, '-1');
  w.write({ createRequest: { key: b('w/'), rangeEnd: b('w0'), prevKv: true } });
  const created = await next();
  assert.deepEqual([created.created, created.watchId], [true, '0']);
  w.write({ createRequest: { key: b('w/x'), watchId: 7, filters: [0] } });
  assert.equal((await next()).watchId, '7');
  w.write({ createRequest: { key: b('w/x'), watchId: 7 } });
  const dup = await next();
  assert.deepEqual([dup.created, dup.canceled, dup.watchId, dup.cancelReason], [true, true, '-1', 'mvcc: duplicate watch ID provided on the WatchStream']);
  w.write({ createRequest: { key: b('z'), rangeEnd: b('a') } });
  assert.equal((await next()).cancelReason, 'mvcc: watcher range is empty');
  await c.unary('KV', 'Put', { key: b('w/x'), value: b('1') });
  await c.unary('KV', 'Put', { key: b('w/x'), value: b('2') });
  await c.unary('KV', 'DeleteRange', { key: b('w/x') });
  const seen: string[] = [];
  while (seen.length < 4) {
    const r = await next();
    for (const ev of r.events) seen.push(`${r.watchId}:${ev.type}:${ev.kv.value}:${ev.prevKv?.value ?? '-'}`);
  }
  // Watcher 0 sees both puts (with prev_kv) and the delete; 7 filters PUTs out.
  assert.deepEqual(seen.sort(), ['0:0:1:-', '0:0:2:1', '0:1::2', '7:1::-']);
  w.write({ cancelRequest: { watchId: 7 } });
  const canceled = await next();
  assert.deepEqual([canceled.watchId, canceled.canceled], ['7', true]);
  w.write({ createRequest: { key: b('a/1'), startRevision: 1 } });
  const c2 = await next();
  assert.equal(c2.created, true);
  const compacted = await next();
  assert.equal(compacted.canceled, true);
  assert.ok(Number(compacted.compactRevision) > 1);
  // As etcd: no cancel reason and header revision 0 on a compacted watcher's cancel.
  assert.equal(compacted.cancelReason, '');
  assert.equal(compacted.header.revision, '0');
  // A half-closed stream keeps serving its watchers, as etcd's does, until the client cancels.
  w.end();
  await c.unary('KV', 'Put', { key: b('w/after-half-close'), value: b('3') });
  const late = await next();
  assert.deepEqual([late.watchId, late.events[0].kv.key.toString()], ['0', 'w/after-half-close']);
  w.cancel();
  assert.equal(await ended, status.CANCELLED);
});

test('snapshot: chunks, remaining bytes, 512-byte alignment and a trailing SHA-256', async () => {
  const blobs: Buffer[] = [];
  const remaining: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = c.stream('Maintenance', 'Snapshot', {});
    s.on('data', (r: any) => {
      blobs.push(r.blob);
      remaining.push(Number(r.remainingBytes));
    });
    s.on('end', resolve);
    s.on('error', reject);
  });
  const all = Buffer.concat(blobs);
  assert.equal(all.length % 512, 32);
  const body = all.subarray(0, all.length - 32);
  assert.deepEqual(all.subarray(all.length - 32), createHash('sha256').update(body).digest());
  assert.equal(remaining.at(-1), 0);
  assert.equal(remaining[0], body.length - blobs[0]!.length);
});

test('status, member list, hash: etcd shapes', async () => {
  const s = await c.unary('Maintenance', 'Status', {});
  assert.equal(s.version, '3.5.0');
  assert.equal(s.leader, String(TEST_MEMBER_ID));
  const m = await c.unary('Cluster', 'MemberList', {});
  assert.equal(m.members[0].ID, String(TEST_MEMBER_ID));
  const h = await c.unary('Maintenance', 'HashKV', { revision: 0 });
  assert.equal(typeof h.hash, 'number');
});

test('backend failures map to statuses; the metrics hook sees every call', async () => {
  api.backend.failWith = Object.assign(new Error('x'), { code: 'no-leader' });
  await fails(c.unary('KV', 'Put', { key: b('k'), value: b('v') }), status.UNAVAILABLE, 'etcdserver: no leader');
  api.backend.failWith = new TypeError('disk on fire');
  await fails(c.unary('KV', 'Range', { key: b('k') }), status.INTERNAL, /disk on fire/);
  api.backend.failWith = undefined;
  assert.ok(calls.some((e) => e.service === 'KV' && e.method === 'Put' && e.code === status.UNAVAILABLE));
  assert.ok(calls.some((e) => e.method === 'Range' && e.code === status.OK && e.durationSeconds >= 0));
});
