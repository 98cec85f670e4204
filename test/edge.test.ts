// `regionstore edge` as a real process against a real one-member region: the registry and
// the strong namespaces' copy come from the region (with rs-staleness-ms), strong writes are
// forwarded; then the region goes away and the edge keeps working alone: writes of every
// CRDT type (and etcd Put on lww) acknowledged, strong writes refused with the offline
// message, bounded reads refused past the bound; kill -9 of the edge and a restart lose
// nothing acknowledged; etcdctl works against the edge.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Client } from '../client/index.js';
import { rawCrdt, type RawCrdt } from '../server/api/testing/raw-crdt.js';
import { rsctl } from '../client/rsctl/testing/run.js';
import { etcdctl, eventually, haveTool, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { b, createCrdtNamespaces } from './helpers/crdt-cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';

let cluster: TestCluster;
let edge: EdgeProcess;
let dir: string;
const hasEtcdctl = haveTool('etcdctl', 'etcd-client');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-edge-'));
  cluster = await startTestCluster({ nodes: 1 });
  await createCrdtNamespaces(cluster);
  const c = new Client({ endpoints: cluster.hostPorts, timeoutMs: 10_000 });
  try {
    await c.namespaces.create({ name: 'conf', prefix: 'conf/', maxStalenessMs: 1_000 });
    await c.put('conf/a', '1');
  } finally {
    c.close();
  }
  edge = await startEdge(cluster.serveCommand, { name: 'e1', dataDir: join(dir, 'e1'), region: cluster.hostPorts, extraArgs: ['--log-level', 'warn'] });
});
after(async () => {
  await edge?.kill();
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const edgeClient = (): Client => new Client({ endpoints: [edge.endpoint], attempts: 1, timeoutMs: 5_000 });

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  return p.then(() => assert.fail('expected a refusal'), (e: ServiceError) => e);
}

async function crdtState(c: RawCrdt): Promise<Record<string, unknown>> {
  const read = async (namespace: string, key = ''): Promise<any> =>
    c.call('Read', { namespace, key: b(key), rangeEnd: Buffer.of(0) });
  const cfg = await read('cfg');
  const docs = await read('docs');
  const counters = await read('counters');
  const tags = await read('tags');
  const ev = await c.call('Read', { namespace: 'ev', device: 'd1' });
  return {
    cfg: cfg.entries.map((e: any) => `${e.key.toString()}=${e.lww.value.toString()}`),
    docs: docs.entries.map((e: any) => `${e.key.toString()}=${e.mv.values.map((v: Buffer) => v.toString()).join('|')}`),
    counters: counters.entries.map((e: any) => `${e.key.toString()}=${e.counter.value}`),
    tags: tags.entries.map((e: any) => `${e.key.toString()}=${e.set.members.map((m: Buffer) => m.toString()).sort().join(',')}`),
    ev: ev.events.map((e: any) => `${e.device}:${e.seq}:${e.payload.toString()}`),
  };
}

/** The rebuild test's many keys. */
const bulk = (i: number): string => `conf/bulk/${String(i).padStart(4, '0')}`;
describe('regionstore edge', () => {
  test('syncs the registry, copies strong namespaces with their staleness, forwards strong writes', async () => {
    const c = edgeClient();
    try {
      const names = await eventually('the registry on the edge', async () => {
        const l = await c.namespaces.list().catch(() => undefined);
        return l !== undefined && l.some((n) => n.name === 'cfg') ? l.map((n) => n.name) : undefined;
      }, 20_000);
      assert.deepEqual(names.sort(), ['cfg', 'conf', 'counters', 'default', 'docs', 'ev', 'tags']);
      await eventually('conf/a on the edge', async () => ((await c.range('conf/a')).kvs[0]?.value.toString() === '1' ? true : undefined), 20_000);
      // A write in the region reaches the edge through the Watch.
      const region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 10_000 });
      await region.put('conf/b', '2');
      await eventually('conf/b on the edge', async () => ((await c.range('conf/b')).kvs[0]?.value.toString() === '2' ? true : undefined), 10_000);
      const r = await c.range('conf/b', { readLevel: 'bounded', maxStalenessMs: 5_000 });
      assert.ok(r.readInfo?.stalenessMs !== undefined && r.readInfo.stalenessMs < 5_000, JSON.stringify(r.readInfo));
      console.log(`  strong copy: staleness ${r.readInfo?.stalenessMs} ms`);
      // A strong write through the edge is the region's.
      await c.put('conf/c', 'via-edge');
      assert.equal((await region.range('conf/c')).kvs[0]?.value.toString(), 'via-edge');
      // Namespaces are read-only on the edge.
      const e = await refusal(c.namespaces.create({ name: 'x', prefix: 'x/' }));
      assert.equal(e.code, status.FAILED_PRECONDITION);
      assert.match(e.details, /read-only copy of the namespace registry/);
      region.close();
      const st = await edge.status();
      assert.equal(st.connected, true);
      assert.match(st.replicaId, /^edge:e1:\d+$/);
      // rsctl edge status: the edge's own view; a region member says to ask an edge.
      const out = await rsctl(['--endpoints', edge.endpoint, 'edge', 'status']);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`replica: ${st.replicaId as string}`));
      assert.match(out.stdout, /region: connected to 127\.0\.0\.1:\d+/);
      assert.match(out.stdout, /strong copy: revision \d+, \d+ ms stale/);
      console.log(out.stdout.replace(/^/gm, '  '));
      const json = await rsctl(['--endpoints', edge.endpoint, 'edge', 'status', '-w', 'json']);
      assert.equal(JSON.parse(json.stdout).connected, true);
      const onRegion = await rsctl(['--endpoints', cluster.hostPorts[0]!, 'edge', 'status']);
      assert.notEqual(onRegion.code, 0);
      assert.match(onRegion.stderr, /answered by an edge/);
      const listOnEdge = await rsctl(['--endpoints', edge.endpoint, 'edge', 'list']);
      assert.notEqual(listOnEdge.code, 0);
      assert.match(listOnEdge.stderr, /this is edge e1/);
    } finally {
      c.close();
    }
  });

  test('offline: every type of write is acknowledged and survives kill -9; strong writes and stale bounded reads refused', async () => {
    await cluster.kill('n1');
    await eventually('the edge sees the region gone', async () => ((await edge.status()).connected === false ? true : undefined), 20_000);
    const crdt = rawCrdt(edge.endpoint);
    const c = edgeClient();
    try {
      await crdt.call('Write', { ops: [{ lwwPut: { key: b('cfg/a'), value: b('1') } }, { lwwPut: { key: b('cfg/b'), value: b('2') } }] });
      await crdt.call('Write', { ops: [{ lwwDelete: { key: b('cfg/b') } }] });
      await crdt.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('a') } }] });
      await crdt.call('Write', { ops: [{ counterAdd: { key: b('counters/hits'), delta: '5' } }, { counterAdd: { key: b('counters/hits'), delta: '-2' } }] });
      await crdt.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m1') } }, { setAdd: { key: b('tags/t'), member: b('m2') } }] });
      await crdt.call('Write', { ops: [{ setRemove: { key: b('tags/t'), member: b('m1') } }] });
      await crdt.call('Write', { namespace: 'ev', ops: [1, 2, 3].map((seq) => ({ eventAppend: { device: 'd1', seq: String(seq), type: 'reading', payload: b(`p${seq}`), schemaVersion: 1 } })) });
      // etcd Put on lww, concurrently: group-committed together.
      await Promise.all(Array.from({ length: 20 }, (_x, i) => c.put(`cfg/k${i}`, `v${i}`)));
      const written = await crdtState(crdt);
      assert.deepEqual(written.counters, ['counters/hits=3']);
      assert.deepEqual(written.tags, ['tags/t=m2']);
      assert.deepEqual(written.ev, ['d1:1:p1', 'd1:2:p2', 'd1:3:p3']);

      const w = await refusal(c.put('conf/z', 'no'));
      assert.equal(w.code, status.UNAVAILABLE);
      assert.match(w.details, /edge e1 is offline from the region since \d{4}-\d\d-\d\dT/);
      console.log(`  UNAVAILABLE: ${w.details}`);
      // The copy is still readable, with its staleness; a bounded read past the bound is refused.
      await new Promise((r) => setTimeout(r, 1_200));
      assert.equal((await c.range('conf/a', { readLevel: 'serializable' })).kvs[0]?.value.toString(), '1');
      const stale = await refusal(c.range('conf/a', { readLevel: 'bounded', maxStalenessMs: 1_000 }));
      assert.equal(stale.code, status.UNAVAILABLE);
      assert.match(stale.details, /\d+ ms stale, past the bound of 1000 ms/);
      console.log(`  UNAVAILABLE: ${stale.details}`);
      const off = await rsctl(['--endpoints', edge.endpoint, 'edge', 'status']);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /region: offline since \d{4}-/);
      const lease = await refusal(c.leases.grant(10));
      assert.equal(lease.code, status.UNAVAILABLE);
      assert.match(lease.details, /not served by an edge/);

      crdt.close();
      c.close();
      await edge.restart(); // SIGKILL, then the same flags and data dir
      const reopened = rawCrdt(edge.endpoint);
      try {
        assert.deepEqual(await crdtState(reopened), written, 'everything acknowledged is there after kill -9');
      } finally {
        reopened.close();
      }
    } finally {
      crdt.close();
      c.close();
    }
  });

  test('etcdctl against the edge: get, put and watch on lww, refusals with the edge named', { skip: !hasEtcdctl }, async () => {
    const ep = [edge.endpoint];
    const put = await etcdctl(ep, ['put', 'cfg/etcdctl', 'hello']);
    assert.equal(put.code, 0, put.stderr);
    const get = await etcdctl(ep, ['get', 'cfg/', '--prefix', '--keys-only']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /cfg\/etcdctl/);
    assert.match(get.stdout, /cfg\/k19/);
    const strong = await etcdctl(ep, ['put', 'conf/q', 'x']);
    assert.notEqual(strong.code, 0);
    assert.match(strong.stderr, /offline from the region/);
    const members = await etcdctl(ep, ['member', 'list']);
    assert.notEqual(members.code, 0);
    assert.match(members.stderr, /edge e1/);
  });

  test('strong copy: history compacted while the edge was away → a Range at one revision, then Watch', async () => {
    await cluster.restart('n1');
    await eventually('the edge reconnected', async () => ((await edge.status()).connected === true ? true : undefined), 30_000, 200);
    const region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 10_000 });
    const c = edgeClient();
    // More keys than one page of the rebuild's Range (FEED_RANGE_PAGE_KEYS): the rebuild
    // streams page by page, deleting the local keys of each page's window the region lost.
    const BULK = 2_500;
    for (let i = 0; i < BULK; i += 100) await Promise.all(Array.from({ length: 100 }, (_x, j) => region.put(bulk(i + j), 'v')));
    await eventually('the bulk keys on the edge', async () => {
      const got = await c.range('conf/bulk/', { prefix: true, countOnly: true, readLevel: 'serializable' }).catch(() => undefined);
      return Number(got?.count ?? 0) === BULK ? true : undefined;
    }, 60_000, 250);
    await edge.kill();
    try {
      await region.delete(bulk(300), { rangeEnd: bulk(1_800) });
      await region.delete('conf/b');
      for (let i = 0; i < 5; i++) await region.put(`conf/n${i}`, `v${i}`);
      const r = await region.put('conf/last', 'x');
      await region.kv.compact(r.header.revision);
      await edge.restart();
      await eventually('the copy rebuilt', async () => {
        const got = await c.range('conf/', { prefix: true, readLevel: 'serializable' }).catch(() => undefined);
        const keys = got?.kvs.map((kv) => kv.key.toString()).sort().join(',');
        const bulkLeft = Array.from({ length: BULK }, (_x, i) => i).filter((i) => i < 300 || i >= 1_800).map(bulk);
        return keys === ['conf/a', ...bulkLeft, 'conf/c', 'conf/last', 'conf/n0', 'conf/n1', 'conf/n2', 'conf/n3', 'conf/n4'].join(',') ? true : undefined;
      }, 30_000, 250);
      const metrics = await (await fetch(`${edge.metricsUrl}/metrics`)).text();
      assert.match(metrics, /regionstore_edge_strong_resyncs_total 1/);
      // Watch goes on after the rebuild.
      await region.put('conf/after', 'y');
      await eventually('a change after the rebuild', async () => ((await c.range('conf/after')).kvs[0]?.value.toString() === 'y' ? true : undefined), 20_000);
    } finally {
      c.close();
      region.close();
    }
  });
});

