// Determinism (two engines, the same entries in other batch groupings → the same CrdtHash),
// restart (state, vectors and counts survive; entries at or below the applied index are
// skipped), and foreign pages (duplicates ignored, a gap refused with "resend from", lww
// losers of other origins kept as superseded, the region's clock moved past the page).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrdtRecord, LwwRecord } from '../crdt/index.js';
import { SeededRandom } from '../util/random.js';
import type { EvBody, EvOp } from './entry.js';
import { readEntries, readSuperseded } from './reads.js';
import { EvHarness, REGION, b, str, withHarness } from './testing.js';

const NONE = new Uint8Array(0);
const SPECS = [
  { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const },
  { name: 'docs', prefix: 'docs/', level: 'eventual' as const, crdtType: 'mv' as const },
  { name: 'ctr', prefix: 'ctr/', level: 'eventual' as const, crdtType: 'counter' as const },
  { name: 'tags', prefix: 'tags/', level: 'eventual' as const, crdtType: 'set' as const },
  { name: 'ev', prefix: 'ev/', level: 'eventual' as const, crdtType: 'events' as const },
];
const NAMESPACES = SPECS.map((s) => s.name);

/** A seeded stream of writes of every type (some refused: a duplicate event with other content). */
function workload(seed: number, n: number): EvBody[] {
  const rnd = new SeededRandom(seed);
  const bodies: EvBody[] = [];
  const next = new Map<string, number>();
  let now = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    now += rnd.int(0, 3);
    const k = `k${rnd.int(0, 5)}`;
    const pick = rnd.int(0, 5);
    let ns: string;
    let op: EvOp;
    switch (pick) {
      case 0: ns = 'cfg'; op = rnd.int(0, 4) === 0 ? { type: 'lwwDelete', key: b(`cfg/${k}`) } : { type: 'lwwPut', key: b(`cfg/${k}`), value: b(`v${i}`) }; break;
      case 1: ns = 'docs'; op = { type: 'mvPut', key: b(`docs/${k}`), value: b(`v${i}`), context: '' }; break;
      case 2: ns = 'ctr'; op = { type: 'counterAdd', key: b(`ctr/${k}`), delta: rnd.int(0, 11) - 5 }; break;
      case 3: ns = 'tags'; op = rnd.int(0, 3) === 0 ? { type: 'setRemove', key: b(`tags/${k}`), member: b(`m${rnd.int(0, 3)}`) } : { type: 'setAdd', key: b(`tags/${k}`), member: b(`m${rnd.int(0, 3)}`) }; break;
      default: ns = 'ev'; op = { type: 'eventAppend', device: `d${rnd.int(0, 3)}`, seq: rnd.int(0, 2) === 0 ? 0 : 1 + rnd.int(0, 20), eventType: 't', schemaVersion: 0, payload: b(`p${rnd.int(0, 2)}`), tsMs: 5 };
    }
    bodies.push({ kind: 'write', namespace: ns, physicalMs: now, ops: [op] });
    if (rnd.int(0, 6) === 0) bodies.push(foreignPage(rnd, next, now));
  }
  return bodies;
}

/**
 * A page of an edge's lww or counter records: usually the next seqs of its origin, sometimes
 * a re-send of what was sent (duplicates) or a page past a gap (refused with resend-from).
 */
function foreignPage(rnd: SeededRandom, next: Map<string, number>, now: number): EvBody {
  const origin = `edge:${rnd.int(0, 2)}`;
  const ns = origin === 'edge:0' ? 'cfg' : 'ctr';
  const held = next.get(origin) ?? 0;
  const shape = rnd.int(0, 5);
  const from = shape === 0 ? held + 2 : shape === 1 && held > 0 ? 1 + rnd.int(0, held) : held + 1;
  const to = from + rnd.int(0, 3);
  const records: CrdtRecord[] = [];
  for (let seq = from; seq <= to; seq++) {
    const k = `k${(seq * 7) % 5}`;
    // Stamps a little around the region's clock: some win, some lose.
    const hlc = { wall: now - 5 + ((seq * 3) % 10), logical: seq % 2 };
    records.push(ns === 'cfg'
      ? { kind: 'lww', origin, seq, hlc, key: b(`cfg/${k}`), value: seq % 4 === 0 ? null : b(`${origin}-${seq}`) }
      : { kind: 'counter', origin, seq, hlc, key: b(`ctr/${k}`), p: seq, n: 0 });
  }
  if (shape !== 0) next.set(origin, Math.max(held, to));
  return { kind: 'page', namespace: ns, physicalMs: now, ranges: [{ origin, from, to }], records };
}

async function hashes(h: EvHarness): Promise<string[]> {
  return Promise.all(NAMESPACES.map(async (ns) => `${ns}:${await h.store.hash(ns)}`));
}

