import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccError } from './errors.js';
import { b, keys, str, withHarness } from './testing/harness.js';
import { WRITES_PER_YIELD } from './txn-exec.js';
import { SortOrder, SortTarget } from './types.js';

const assertMvccError = (code: string) => (e: unknown) => e instanceof MvccError && e.code === code;

test('put: revisions, versions, create/mod revision', () =>
  withHarness(async (h) => {
    assert.equal(h.store.currentRevision, 1, 'an empty store is at revision 1, as in etcd');
    assert.equal((await h.put('a', '1')).revision, 2, 'the first write gets revision 2, as in etcd');
    assert.equal((await h.put('a', '2')).revision, 3);
    assert.equal((await h.put('b', '1')).revision, 4);
    const kv = (await h.get('a')).kvs[0];
    assert.ok(kv);
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, str(kv.value)], [2, 3, 2, '2']);
    await h.del('a');
    assert.equal(h.store.currentRevision, 5);
    await h.put('a', '3');
    const again = (await h.get('a')).kvs[0];
    assert.deepEqual([again?.createRevision, again?.modRevision, again?.version], [6, 6, 1]);
  }));

test('put prev_kv, ignore_value, ignore_lease', () =>
  withHarness(async (h) => {
    assert.equal((await h.put('k', 'v1', { prevKv: true })).prevKv, undefined);
    const r = await h.put('k', 'v2', { prevKv: true });
    assert.equal(str(r.prevKv?.value ?? b('')), 'v1');
    await h.put('k', '', { ignoreValue: true });
    assert.equal(await h.value('k'), 'v2');
    assert.equal((await h.get('k')).kvs[0]?.version, 3);
    await assert.rejects(h.put('missing', '', { ignoreValue: true }), assertMvccError('key-not-found'));
    await assert.rejects(h.put('missing', 'x', { ignoreLease: true }), assertMvccError('key-not-found'));
    await assert.rejects(h.put('x', 'y', { lease: 42 }), assertMvccError('lease-not-found'));
    assert.equal(h.store.currentRevision, 4, 'failed puts do not bump the revision');
  }));

test('delete: missing key is not a write; ranges and prev_kv', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    const none = await h.del('zzz');
    assert.deepEqual([none.deleted, none.revision, h.store.currentRevision], [0, 2, 2]);
    await h.put('p/1', 'x');
    await h.put('p/2', 'y');
    await h.put('q', 'z');
    const d = await h.del('p/', 'p0', true);
    assert.equal(d.deleted, 2);
    assert.deepEqual(keys(d.prevKvs), ['p/1', 'p/2']);
    assert.equal(d.revision, 6);
    assert.equal(h.store.currentRevision, 6, 'one revision for the whole range');
    const all = await h.del('\0', new Uint8Array([0]));
    assert.equal(all.deleted, 2);
    assert.equal((await h.get('\0', { rangeEnd: new Uint8Array([0]) })).count, 0);
  }));

test('range: limit, more, count, keys_only, count_only, "\\0" end', () =>
  withHarness(async (h) => {
    for (const k of ['a', 'b', 'c', 'd']) await h.put(k, `v${k}`);
    const r = await h.get('a', { rangeEnd: b('d'), limit: 2 });
    assert.deepEqual(keys(r.kvs), ['a', 'b']);
    assert.deepEqual([r.more, r.count, r.revision], [true, 3, 5]);
    const all = await h.get('b', { rangeEnd: new Uint8Array([0]) });
    assert.deepEqual(keys(all.kvs), ['b', 'c', 'd']);
    const ko = await h.get('a', { rangeEnd: b('z'), keysOnly: true });
    assert.ok(ko.kvs.every((kv) => kv.value.length === 0 && kv.version === 1));
    const co = await h.get('a', { rangeEnd: b('z'), countOnly: true });
    assert.deepEqual([co.kvs.length, co.count, co.more], [0, 4, false]);
    assert.deepEqual((await h.get('nope')).kvs, []);
  }));

test('range: sorting by every target, both orders', () =>
  withHarness(async (h) => {
    await h.put('a', 'z'); // rev 2
    await h.put('b', 'y'); // rev 3
    await h.put('c', 'x'); // rev 4
    await h.put('a', 'w'); // rev 5: a has version 2
    const q = (sortTarget: SortTarget, sortOrder: SortOrder) =>
      h.get('a', { rangeEnd: b('z'), sortTarget, sortOrder }).then((r) => keys(r.kvs).join(''));
    assert.equal(await q(SortTarget.KEY, SortOrder.DESCEND), 'cba');
    assert.equal(await q(SortTarget.KEY, SortOrder.NONE), 'abc');
    assert.equal(await q(SortTarget.VALUE, SortOrder.ASCEND), 'acb');
    assert.equal(await q(SortTarget.VALUE, SortOrder.NONE), 'acb', 'a non-key target with NONE sorts ascending');
    assert.equal(await q(SortTarget.MOD, SortOrder.DESCEND), 'acb');
    assert.equal(await q(SortTarget.CREATE, SortOrder.ASCEND), 'abc');
    assert.equal(await q(SortTarget.VERSION, SortOrder.DESCEND), 'abc');
    const lim = await h.get('a', { rangeEnd: b('z'), sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 1 });
    assert.deepEqual([keys(lim.kvs), lim.more], [['b'], true]);
  }));

