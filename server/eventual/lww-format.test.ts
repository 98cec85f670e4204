// The lww key state's two formats (codec.ts LwwWinner): format 2 keeps dot, HLC, tombstone
// and the projection's mvcc revision, the value only in the mvcc row; format 1 (data dirs
// written before) kept the whole record. A store holding format-1 states (made here by
// rewriting each state as the old code wrote it, then reopening) reads the same values,
// hashes the same, keeps a superseded winner's value whichever format held it, and moves a
// key to format 2 when it is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HLC_ZERO, type LwwRecord } from '../crdt/index.js';
import { BinWriter } from '../mvcc/index.js';
import { decodeKeyState, writeRecord } from './codec.js';
import { subRange, Sub } from './layout.js';
import { readEntries, readLiveRecords, readSuperseded } from './reads.js';
import { REGION, b, str, withHarness, type EvHarness } from './testing.js';

const LWW = { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const };
const NONE = new Uint8Array(0);
const EDGE = 'edge:dev:1';

/** Rewrites every lww state of `cfg` as format 1 (the whole winner record, value from the mvcc row). */
async function toFormat1(h: EvHarness): Promise<number> {
  const ops = [];
  for await (const [k, v] of h.engine.iterate(subRange('cfg', Sub.KeyState))) {
    const s = decodeKeyState(v);
    assert.equal(s.kind, 'lww');
    if (s.kind !== 'lww') continue;
    const key = k.slice(subRange('cfg', Sub.KeyState).gte.length);
    const value = s.winner.tombstone ? null : b((await h.etcd(str(key)))!);
    const rec: LwwRecord = { kind: 'lww', origin: s.winner.origin, seq: s.winner.seq, hlc: s.winner.hlc, key, value };
    const w = new BinWriter().byte(1);
    writeRecord(w, rec);
    ops.push({ type: 'put' as const, key: k.slice(), value: w.finish() });
  }
  await h.engine.write(ops);
  await h.reopen();
  return ops.length;
}

async function visible(h: EvHarness): Promise<string[]> {
  const r = await readEntries(h.engine, h.registry.get('cfg')!, NONE, NONE, 100);
  return r.entries.map((e) => (e.value.type === 'lww' ? `${str(e.key)}=${str(e.value.value)}@${e.value.writer.origin}:${e.value.writer.seq}` : '?'));
}

test('lww: format-1 states (a data dir from before) read, hash and supersede as format 2 does', () =>
  withHarness([LWW], async (h) => {
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/a'), value: b('a1') }]);
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/b'), value: b('b1') }]);
    await h.write('cfg', [{ type: 'lwwDelete', key: b('cfg/c') }]);
    const before = { visible: await visible(h), hash: await h.store.hash('cfg'), live: await readLiveRecords(h.engine, h.registry.get('cfg')!) };
    assert.deepEqual(before.visible, [`cfg/a=a1@${REGION}:1`, `cfg/b=b1@${REGION}:2`]);
    // A format-2 state holds no value: smaller than the record by the value at least.
    const st = await h.engine.get(Uint8Array.from([...subRange('cfg', Sub.KeyState).gte, ...b('cfg/a')]));
    assert.ok(st !== undefined && st[0] === 6, 'written as format 2');

    assert.equal(await toFormat1(h), 3);
    assert.deepEqual(await visible(h), before.visible, 'format-1 states read the same');
    assert.equal(await h.store.hash('cfg'), before.hash, 'and hash the same');
    assert.deepEqual(await readLiveRecords(h.engine, h.registry.get('cfg')!), before.live);

    // Another origin's later writes supersede both formats' winners: each loser keeps its value.
    h.nowMs += 10;
    const later = { wall: h.nowMs, logical: 0 };
    await h.page('cfg', [{ origin: EDGE, from: 1, to: 2 }], [
      { kind: 'lww', origin: EDGE, seq: 1, hlc: later, key: b('cfg/a'), value: b('a2') }, // over format 1
      { kind: 'lww', origin: EDGE, seq: 2, hlc: later, key: b('cfg/c'), value: b('c2') }, // over a format-1 tombstone
    ]);
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/d'), value: b('d1') }]);
    h.nowMs += 10;
    await h.page('cfg', [{ origin: EDGE, from: 3, to: 4 }], [
      { kind: 'lww', origin: EDGE, seq: 3, hlc: { wall: h.nowMs, logical: 0 }, key: b('cfg/d'), value: b('d2') }, // over format 2
      // An old stamp: loses on arrival and is kept as superseded with its own value.
      { kind: 'lww', origin: EDGE, seq: 4, hlc: HLC_ZERO, key: b('cfg/b'), value: b('stale') },
    ]);
    assert.deepEqual(await visible(h), [`cfg/a=a2@${EDGE}:1`, `cfg/b=b1@${REGION}:2`, `cfg/c=c2@${EDGE}:2`, `cfg/d=d2@${EDGE}:3`]);
    const sup = await readSuperseded(h.engine, h.registry.get('cfg')!, NONE, NONE, 100);
    assert.deepEqual(sup.records.map((s) => `${str(s.key)}=${s.tombstone ? '<deleted>' : str(s.value)}@${s.dot.origin}:${s.dot.seq}`),
      [`cfg/a=a1@${REGION}:1`, `cfg/b=stale@${EDGE}:4`, `cfg/c=<deleted>@${REGION}:3`, `cfg/d=d1@${REGION}:4`]);
    for (const key of ['cfg/a', 'cfg/c', 'cfg/d']) {
      const v = await h.engine.get(Uint8Array.from([...subRange('cfg', Sub.KeyState).gte, ...b(key)]));
      assert.equal(v?.[0], 6, `${key} moved to format 2`);
    }
    // The same records in one format or the other: the same hash.
    const hash = await h.store.hash('cfg');
    await toFormat1(h);
    assert.equal(await h.store.hash('cfg'), hash);
    assert.deepEqual((await readLiveRecords(h.engine, h.registry.get('cfg')!)).map((r) => `${r.origin}:${r.seq}`),
      [`${EDGE}:1`, `${EDGE}:2`, `${EDGE}:3`, `${REGION}:2`]);
  }));
