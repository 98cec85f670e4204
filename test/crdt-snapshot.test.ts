// Eventual namespaces across Raft snapshots (issue 13): a follower stopped while CRDT writes
// of every type (and foreign-free region writes only) pass several log compactions rejoins
// through a snapshot of the state database, which carries the CRDT keyspaces; after the
// install it reloads the eventual store (vectors, counts, region clock) and goes on applying
// new writes with the same dots as everyone: every member's CrdtHash agrees, before and after,
// and a member restarted on top of that state agrees too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rawClient } from '../server/api/testing/raw-client.js';
import type { RawCrdt } from '../server/api/testing/raw-crdt.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { CRDT_NAMESPACES, b, crdtClients, createCrdtNamespaces, hashesAgree } from './helpers/crdt-cluster.js';

/** Small snapshot spacing so a few hundred writes pass several compactions. */
const SNAPSHOT_COUNT = 100;
const CATCHUP_ENTRIES = 20;
const WRITES_WHILE_DOWN = 400;
const WRITE_CONCURRENCY = 8;

let cluster: TestCluster;
let crdt: RawCrdt[];

before(async () => {
  cluster = await startTestCluster({
    extraArgs: ['--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES)],
  });
  await createCrdtNamespaces(cluster);
  crdt = crdtClients(cluster);
});
after(async () => {
  for (const c of crdt ?? []) c.close();
  await cluster?.cleanup();
});

/** One write of a type chosen by i, through `c`; the counter key gets +1 every time. */
function writeOf(i: number): unknown {
  switch (i % 5) {
    case 0: return { ops: [{ lwwPut: { key: b(`cfg/k${i % 17}`), value: b(`v${i}`) } }] };
    case 1: return { ops: [{ mvPut: { key: b(`docs/d${i % 7}`), value: b(`v${i}`) } }] };
    case 2: return { ops: [{ counterAdd: { key: b('counters/total'), delta: '1' } }] };
    case 3: return { ops: [{ setAdd: { key: b(`tags/t${i % 3}`), member: b(`m${i % 11}`) } }] };
    default: return { namespace: 'ev', ops: [{ eventAppend: { device: `dev${i % 4}`, type: 'reading', payload: b(`{"i":${i}}`), schemaVersion: 1, tsMs: String(i) } }] };
  }
}

async function writeMany(c: RawCrdt, from: number, count: number): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, async () => {
    while (next < from + count) {
      const i = next++;
      await c.call('Write', writeOf(i), { 'rs-client-id': 'snap-test', 'rs-seq': String(i + 1) }).catch(async () => {
        // One retry with the same identity (a lost answer): applied at most once.
        await c.call('Write', writeOf(i), { 'rs-client-id': 'snap-test', 'rs-seq': String(i + 1) });
      });
    }
  }));
}

async function counterOn(c: RawCrdt): Promise<string> {
  return String((await c.call('Read', { key: b('counters/total'), serializable: true })).entries[0].counter.value);
}

async function vOf(c: RawCrdt): Promise<unknown> {
  return (await c.call('Read', { namespace: CRDT_NAMESPACES.events.name, serializable: true, limit: 1 })).vector;
}

async function metric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('a follower behind several compactions catches up by snapshot: CRDT state, vectors and later writes agree', async () => {
  const leader = await eventually('a leader', () => cluster.leader());
  const idx = cluster.nodes.findIndex((n) => n.name !== leader);
  const follower = cluster.nodes[idx]!;
  const other = cluster.nodes.findIndex((n, i) => i !== idx);
  await writeMany(crdt[other]!, 0, 50);
  await hashesAgree(crdt, 'before the follower stops');

  await cluster.stopNode(follower.name);
  crdt[idx]!.close();
  // Sequenced after the first 50 (rs-seq grows per client id).
  await writeMany(crdt[other]!, 50, WRITES_WHILE_DOWN);
  const kv = rawClient(cluster.nodes[other]!.clientUrl.replace('http://', ''));
  try {
    const rev = Number((await kv.unary('KV', 'Range', { key: b('cfg/k0') })).header.revision);
    await kv.unary('KV', 'Compact', { revision: rev - 10 });
  } finally {
    kv.close();
  }

  await cluster.restart(follower.name);
  crdt = crdtClients(cluster);
  const hashes = await hashesAgree(crdt, 'after the snapshot catch-up', 60_000);
  const received = await metric(follower.metricsUrl, 'regionstore_snapshots_received_total');
  console.log(`follower ${follower.name}: ${WRITES_WHILE_DOWN} CRDT writes behind, snapshot count ${SNAPSHOT_COUNT}; snapshots received: ${received}; hashes ${JSON.stringify(hashes)}`);
  assert.ok(received >= 1, 'the follower caught up through a snapshot');

  // Its reads (serializable: its own state) show what the others hold.
  assert.equal(await counterOn(crdt[idx]!), String(Math.floor((50 + WRITES_WHILE_DOWN + 4) / 5)));
  assert.equal(await counterOn(crdt[idx]!), await counterOn(crdt[other]!));
  assert.deepEqual(await vOf(crdt[idx]!), await vOf(crdt[other]!));

  // New writes through the caught-up follower: dots continue, every member agrees.
  await writeMany(crdt[idx]!, 50 + WRITES_WHILE_DOWN, 50);
  await hashesAgree(crdt, 'after writes through the caught-up follower');

  // A restart on top of the installed state: same hashes.
  await cluster.stopNode(follower.name);
  crdt[idx]!.close();
  await cluster.restart(follower.name);
  crdt = crdtClients(cluster);
  await hashesAgree(crdt, 'after restarting the follower');
  // The gauges come from the running counts in the state (the restarted follower's too); the
  // ops counter counts what this process applied.
  const m = await (await fetch(`${follower.metricsUrl}/metrics`)).text();
  assert.match(m, /regionstore_events_completeness_ratio\{namespace="ev"\} 1\n/);
  assert.match(m, /regionstore_unresolved_conflicts\{namespace="docs"\} 7\n/, 'every mv key got concurrent writes (no context)');
  const o = await (await fetch(`${cluster.nodes[other]!.metricsUrl}/metrics`)).text();
  assert.match(o, /regionstore_crdt_ops_applied_total\{namespace="counters",type="counter"\} 100\n/);
});
