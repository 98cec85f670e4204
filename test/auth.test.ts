// etcd's Auth API on a 3-member cluster (issue 16): users, roles and permissions through
// gRPC with etcd's statuses and messages, tokens that work on every member, auth state that
// survives a restart, and a follower that catches up through a snapshot keeping the users
// changed while it was down. etcdctl against it: the differential's auth script.

import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { rawNamespaces } from './helpers/raw-namespaces.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';

/** Small snapshot spacing so the writes while a member is down pass several compactions. */
const SNAPSHOT_COUNT = 100;
const CATCHUP_ENTRIES = 20;
const WRITES_WHILE_DOWN = 300;
const b = (s: string): Buffer => Buffer.from(s);

let cluster: TestCluster;
const clients: RawClient[] = [];
const client = (i: number): RawClient => clients[i]!;

function withToken(value: string): Metadata {
  const md = new Metadata();
  md.set('token', value);
  return md;
}

async function refused(p: Promise<unknown>, code: status, details: string): Promise<void> {
  await assert.rejects(p, (err: { code: number; details: string }) => {
    assert.equal(err.code, code, `code of "${err.details}"`);
    assert.equal(err.details, details);
    return true;
  });
}

async function token(c: RawClient, name: string, password: string): Promise<Metadata> {
  return withToken(String((await c.unary('Auth', 'Authenticate', { name, password })).token));
}

