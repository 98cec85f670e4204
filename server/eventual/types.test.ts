// Every type applied and read back through the persistent store (real RocksDB), the refusals
// the state decides, and at-most-once retries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvAnswer, EvOp } from './entry.js';
import { readConflicts, readDevices, readEntries, readEvents } from './reads.js';
import { REGION, b, str, withHarness } from './testing.js';

const NONE = new Uint8Array(0);
const MV = { name: 'docs', prefix: 'docs/', level: 'eventual' as const, crdtType: 'mv' as const, siblingCap: 3, siblingWarn: 2 };
const CTR = { name: 'ctr', prefix: 'ctr/', level: 'eventual' as const, crdtType: 'counter' as const };
const SET = { name: 'tags', prefix: 'tags/', level: 'eventual' as const, crdtType: 'set' as const };
const EV = { name: 'ev', prefix: 'ev/', level: 'eventual' as const, crdtType: 'events' as const, schemaVersions: [1, 2] };
const LWW = { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const };
const STRONG = { name: 'plain', prefix: 'plain/' };

function ev(seq: number, payload: string, extra: { schemaVersion?: number; tsMs?: number } = {}): EvOp {
  return { type: 'eventAppend', device: 'd1', seq, eventType: 'temp', schemaVersion: extra.schemaVersion ?? 0, payload: b(payload), tsMs: extra.tsMs ?? 1000 };
}

function error(a: EvAnswer): { code: string; message: string } {
  assert.equal(a.kind, 'error', `expected an error, got ${JSON.stringify(a)}`);
  return a as { code: string; message: string };
}

test('mv: concurrent writes become siblings, a write with the token resolves them; bad token and the cap refused', () =>
  withHarness([MV], async (h) => {
    const def = h.registry.get('docs')!;
    await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('a'), context: '' }]);
    await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('b'), context: '' }]);
    assert.equal(await h.etcd('docs/x'), '["a","b"]');
    assert.equal(h.store.counts('docs').unresolved, 1);
    assert.deepEqual((await readConflicts(h.engine, def, NONE, 10)).keys.map((k) => [str(k.key), k.siblings]), [['docs/x', 2]]);
    const read = (await readEntries(h.engine, def, b('docs/x'), NONE, 10)).entries[0]!.value;
    assert.equal(read.type, 'mv');
    if (read.type !== 'mv') return;
    assert.deepEqual(read.values.map(str), ['a', 'b']);
    assert.deepEqual(read.dots, [{ origin: REGION, seq: 1 }, { origin: REGION, seq: 2 }]);

    const bad = await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('c'), context: 'v1.!!' }]);
    assert.equal(error(bad.answer).code, 'invalid-argument');
    assert.match(error(bad.answer).message, /malformed context token/);
    assert.deepEqual(h.store.vector('docs'), [{ origin: REGION, seq: 2 }], 'a refused write takes no dot');

    await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('c'), context: '' }]);
    const capped = await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('d'), context: '' }]);
    assert.equal(error(capped.answer).code, 'failed-precondition');
    assert.match(error(capped.answer).message, /over the cap of 3/);

    const token = (await readEntries(h.engine, def, b('docs/x'), NONE, 10)).entries[0]!.value;
    assert.equal(token.type, 'mv');
    if (token.type !== 'mv') return;
    await h.write('docs', [{ type: 'mvPut', key: b('docs/x'), value: b('merged'), context: token.context }]);
    assert.equal(await h.etcd('docs/x'), '["merged"]');
    assert.equal(h.store.counts('docs').unresolved, 0);
    assert.equal((await readConflicts(h.engine, def, NONE, 10)).keys.length, 0);
  }));

test('counter: adds and subtracts per origin totals; the etcd value is the JSON number', () =>
  withHarness([CTR], async (h) => {
    const def = h.registry.get('ctr')!;
    await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/hits'), delta: 5 }, { type: 'counterAdd', key: b('ctr/hits'), delta: -2 }]);
    await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/hits'), delta: 10 }]);
    assert.equal(await h.etcd('ctr/hits'), '13');
    const v = (await readEntries(h.engine, def, b('ctr/hits'), NONE, 10)).entries[0]!.value;
    assert.deepEqual(v, { type: 'counter', value: 13, p: 15, n: 2 });
    assert.equal(h.applied.get('ctr/counter'), 3);
  }));

test('set: add-wins members; the key is deleted from the etcd view when the set is empty', () =>
  withHarness([SET], async (h) => {
    const def = h.registry.get('tags')!;
    await h.write('tags', [{ type: 'setAdd', key: b('tags/k'), member: b('b') }, { type: 'setAdd', key: b('tags/k'), member: b('a') }]);
    assert.equal(await h.etcd('tags/k'), '["a","b"]');
    await h.write('tags', [{ type: 'setRemove', key: b('tags/k'), member: b('a') }]);
    assert.equal(await h.etcd('tags/k'), '["b"]');
    const v = (await readEntries(h.engine, def, NONE, NONE, 10)).entries;
    assert.deepEqual(v.map((e) => (e.value.type === 'set' ? e.value.members.map(str) : [])), [['b']]);
    await h.write('tags', [{ type: 'setRemove', key: b('tags/k'), member: b('b') }]);
    assert.equal(await h.etcd('tags/k'), undefined);
    await h.write('tags', [{ type: 'setAdd', key: b('tags/k'), member: b('a') }]);
    assert.equal(await h.etcd('tags/k'), '["a"]', 'an element removed and added again is back');
  }));