test('determinism: the same entries in other batch groupings (and a 2-entry state cache) give the same CrdtHash, etcd view and answers', async () => {
  const seed = Number(process.env.EV_SEED ?? Date.now() % 100_000);
  console.log(`# seed ${seed} (replay with EV_SEED=${seed})`);
  const bodies = workload(seed, 300);
  const one = await EvHarness.open(SPECS);
  const two = await EvHarness.open(SPECS, { cacheEntries: 2 });
  try {
    const a = await one.applyBodies(bodies.map((body) => ({ body })));
    const rnd = new SeededRandom(seed + 1);
    const bAnswers = [];
    for (let i = 0; i < bodies.length;) {
      const n = 1 + rnd.int(0, 20);
      bAnswers.push(...(await two.applyBodies(bodies.slice(i, i + n).map((body) => ({ body })))));
      i += n;
    }
    assert.deepEqual(bAnswers, a, `seed ${seed}: answers differ`);
    assert.deepEqual(await hashes(two), await hashes(one), `seed ${seed}: hashes differ`);
    const all = { key: b('\u0000'), rangeEnd: b('\u0000') };
    assert.deepEqual((await two.mvcc.range(all)).kvs, (await one.mvcc.range(all)).kvs, `seed ${seed}: etcd views differ`);
    assert.ok(a.some((x) => x.answer.kind === 'error'), 'the workload includes refused writes');
    assert.ok(a.some((x) => x.answer.kind === 'page' && x.answer.applied > 0), 'and foreign pages');
    assert.ok(a.some((x) => x.answer.kind === 'error' && x.answer.resendFrom !== undefined), 'and gaps');
    assert.ok(one.store.counts('cfg').superseded > 0, 'and superseded lww records');
  } finally {
    await one.close();
    await two.close();
  }
});

test('restart: state, vectors and counts survive a reopen; re-delivered entries are skipped', () =>
  withHarness(SPECS, async (h) => {
    const bodies = workload(7, 120);
    await h.applyBodies(bodies.map((body) => ({ body })));
    const before = { hashes: await hashes(h), vectors: NAMESPACES.map((ns) => h.store.vector(ns)), counts: NAMESPACES.map((ns) => h.store.counts(ns)) };
    const revision = h.mvcc.currentRevision;
    await h.reopen();
    assert.deepEqual(await hashes(h), before.hashes);
    assert.deepEqual(NAMESPACES.map((ns) => h.store.vector(ns)), before.vectors);
    assert.deepEqual(NAMESPACES.map((ns) => h.store.counts(ns)), before.counts);
    assert.equal(h.mvcc.currentRevision, revision);
    assert.equal(await h.redeliver(5, bodies[4]!), false, 'an entry at or below the applied index is not applied again');
    assert.deepEqual(await hashes(h), before.hashes);
    // The region's clock survived too: the next write's HLC is after every earlier one.
    const last = h.store.lastHlc;
    h.nowMs = 0; // a proposer whose clock went back
    const w = await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/after'), value: b('x') }]);
    assert.ok(w.answer.kind === 'write' && w.answer.results[0]!.hlc!.wall >= last.wall);
  }));

function lww(origin: string, seq: number, key: string, value: string | null, wall: number): LwwRecord {
  return { kind: 'lww', origin, seq, hlc: { wall, logical: 0 }, key: b(key), value: value === null ? null : b(value) };
}