test('range: min/max mod and create revision filters', () =>
  withHarness(async (h) => {
    await h.put('a', '1'); // 2
    await h.put('b', '1'); // 3
    await h.put('c', '1'); // 4
    await h.put('a', '2'); // 5
    const q = (o: object) => h.get('a', { rangeEnd: b('z'), ...o }).then((r) => keys(r.kvs).join(''));
    assert.equal(await q({ minModRevision: 4 }), 'ac');
    assert.equal(await q({ maxModRevision: 4 }), 'bc');
    assert.equal(await q({ minCreateRevision: 3 }), 'bc');
    assert.equal(await q({ maxCreateRevision: 3 }), 'ab');
    const r = await h.get('a', { rangeEnd: b('z'), minModRevision: 5 });
    assert.equal(r.count, 3, 'count is taken before the filters, as in etcd');
  }));

test('range: historical reads, future and compacted revisions', () =>
  withHarness(async (h) => {
    assert.equal(await h.value('k', 1), undefined, 'revision 1 is the empty store');
    await h.put('k', 'v1'); // 2
    await h.put('k', 'v2'); // 3
    await h.del('k'); // 4
    await h.put('k', 'v4'); // 5
    assert.equal(await h.value('k', 2), 'v1');
    assert.equal(await h.value('k', 3), 'v2');
    assert.equal(await h.value('k', 4), undefined);
    assert.equal(await h.value('k', 5), 'v4');
    const old = await h.get('k', { revision: 3 });
    assert.equal(old.revision, 5, 'the header carries the current revision');
    await assert.rejects(h.get('k', { revision: 6 }), (e: unknown) =>
      e instanceof MvccError && e.code === 'future-revision' && e.message === 'mvcc: required revision is a future revision');
    await h.apply({ type: 'compact', compact: { revision: 3 } });
    await assert.rejects(h.get('k', { revision: 2 }), (e: unknown) =>
      e instanceof MvccError && e.message === 'mvcc: required revision has been compacted');
    assert.equal(await h.value('k', 3), 'v2', 'the compacted revision itself stays readable');
  }));

test('the memory engine gives the same answers', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    await h.txn({ compare: [], success: [{ type: 'put', put: { key: b('b'), value: b('2') } }], failure: [] });
    assert.deepEqual(keys((await h.get('a', { rangeEnd: b('z') })).kvs), ['a', 'b']);
    await h.reopen();
    assert.equal(await h.value('b'), '2');
  }, 'memory'));

test('delete of a range larger than one turn of the event loop: one revision, every key', () =>
  withHarness(async (h) => {
    const n = 2 * WRITES_PER_YIELD + 100;
    for (let i = 0; i < n; i += 100) {
      const success = [];
      for (let j = i; j < Math.min(i + 100, n); j++) success.push({ type: 'put' as const, put: { key: b(`r/${String(j).padStart(5, '0')}`), value: b('v') } });
      await h.txn({ compare: [], success, failure: [] });
    }
    const rev = h.store.currentRevision;
    const d = await h.del('r/', 'r0', true);
    assert.deepEqual([d.deleted, d.prevKvs.length, d.revision, h.store.currentRevision], [n, n, rev + 1, rev + 1]);
    assert.equal((await h.get('r/', { rangeEnd: b('r0'), countOnly: true })).count, 0);
    assert.equal((await h.get('r/', { rangeEnd: b('r0'), revision: rev, countOnly: true })).count, n);
  }));

test('delete of a range without prev_kv still detaches leases; with prev_kv the values are whole', () =>
  withHarness(async (h) => {
    await h.apply({ type: 'leaseGrant', leaseGrant: { ttl: 60, id: 9 } });
    await h.put('r/1', 'one', { lease: 9 });
    await h.put('r/2', 'two');
    const d = await h.del('r/', 'r0');
    assert.deepEqual([d.deleted, d.prevKvs.length], [2, 0], 'no prev_kv asked: none returned');
    assert.deepEqual(h.store.leaseTimeToLive(9, true)?.keys, [], 'the deleted key left its lease');
    await h.reopen();
    assert.deepEqual(h.store.leaseTimeToLive(9, true)?.keys, [], 'and the detach was persisted');
    const long = 'v'.repeat(5000);
    await h.put('s/1', long, { lease: 9 });
    await h.put('s/2', 'short');
    const withPrev = await h.del('s/', 's0', true);
    assert.deepEqual(withPrev.prevKvs.map((kv) => [str(kv.key), str(kv.value), kv.lease]), [['s/1', long, 9], ['s/2', 'short', 0]]);
  }));
