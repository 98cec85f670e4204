// Units of the CRDT core and the regression scenarios users of the anchors hit (issue 12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CausalContext, ClockSkewError, MalformedDeltaError, CounterStore, CrdtReplica, DeltaGapError, EventConflictError, EventStore,
  HLC_LOGICAL_MAX, HLC_ZERO, HybridClock, LwwStore, MvStore, SetStore, SiblingCapError, VersionVector, causalStability, compareHlc,
  bytesKey, counterAdd, createReplica, decodeHlc, hlcAfter, latin1Bytes, encodeHlc, eventAppend, lwwDelete, lwwPut, mvPut, renderCanonical, setAdd, setRemove, utf8,
  type CrdtReplica as Replica, type MvRecord,
} from './index.js';

const T0 = 1_765_000_000_000;
const HOUR = 3_600_000;
const mk = (kind: Parameters<typeof createReplica>[0]): Replica => createReplica(kind, 'a', new HybridClock('a'));
const rec = (origin: string, context: Record<string, number>): MvRecord => ({ kind: 'mv', key: u('k'), value: u(origin), context, origin, seq: 1, hlc: { wall: T0, logical: 0 } });
const u = utf8;
/** Values read back as text (the tests write UTF-8 values unless they say otherwise). */
const text = (vs: readonly Uint8Array[]): string[] => vs.map((v) => new TextDecoder().decode(v));
const hex = (t: { wall: number; logical: number }): string => Buffer.from(encodeHlc(t)).toString('hex');

function syncAll(now: number, ...reps: Replica[]): void {
  for (let i = 0; i < 2; i++) for (const a of reps) for (const b of reps) if (a !== b) for (const p of a.extract(b.vector)) b.applyPage(p, now);
}

test('hlc: monotonic, merges remote time, bytes sort like timestamps', () => {
  const c = new HybridClock('a');
  const t1 = c.now(T0);
  const t2 = c.now(T0 - 5); // the physical clock went back: the HLC does not
  assert.ok(compareHlc(t2, t1) > 0);
  const t3 = c.update({ wall: T0 + 10, logical: 7 }, T0, 'b');
  assert.deepEqual(t3, { wall: T0 + 10, logical: 8 });
  const stamps = [{ wall: 1, logical: 2 }, { wall: 256, logical: 0 }, { wall: T0, logical: 65535 }, { wall: T0 + 1, logical: 0 }, { wall: 0, logical: 1 }];
  const byBytes = [...stamps].sort((a, b) => (hex(a) < hex(b) ? -1 : 1));
  assert.deepEqual(byBytes, [...stamps].sort(compareHlc));
  for (const s of stamps) assert.deepEqual(decodeHlc(encodeHlc(s)), s);
  assert.equal(hex({ wall: 0x0102030405, logical: 0x0607 }), '0001020304050607');
});

test('hlc: hlcAfter is HybridClock.now without a clock object, the 16-bit logical overflow included', () => {
  const c = new HybridClock('a');
  let last = HLC_ZERO;
  const times = [T0, T0, T0 - 5, T0 + 3, T0 + 3, 0];
  for (const t of times) {
    last = hlcAfter(last, t + 0.7);
    assert.deepEqual(last, c.now(t + 0.7));
  }
  c.restore({ wall: T0 + 9, logical: HLC_LOGICAL_MAX });
  assert.deepEqual(hlcAfter({ wall: T0 + 9, logical: HLC_LOGICAL_MAX }, T0), { wall: T0 + 10, logical: 0 });
  assert.deepEqual(c.now(T0), { wall: T0 + 10, logical: 0 });
});

test('hlc: a remote timestamp past max_clock_skew_ms is refused with the measured skew', () => {
  const c = new HybridClock('region', 60_000);
  assert.throws(() => c.update({ wall: T0 + HOUR, logical: 0 }, T0, 'edge-1'), (e: unknown) =>
    e instanceof ClockSkewError && e.skewMs === HOUR && e.maxSkewMs === 60_000 && /edge-1 is 3600000 ms ahead/.test(e.message));
  assert.deepEqual(c.current, { wall: 0, logical: 0 }, 'a refused timestamp does not move the clock');
});