test('foreign pages: prefix order per origin, duplicates ignored, a gap refused with resend-from; superseded kept', () =>
  withHarness(SPECS, async (h) => {
    const def = h.registry.get('cfg')!;
    const t = h.nowMs;
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/a'), value: b('region') }]); // HLC (t, 0)
    // An edge wrote cfg/a later (by HLC): it wins; the region's value, possibly concurrent, is kept.
    const p1 = await h.page('cfg', [{ origin: 'edge:1', from: 1, to: 2 }], [lww('edge:1', 1, 'cfg/a', 'edge', t + 10), lww('edge:1', 2, 'cfg/b', 'e2', t - 50)]);
    assert.deepEqual(p1.answer, { kind: 'page', namespace: 'cfg', applied: 2 });
    assert.equal(await h.etcd('cfg/a'), 'edge');
    let sup = await readSuperseded(h.engine, def, NONE, NONE, 10);
    assert.deepEqual(sup.records.map((r) => [str(r.key), str(r.value), r.dot.origin, r.winner.origin]), [['cfg/a', 'region', REGION, 'edge:1']]);

    // The same page again, and one overlapping it: what is held is ignored.
    assert.deepEqual((await h.page('cfg', [{ origin: 'edge:1', from: 1, to: 2 }], [lww('edge:1', 1, 'cfg/a', 'edge', t + 10)])).answer, { kind: 'page', namespace: 'cfg', applied: 0 });
    const p2 = await h.page('cfg', [{ origin: 'edge:1', from: 2, to: 3 }], [lww('edge:1', 2, 'cfg/b', 'e2', t - 50), lww('edge:1', 3, 'cfg/a', 'old', t - 100)]);
    assert.deepEqual(p2.answer, { kind: 'page', namespace: 'cfg', applied: 1 });
    assert.equal(await h.etcd('cfg/a'), 'edge', 'an older write loses');
    sup = await readSuperseded(h.engine, def, b('cfg/a'), NONE, 10);
    assert.deepEqual(sup.records.map((r) => str(r.value)).sort(), ['old', 'region']);
    assert.equal(h.store.counts('cfg').superseded, 2);

    // A gap: edge:1 holds up to 3 here, a page from 5 is refused and nothing of it applied.
    const gap = await h.page('cfg', [{ origin: 'edge:1', from: 5, to: 5 }, { origin: 'edge:2', from: 1, to: 1 }],
      [lww('edge:1', 5, 'cfg/z', 'z', t), lww('edge:2', 1, 'cfg/y', 'y', t)]);
    assert.deepEqual(gap.answer.kind === 'error' ? [gap.answer.code, gap.answer.resendFrom] : [], ['failed-precondition', { origin: 'edge:1', seq: 4 }]);
    assert.match(gap.answer.kind === 'error' ? gap.answer.message : '', /resend from 4/);
    assert.equal(await h.etcd('cfg/y'), undefined);

    // A page stamped too far ahead of the proposer's clock is refused.
    const skewed = await h.page('cfg', [{ origin: 'edge:2', from: 1, to: 1 }], [lww('edge:2', 1, 'cfg/y', 'y', t + 3_600_000)]);
    assert.match(skewed.answer.kind === 'error' ? skewed.answer.message : '', /ahead of this replica's clock/);

    // The region's clock moved past the page: its next write wins over the edge's value.
    const w = await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/a'), value: b('region2') }]);
    assert.ok(w.answer.kind === 'write' && w.answer.results[0]!.hlc!.wall >= t + 10);
    assert.equal(await h.etcd('cfg/a'), 'region2');
    assert.deepEqual(h.store.vector('cfg'), [{ origin: 'edge:1', seq: 3 }, { origin: REGION, seq: 2 }]);
    const read = (await readEntries(h.engine, def, b('cfg/a'), NONE, 1)).entries[0]!.value;
    assert.ok(read.type === 'lww' && read.writer.origin === REGION);
  }));

test('foreign pages of every type merge with the region writes; a wrong-type record refuses the page', () =>
  withHarness(SPECS, async (h) => {
    const t = h.nowMs;
    const stamp = (origin: string, seq: number) => ({ origin, seq, hlc: { wall: t - 1, logical: 0 } });
    await h.write('tags', [{ type: 'setAdd', key: b('tags/k'), member: b('x') }]);
    // The edge removes the region's add it observed, and adds its own: add-wins keeps the edge's.
    const recs: CrdtRecord[] = [
      { kind: 'set', ...stamp('edge:1', 1), key: b('tags/k'), elem: b('x'), op: 'remove', removed: [{ origin: REGION, seq: 1 }] },
      { kind: 'set', ...stamp('edge:1', 2), key: b('tags/k'), elem: b('y'), op: 'add' },
    ];
    await h.page('tags', [{ origin: 'edge:1', from: 1, to: 2 }], recs);
    assert.equal(await h.etcd('tags/k'), '["y"]');
    await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/c'), delta: 2 }]);
    await h.page('ctr', [{ origin: 'edge:1', from: 1, to: 2 }], [
      { kind: 'counter', ...stamp('edge:1', 1), key: b('ctr/c'), p: 3, n: 0 },
      { kind: 'counter', ...stamp('edge:1', 2), key: b('ctr/c'), p: 5, n: 1 },
    ]);
    assert.equal(await h.etcd('ctr/c'), '6');
    await h.page('ev', [{ origin: 'edge:1', from: 1, to: 1 }], [
      { kind: 'events', ...stamp('edge:1', 1), deviceId: 'd', deviceSeq: 2, ts: 1, type: 't', schemaVersion: 1, payload: b('x') },
    ]);
    assert.deepEqual(h.store.counts('ev'), { superseded: 0, unresolved: 0, devices: 1, eventsHeld: 1, eventsHighest: 2, gaps: 1 });
    const wrong = await h.page('ctr', [{ origin: 'edge:2', from: 1, to: 1 }], [{ kind: 'set', ...stamp('edge:2', 1), key: b('ctr/c'), elem: b('x'), op: 'add' }]);
    assert.equal(wrong.answer.kind === 'error' ? wrong.answer.code : '', 'failed-precondition');
  }));

test('a deleted namespace leaves no CRDT state (dropOps in the registry batch)', () =>
  withHarness(SPECS, async (h) => {
    const empty = await h.store.hash('ctr');
    await h.applyBodies(workload(3, 60).map((body) => ({ body })));
    assert.notEqual(await h.store.hash('ctr'), empty);
    const tagsBefore = await h.store.hash('tags');
    await h.mvcc.idle();
    await h.engine.write(await h.store.dropOps('ctr'));
    h.store.dropped('ctr');
    assert.equal(await h.store.hash('ctr'), empty);
    assert.deepEqual(h.store.vector('ctr'), []);
    assert.equal(await h.store.hash('tags'), tagsBefore, 'other namespaces untouched');
    await h.reopen();
    assert.deepEqual(h.store.vector('ctr'), []);
    const w = await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/new'), delta: 1 }]);
    assert.ok(w.answer.kind === 'write' && w.answer.results[0]!.dot!.seq === 1, 'a namespace created again starts at seq 1');
  }));
