// The etcd3 npm client (keepCase, longs as strings, its own copy of etcd's protos)
// against a real 3-node regionstore cluster: KV, watch, leases and the Lock and Election
// recipes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

let cluster: TestCluster;
let client: Etcd3;

before(async () => {
  cluster = await startTestCluster();
  client = new Etcd3({ hosts: cluster.nodes.map((n) => n.clientUrl) });
});
after(async () => {
  client?.close();
  await cluster?.cleanup();
});

test('KV: put, get, prefix, delete, txn', async () => {
  await client.put('e/a').value('1');
  await client.put('e/b').value('2');
  assert.equal(await client.get('e/a').string(), '1');
  assert.deepEqual(await client.getAll().prefix('e/').strings(), { 'e/a': '1', 'e/b': '2' });
  assert.equal(await client.getAll().prefix('e/').count(), 2);
  const r = await client
    .if('e/a', 'Value', '==', '1')
    .then(client.put('e/a').value('won'))
    .else(client.put('e/a').value('lost'))
    .commit();
  assert.equal(r.succeeded, true);
  assert.equal(await client.get('e/a').string(), 'won');
  await client.delete().prefix('e/');
  assert.equal(await client.getAll().prefix('e/').count(), 0);
});

test('watch: events for a prefix', async () => {
  const watcher = await client.watch().prefix('ew/').create();
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => {
    watcher.on('put', (kv) => {
      seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`);
      if (seen.length === 3) resolve();
    });
    watcher.on('delete', (kv) => {
      seen.push(`delete ${kv.key.toString()}`);
      if (seen.length === 3) resolve();
    });
  });
  await client.put('ew/x').value('1');
  await client.put('ew/y').value('2');
  await client.delete().key('ew/x');
  await done;
  await watcher.cancel();
  assert.deepEqual(seen, ['put ew/x=1', 'put ew/y=2', 'delete ew/x']);
});

test('lease: grant, attach, keep-alive, revoke', async () => {
  const lease = client.lease(30, { autoKeepAlive: false });
  await lease.put('el/k').value('v');
  const id = await lease.grant();
  assert.match(id, /^[0-9]+$/);
  const ka = await lease.keepaliveOnce();
  assert.equal(ka.TTL, '30');
  assert.equal(ka.ID, id);
  assert.equal(await client.get('el/k').string(), 'v');
  await lease.revoke();
  assert.equal(await client.get('el/k').string(), null);
});

test('Lock recipe: a held lock refuses a second holder until released', async () => {
  const first = await client.lock('locks/x').ttl(10).acquire();
  await assert.rejects(client.lock('locks/x').ttl(10).acquire(), /Failed to acquire a lock/);
  await first.release();
  const again = await client.lock('locks/x').ttl(10).acquire();
  await again.release();
});

test('Election recipe: campaign, leader, resign', async () => {
  const election = client.election('elect', 10);
  const a = election.campaign('a');
  await new Promise<void>((resolve, reject) => {
    a.on('elected', () => resolve());
    a.on('error', reject);
  });
  assert.equal(await election.leader(), 'a');
  await a.resign();
});
