// The tombstone_ttl resync with real processes (issue 14, DESIGN §6): an edge silent longer
// than its namespaces' tombstone_ttl (2 s here) left the region's causal-stability minimum,
// so the region may collect a set remove it never saw. On its return the region tells it to
// resync; the edge drops those namespaces' state, downloads them in full, and merges back the
// local writes the region lacked (then uploads them). Checked: the resync is counted on both
// sides, every write the edge acknowledged while cut off reaches the region, and the edge
// ends with the region's state and CrdtHash.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FaultProxy, PASS } from '../chaos/proxy/index.js';
import { Client } from '../client/index.js';
import type { RawCrdt } from '../server/api/testing/raw-crdt.js';
import { crdtClientPool } from './helpers/crdt-cluster.js';
import { SeededRandom } from '../server/util/random.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';

const TTL_S = 2;
const b = (s: string): Buffer => Buffer.from(s);

let cluster: TestCluster;
let dir: string;
let proxies: FaultProxy[] = [];
let edge: EdgeProcess;
const crdtPool = crdtClientPool();
const crdt = crdtPool.open;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-edge-resync-'));
  cluster = await startTestCluster();
  const client = new Client({ endpoints: cluster.hostPorts, timeoutMs: 15_000 });
  try {
    await client.namespaces.create({ name: 'tags', prefix: 'tags/', level: 'eventual', crdtType: 'set', tombstoneTtlS: TTL_S });
    await client.namespaces.create({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww', tombstoneTtlS: TTL_S });
  } finally {
    client.close();
  }
  const seed = Date.now() >>> 0;
  console.log(`  proxy seed ${seed}`);
  proxies = await Promise.all(cluster.hostPorts.map((hp, i) => {
    const at = hp.lastIndexOf(':');
    return FaultProxy.start({ random: new SeededRandom(seed + i), target: { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) }, name: `edge->n${i + 1}` });
  }));
  edge = await startEdge(cluster.serveCommand, { name: 'edge-r', dataDir: join(dir, 'e'), region: proxies.map((p) => `127.0.0.1:${p.port}`), extraArgs: ['--log-level', 'warn'] });
});

after(async () => {
  crdtPool.closeAll();
  await edge?.kill();
  for (const p of proxies) await p.close();
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function connected(want: boolean): Promise<void> {
  await eventually(`the edge ${want ? 'connected' : 'offline'}`, async () => {
    const s = await edge.status();
    return s.connected === want && (!want || (s.sync?.sessions ?? 0) > 0) ? true : undefined;
  }, 60_000, 200);
}

async function state(c: RawCrdt): Promise<string> {
  const set = await c.call('Read', { namespace: 'tags', key: b('tags/t') });
  const members = (set.entries[0]?.set.members ?? []).map((m: Buffer) => m.toString()).sort().join(',');
  const cfg = await c.call('Read', { namespace: 'cfg', key: b('cfg/'), rangeEnd: b('cfg0') });
  const values = cfg.entries.map((e: any) => `${e.key.toString()}=${e.lww.value.toString()}`).join(',');
  const hashes = [];
  for (const ns of ['tags', 'cfg']) hashes.push((await c.call('Hash', { namespace: ns }, {}, 5_000)).hash as number);
  return JSON.stringify({ members, values, hashes });
}

test('an edge silent past tombstone_ttl resyncs: nothing it acknowledged is lost, it ends with the region\'s state', async () => {
  await connected(true);
  const e = crdt(edge.endpoint);
  const region = crdt(cluster.hostPorts[0]!);
  await region.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m0') } }] });
  await e.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m1') } }] });
  await e.call('Write', { ops: [{ lwwPut: { key: b('cfg/shared'), value: b('before') } }] });
  await eventually('shared history on both sides', async () => {
    const [x, y] = [await state(e), await state(region)];
    return x === y && x.includes('m0,m1') ? true : undefined;
  }, 60_000, 250);

  for (const p of proxies) {
    p.setPolicy({ ...PASS, refusePct: 100 });
    p.cut();
  }
  await connected(false);
  // Cut off: the edge removes m0 and writes more; all of it acknowledged (durable) locally.
  const acked: string[] = [];
  await e.call('Write', { ops: [{ setRemove: { key: b('tags/t'), member: b('m0') } }] });
  await e.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m2') } }] });
  for (let i = 0; i < 20; i++) {
    await e.call('Write', { ops: [{ lwwPut: { key: b(`cfg/k${i}`), value: b(`edge-${i}`) } }] });
    acked.push(`cfg/k${i}=edge-${i}`);
  }
  // The region removes the edge's m1 and adds m3; past the ttl its GC no longer waits for the
  // silent edge, so the remove record may be collected before the edge ever sees it.
  await region.call('Write', { ops: [{ setRemove: { key: b('tags/t'), member: b('m1') } }] });
  await region.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m3') } }] });
  await new Promise((r) => setTimeout(r, (TTL_S + 3) * 1000));

  for (const p of proxies) p.setPolicy(PASS);
  await connected(true);
  const st = await eventually('the resync done on the edge', async () => {
    const s = await edge.status();
    return s.resyncs >= 1 && s.resyncing.length === 0 ? s : undefined;
  }, 90_000, 250);
  console.log(`  edge: resyncs ${st.resyncs as number}, vectors ${JSON.stringify(st.namespaces.map((n: any) => [n.name, n.vector]))}`);
  const replicas = [e, ...cluster.hostPorts.map((hp) => crdt(hp))];
  const views = await eventually('every replica converged, hashes included', async () => {
    const vs = await Promise.all(replicas.map((r) => state(r)));
    return vs.every((v) => v === vs[0]) ? vs : undefined;
  }, 90_000, 500).catch(async (err: unknown) => {
    for (const r of replicas) console.log(`  ${await state(r)}`);
    throw err;
  });
  const v = JSON.parse(views[0]!) as { members: string; values: string };
  console.log(`  converged: ${views[0]!}`);
  assert.equal(v.members, 'm2,m3', 'the edge\'s remove of m0 and add of m2 kept, the region\'s remove of m1 and add of m3 applied');
  for (const a of acked) assert.ok(v.values.split(',').includes(a), `acknowledged on the edge, present in the region: ${a}`);
  assert.ok(v.values.includes('cfg/shared=before'));
  const em = await (await fetch(`${edge.metricsUrl}/metrics`)).text();
  assert.match(em, /regionstore_sync_resyncs_total\{reason="tombstone_ttl"\} [1-9]/, 'counted on the edge');
});
