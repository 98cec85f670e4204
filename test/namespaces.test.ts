// The namespace registry on a real 3-member cluster: replicated through the Raft log into
// its own state keyspace (never shown as etcd keys), the same on every member, surviving a
// full restart, a snapshot install on a lagging follower and a leader change; its rules
// (keys under a new prefix, delete while keys, force) and bad input answered with statuses.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Client, type Namespace } from '../client/index.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { rsctl } from '../client/rsctl/testing/run.js';

/** Small snapshot spacing so the writes while a follower is down pass log compactions. */
const SNAPSHOT_COUNT = 50;
const CATCHUP_ENTRIES = 10;
const WRITES_WHILE_DOWN = 300;

let cluster: TestCluster;
let client: Client;

function memberClient(i: number): Client {
  return new Client({ endpoints: cluster.hostPorts[i]!, attempts: 3, timeoutMs: 10_000 });
}

/** Every member's registry (linearizable List through each member). */
async function listsOfEveryMember(serializable = false): Promise<Namespace[][]> {
  return Promise.all(cluster.hostPorts.map(async (_e, i) => {
    const c = memberClient(i);
    try {
      return await c.namespaces.list({ serializable });
    } finally {
      c.close();
    }
  }));
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; details: string };
  }
  assert.fail('expected a refusal');
}

