// Bad input against a real 3-node cluster: every case gets the gRPC code and the etcd
// message a client acts on (etcd 3.5's rpctypes, exactly: clients map errors by text), no
// process crashes, and acknowledged data stays.

import assert from 'node:assert/strict';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { DEFAULT_LIMITS } from '../server/api/limits.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { EDGE_SYNC_RECEIVE_BYTES_MAX } from '../server/api/limits.js';
import { SYNC_GRPC_MESSAGE_BYTES_MAX, openEdgeSyncCall } from '../server/transport/sync-stream.js';
import { decodeSyncMessage } from '../proto/sync-codec.js';

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

/** A client of one member, from its MemberList entry. */
const clientOf = (m: { clientURLs: string[] }): RawClient => rawClient(m.clientURLs[0]!.replace(/^https?:\/\//, ''));

test('empty key', () => fails(c.unary('KV', 'Put', { key: b(''), value: b('x') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided'));

test('key over the limit', () =>
  fails(c.unary('KV', 'Put', { key: Buffer.alloc(DEFAULT_LIMITS.keyBytesMax + 1, 97), value: b('x') }), status.INVALID_ARGUMENT, /^etcdserver: request is too large$/));

test('value over the limit', () =>
  fails(c.unary('KV', 'Put', { key: b('big'), value: Buffer.alloc(DEFAULT_LIMITS.valueBytesMax + 1) }), status.INVALID_ARGUMENT, 'etcdserver: request is too large'));

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

test('EdgeSync on the client port takes the sync session\'s 4 MiB messages (etcd calls keep etcd\'s limit)', async () => {
  assert.equal(EDGE_SYNC_RECEIVE_BYTES_MAX, SYNC_GRPC_MESSAGE_BYTES_MAX, 'both ends of EdgeSync have one message limit');
  /** Sends one message of `bytes` garbage; the session's answer, or the call's gRPC error. */
  // A client that sends more than the limit (our own dialing side would refuse to).
  const client = new Client(cluster.hostPorts[0]!, credentials.createInsecure(), { 'grpc.max_send_message_length': 2 * EDGE_SYNC_RECEIVE_BYTES_MAX });
  const send = (bytes: number): Promise<{ syncError?: string; grpc?: string }> => new Promise((resolve) => {
    const sync = openEdgeSyncCall(cluster.hostPorts[0]!, { client });
    sync.call.on('data', (m: Buffer) => {
      const msg = decodeSyncMessage(m);
      resolve({ syncError: msg.kind === 'error' ? `${msg.code}: ${msg.message}` : msg.kind });
      sync.close();
    });
    sync.call.on('error', (e: ServiceError) => resolve({ grpc: `${status[e.code]}: ${e.details}` }));
    sync.call.write(Buffer.alloc(bytes, 0xff));
  });
  // 3 MiB: over the etcd limit, under the session's; the session reads it and refuses the garbage.
  const mid = await send(3 * 1024 * 1024);
  console.log(`  3 MiB: ${JSON.stringify(mid)}`);
  assert.match(mid.syncError ?? '', /^malformed: /);
  const big = await send(EDGE_SYNC_RECEIVE_BYTES_MAX + 1024);
  console.log(`  over the sync limit: ${JSON.stringify(big)}`);
  assert.match(big.grpc ?? '', /^RESOURCE_EXHAUSTED: Received message larger than max/, 'refused by the member');
  client.close();
});

test('range_end before key: no keys, as etcd answers `etcdctl get zz aa`', async () => {
  const r = await c.unary('KV', 'Range', { key: b('zz'), rangeEnd: b('aa') });
  assert.deepEqual([r.kvs.length, r.count], [0, '0']);
  const d = await c.unary('KV', 'DeleteRange', { key: b('zz'), rangeEnd: b('aa') });
  assert.equal(d.deleted, '0');
});

test('put options on a missing key, or with a value / lease given', async () => {
  await fails(c.unary('KV', 'Put', { key: b('missing'), ignoreValue: true }), status.INVALID_ARGUMENT, 'etcdserver: key not found');
  await fails(c.unary('KV', 'Put', { key: b('keep'), value: b('x'), ignoreValue: true }), status.INVALID_ARGUMENT, 'etcdserver: value is provided');
  await fails(c.unary('KV', 'Put', { key: b('keep'), lease: '5', ignoreLease: true }), status.INVALID_ARGUMENT, 'etcdserver: lease is provided');
  await fails(c.unary('KV', 'Range', { key: b('keep'), sortOrder: 9 }), status.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
});

test('lease errors: exists, TTL too large', async () => {
  const g = await c.unary('Lease', 'LeaseGrant', { TTL: 60, ID: '4242' });
  assert.equal(g.ID, '4242');
  await fails(c.unary('Lease', 'LeaseGrant', { TTL: 60, ID: '4242' }), status.FAILED_PRECONDITION, 'etcdserver: lease already exists');
  await fails(c.unary('Lease', 'LeaseGrant', { TTL: '9000000001' }), status.OUT_OF_RANGE, 'etcdserver: too large lease TTL');
  await c.unary('Lease', 'LeaseRevoke', { ID: '4242' });
});

test('membership errors: not found, peer URL exists, promote a voter, move-leader on a follower or to a stranger', async () => {
  const { members } = await c.unary('Cluster', 'MemberList', {});
  await fails(c.unary('Cluster', 'MemberRemove', { ID: '12345' }), status.NOT_FOUND, 'etcdserver: member not found');
  await fails(c.unary('Cluster', 'MemberAdd', { peerURLs: [members[0].peerURLs[0]] }), status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
  await fails(c.unary('Cluster', 'MemberPromote', { ID: members[0].ID }), status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
  const leaderId = (await c.unary('Maintenance', 'Status', {})).leader as string;
  const leader = members.find((m: { ID: string }) => m.ID === leaderId);
  const follower = members.find((m: { ID: string }) => m.ID !== leaderId);
  const onFollower = clientOf(follower);
  const onLeader = clientOf(leader);
  try {
    await fails(onFollower.unary('Maintenance', 'MoveLeader', { targetID: leaderId }), status.FAILED_PRECONDITION, 'etcdserver: not leader');
    await fails(onLeader.unary('Maintenance', 'MoveLeader', { targetID: '12345' }), status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
  } finally {
    onFollower.close();
    onLeader.close();
  }
});

test('compacted reads and compactions', async () => {
  const rev = Number((await c.unary('KV', 'Put', { key: b('c'), value: b('1') })).header.revision);
  await c.unary('KV', 'Put', { key: b('c'), value: b('2') });
  await c.unary('KV', 'Compact', { revision: rev + 1, physical: true });
  await fails(c.unary('KV', 'Range', { key: b('c'), revision: rev }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
  await fails(c.unary('KV', 'Compact', { revision: rev }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
});

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
