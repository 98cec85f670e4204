// Namespace permissions with auth on (issue 16, DESIGN §10), against a real 3-member cluster:
//  - creating, updating and deleting namespaces needs the root role or the `namespace-admin`
//    role (a force delete also write permission on the prefix); any user may read them;
//  - a read-only dashboard user (read on every key) can Range, Watch, read CRDT namespaces,
//    read namespaces and list edges, and every write it tries is "etcdserver: permission denied";
//  - an edge's user uploads only to namespaces its roles may write (key-range permission over
//    the prefix) and only its own origin: other uploads get a SyncError naming the
//    namespace, are counted, and nothing of them is applied; a revoked permission takes
//    effect within the session.
// Every write acknowledged on the way is read back at the end.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { rawCrdt } from '../server/api/testing/raw-crdt.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { rawNamespaces } from './helpers/raw-namespaces.js';
import { SyncPeer, lwwDelta, lwwRecord } from './helpers/sync-peer.js';

const b = (s: string): Buffer => Buffer.from(s);
const DENIED = 'etcdserver: permission denied';
const NO_USER = 'etcdserver: user name is empty';
const EDGE = 'edge:ea:1';
const NS = { name: 'tel-a', prefix: b('tel-a/'), level: 'eventual', crdtType: 'lww' };
const NS_OTHER = { name: 'tel-b', prefix: b('tel-b/'), level: 'eventual', crdtType: 'lww' };
const NS_CFG = { name: 'cfg', prefix: b('cfg/'), level: 'eventual', crdtType: 'lww' };

let cluster: TestCluster;
let c: RawClient;
let leaderHostPort = '';
const md: Record<string, Metadata> = {};
const tokens: Record<string, string> = {};

async function refused(p: Promise<unknown>, code: status, details: string): Promise<void> {
  const err = await p.then(() => assert.fail(`expected ${details}`), (e: ServiceError) => e);
  assert.deepEqual([err.code, err.details], [code, details]);
}

async function login(name: string, password: string): Promise<void> {
  tokens[name] = String((await c.unary('Auth', 'Authenticate', { name, password })).token);
  const m = new Metadata();
  m.set('token', tokens[name]);
  md[name] = m;
}

async function user(name: string, roles: string[]): Promise<void> {
  await c.unary('Auth', 'UserAdd', { name, password: `${name}pw` }, md.root);
  for (const r of roles) await c.unary('Auth', 'UserGrantRole', { user: name, role: r }, md.root);
}

async function role(name: string, perms: Array<{ permType: string; key: string; rangeEnd: string }>): Promise<void> {
  await c.unary('Auth', 'RoleAdd', { name }, md.root);
  for (const p of perms) await c.unary('Auth', 'RoleGrantPermission', { name, perm: { permType: p.permType, key: b(p.key), rangeEnd: b(p.rangeEnd) } }, md.root);
}

async function syncFailures(reason: string): Promise<number> {
  let total = 0;
  for (const n of cluster.nodes) {
    const text = await (await fetch(`${n.metricsUrl}/metrics`)).text();
    for (const m of text.matchAll(new RegExp(`^regionstore_sync_failures_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`, 'gm'))) total += Number(m[1]);
  }
  return total;
}