/** The keys of namespace `late` one replica holds, sorted. */
async function lateKeys(c: RawCrdt): Promise<string> {
  const r: any = await c.call('Read', { namespace: 'late', key: b('late/'), rangeEnd: b('late0') });
  return r.entries.map((e: any) => e.key.toString()).sort().join(',');
}

// Last: it adds a namespace, which the registry test above lists exactly.
describe('regionstore edge, registry changes', () => {
  test('a namespace created in the region while the edge is connected syncs both ways without a restart', async () => {
    const region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 10_000 });
    const onEdge = rawCrdt(edge.endpoint);
    const inRegion = rawCrdt(cluster.hostPorts[0]!);
    try {
      // The edge's session is open (it synced the registry) before the namespace exists.
      await eventually('the edge connected', async () => ((await edgeClient().namespaces.list().catch(() => [])).some((n) => n.name === 'cfg') ? true : undefined), 20_000);
      await region.namespaces.create({ name: 'late', prefix: 'late/', level: 'eventual', crdtType: 'lww' });
      await eventually('the new namespace on the edge', async () => {
        try {
          await onEdge.call('Write', { ops: [{ lwwPut: { key: b('late/from-edge'), value: b('e') } }] });
          return true;
        } catch {
          return undefined;
        }
      }, 20_000);
      await inRegion.call('Write', { ops: [{ lwwPut: { key: b('late/from-region'), value: b('r') } }] });
      const both = 'late/from-edge,late/from-region';
      await eventually('the edge\'s write in the region', async () => ((await lateKeys(inRegion)) === both ? true : undefined), 20_000);
      await eventually('the region\'s write on the edge', async () => ((await lateKeys(onEdge)) === both ? true : undefined), 20_000);
    } finally {
      region.close();
      onEdge.close();
      inRegion.close();
    }
  });
});
