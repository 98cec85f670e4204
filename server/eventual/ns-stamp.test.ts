// A replica's one HLC pushed ahead by records of a namespace with a wide max_clock_skew_ms
// must not stamp writes of a tight namespace past that namespace's bound (issue 15, chaos seed
// 31: the region's HLC, pushed 1 s ahead by an edge's records of a 3 s namespace, stamped its
// writes of 500 ms namespaces 1 s ahead, and every edge refused them). Order within a key
// still holds: a write after a received record of the same namespace stamps after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareHlc, type CrdtRecord, type Hlc } from '../crdt/index.js';
import { EvHarness, b } from './testing.js';

const SPECS = [
  { name: 'wide', prefix: 'wide/', level: 'eventual' as const, crdtType: 'lww' as const, maxClockSkewMs: 3_000 },
  { name: 'tight', prefix: 'tight/', level: 'eventual' as const, crdtType: 'lww' as const, maxClockSkewMs: 500 },
];
const EDGE = 'edge:e1:1';
const lww = (ns: string, seq: number, wall: number): CrdtRecord => ({ kind: 'lww', key: b(`${ns}/k`), value: b(`v${seq}`), origin: EDGE, seq, hlc: { wall, logical: 0 } });

async function writeHlc(h: EvHarness, ns: string, value: string): Promise<Hlc> {
  const a = await h.write(ns, [{ type: 'lwwPut', key: b(`${ns}/k`), value: b(value) }]);
  assert.equal(a.answer.kind, 'write', JSON.stringify(a.answer));
  return (a.answer.kind === 'write' ? a.answer.results[0]!.hlc : undefined) ?? { wall: 0, logical: 0 };
}

test('an HLC pushed ahead by a wide namespace stamps a tight namespace inside its own bound, after its own records', async () => {
  const h = await EvHarness.open(SPECS);
  try {
    const now = h.nowMs;
    // An edge 1 s ahead: inside wide's 3 s, its record pushes the region's HLC.
    assert.equal((await h.page('wide', [{ origin: EDGE, from: 1, to: 1 }], [lww('wide', 1, now + 1_000)])).answer.kind, 'page');
    const w = await writeHlc(h, 'wide', 'x');
    assert.ok(w.wall >= now + 1_000, 'the wide namespace follows the shared HLC (after the edge\'s record)');
    const t1 = await writeHlc(h, 'tight', 'a');
    assert.ok(t1.wall - now <= 500, `the tight namespace's stamp is ${t1.wall - now} ms ahead (bound 500)`);
    // A record of the tight namespace 400 ms ahead (inside its bound), then a local write to the same key.
    assert.equal((await h.page('tight', [{ origin: EDGE, from: 1, to: 1 }], [lww('tight', 1, now + 400)])).answer.kind, 'page');
    const t2 = await writeHlc(h, 'tight', 'b');
    assert.ok(compareHlc(t2, { wall: now + 400, logical: 0 }) > 0 && compareHlc(t2, t1) > 0, 'after what the namespace holds');
    assert.ok(t2.wall - now <= 500);
    const t3 = await writeHlc(h, 'tight', 'c');
    assert.ok(compareHlc(t3, t2) > 0, 'own writes stay ordered');
    assert.equal(await h.etcd('tight/k'), 'c');
    await h.reopen();
    const t4 = await writeHlc(h, 'tight', 'd');
    assert.ok(compareHlc(t4, t3) > 0, 'the namespace\'s highest stamp is durable');
    assert.equal(await h.etcd('tight/k'), 'd');
  } finally {
    await h.close();
  }
});
