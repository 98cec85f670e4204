// Storage faults on an edge (issue 19 on edges, DESIGN §5): the edge's data dir gets the same
// start-up checks as a member's (marker, CURRENT/MANIFEST, a whole read in a child process).
// Random bytes in the middle of an SST, then a garbled CURRENT: each time the edge, restarted,
// never serves the damaged database, moves it aside (kept), takes a new incarnation, downloads
// from the region and serves the region's data again; nothing the region acknowledged is lost.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../client/index.js';
import type { RawCrdt } from '../server/api/testing/raw-crdt.js';
import { chooseRocksdbBinding } from '../server/storage/rocksdb-binding.js';
import { crdtClientPool } from './helpers/crdt-cluster.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';

/** Keys each side writes: enough that the edge's database holds SST files. */
const KEYS = 400;
const VALUE = 'x'.repeat(2_000);
const b = (s: string): Buffer => Buffer.from(s);

let cluster: TestCluster;
let dir: string;
let edge: EdgeProcess;
const crdtPool = crdtClientPool();
const crdt = crdtPool.open;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-edge-faults-'));
  cluster = await startTestCluster();
  const client = new Client({ endpoints: cluster.hostPorts, timeoutMs: 15_000 });
  try {
    await client.namespaces.create({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' });
  } finally {
    client.close();
  }
  edge = await startEdge(cluster.serveCommand, { name: 'edge-f', dataDir: join(dir, 'e'), region: cluster.hostPorts, extraArgs: ['--log-level', 'warn'] });
});

after(async () => {
  crdtPool.closeAll();
  await edge?.kill();
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function keys(c: RawCrdt): Promise<string[]> {
  const r = await c.call('Read', { namespace: 'cfg', key: b('cfg/'), rangeEnd: b('cfg0'), limit: 10_000 });
  return r.entries.map((e: any) => e.key.toString()).sort();
}

async function upWithSession(): Promise<Record<string, any>> {
  return eventually('the edge connected with a session', async () => {
    const s = await edge.status().catch(() => undefined);
    return s?.connected === true && (s.sync?.sessions ?? 0) > 0 ? s : undefined;
  }, 60_000, 250);
}

/** The edge's state/ files after a clean stop and a restart (which flushes the recovered log into an SST). */
async function stopWithSsts(): Promise<string[]> {
  await edge.kill('SIGTERM');
  await edge.restart();
  await upWithSession();
  await edge.kill('SIGTERM');
  const state = join(edge.dataDir, 'state');
  return readdirSync(state).filter((n) => n.endsWith('.sst')).map((n) => join(state, n));
}

test('a damaged edge database is never served: moved aside, a new incarnation, everything back from the region', async () => {
  await upWithSession();
  const e = crdt(edge.endpoint);
  const region = crdt(cluster.hostPorts[0]!);
  for (let i = 0; i < KEYS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_x, j) => region.call('Write', { ops: [{ lwwPut: { key: b(`cfg/r${String(i + j).padStart(4, '0')}`), value: b(VALUE) } }] })));
    await Promise.all(Array.from({ length: 50 }, (_x, j) => e.call('Write', { ops: [{ lwwPut: { key: b(`cfg/e${String(i + j).padStart(4, '0')}`), value: b(VALUE) } }] })));
  }
  // Acknowledged by the region: its own writes, and the edge's once uploaded.
  const acked = await eventually('the edge\'s writes in the region, the region\'s on the edge', async () => {
    const [x, y] = [await keys(region), await keys(e)];
    return x.length === 2 * KEYS && JSON.stringify(x) === JSON.stringify(y) ? x : undefined;
  }, 60_000, 500);

  const damages: Array<{ what: string; damage: () => void }> = [
    {
      what: '4 KiB of random bytes in the middle of an SST',
      damage: () => {
        const ssts = readdirSync(join(edge.dataDir, 'state')).filter((n) => n.endsWith('.sst'));
        assert.ok(ssts.length > 0, 'the edge database holds an SST to damage');
        const file = join(edge.dataDir, 'state', ssts.sort((a, c) => statSync(join(edge.dataDir, 'state', c)).size - statSync(join(edge.dataDir, 'state', a)).size)[0]!);
        const fd = openSync(file, 'r+');
        try {
          writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(statSync(file).size / 2));
        } finally {
          closeSync(fd);
        }
      },
    },
    {
      what: 'CURRENT garbled',
      damage: () => writeFileSync(join(edge.dataDir, 'state', 'CURRENT'), randomBytes(24)),
    },
  ];
  for (const d of damages) {
    const was = (await edge.status()).replicaId as string;
    const ssts = await stopWithSsts();
    console.log(`  ${d.what} (state/ holds ${ssts.length} SST files)`);
    d.damage();
    await edge.restart();
    const st = await upWithSession();
    console.log(`  ${was} -> ${st.replicaId as string}: ${st.storageNote as string}`);
    assert.notEqual(st.replicaId, was, 'a new incarnation');
    assert.match(st.storageNote, /moved aside to .*state\.damaged-/);
    assert.match(st.storageNote, /may be lost/);
    const aside = readdirSync(edge.dataDir).filter((n) => n.startsWith('state.damaged-'));
    assert.ok(aside.length >= 1 && aside.every((n) => existsSync(join(edge.dataDir, n))), 'the damaged database is kept');
    // Everything the region acknowledged is served by the edge again, and still in the region.
    await eventually('the region\'s data back on the edge', async () => (JSON.stringify(await keys(e)) === JSON.stringify(acked) ? true : undefined), 60_000, 500);
    assert.deepEqual(await keys(region), acked);
    // The edge takes writes under its new origin, and they reach the region.
    const key = `cfg/after-${d.what.length}`;
    const w = await e.call('Write', { ops: [{ lwwPut: { key: b(key), value: b('v') } }] });
    assert.equal(w.results[0].dot.origin, st.replicaId);
    await eventually('a write after the repair reaches the region', async () => ((await keys(region)).includes(key) ? true : undefined), 30_000, 250);
    acked.push(key);
    acked.sort();
  }
  // rsctl edge status (EdgeAdmin over the edge's client port) carries the note too.
  const admin = new Client({ endpoints: [edge.endpoint], timeoutMs: 10_000 });
  try {
    const s = await admin.edges.status();
    assert.match(s.storageNote, /new incarnation .* may be lost/);
    assert.equal(s.skewRefusals, 0);
    assert.deepEqual(s.resyncing, []);
  } finally {
    admin.close();
  }
  const metrics = await (await fetch(`${edge.metricsUrl}/metrics`)).text();
  console.log(`  ${metrics.split('\n').filter((l) => l.startsWith('regionstore_storage_')).join('; ')}`);
  assert.match(metrics, /regionstore_storage_repairs_total\{db="edge",reason="unreadable"\} 1/);
});

