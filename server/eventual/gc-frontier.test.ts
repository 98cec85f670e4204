// A set remove collected by causal-stability GC and a replica restored from an older copy
// (issue 15, first edge chaos finding): the region drops the remove once every replica it
// knows of holds it; a copy restored from a backup taken before the remove comes back as a
// new incarnation still holding the add. No delta carries the remove any more, so the
// region must see from the GC frontier (gc.ts) that this peer needs a resync, and a resync
// (a download from an empty vector) must leave the member removed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvGcBody } from './entry.js';
import { openExtraction } from './extract.js';
import { lacksCollected, readGcFrontier } from './gc.js';
import { readEntries } from './reads.js';
import { EvHarness, REGION, b, str } from './testing.js';

const NS = 'set';
const SPECS = [{ name: NS, prefix: 'set/', level: 'eventual' as const, crdtType: 'set' as const }];
const KEY = b('set/k0');

function vectorOf(h: EvHarness): Map<string, number> {
  return new Map(h.store.vector(NS).map((e) => [e.origin, e.seq] as const));
}

/** Everything `to` lacks of the region's namespace, as the region's download sends it. */
async function download(region: EvHarness, to: EvHarness, peer = vectorOf(to)): Promise<void> {
  for await (const page of openExtraction(region.engine, NS, vectorOf(region), peer, 4096).pages()) {
    await to.page(NS, page.ranges.map((g) => ({ ...g })), [...page.records]);
  }
}

async function members(h: EvHarness): Promise<string[]> {
  const got = (await readEntries(h.engine, h.registry.get(NS)!, KEY, new Uint8Array(0), 1)).entries[0]?.value;
  return got?.type === 'set' ? got.members.map(str) : [];
}

test('a copy restored from before a collected set remove is sent to a resync, which removes the member', async () => {
  const region = await EvHarness.open(SPECS);
  const edge = await EvHarness.open(SPECS, { localOrigin: 'edge:e1:1' });
  const restored = await EvHarness.open(SPECS, { localOrigin: 'edge:e1:2' });
  const fresh = await EvHarness.open(SPECS, { localOrigin: 'edge:e2:1' });
  try {
    await region.write(NS, [{ type: 'setAdd', key: KEY, member: b('m3') }]);
    await download(region, edge);
    await download(region, restored); // the backup: taken while the edge held the add only
    await region.write(NS, [{ type: 'setRemove', key: KEY, member: b('m3') }]);
    await download(region, edge);
    assert.deepEqual(await members(edge), []);

    // GC: the edge (the old incarnation) acknowledged the remove, so it is stable.
    const stable = vectorOf(edge);
    assert.equal(stable.get(REGION), 2);
    const gc: EvGcBody = { kind: 'gc', namespace: NS, physicalMs: region.nowMs, stable: [...stable].map(([origin, seq]) => ({ origin, seq })), superseded: [], removes: [{ origin: REGION, seq: 2 }] };
    const [res] = await region.applyBodies([{ body: gc }]);
    assert.deepEqual(res!.answer, { kind: 'gc', namespace: NS, dropped: 1 });

    const frontier = await readGcFrontier(region.engine, NS);
    assert.deepEqual([...frontier], [[REGION, 2]], 'the region remembers the collected remove');
    await region.reopen();
    assert.deepEqual([...(await readGcFrontier(region.engine, NS))], [[REGION, 2]], 'durable across a restart');

    // What a delta would do: the restored copy's vector moves past the remove, m3 stays (the bug).
    const probe = await EvHarness.open(SPECS, { localOrigin: 'edge:e1:3' });
    try {
      await download(region, probe, new Map());
      assert.deepEqual(await members(probe), [], 'a download from nothing never brings the removed add');
    } finally {
      await probe.close();
    }
    assert.deepEqual(await members(restored), ['m3']);
    assert.equal(lacksCollected(frontier, vectorOf(restored)), REGION, 'the restored copy lacks a collected remove: resync');
    assert.equal(lacksCollected(frontier, vectorOf(edge)), undefined, 'the edge that acknowledged it does not');
    assert.equal(lacksCollected(frontier, vectorOf(fresh)), undefined, 'an empty replica needs no resync');

    // The resync: the restored copy starts the namespace from empty and downloads it whole.
    const resynced = await EvHarness.open(SPECS, { localOrigin: 'edge:e1:2' });
    try {
      await download(region, resynced, new Map());
      assert.deepEqual(await members(resynced), []);
      assert.equal(await resynced.store.hash(NS), await edge.store.hash(NS));
    } finally {
      await resynced.close();
    }
  } finally {
    for (const h of [region, edge, restored, fresh]) await h.close();
  }
});