test('version vectors: compare, join, what a peer lacks as ranges; causal context compacts', () => {
  const a = VersionVector.from({ x: 3, y: 1 });
  const b = VersionVector.from({ x: 2, y: 4 });
  assert.equal(a.compare(b), 'concurrent');
  assert.equal(a.compare(a.clone()), 'equal');
  assert.equal(VersionVector.from({ x: 1 }).compare(a), 'before');
  assert.equal(a.compare(VersionVector.from({ x: 1 })), 'after');
  assert.deepEqual(a.lacks(b), [{ origin: 'x', from: 3, to: 3 }]);
  assert.deepEqual(a.clone().join(b).toJSON(), { x: 3, y: 4 });
  const cc = new CausalContext();
  cc.add({ origin: 'x', seq: 2 });
  cc.add({ origin: 'x', seq: 3 });
  assert.equal(cc.cloudSize, 2);
  assert.ok(cc.has({ origin: 'x', seq: 3 }) && !cc.has({ origin: 'x', seq: 1 }));
  cc.add({ origin: 'x', seq: 1 });
  assert.equal(cc.cloudSize, 0);
  assert.equal(cc.vector.get('x'), 3);
});

test('regression: a device clock an hour ahead cannot win every lww write', () => {
  const region = createReplica('lww', 'region', new HybridClock('region', 60_000));
  const edge = createReplica('lww', 'edge', new HybridClock('edge', 60_000));
  lwwPut(edge, u('k'), u('from-the-future'), T0 + HOUR); // the edge's clock is an hour ahead
  const [page] = edge.extract(region.vector);
  assert.throws(() => region.applyPage(page!, T0), (e: unknown) => e instanceof ClockSkewError && e.skewMs === HOUR);
  assert.equal(region.vector.get('edge'), 0, 'the refused page applied nothing');
  // Inside the bound it is accepted, and HLC ordering lets the region's next write win.
  const edge2 = createReplica('lww', 'edge2', new HybridClock('edge2', 60_000));
  lwwPut(edge2, u('k'), u('thirty-seconds-ahead'), T0 + 30_000);
  for (const p of edge2.extract(region.vector)) region.applyPage(p, T0);
  lwwPut(region, u('k'), u('later'), T0 + 1);
  assert.deepEqual((region.store as LwwStore).get(u('k')), u('later'));
  assert.deepEqual(text((region.store as LwwStore).superseded(u('k')).map((r) => r.value!)), ['thirty-seconds-ahead']);
});

test('regression: three concurrent mv writes, then a write whose context saw two of them', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => createReplica('mv', id, new HybridClock(id))) as [Replica, Replica, Replica];
  mvPut(a, u('k'), u('A'), {}, T0);
  mvPut(b, u('k'), u('B'), {}, T0);
  mvPut(c, u('k'), u('C'), {}, T0);
  for (const p of b.extract(a.vector)) a.applyPage(p, T0);
  const seen = (a.store as MvStore).read(u('k'));
  assert.deepEqual(text(seen.values), ['A', 'B']);
  mvPut(a, u('k'), u('AB'), seen.token, T0);
  syncAll(T0, a, b, c);
  for (const r of [a, b, c]) assert.deepEqual(text((r.store as MvStore).read(u('k')).values), ['AB', 'C']);
  assert.equal((a.store as MvStore).unresolvedConflicts(), 1);
});

test('mv: a write past the sibling cap is refused, never dropping a sibling', () => {
  const reps: Replica[] = ['a', 'b', 'c', 'd'].map((id) => new CrdtReplica(id, 'mv', new MvStore({}, 3, 2), new HybridClock(id)));
  reps.forEach((r, i) => mvPut(r, u('k'), u(`v${i}`), {}, T0));
  const [a, b, c] = reps as [Replica, Replica, Replica];
  syncAll(T0, a, b, c);
  assert.throws(() => mvPut(a, u('k'), u('one more'), {}, T0), (e: unknown) => e instanceof SiblingCapError && e.siblings === 4 && e.cap === 3);
  for (const p of reps[3]!.extract(a.vector)) a.applyPage(p, T0); // a remote sibling is merged, not dropped
  assert.equal((a.store as MvStore).read(u('k')).values.length, 4);
  assert.deepEqual((a.store as MvStore).overWarning(), [u('k')]);
  mvPut(a, u('k'), u('resolved'), (a.store as MvStore).read(u('k')).token, T0);
  assert.deepEqual(text((a.store as MvStore).read(u('k')).values), ['resolved']);
});