test('events: seqs assigned or relayed, gaps and completeness, duplicates, conflicts, schema versions', () =>
  withHarness([EV], async (h) => {
    const def = h.registry.get('ev')!;
    const w = await h.write('ev', [ev(0, '{"t":1}'), ev(0, '{"t":2}')]);
    assert.equal(w.answer.kind, 'write');
    if (w.answer.kind !== 'write') return;
    assert.deepEqual(w.answer.results.map((r) => r.eventSeq), [1, 2]);
    await h.write('ev', [ev(5, '{"t":5}', { schemaVersion: 2 })]);
    let dev = (await readDevices(h.engine, def, 'd1', '', 10)).devices[0]!;
    assert.deepEqual([dev.contiguous, dev.highest, dev.held, dev.gaps], [2, 5, 3, [{ from: 3, to: 4 }]]);
    assert.equal(dev.completeness, 3 / 5);
    assert.deepEqual(h.store.counts('ev'), { superseded: 0, unresolved: 0, devices: 1, eventsHeld: 3, eventsHighest: 5, gaps: 1 });

    const dup = await h.write('ev', [ev(5, '{"t":5}', { schemaVersion: 2 })]);
    assert.deepEqual(dup.answer.kind === 'write' ? dup.answer.results : [], [{ eventSeq: 5, duplicate: true }]);
    assert.deepEqual(h.store.vector('ev'), [{ origin: REGION, seq: 3 }], 'a duplicate takes no dot');
    const conflict = await h.write('ev', [ev(5, '{"t":"other"}', { schemaVersion: 2 })]);
    assert.equal(error(conflict.answer).code, 'failed-precondition');
    assert.match(error(conflict.answer).message, /already exists with other content/);
    const schema = await h.write('ev', [ev(6, '{}', { schemaVersion: 9 })]);
    assert.equal(error(schema.answer).code, 'failed-precondition');
    assert.match(error(schema.answer).message, /schema version 9 is not declared/);

    await h.write('ev', [ev(3, '{"t":3}'), ev(4, '{"t":4}')]);
    dev = (await readDevices(h.engine, def, 'd1', '', 10)).devices[0]!;
    assert.deepEqual([dev.contiguous, dev.held, dev.gaps, dev.completeness], [5, 5, [], 1]);
    assert.equal(h.store.counts('ev').gaps, 0);
    assert.deepEqual(await h.etcdKeys('ev/d1/'), [1, 2, 3, 4, 5].map((s) => `ev/d1/${String(s).padStart(20, '0')}`));
    assert.equal(await h.etcd(`ev/d1/${'5'.padStart(20, '0')}`),
      '{"device":"d1","payload":"{\\"t\\":5}","schema_version":2,"seq":5,"ts":1000,"type":"temp"}');
    const some = await readEvents(h.engine, def, 'd1', 2, 4, 2);
    assert.deepEqual(some.events.map((e) => e.seq), [2, 3]);
    assert.equal(some.more, true);
  }));

test('refusals: wrong type, strong or unknown namespace, a key of another namespace; a refused op refuses the whole write', () =>
  withHarness([SET, CTR, STRONG], async (h) => {
    const wrongType = await h.write('tags', [{ type: 'counterAdd', key: b('tags/k'), delta: 1 }]);
    assert.equal(error(wrongType.answer).code, 'failed-precondition');
    assert.match(error(wrongType.answer).message, /of type set/);
    assert.equal(error((await h.write('plain', [{ type: 'setAdd', key: b('plain/k'), member: b('m') }])).answer).code, 'failed-precondition');
    assert.equal(error((await h.write('nope', [{ type: 'setAdd', key: b('x'), member: b('m') }])).answer).code, 'not-found');
    const foreignKey = await h.write('tags', [{ type: 'setAdd', key: b('tags/ok'), member: b('m') }, { type: 'setAdd', key: b('ctr/x'), member: b('m') }]);
    assert.match(error(foreignKey.answer).message, /belongs to namespace "ctr"/);
    assert.equal(await h.etcd('tags/ok'), undefined, 'the first op of a refused write left nothing');
    assert.deepEqual(h.store.vector('tags'), []);
  }));

test('a retried write (same client id and seq) applies once and gets the first answer; the unsafe flag applies it twice', async () => {
  for (const unsafe of [false, true]) {
    await withHarness([CTR], async (h) => {
      const client = { clientId: 'c1', seq: 7 };
      const first = await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/n'), delta: 1 }], client);
      const again = await h.write('ctr', [{ type: 'counterAdd', key: b('ctr/n'), delta: 1 }], client);
      if (unsafe) {
        assert.equal(await h.etcd('ctr/n'), '2', 'teeth: the duplicate applied');
      } else {
        assert.equal(await h.etcd('ctr/n'), '1');
        assert.deepEqual(again, first);
      }
    }, { unsafeApplyDuplicates: unsafe });
  }
});

test('lww: the region writes over what it holds; a read of the etcd view and the typed view agree', () =>
  withHarness([LWW], async (h) => {
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/\u0000bin'), value: new Uint8Array([0xff, 0]) }]);
    const r = await h.mvcc.range({ key: b('cfg/\u0000bin') });
    assert.deepEqual([...r.kvs[0]!.value], [0xff, 0], 'an lww value is stored as written');
  }));