/** Why the running-edge case cannot show what it shows (the prebuilt binding), or undefined. */
const liveDamageSkip = ((): string | undefined => {
  const binding = chooseRocksdbBinding();
  return binding.kind === 'release' ? undefined : `the rocksdb release build is not there (${binding.reason}): with the prebuilt binding a corrupt block may abort the edge or be served`;
})();
if (liveDamageSkip !== undefined) console.error(`\n!!! SKIPPING the running-edge SST case: ${liveDamageSkip} !!!\n`);

test('random bytes in an SST while an edge runs: UNAVAILABLE, /health false, counted, exit 1 (never a signal), repaired at its restart', { skip: liveDamageSkip }, async () => {
  await upWithSession();
  const e = crdt(edge.endpoint);
  const held = await keys(e);
  assert.ok(held.length >= 2 * KEYS, `the edge holds the keys written above (${held.length})`);
  // A clean stop and a start: the WAL is flushed into SSTs and the block cache is cold, so
  // the read below meets the damaged blocks in the files.
  const ssts = await stopWithSsts();
  await edge.restart();
  const was = (await upWithSession()).replicaId as string;
  for (const f of ssts.filter((x) => existsSync(x))) {
    for (const at of [0.25, 0.5, 0.75]) {
      const fd = openSync(f, 'r+');
      try {
        writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(statSync(f).size * at));
      } finally {
        closeSync(fd);
      }
    }
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (edge.child.exitCode !== null || edge.child.signalCode !== null) resolve({ code: edge.child.exitCode, signal: edge.child.signalCode });
    else edge.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const seen = edge.lines.length;
  let err: unknown;
  try {
    await keys(crdt(edge.endpoint));
  } catch (x) {
    err = x;
  }
  assert.ok(err !== undefined, 'a read over damaged blocks answered');
  assert.match(String(err), /UNAVAILABLE|14/);
  assert.match(String(err), /storage corruption: Corruption:.*new incarnation/);
  // Until it has exited, what it says about itself is checked when it still answers.
  const shown: string[] = [];
  try {
    const h = await (await fetch(`${edge.metricsUrl}/health`)).json() as { health: string; reason?: string };
    assert.equal(h.health, 'false');
    assert.match(h.reason ?? '', /storage corruption/);
    shown.push('/health false');
    const m = await (await fetch(`${edge.metricsUrl}/metrics`)).text();
    assert.match(m, /regionstore_storage_corruptions_total\{db="edge",reason="corrupt"\} 1/);
    shown.push('counted');
  } catch (x) {
    if (x instanceof assert.AssertionError) throw x;
    shown.push('already stopped');
  }
  const exit = await exited;
  assert.equal(exit.signal, null, 'never a signal death');
  assert.equal(exit.code, 1);
  const out = edge.lines.slice(seen).join('\n');
  assert.match(out, /storage corruption found while running/, out);
  assert.ok(!/Assertion .* failed/.test(out), 'no native assertion');
  console.log(`  live SST damage on the edge: ${String(err).slice(0, 160)}; seen before the exit: ${shown.join(', ')}`);
  // The stop was not clean: the restart reads the database whole, moves it aside, and takes a
  // new incarnation that downloads from the region.
  await edge.restart();
  const st = await upWithSession();
  assert.notEqual(st.replicaId, was, 'a new incarnation');
  assert.match(st.storageNote, /moved aside/);
  const region = crdt(cluster.hostPorts[0]!);
  const acked = await keys(region);
  await eventually('the region\'s data back on the edge', async () => (JSON.stringify(await keys(crdt(edge.endpoint))) === JSON.stringify(acked) ? true : undefined), 60_000, 500);
});