test('regression: set remove then a concurrent add: the add wins', () => {
  const a = createReplica('set', 'a', new HybridClock('a'));
  const b = createReplica('set', 'b', new HybridClock('b'));
  setAdd(a, u('s'), u('x'), T0);
  syncAll(T0, a, b);
  setRemove(b, u('s'), u('x'), T0 + 1); // observed a's add only
  setAdd(a, u('s'), u('x'), T0 + 2); // concurrent with the remove
  syncAll(T0, a, b);
  for (const r of [a, b]) assert.deepEqual(text((r.store as SetStore).elements(u('s'))), ['x']);
  setRemove(a, u('s'), u('x'), T0 + 3); // a has observed everything: now it goes
  syncAll(T0, a, b);
  for (const r of [a, b]) assert.deepEqual((r.store as SetStore).elements(u('s')), []);
});

test('set: a remove that arrives before the add it removed keeps it removed (cloud, then compacted)', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => createReplica('set', id, new HybridClock(id))) as [Replica, Replica, Replica];
  setAdd(a, u('s'), u('x'), T0);
  for (const p of a.extract(b.vector)) b.applyPage(p, T0);
  setRemove(b, u('s'), u('x'), T0);
  // c gets b's remove before a's add: only origin b of b's page.
  for (const p of b.extract(c.vector)) c.applyPage({ ranges: p.ranges.filter((g) => g.origin === 'b'), records: p.records.filter((r) => r.origin === 'b') }, T0);
  assert.equal((c.store as SetStore).cloudSize, 1);
  syncAll(T0, a, c);
  assert.deepEqual((c.store as SetStore).elements(u('s')), []);
  c.gc(causalStability([a.vector, b.vector, c.vector]));
  assert.equal((c.store as SetStore).cloudSize, 0);
});

test('regression: a duplicate event with other content is a conflict; the same event is a no-op', () => {
  const e = createReplica('events', 'gw', new HybridClock('gw'));
  const ev = { deviceId: 'sensor-1', deviceSeq: 1, ts: T0, type: 'temp', payload: u('{"c":21}') };
  assert.ok(eventAppend(e, ev, T0));
  assert.equal(eventAppend(e, ev, T0), undefined);
  assert.throws(() => eventAppend(e, { ...ev, payload: u('{"c":99}') }, T0), EventConflictError);
  // Two gateways wrote both versions: every replica keeps the smaller dot and lists the other.
  const f = createReplica('events', 'gx', new HybridClock('gx'));
  eventAppend(f, { ...ev, payload: u('{"c":99}') }, T0);
  syncAll(T0, e, f);
  for (const r of [e, f]) {
    assert.deepEqual((r.store as EventStore).get('sensor-1', 1)!.payload, u('{"c":21}'));
    assert.equal((r.store as EventStore).conflicts.length, 1);
  }
});

test('regression: an event gap is reported as a range and fills later', () => {
  const e = createReplica('events', 'gw', new HybridClock('gw'));
  for (const s of [1, 2, 4, 7]) eventAppend(e, { deviceId: 'd', deviceSeq: s, ts: s, type: 't', payload: u('') }, T0);
  assert.deepEqual((e.store as EventStore).status('d'), { contiguous: 2, highest: 7, held: 4, gaps: [[3, 3], [5, 6]], completeness: 4 / 7 });
  for (const s of [3, 5, 6]) eventAppend(e, { deviceId: 'd', deviceSeq: s, ts: s, type: 't', payload: u('') }, T0);
  assert.deepEqual((e.store as EventStore).status('d'), { contiguous: 7, highest: 7, held: 7, gaps: [], completeness: 1 });
});

test('counter: increments and decrements from replicas add up; older entries are not resent', () => {
  const a = createReplica('counter', 'a', new HybridClock('a'));
  const b = createReplica('counter', 'b', new HybridClock('b'));
  counterAdd(a, u('hits'), 5, T0);
  counterAdd(a, u('hits'), -2, T0);
  counterAdd(b, u('hits'), 10, T0);
  syncAll(T0, a, b);
  assert.equal((b.store as CounterStore).value(u('hits')), 13);
  assert.equal(a.liveRecords().length, 2, 'one record per origin and key');
});

test('lww: superseded values are listed until causally stable, tombstones go after', () => {
  const a = createReplica('lww', 'a', new HybridClock('a'));
  const b = createReplica('lww', 'b', new HybridClock('b'));
  lwwPut(a, u('k'), u('old'), T0);
  lwwPut(b, u('k'), u('new'), T0 + 1);
  syncAll(T0 + 2, a, b);
  assert.deepEqual(text((a.store as LwwStore).superseded(u('k')).map((r) => r.value!)), ['old']);
  lwwDelete(a, u('k'), T0 + 3);
  syncAll(T0 + 3, a, b);
  a.gc(causalStability([VersionVector.from({ a: 1 }), b.vector])); // b's ack misses a's delete
  assert.equal((a.store as LwwStore).superseded(u('k')).length, 1, 'only the stable loser went');
  a.gc(causalStability([a.vector, b.vector]));
  assert.equal((a.store as LwwStore).superseded(u('k')).length, 0);
  assert.equal(a.liveRecords().length, 0, 'the stable tombstone went too');
  assert.deepEqual((a.store as LwwStore).render(), []);
});