before(async () => {
  cluster = await startTestCluster({
    extraArgs: ['--bcrypt-cost', '4', '--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES)],
  });
  for (const n of cluster.nodes) clients.push(rawClient(n.clientUrl.replace('http://', '')));
});
after(async () => {
  for (const c of clients) c.close();
  await cluster?.cleanup();
});

test('users, roles and permissions with etcd statuses; tokens work on every member', async () => {
  const c = client(0);
  assert.deepEqual((await c.unary('Auth', 'AuthStatus', {})).enabled, false);
  await refused(c.unary('Auth', 'Authenticate', { name: 'root', password: 'x' }), status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled');
  await refused(c.unary('Auth', 'AuthEnable', {}), status.FAILED_PRECONDITION, 'etcdserver: root user does not exist');
  await c.unary('Auth', 'UserAdd', { name: 'root', password: 'rootpw' });
  await refused(c.unary('Auth', 'AuthEnable', {}), status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role');
  await c.unary('Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await c.unary('Auth', 'UserAdd', { name: 'alice', password: 'alicepw' });
  await refused(c.unary('Auth', 'UserAdd', { name: 'alice', password: 'x' }), status.FAILED_PRECONDITION, 'etcdserver: user name already exists');
  await refused(c.unary('Auth', 'UserAdd', { name: '', password: 'x' }), status.INVALID_ARGUMENT, 'etcdserver: user name is empty');
  await c.unary('Auth', 'RoleAdd', { name: 'reader' });
  await refused(c.unary('Auth', 'RoleAdd', { name: '' }), status.INVALID_ARGUMENT, 'etcdserver: role name is empty');
  await refused(c.unary('Auth', 'RoleGrantPermission', { name: 'reader' }), status.INVALID_ARGUMENT, 'etcdserver: permission not given');
  await refused(c.unary('Auth', 'RoleGrantPermission', { name: 'reader', perm: { permType: 0, key: b('b'), rangeEnd: b('a') } }),
    status.INVALID_ARGUMENT, 'etcdserver: invalid auth management');
  await c.unary('Auth', 'RoleGrantPermission', { name: 'reader', perm: { permType: 'READ', key: b('app/'), rangeEnd: b('app0') } });
  await c.unary('Auth', 'RoleGrantPermission', { name: 'reader', perm: { permType: 'READWRITE', key: b('app/alice'), rangeEnd: b('') } });
  await c.unary('Auth', 'UserGrantRole', { user: 'alice', role: 'reader' });
  await refused(c.unary('Auth', 'UserGrantRole', { user: 'alice', role: 'nope' }), status.FAILED_PRECONDITION, 'etcdserver: role name not found');
  await refused(c.unary('Auth', 'UserRevokeRole', { name: 'root', role: 'reader' }), status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user');
  await c.unary('Auth', 'AuthEnable', {});

  // Without a token, with a bad one, with a wrong password.
  await refused(c.unary('KV', 'Range', { key: b('app/x') }), status.INVALID_ARGUMENT, 'etcdserver: user name is empty');
  await refused(c.unary('KV', 'Range', { key: b('app/x') }, withToken('nope.1')), status.UNAUTHENTICATED, 'etcdserver: invalid auth token');
  await refused(c.unary('Auth', 'Authenticate', { name: 'alice', password: 'bad' }), status.INVALID_ARGUMENT,
    'etcdserver: authentication failed, invalid user ID or password');
  await refused(c.unary('Auth', 'AuthStatus', {}), status.INVALID_ARGUMENT, 'etcdserver: user name is empty');

  const root = await token(c, 'root', 'rootpw');
  const alice = await token(c, 'alice', 'alicepw');
  const status0 = await c.unary('Auth', 'AuthStatus', {}, root);
  assert.equal(status0.enabled, true);
  await c.unary('KV', 'Put', { key: b('app/config'), value: b('v1') }, root);
  // A token applied through the log is known to every member.
  for (const i of [0, 1, 2]) {
    const r = await eventually(`alice's token on member ${i}`, async () =>
      client(i).unary('KV', 'Range', { key: b('app/config') }, alice).catch(() => undefined));
    assert.equal(String(r.kvs[0].value), 'v1');
  }
  await refused(c.unary('KV', 'Put', { key: b('app/config'), value: b('x') }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await c.unary('KV', 'Put', { key: b('app/alice'), value: b('mine') }, alice);
  await refused(c.unary('KV', 'Put', { key: b('app/alice'), value: b('x'), prevKv: true }, withToken('x.1')), status.UNAUTHENTICATED, 'etcdserver: invalid auth token');
  await refused(c.unary('KV', 'Range', { key: b('app/'), rangeEnd: b('b') }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('KV', 'DeleteRange', { key: b('app/config'), prevKv: true }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('KV', 'Txn', { compare: [], success: [{ requestPut: { key: b('other'), value: b('x') } }], failure: [] }, alice),
    status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('Cluster', 'MemberAdd', { peerURLs: ['http://127.0.0.1:1'] }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('Maintenance', 'Defragment', {}, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('Auth', 'UserList', {}, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  assert.deepEqual((await c.unary('Auth', 'UserGet', { name: 'alice' }, alice)).roles, ['reader']);
  assert.deepEqual((await c.unary('Auth', 'UserList', {}, root)).users, ['alice', 'root']);
  await refused(c.unary('Auth', 'UserDelete', { name: 'root' }, root), status.INVALID_ARGUMENT, 'etcdserver: invalid auth management');

  // Leases: a lease holding a key alice may not write can be neither revoked nor used by her.
  const lease = await c.unary('Lease', 'LeaseGrant', { TTL: 60 }, alice);
  await c.unary('KV', 'Put', { key: b('secret/x'), value: b('s'), lease: lease.ID }, root);
  await refused(c.unary('Lease', 'LeaseRevoke', { ID: lease.ID }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('Lease', 'LeaseTimeToLive', { ID: lease.ID, keys: true }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await refused(c.unary('KV', 'Put', { key: b('app/alice'), value: b('x'), lease: lease.ID }, alice), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  await c.unary('Lease', 'LeaseRevoke', { ID: lease.ID }, root);

  // regionstore.v1 services need root while auth is on (no namespace permissions yet).
  const nsAlice = rawNamespaces(cluster.hostPorts[0]!, alice);
  await refused(nsAlice.create({ name: 'telemetry', prefix: 'tm/', level: 'strong' }), status.PERMISSION_DENIED, 'etcdserver: permission denied');
  nsAlice.close();

  // A watch on a range alice may not read is refused in-band, as etcd's watch server does.
  const w = c.duplex('Watch', 'Watch', alice);
  w.on('error', () => undefined); // the cancel below ends the stream with CANCELLED
  const first = new Promise<any>((resolve) => w.once('data', resolve));
  w.write({ createRequest: { key: b('secret/'), rangeEnd: b('secret0') } });
  const refusal = await first;
  assert.equal(refusal.canceled, true);
  assert.equal(refusal.cancelReason, 'etcdserver: permission denied');
  w.end();
  w.cancel();
});

test('auth state survives a restart; a restarted member forgets its tokens', async () => {
  const last = cluster.nodes[2]!;
  const root = await token(client(0), 'root', 'rootpw');
  const listed = await eventually('root token on n3', () => client(2).unary('Auth', 'UserList', {}, root).catch(() => undefined));
  await cluster.restart(last.name);
  clients[2]!.close();
  clients[2] = rawClient(last.clientUrl.replace('http://', ''));
  const restarted = await eventually('n3 serving', () => client(2).unary('Auth', 'UserList', {}, root).catch((err: { code: number }) =>
    (err.code === status.UNAUTHENTICATED ? { users: 'forgotten' } : undefined)));
  assert.equal(restarted.users, 'forgotten', 'tokens live in memory, as etcd\'s simple tokens');
  const again = await token(client(2), 'alice', 'alicepw');
  assert.equal(String((await client(2).unary('KV', 'Range', { key: b('app/alice') }, again)).kvs[0].value), 'mine');
  assert.deepEqual((await client(2).unary('Auth', 'UserList', {}, await token(client(2), 'root', 'rootpw'))).users, listed.users);
});

test('a follower that catches up through a snapshot keeps the users changed meanwhile', async () => {
  const leader = await eventually('a leader', () => cluster.leader());
  const i = cluster.nodes.findIndex((n) => n.name !== leader);
  const follower = cluster.nodes[i]!;
  const j = cluster.nodes.findIndex((n) => n !== follower);
  const c = client(j);
  await cluster.stopNode(follower.name);
  const root = await token(c, 'root', 'rootpw');
  await c.unary('Auth', 'UserAdd', { name: 'carol', password: 'carolpw' }, root);
  await c.unary('Auth', 'UserGrantRole', { user: 'carol', role: 'reader' }, root);
  for (let k = 0; k < WRITES_WHILE_DOWN; k++) await c.unary('KV', 'Put', { key: b(`load/${k % 20}`), value: b(`v${k}`) }, root);
  await cluster.restart(follower.name);
  clients[i]!.close();
  clients[i] = rawClient(follower.clientUrl.replace('http://', ''));
  const carol = await eventually('carol on the restarted follower', () =>
    token(client(i), 'carol', 'carolpw').catch(() => undefined), 30_000);
  assert.equal(String((await client(i).unary('KV', 'Range', { key: b('app/config'), serializable: true }, carol)).kvs[0].value), 'v1');
  const rootHere = await token(client(i), 'root', 'rootpw');
  assert.deepEqual((await client(i).unary('Auth', 'UserList', {}, rootHere)).users, ['alice', 'carol', 'root']);
  await client(i).unary('Auth', 'AuthDisable', {}, rootHere);
  assert.equal((await client(0).unary('Auth', 'AuthStatus', {})).enabled, false);
});