before(async () => {
  cluster = await startTestCluster({
    extraArgs: ['--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES)],
  });
  client = new Client({ endpoints: cluster.hostPorts, timeoutMs: 15_000 });
});
after(async () => {
  client?.close();
  await cluster?.cleanup();
});

describe('namespace registry on a cluster', () => {
  test('create, get with every default written out, list alike on every member, no etcd keys', async () => {
    const created = await client.namespaces.create({ name: 'devices', prefix: 'devices/', level: 'eventual', crdtType: 'mv' });
    assert.deepEqual(created, {
      name: 'devices', prefix: 'devices/', level: 'eventual', crdtType: 'mv', readLevel: 'serializable', maxStalenessMs: 1000,
      maxClockSkewMs: 500, tombstoneTtlS: 86400, siblingWarn: 25, siblingCap: 100, schemaVersions: [1], description: '',
    });
    await client.namespaces.create({ name: 'config', prefix: 'devices/config/', readLevel: 'bounded', maxStalenessMs: 300 });
    assert.equal((await client.namespaces.get('config')).readLevel, 'bounded');
    const lists = await listsOfEveryMember();
    assert.deepEqual(lists.map((l) => l.map((n) => n.name)), [0, 1, 2].map(() => ['config', 'default', 'devices']));
    assert.deepEqual(lists[1], lists[0]);
    assert.deepEqual(lists[2], lists[0]);
    const all = await client.range('\0', { fromKey: true });
    assert.equal(all.count, 0, 'the registry is not stored as etcd keys');
  });

  test('a prefix holding keys of the enclosing namespace is refused; delete needs force while keys remain', async () => {
    await client.put('app/a', '1');
    await client.put('app/b', '2');
    const r = await refusal(client.namespaces.create({ name: 'app', prefix: 'app/' }));
    assert.equal(r.code, status.FAILED_PRECONDITION);
    assert.match(r.details, /prefix "app\/" holds 2 keys of namespace "default"/);
    await client.delete('app/', { prefix: true });
    await client.namespaces.create({ name: 'app', prefix: 'app/' });
    await client.put('app/c', '3');
    await client.put('app/nested/d', '4');
    const d = await refusal(client.namespaces.delete('app'));
    assert.equal(d.code, status.FAILED_PRECONDITION);
    assert.match(d.details, /namespace "app" holds 2 keys of namespace "app"/);
    const forced = await client.namespaces.delete('app', { force: true });
    assert.equal(forced.deletedKeys, 2);
    assert.equal((await client.range('app/', { prefix: true })).count, 0);
  });

  test('update changes only what may change', async () => {
    const u = await client.namespaces.update('default', { readLevel: 'serializable', description: 'everything else' });
    assert.equal(u.readLevel, 'serializable');
    assert.equal(u.description, 'everything else');
    await client.namespaces.update('default', { readLevel: 'linearizable' });
    const r = await refusal(client.namespaces.update('devices', { readLevel: 'linearizable' }));
    assert.equal(r.code, status.INVALID_ARGUMENT);
    assert.match(r.details, /applies to strong namespaces only/);
  });

  test('bad input: each a status with an actionable message', async () => {
    const cases: Array<[() => Promise<unknown>, number, RegExp]> = [
      [() => client.namespaces.create({ name: 'x', prefix: 'x/', level: 'weak' as never }), status.INVALID_ARGUMENT, /unknown level "weak": use one of strong, eventual/],
      [() => client.namespaces.create({ name: 'x', prefix: 'x/', level: 'eventual', crdtType: 'tree' as never }), status.INVALID_ARGUMENT, /unknown CRDT type "tree"/],
      [() => client.namespaces.create({ name: '', prefix: 'x/' }), status.INVALID_ARGUMENT, /name is empty/],
      [() => client.namespaces.create({ name: 'x', prefix: 'x\u0007' }), status.INVALID_ARGUMENT, /control characters/],
      [() => client.namespaces.create({ name: 'devices', prefix: 'other/' }), status.ALREADY_EXISTS, /namespace "devices" already exists/],
      [() => client.namespaces.create({ name: 'other', prefix: 'devices/' }), status.ALREADY_EXISTS, /already the prefix of namespace "devices"/],
      [() => client.namespaces.delete('default', { force: true }), status.FAILED_PRECONDITION, /default namespace cannot be deleted/],
      [() => client.namespaces.get('nope'), status.NOT_FOUND, /namespace "nope" not found/],
      [() => client.namespaces.update('devices', {}), status.INVALID_ARGUMENT, /name the fields to change/],
    ];
    for (const [p, code, re] of cases) {
      const r = await refusal(p());
      assert.equal(r.code, code, r.details);
      assert.match(r.details, re);
    }
  });

  test('a prefix that is not UTF-8 is refused', async () => {
    const { rawNamespaces } = await import('./helpers/raw-namespaces.js');
    const raw = rawNamespaces(cluster.hostPorts[0]!);
    try {
      const r = await refusal(raw.create({ name: 'bin', prefix: Buffer.from([0x62, 0xff, 0xfe]) }));
      assert.equal(r.code, status.INVALID_ARGUMENT);
      assert.match(r.details, /not valid UTF-8/);
    } finally {
      raw.close();
    }
  });

  test('rsctl ns create|get|list|update|delete and get --read', async () => {
    const ep = ['--endpoints', cluster.hostPorts.join(',')];
    const created = await rsctl([...ep, 'ns', 'create', 'metrics', '--prefix', 'metrics/', '--read', 'bounded:250', '--description', 'from rsctl']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^name: metrics\nprefix: "metrics\/"\nlevel: strong\ncrdt_type: none\nread_level: bounded\nmax_staleness_ms: 250\n/);
    const got = await rsctl([...ep, '-w', 'json', 'ns', 'get', 'metrics']);
    assert.equal(JSON.parse(got.stdout).description, 'from rsctl');
    const table = await rsctl([...ep, '-w', 'table', 'ns', 'list']);
    assert.match(table.stdout, /\| metrics +\| "metrics\/" +\| strong/);
    const upd = await rsctl([...ep, 'ns', 'update', 'metrics', '--read', 'session']);
    assert.match(upd.stdout, /read_level: session/);
    const eventual = await rsctl([...ep, 'ns', 'create', 'ev', '--prefix', 'ev/', '--level', 'eventual', '--type', 'counter']);
    assert.match(eventual.stdout, /crdt_type: counter/);
    const bad = await rsctl([...ep, 'ns', 'create', 'bad', '--prefix', 'bad/', '--level', 'weak']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown level "weak"/);
    await client.put('metrics/a', '1');
    const read = await rsctl([...ep, '-w', 'json', 'get', 'metrics/a', '--read', 'bounded:5000']);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(JSON.parse(read.stdout).read.level, 'bounded');
    const session = await rsctl([...ep, '-w', 'json', 'get', 'metrics/a', '--read', 'session', '--min-revision', '1']);
    assert.equal(JSON.parse(session.stdout).read.level, 'session');
    const usage = await rsctl([...ep, 'get', 'metrics/a', '--read', 'fast']);
    assert.equal(usage.code, 2);
    const del = await rsctl([...ep, 'ns', 'delete', 'metrics', '--force']);
    assert.match(del.stdout, /namespace metrics deleted with 1 keys/);
    assert.equal((await rsctl([...ep, 'ns', 'delete', 'ev'])).code, 0);
  });

  test('the registry survives a snapshot install on a lagging follower', async () => {
    const leader = await eventually('a leader', () => cluster.leader());
    const idx = cluster.nodes.findIndex((n) => n.name !== leader);
    const follower = cluster.nodes[idx]!;
    await cluster.stopNode(follower.name);
    await client.namespaces.create({ name: 'late', prefix: 'late/' });
    for (let i = 0; i < WRITES_WHILE_DOWN; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_x, j) => client.put(`k${(i + j) % 30}`, String(i + j))));
    }
    await client.namespaces.update('late', { description: 'written while the follower was down' });
    await cluster.restart(follower.name);
    const expected = await client.namespaces.list();
    const fc = memberClient(idx);
    try {
      await eventually('the follower to show the same registry', async () => {
        const l = await fc.namespaces.list({ serializable: true }).catch(() => undefined);
        return JSON.stringify(l) === JSON.stringify(expected) ? true : undefined;
      }, 30_000, 100);
      const text = await (await fetch(`${follower.metricsUrl}/metrics`)).text();
      const received = Number(text.split('\n').find((l) => l.startsWith('regionstore_snapshots_received_total '))?.split(' ').pop() ?? 0);
      assert.ok(received >= 1, 'the follower caught up through a snapshot install');
    } finally {
      fc.close();
    }
  });

  test('the registry survives a restart of every member and a leader change', async () => {
    const registryBefore = await client.namespaces.list();
    for (const n of cluster.nodes) await cluster.stopNode(n.name);
    // Together: a lone member of three never becomes healthy, which restart() waits for.
    await Promise.all(cluster.nodes.map((n) => cluster.restart(n.name)));
    const first = await eventually('a leader', () => cluster.leader(), 20_000);
    const lists = await listsOfEveryMember();
    for (const l of lists) assert.deepEqual(l, registryBefore);
    await cluster.kill(first);
    await eventually('another leader', async () => {
      const l = await cluster.leader();
      return l !== undefined && l !== first ? l : undefined;
    }, 20_000);
    await client.namespaces.create({ name: 'after', prefix: 'after/' });
    await cluster.restart(first);
    const expected = await client.namespaces.list();
    assert.ok(expected.some((n) => n.name === 'after'));
    await eventually('every member to show the same registry', async () => {
      const all = await listsOfEveryMember().catch(() => undefined);
      return all !== undefined && all.every((l) => JSON.stringify(l) === JSON.stringify(expected)) ? true : undefined;
    }, 20_000, 200);
  });
});