test('delta pages: bounded by the byte budget, per origin in seq order, a gap is refused with resend-from', () => {
  const a = createReplica('lww', 'a', new HybridClock('a'));
  for (let i = 0; i < 20; i++) lwwPut(a, u(`k${i}`), u('x'.repeat(20)), T0);
  lwwPut(a, u('k0'), u('newer'), T0); // k0's first record is now dominated: skipped
  const pages = a.extract(new VersionVector(), 200);
  assert.ok(pages.length > 2);
  const seqs = pages.flatMap((p) => p.records.map((r) => r.seq));
  assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 2));
  const b = createReplica('lww', 'b', new HybridClock('b'));
  assert.throws(() => b.applyPage(pages[1]!, T0), (e: unknown) => e instanceof DeltaGapError && /resend from 1/.test(e.message));
  for (const p of pages) b.applyPage(p, T0);
  for (const p of pages) b.applyPage(p, T0); // duplicates are ignored
  assert.deepEqual(b.vector.toJSON(), { a: 21 });
  assert.deepEqual((b.store as LwwStore).render(), (a.store as LwwStore).render());
});

test('hlc: more events in one millisecond than the logical counter holds borrow the next millisecond', () => {
  const c = new HybridClock('a');
  let prev = c.now(T0);
  for (let i = 0; i < 70_000; i++) {
    const t = c.now(T0);
    assert.ok(compareHlc(t, prev) > 0);
    prev = t;
  }
  assert.equal(prev.wall, T0 + 1);
  assert.ok(encodeHlc(prev).length === 8);
});

test('canonical JSON per type: [key, value] pairs in key byte order, no whitespace', () => {
  // Map keys are bytes (etcd keys), so a map renders as pairs, each key by the bytes rule;
  // Range shows one key's value (the pair's second half) for the non-lww types.
  const lww = mk('lww');
  lwwPut(lww, u('b'), u('2'), T0);
  lwwPut(lww, u('a'), u('1'), T0);
  lwwPut(lww, u('gone'), u('x'), T0);
  lwwDelete(lww, u('gone'), T0);
  assert.equal(renderCanonical(lww.store), '[["a","1"],["b","2"]]');
  const mv = mk('mv');
  mvPut(mv, u('k'), u('x'), {}, T0);
  assert.equal(renderCanonical(mv.store), '[["k",["x"]]]');
  const counter = mk('counter');
  counterAdd(counter, u('n'), 3, T0);
  counterAdd(counter, u('n'), -1, T0);
  assert.equal(renderCanonical(counter.store), '[["n",2]]');
  const set = mk('set');
  setAdd(set, u('s'), u('z'), T0);
  setAdd(set, u('s'), u('y'), T0);
  assert.equal(renderCanonical(set.store), '[["s",["y","z"]]]');
  const ev = mk('events');
  eventAppend(ev, { deviceId: 'd', deviceSeq: 2, ts: 5, type: 't', payload: u('p') }, T0);
  assert.equal(renderCanonical(ev.store),
    '{"d":{"events":[{"payload":"p","seq":2,"ts":5,"type":"t"}],"status":{"completeness":0.5,"contiguous":0,"gaps":[[1,1]],"held":1,"highest":2}}}');
});

