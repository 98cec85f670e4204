// Bad input against a real 3-node cluster: every case gets the gRPC code and the etcd
// message a client acts on, no process crashes, and acknowledged data stays.

import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { DEFAULT_LIMITS } from '../server/api/limits.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

let cluster: TestCluster;
let c: RawClient;
const b = (s: string): Buffer => Buffer.from(s);

before(async () => {
  cluster = await startTestCluster();
  c = rawClient(cluster.hostPorts[0]!);
  await c.unary('KV', 'Put', { key: b('keep'), value: b('me') });
});
after(async () => {
  c?.close();
  await cluster?.cleanup();
});

async function fails(p: Promise<unknown>, code: status, message: string | RegExp): Promise<void> {
  const err = await p.then(
    () => assert.fail('expected the call to fail'),
    (e: ServiceError) => e,
  );
  assert.equal(err.code, code, `code of ${err.details}`);
  if (typeof message === 'string') assert.equal(err.details, message);
  else assert.match(err.details, message);
  console.log(`  ${status[code]}: ${err.details}`);
}

const put = (k: string): unknown => ({ requestPut: { key: b(k), value: b('v') } });

test('empty key', () => fails(c.unary('KV', 'Put', { key: b(''), value: b('x') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided'));

test('key over the limit', () =>
  fails(c.unary('KV', 'Put', { key: Buffer.alloc(DEFAULT_LIMITS.keyBytesMax + 1, 97), value: b('x') }), status.INVALID_ARGUMENT, /key is too large/));

test('value over the limit', () =>
  fails(c.unary('KV', 'Put', { key: b('big'), value: Buffer.alloc(DEFAULT_LIMITS.valueBytesMax + 1) }), status.INVALID_ARGUMENT, /too large/));

test('request over the max size', async () => {
  // Over the request limit but under grpc's frame limit: etcd's own answer.
  await fails(
    c.unary('KV', 'Txn', { success: [
      { requestPut: { key: b('a'), value: Buffer.alloc(DEFAULT_LIMITS.requestBytesMax / 2 + 10) } },
      { requestPut: { key: b('b'), value: Buffer.alloc(DEFAULT_LIMITS.requestBytesMax / 2 + 10) } },
    ] }),
    status.INVALID_ARGUMENT,
    'etcdserver: request is too large',
  );
  // Over grpc's frame limit: refused before it is even decoded.
  await fails(c.unary('KV', 'Put', { key: b('a'), value: Buffer.alloc(DEFAULT_LIMITS.requestBytesMax * 2) }), status.RESOURCE_EXHAUSTED, /larger than max/);
});

test('range_end before key', () =>
  fails(c.unary('KV', 'Range', { key: b('b'), rangeEnd: b('a') }), status.INVALID_ARGUMENT, /range end is before key/));

test('unknown lease', async () => {
  await fails(c.unary('KV', 'Put', { key: b('k'), value: b('v'), lease: '777' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  await fails(c.unary('Lease', 'LeaseRevoke', { ID: '18' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
});

test('compaction of a future revision', () =>
  fails(c.unary('KV', 'Compact', { revision: 1_000_000 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'));

test('a txn that writes one key twice', () =>
  fails(c.unary('KV', 'Txn', { success: [put('x'), put('x')] }), status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'));

test('a txn with too many operations', () =>
  fails(
    c.unary('KV', 'Txn', { success: Array.from({ length: DEFAULT_LIMITS.txnOpsMax + 1 }, (_, i) => put(`op${i}`)) }),
    status.INVALID_ARGUMENT,
    'etcdserver: too many operations in txn request',
  ));

test('a read of a future revision', () =>
  fails(c.unary('KV', 'Range', { key: b('keep'), revision: 1_000_000 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'));

test('after all of it every node is up and the data is intact', async () => {
  for (const hp of cluster.hostPorts) {
    const rc = rawClient(hp);
    try {
      const r = await rc.unary('KV', 'Range', { key: b('keep') });
      assert.equal(r.kvs[0].value.toString(), 'me');
    } finally {
      rc.close();
    }
  }
  for (const n of cluster.nodes) assert.equal(n.process.exitCode, null, `${n.name} still runs`);
});
