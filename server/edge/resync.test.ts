// An edge's side of a tombstone_ttl resync, in process on real RocksDB (server/eventual/resync.ts):
// the reset keeps the local writes the region lacks and drops the rest, the namespace takes no
// local write until the region's snapshot is in, a restart in between resumes, and the restore
// merges the kept writes back with their own dots. The case is the one resync exists for: the
// region collected a set remove the silent edge never saw, so deltas alone would leave the
// removed member on the edge for good.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { VersionVector, type CrdtRecord, type Hlc } from '../crdt/index.js';
import { completeDefinition } from '../namespace/index.js';
import { decodeAnswer, encodeBody, type EvOp } from '../eventual/entry.js';
import { EdgeReplica } from './replica.js';
import { EdgeStore, encodeRegistry, eventualCommand } from './store.js';

const E = 'edge:dev1:1';
const R = 'region:t';
const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const hlc = (wall: number): Hlc => ({ wall, logical: 0 });
const add = (origin: string, seq: number, elem: string, wall: number): CrdtRecord => ({ kind: 'set', key: b('tags/t'), elem: b(elem), op: 'add', origin, seq, hlc: hlc(wall) });

async function write(store: EdgeStore, ops: EvOp[], physicalMs: number) {
  return decodeAnswer((await store.external(eventualCommand(encodeBody({ kind: 'write', namespace: 'tags', physicalMs, ops })))).body);
}

async function members(store: EdgeStore): Promise<string | undefined> {
  const kv = (await store.mvcc.range({ key: b('tags/t') })).kvs[0];
  return kv === undefined ? undefined : new TextDecoder().decode(kv.value);
}

test('resync: kept local writes survive, the region\'s collected remove applies, writes wait for the download, a restart resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-resync-'));
  let store = await EdgeStore.open(dir, E);
  try {
    await store.external(encodeRegistry([completeDefinition({ name: 'tags', prefix: 'tags/', level: 'eventual', crdtType: 'set' })]));
    let replica = new EdgeReplica(store, 'dev1', 1, undefined);
    // Shared history: the region's add of m0, then the edge's add of m1 (uploaded: the region holds E:1).
    assert.equal((await replica.applyPage('tags', { ranges: [{ origin: R, from: 1, to: 1 }], records: [add(R, 1, 'm0', 1_000)] }, 2_000)).status, 'applied');
    assert.equal((await write(store, [{ type: 'setAdd', key: b('tags/t'), member: b('m1') }], 3_000)).kind, 'write');
    // Offline past tombstone_ttl: the edge removes m0 and adds m2 (unsent: E:2, E:3).
    await write(store, [{ type: 'setRemove', key: b('tags/t'), member: b('m0') }], 4_000);
    await write(store, [{ type: 'setAdd', key: b('tags/t'), member: b('m2') }], 5_000);
    assert.equal(await members(store), '["m1","m2"]');

    // The region removed m1 (R:2) and collected that remove (stable without the silent edge), then added m3 (R:3).
    await replica.resetForResync('tags', VersionVector.from([[R, 3], [E, 1]]));
    assert.equal(replica.resyncs, 1);
    assert.deepEqual(replica.resyncing(), ['tags']);
    assert.equal(await members(store), undefined, 'the projection is dropped with the state');
    assert.deepEqual((await replica.vectors(['tags'])).get('tags')!.entries(), [[E, 3]], 'its own writes still count as held');
    const refused = await write(store, [{ type: 'setAdd', key: b('tags/t'), member: b('x') }], 6_000);
    assert.equal(refused.kind, 'error');
    assert.match(refused.kind === 'error' ? `${refused.code}: ${refused.message}` : '', /^unavailable: .*being resynced/);
    await replica.resetForResync('tags', VersionVector.from([[R, 3], [E, 1]]));
    assert.equal(replica.resyncs, 1, 'a second reset while resyncing is a no-op');

    // A restart in the middle: the mark and the kept writes are durable.
    await store.close();
    store = await EdgeStore.open(dir, E);
    replica = new EdgeReplica(store, 'dev1', 1, undefined);
    assert.deepEqual(replica.resyncing(), ['tags']);

    // The region's snapshot: m0's add and m3's; E:1's add of m1 was removed there, the remove collected.
    const page = { ranges: [{ origin: E, from: 1, to: 1 }, { origin: R, from: 1, to: 3 }], records: [add(R, 1, 'm0', 1_000), add(R, 3, 'm3', 5_500)] };
    assert.equal((await replica.applyPage('tags', page, 7_000)).status, 'applied');
    assert.equal(await replica.caughtUp('tags'), 2, 'the two kept writes merged back');
    assert.deepEqual(replica.resyncing(), []);
    assert.equal(await members(store), '["m2","m3"]', 'm0 removed by the kept remove, m1 by the region\'s collected one, m2 kept, m3 downloaded');
    assert.deepEqual(store.eventual.vector('tags'), [{ origin: E, seq: 3 }, { origin: R, seq: 3 }]);
    const w = await write(store, [{ type: 'setAdd', key: b('tags/t'), member: b('m4') }], 8_000);
    assert.equal(w.kind === 'write' ? w.results[0]!.dot?.seq : -1, 4, 'the next local write follows the kept ones');
    // What the region gets next: the kept writes with their own dots.
    const pages = [];
    for await (const p of replica.extract('tags', VersionVector.from([[R, 3], [E, 1]]), 64 * 1024)) pages.push(p.page);
    assert.deepEqual(pages.flatMap((p) => p.records.map((r) => `${r.origin}:${r.seq}`)), [`${E}:2`, `${E}:3`, `${E}:4`]);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