test('canonical JSON of bytes: valid UTF-8 as a JSON string, anything else as {"base64": ...}', () => {
  // The rule is pinned here and documented in server/crdt/README.md. lww get() returns the
  // bytes as stored (what an etcd Range returns); canonical JSON only renders them.
  const lww = mk('lww');
  lwwPut(lww, u('bin'), Uint8Array.of(0xff, 0x00, 0x61), T0);
  lwwPut(lww, u('empty'), new Uint8Array(0), T0);
  lwwPut(lww, u('text'), u('héllo "q"\n'), T0);
  assert.equal(renderCanonical(lww.store), '[["bin",{"base64":"/wBh"}],["empty",""],["text","héllo \\"q\\"\\n"]]');
  assert.deepEqual((lww.store as LwwStore).get(u('bin')), Uint8Array.of(0xff, 0x00, 0x61), 'get returns the bytes as stored');
  const mv = mk('mv');
  mvPut(mv, u('k'), Uint8Array.of(0xc3, 0x28), {}, T0); // a truncated UTF-8 sequence
  assert.equal(renderCanonical(mv.store), '[["k",[{"base64":"wyg="}]]]');
  const set = mk('set');
  setAdd(set, u('s'), Uint8Array.of(0x80), T0);
  setAdd(set, u('s'), u('b'), T0);
  setAdd(set, u('s'), u('a'), T0);
  setAdd(set, u('s'), u('a'), T0); // equal by content: one element
  assert.equal(renderCanonical(set.store), '[["s",["a","b",{"base64":"gA=="}]]]', 'elements in byte order');
  setRemove(set, u('s'), Uint8Array.of(0x80), T0); // another array with the same bytes removes it
  assert.equal(renderCanonical(set.store), '[["s",["a","b"]]]');
  const ev = mk('events');
  eventAppend(ev, { deviceId: 'd', deviceSeq: 1, ts: 5, type: 't', payload: Uint8Array.of(0xef, 0xbb, 0xbf, 0x78) }, T0);
  assert.equal(eventAppend(ev, { deviceId: 'd', deviceSeq: 1, ts: 5, type: 't', payload: Uint8Array.of(0xef, 0xbb, 0xbf, 0x78) }, T0), undefined,
    'the same payload in another array is the same event');
  assert.match(renderCanonical(ev.store), /"payload":"\ufeffx"/, 'a BOM is kept, not stripped');
});

test('map keys are bytes: equal by content, in byte order (not UTF-16 order), non-UTF-8 keys render as base64', () => {
  const lww = mk('lww');
  lwwPut(lww, Uint8Array.of(0x6b, 0xff), u('bin'), T0);
  lwwPut(lww, u('\u{1F600}'), u('astral'), T0); // f0 9f 98 80
  lwwPut(lww, u('\uFF01'), u('bmp'), T0); // ef bc 81: before the astral key by bytes, after it in UTF-16
  lwwPut(lww, u('k'), u('one'), T0);
  lwwPut(lww, u('k'), u('two'), T0 + 1); // another array, the same key
  assert.deepEqual((lww.store as LwwStore).get(Uint8Array.of(0x6b, 0xff)), u('bin'));
  assert.deepEqual((lww.store as LwwStore).keyNames(), [u('k'), Uint8Array.of(0x6b, 0xff), u('\uFF01'), u('\u{1F600}')]);
  assert.equal(renderCanonical(lww.store), '[["k","two"],[{"base64":"a/8="},"bin"],["\uFF01","bmp"],["\u{1F600}","astral"]]');
  const big = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff); // past one fromCharCode chunk
  assert.deepEqual(latin1Bytes(bytesKey(big)), big, 'bytesKey is lossless');
  const c = mk('counter');
  counterAdd(c, Uint8Array.of(0x00), 2, T0);
  counterAdd(c, new Uint8Array([0x00]), 3, T0);
  assert.equal((c.store as CounterStore).value(Uint8Array.of(0x00)), 5);
});

test('values are copied at the write: the caller reusing its buffer changes nothing', () => {
  const a = mk('lww');
  const buf = u('one');
  lwwPut(a, u('k'), buf, T0);
  buf.set(u('two'));
  assert.deepEqual((a.store as LwwStore).get(u('k')), u('one'));
});

test('delta pages: a malformed page is refused with a typed error and changes nothing', () => {
  const a = createReplica('counter', 'a', new HybridClock('a'));
  counterAdd(a, u('n'), 1, T0);
  const [page] = a.extract(new VersionVector());
  const b = createReplica('counter', 'b', new HybridClock('b'));
  const bad = [
    { ranges: [], records: page!.records },
    { ranges: [{ origin: 'a', from: 2, to: 1 }, { origin: 'a', from: 1, to: 1 }], records: [] },
    { ranges: [{ origin: 'a', from: 1, to: 1 }], records: [...page!.records, ...page!.records] },
  ];
  for (const p of bad) assert.throws(() => b.applyPage(p, T0), MalformedDeltaError);
  assert.deepEqual(b.vector.toJSON(), {});
});

test('mv: a record replaced before it arrives still contributes its context (order does not matter)', () => {
  const s = rec('x', {});
  const r = rec('y', { x: 1 });
  const d = rec('z', { y: 1 });
  const results = [[s, d, r], [s, r, d], [d, r, s], [r, s, d]].map((order) => {
    const m = new MvStore();
    for (const x of order) m.apply(x);
    return text(m.read(u('k')).values);
  });
  for (const v of results) assert.deepEqual(v, ['z']);
});
