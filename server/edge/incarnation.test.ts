// The incarnation rule of an edge's local writes (DESIGN §6; chaos seed 6 of issue 15), in
// process on real RocksDB: a data dir this process did not create may be a copy restored from
// a backup whose incarnation later wrote more (and uploaded it), so its first local write before
// a region HELLO confirmed the incarnation takes a new one, durably; a new data dir, or one a
// HELLO confirmed, keeps writing under its own; a start after a stop that was not clean takes
// a new incarnation at once (writes uploaded while their fsync ran may be in the region).

import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { completeDefinition } from '../namespace/index.js';
import { silentLogger } from '../util/logger.js';
import { systemClock } from '../util/system-clock.js';
import { EdgeNode } from './edge-node.js';
import { loadOrCreateMarker } from './marker.js';
import { encodeRegistry } from './store.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

async function open(dataDir: string): Promise<EdgeNode> {
  // No region is dialled: start() is never called.
  const node = await EdgeNode.open({
    name: 'dev1', dataDir, region: ['127.0.0.1:1'], namespaces: undefined, clockOffsetMs: 0, clock: systemClock, logger: silentLogger, verify: false,
  });
  if (node.store.registry.get('cfg') === undefined) {
    await node.store.external(encodeRegistry([completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' })]));
  }
  return node;
}

async function put(node: EdgeNode, key: string): Promise<string> {
  const r = await node.crdt.write({ namespace: 'cfg', ops: [{ type: 'lwwPut', key: b(key), value: b('v') }] }, undefined);
  const dot = r.results[0]?.dot;
  assert.ok(dot !== undefined);
  return `${dot.origin}:${dot.seq}`;
}

test('a restored copy\'s first local write takes a new incarnation: no dot its incarnation used later is reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-incarnation-'));
  try {
    const live = join(dir, 'live');
    const copy = join(dir, 'copy');
    let node = await open(live);
    const first = node.replicaId;
    assert.equal(await put(node, 'cfg/a'), `${first}:1`, 'a new data dir writes under the incarnation it just took');
    await node.close(); // a clean stop: the copy below is sealed, as a backup of a stopped device is
    await cp(live, copy, { recursive: true });

    // The device goes on under the same incarnation once a region HELLO confirmed it (its
    // session would upload cfg/b at seq 2).
    node = await open(live);
    node.incarnationConfirmed(node.replicaId);
    assert.equal(await put(node, 'cfg/b'), `${first}:2`, 'a confirmed incarnation keeps writing under its own origin');
    await node.close();

    // The copy is restored and written to before it reaches the region: seq 2 of the old
    // incarnation is taken already (the region would drop this write as a duplicate).
    node = await open(copy);
    assert.equal(node.replicaId, first);
    const dots = await Promise.all([put(node, 'cfg/c'), put(node, 'cfg/d')]);
    const renewed = node.replicaId;
    assert.notEqual(renewed, first, 'the copy took a new incarnation before its first write');
    assert.deepEqual(dots.sort(), [`${renewed}:1`, `${renewed}:2`], 'both writes under the new incarnation, one bump for both');
    assert.equal(await put(node, 'cfg/e'), `${renewed}:3`);
    await node.close();
    const marker = (await loadOrCreateMarker(copy, 'dev1', 0)).marker;
    assert.equal(`edge:dev1:${marker.incarnation}`, renewed, 'the new incarnation is in the marker');
    assert.deepEqual(marker.previous, [Number(first.split(':')[2])]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a start after a stop that was not clean takes a new incarnation before the database opens; a clean stop keeps it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-incarnation-'));
  try {
    let node = await open(dir);
    const first = node.replicaId;
    assert.equal(await put(node, 'cfg/a'), `${first}:1`);
    await node.close();
    node = await open(dir);
    assert.equal(node.replicaId, first, 'a clean stop (sealed) keeps the incarnation');
    node.incarnationConfirmed(node.replicaId); // as a region HELLO does (the test above)
    assert.equal(await put(node, 'cfg/b'), `${first}:2`);
    // As a kill -9 or a power cut would: the database closes, nothing seals it. Writes
    // uploaded while their fsync ran (replica.ts) may be in the region under first:3.. now.
    await node.store.close();
    node = await open(dir);
    const renewed = node.replicaId;
    assert.notEqual(renewed, first, 'an unclean stop: a new incarnation at start');
    assert.equal(await put(node, 'cfg/c'), `${renewed}:1`, 'the first write after it uses the new origin, no HELLO needed');
    const marker = (await loadOrCreateMarker(dir, 'dev1', 0)).marker;
    assert.equal(`edge:dev1:${marker.incarnation}`, renewed, 'the new incarnation is durable in the marker');
    await node.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