before(async () => {
  cluster = await startTestCluster({ extraArgs: ['--bcrypt-cost', '4'] });
  c = rawClient(cluster.hostPorts[0]!);
  await c.unary('Auth', 'UserAdd', { name: 'root', password: 'rootpw' });
  await c.unary('Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await c.unary('Auth', 'AuthEnable', {});
  await login('root', 'rootpw');
  await role('namespace-admin', []);
  await role('dashboard', [{ permType: 'READ', key: '\0', rangeEnd: '\0' }]);
  await role('edge-a', [{ permType: 'READWRITE', key: 'tel-a/', rangeEnd: 'tel-a0' }, { permType: 'READ', key: 'cfg/', rangeEnd: 'cfg0' }]);
  await user('nsadmin', ['namespace-admin']);
  await user('dash', ['dashboard']);
  await user('edgea', ['edge-a']);
  await user('alice', []);
  for (const name of ['nsadmin', 'dash', 'edgea', 'alice']) await login(name, `${name}pw`);
});

after(async () => {
  c?.close();
  await cluster?.cleanup();
});

/** The Namespaces service of member 1 as `name` (no token without one). */
function as(name?: string): ReturnType<typeof rawNamespaces> {
  return rawNamespaces(cluster.hostPorts[1]!, name === undefined ? new Metadata() : md[name]);
}

test('namespaces: root or namespace-admin manage them, any user reads them', async () => {
  await refused(as('alice').create(NS), status.PERMISSION_DENIED, DENIED);
  await refused(as('dash').create(NS), status.PERMISSION_DENIED, DENIED);
  await refused(as().create(NS), status.INVALID_ARGUMENT, NO_USER);
  for (const ns of [NS, NS_OTHER, NS_CFG]) await as('nsadmin').create(ns);
  const updated = await as('nsadmin').call('Update', { namespace: { name: 'cfg', description: 'settings pushed to edges' }, updateFields: ['description'] });
  assert.equal(updated.namespace.description, 'settings pushed to edges');
  await refused(as('alice').call('Update', { namespace: { name: 'cfg', description: 'x' }, updateFields: ['description'] }), status.PERMISSION_DENIED, DENIED);
  // Read by anyone who is someone.
  assert.deepEqual((await as('alice').call('Get', { name: 'cfg' })).namespace.prefix.toString(), 'cfg/');
  const names = (await as('dash').call('List', {})).namespaces.map((n: { name: string }) => n.name);
  for (const n of ['tel-a', 'tel-b', 'cfg']) assert.ok(names.includes(n), n);
  await refused(as().call('List', {}), status.INVALID_ARGUMENT, NO_USER);
  // Deleting with the keys needs write permission on them too: nsadmin holds none.
  await as('nsadmin').create({ name: 'tmp', prefix: b('tmp/'), level: 'eventual', crdtType: 'lww' });
  await refused(as('nsadmin').call('Delete', { name: 'tmp', force: true }), status.PERMISSION_DENIED, DENIED);
  await refused(as('alice').call('Delete', { name: 'tmp', force: false }), status.PERMISSION_DENIED, DENIED);
  await as('nsadmin').call('Delete', { name: 'tmp', force: false });
  const gone = await as('alice').call('Get', { name: 'tmp' }).then(() => undefined, (e: ServiceError) => e);
  assert.equal(gone?.code, status.NOT_FOUND);
});

test('a read-only dashboard user reads everything and every write is "permission denied"', async () => {
  const dash = rawClient(cluster.hostPorts[2]!);
  const crdt = rawCrdt(cluster.hostPorts[2]!);
  try {
    await c.unary('KV', 'Put', { key: b('app/x'), value: b('1') }, md.root);
    const range = await dash.unary('KV', 'Range', { key: b('\0'), rangeEnd: b('\0') }, md.dash);
    assert.ok(range.kvs.some((kv: { key: Buffer }) => kv.key.toString() === 'app/x'));
    const w = dash.duplex('Watch', 'Watch', md.dash);
    const got: Array<{ created: boolean; canceled: boolean; events: Array<{ kv: { key: Buffer } }> }> = [];
    w.on('data', (m) => got.push(m));
    w.on('error', () => undefined); // the cancel below
    w.write({ createRequest: { key: b('app/'), rangeEnd: b('app0') } });
    await eventually('watch created', async () => (got.some((m) => m.created && !m.canceled) ? true : undefined));
    await c.unary('KV', 'Put', { key: b('app/y'), value: b('2') }, md.root);
    await eventually('the dashboard sees the write', async () => (got.some((m) => m.events.some((e) => e.kv.key.toString() === 'app/y')) ? true : undefined));
    w.cancel();
    await refused(dash.unary('KV', 'Put', { key: b('app/z'), value: b('3') }, md.dash), status.PERMISSION_DENIED, DENIED);
    await refused(dash.unary('KV', 'DeleteRange', { key: b('app/x') }, md.dash), status.PERMISSION_DENIED, DENIED);
    await refused(dash.unary('KV', 'Txn', { success: [{ requestPut: { key: b('app/t'), value: b('t') } }] }, md.dash), status.PERMISSION_DENIED, DENIED);
    await refused(dash.unary('Maintenance', 'Defragment', {}, md.dash), status.PERMISSION_DENIED, DENIED);
    await refused(rawNamespaces(cluster.hostPorts[2]!, md.dash).call('Delete', { name: 'cfg', force: false }), status.PERMISSION_DENIED, DENIED);
    // CRDT namespaces: reads yes, writes no.
    await crdt.call('Write', { namespace: 'tel-a', ops: [{ lwwPut: { key: b('tel-a/root'), value: b('r') } }] }, { token: tokens.root! });
    const read = await crdt.call('Read', { namespace: 'tel-a', key: b('tel-a/root') }, { token: tokens.dash! });
    assert.equal(Buffer.from(read.entries[0].lww.value).toString(), 'r');
    await refused(crdt.call('Write', { namespace: 'tel-a', ops: [{ lwwPut: { key: b('tel-a/d'), value: b('d') } }] }, { token: tokens.dash! }), status.PERMISSION_DENIED, DENIED);
    await refused(crdt.call('Read', { namespace: 'tel-a', key: b('tel-a/root') }, { token: tokens.alice! }), status.PERMISSION_DENIED, DENIED);
    assert.equal((await c.unary('KV', 'Range', { key: b('app/z') }, md.root)).count, '0', 'nothing of a refused write was applied');
  } finally {
    dash.close();
    crdt.close();
  }
});

/** A session as `who` on the leader (the member that hosts edge sessions). */
async function session(who: string | undefined, vectors: Record<string, Record<string, number>>): Promise<SyncPeer> {
  if (leaderHostPort === '') {
    const leader = await eventually('a leader', () => cluster.leader());
    leaderHostPort = cluster.node(leader).clientUrl.replace(/^https?:\/\//, '');
  }
  const peer = new SyncPeer(leaderHostPort, who === undefined ? new Metadata() : md[who]);
  peer.hello(EDGE, vectors);
  return peer;
}

test('an edge user uploads only to namespaces it may write, only its own origin; refusals name the namespace and are counted', async () => {
  const anonymous = await session(undefined, { 'tel-a': {} });
  assert.equal(await anonymous.endedWithin(15_000), true);
  assert.deepEqual([anonymous.status?.code, anonymous.status?.details], [status.INVALID_ARGUMENT, NO_USER]);
  anonymous.close();

  const failuresBefore = await syncFailures('permission-denied');
  const peer = await session('edgea', { 'tel-a': {}, cfg: {}, 'tel-b': {} });
  try {
    const hello = await peer.next((m) => ('hello' in m ? m.hello : undefined));
    const offered = hello.value.vectors.map((v) => v.namespace).sort();
    assert.deepEqual(offered, ['cfg', 'tel-a'], 'the region syncs only the namespaces the user may read or write');
    peer.send(lwwDelta(1, 'tel-a', EDGE, 1, 1, [lwwRecord(EDGE, 1, 'tel-a/k1', 'v1')]));
    const ack = await peer.next((m) => ('ack' in m && m.ack.pageId === 1 ? m.ack : undefined));
    assert.deepEqual(ack.value.vector, [{ origin: EDGE, seq: 1 }]);
    peer.send(lwwDelta(2, 'cfg', EDGE, 1, 1, [lwwRecord(EDGE, 1, 'cfg/k1', 'edge wrote config')]));
    const denied = await peer.next((m) => ('error' in m && m.error.pageId === 2 ? m.error : undefined));
    console.log(`  upload to cfg → ${denied.value.code}: ${denied.value.message}`);
    assert.equal(denied.value.code, 'permission-denied');
    assert.match(denied.value.message, /user "edgea" may not write namespace "cfg" \(no write permission on its prefix "cfg\/"\)/);
    // Only its own origin, even where it may write.
    peer.send(lwwDelta(3, 'tel-a', 'edge:other:1', 1, 1, [lwwRecord('edge:other:1', 1, 'tel-a/forged', 'x')]));
    assert.equal((await peer.next((m) => ('error' in m && m.error.pageId === 3 ? m.error : undefined))).value.code, 'forged-origin');
    // The session goes on: another page of its own namespace is taken.
    peer.send(lwwDelta(4, 'tel-a', EDGE, 2, 2, [lwwRecord(EDGE, 2, 'tel-a/k2', 'v2')]));
    await peer.next((m) => ('ack' in m && m.ack.pageId === 4 ? m.ack : undefined));
    // A permission revoked while the session runs: the next page is refused.
    // Through the leader: applied there when the call returns.
    const onLeader = rawClient(leaderHostPort);
    await onLeader.unary('Auth', 'RoleRevokePermission', { role: 'edge-a', key: b('tel-a/'), rangeEnd: b('tel-a0') }, md.root);
    onLeader.close();
    peer.send(lwwDelta(5, 'tel-a', EDGE, 3, 3, [lwwRecord(EDGE, 3, 'tel-a/k3', 'v3')]));
    const after5 = await peer.next((m) => ('error' in m && m.error.pageId === 5 ? m.error : 'ack' in m && m.ack.pageId === 5 ? m.ack : undefined));
    assert.equal('code' in after5.value ? after5.value.code : 'applied', 'permission-denied');
  } finally {
    peer.close();
  }
  assert.ok((await syncFailures('permission-denied')) >= failuresBefore + 2, 'the refusals are counted');
  const crdt = rawCrdt(cluster.hostPorts[0]!);
  try {
    const value = async (ns: string, key: string): Promise<string | undefined> => {
      const r = await crdt.call('Read', { namespace: ns, key: b(key) }, { token: tokens.root! });
      return r.entries[0] === undefined ? undefined : Buffer.from(r.entries[0].lww.value).toString();
    };
    assert.equal(await value('tel-a', 'tel-a/k1'), 'v1', 'acknowledged');
    assert.equal(await value('tel-a', 'tel-a/k2'), 'v2', 'acknowledged');
    assert.equal(await value('cfg', 'cfg/k1'), undefined, 'refused: not applied');
    assert.equal(await value('tel-a', 'tel-a/forged'), undefined, 'refused: not applied');
    assert.equal(await value('tel-a', 'tel-a/k3'), undefined, 'refused after the revocation');
  } finally {
    crdt.close();
  }
});

test('EdgeAdmin: a dashboard lists edges, a user without read on every key may not', async () => {
  const { loadEdgeAdminService } = await import('../server/api/edge-sync.js');
  const { makeGenericClientConstructor, credentials } = await import('@grpc/grpc-js');
  const Ctor = makeGenericClientConstructor(loadEdgeAdminService() as never, 'EdgeAdmin');
  const admin = new Ctor(cluster.hostPorts[0]!, credentials.createInsecure()) as unknown as Record<string, (req: unknown, m: Metadata, cb: (e: ServiceError | null, r: unknown) => void) => void>;
  const list = (who: string) => new Promise<unknown>((resolve, reject) => admin['ListEdges']!({}, md[who]!, (e, r) => (e === null ? resolve(r) : reject(e))));
  await list('dash');
  await refused(list('edgea'), status.PERMISSION_DENIED, DENIED);
  (admin as unknown as { close(): void }).close();
});
