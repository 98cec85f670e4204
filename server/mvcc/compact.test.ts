import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccError } from './errors.js';
import { StateKeyspace } from '../storage/keys.js';
import { COMPACT_CHUNK_ENTRIES_MAX } from './compactor.js';
import { META_HASH_SUM_KEY, parseRevKey } from './records.js';
import { META_FORMAT_KEY, META_LIVE_KEYS_KEY } from './restore.js';
import { b, Harness, keys, withHarness } from './testing/harness.js';

test('compact: keeps the latest version at or before the revision, drops tombstoned keys', () =>
  withHarness(async (h) => {
    await h.put('a', '1'); // 2
    await h.put('a', '2'); // 3
    await h.put('b', '1'); // 4
    await h.del('b'); // 5
    await h.put('a', '3'); // 6
    await h.apply({ type: 'compact', compact: { revision: 5 } });
    assert.equal(h.store.compactedRevision, 5);
    assert.equal(await h.value('a', 5), '2');
    assert.equal(await h.value('b', 5), undefined);
    assert.equal(await h.value('a'), '3');
    const kv = (await h.get('a')).kvs[0];
    assert.deepEqual([kv?.createRevision, kv?.version], [2, 3], 'version and create revision survive compaction');
    await h.reopen();
    assert.equal(h.store.compactedRevision, 5);
    assert.equal(await h.value('a', 5), '2');
    await h.put('a', '4');
    assert.deepEqual([(await h.get('a')).kvs[0]?.version, h.store.currentRevision], [4, 7]);
  }));

test('compact: errors for future and already compacted revisions; no revision bump', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    await h.put('a', '2');
    const res = await h.apply({ type: 'compact', compact: { revision: 4 } });
    assert.deepEqual(res, { type: 'error', code: 'future-revision', message: 'mvcc: required revision is a future revision' });
    assert.equal((await h.apply({ type: 'compact', compact: { revision: 3 } })).type, 'compact');
    const again = await h.apply({ type: 'compact', compact: { revision: 3 } });
    assert.deepEqual(again, { type: 'error', code: 'compacted', message: 'mvcc: required revision has been compacted' });
    assert.equal(h.store.currentRevision, 3);
  }));

test('compact at the current revision after a delete of the newest key; reopen keeps the revision', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    await h.del('a');
    await h.apply({ type: 'compact', compact: { revision: 3 } });
    await h.reopen();
    assert.equal(h.store.currentRevision, 3);
    assert.equal((await h.put('a', 'x')).revision, 4);
  }));

test('hashKV: equal on stores fed the same commands; differs after divergence; checks bounds', async () => {
  const one = await Harness.open();
  const two = await Harness.open('memory');
  try {
    for (const h of [one, two]) {
      await h.put('a', '1');
      await h.put('b', '2');
      await h.del('a');
      await h.put('c', '3');
      await h.apply({ type: 'compact', compact: { revision: 3 } });
    }
    const h1 = await one.store.hashKV(0);
    const h2 = await two.store.hashKV(0);
    assert.deepEqual(h1, h2);
    assert.deepEqual([h1.compactRevision, h1.hashRevision], [3, 5]);
    assert.deepEqual(await one.store.hashKV(4), await two.store.hashKV(4));
    assert.notEqual((await one.store.hashKV(4)).hash, h1.hash);
    await assert.rejects(one.store.hashKV(2), (e: unknown) => e instanceof MvccError && e.code === 'compacted');
    await assert.rejects(one.store.hashKV(9), (e: unknown) => e instanceof MvccError && e.code === 'future-revision');
    await one.reopen();
    assert.deepEqual(await one.store.hashKV(0), h1, 'the hash survives a restart');
    await one.put('d', '4');
    await two.put('d', '5');
    assert.notEqual((await one.store.hashKV(0)).hash, (await two.store.hashKV(0)).hash);
  } finally {
    await one.close();
    await two.close();
  }
});

test('applied index: one batch, re-delivery is a no-op, survives restart', () =>
  withHarness(async (h) => {
    const cmds = ['a', 'b', 'c'].map((k, i) => ({ index: i + 1, command: { type: 'put' as const, put: { key: b(k), value: b('v') } } }));
    const res = await h.store.applyBatch(cmds);
    assert.deepEqual(res.map((r) => r.response?.type), ['put', 'put', 'put']);
    assert.equal(h.store.appliedIndex, 3);
    await h.reopen();
    assert.equal(h.store.appliedIndex, 3);
    const again = await h.store.applyBatch([...cmds, { index: 4, command: { type: 'put', put: { key: b('d'), value: b('v') } } }]);
    assert.deepEqual(again.map((r) => r.response?.type), [undefined, undefined, undefined, 'put']);
    assert.equal(h.store.currentRevision, 5);
    assert.deepEqual(keys((await h.get('a', { rangeEnd: b('z') })).kvs), ['a', 'b', 'c', 'd']);
  }));

test('compaction deletes in chunks behind a persisted cursor: a restart mid-way resumes, and the hash matches a store that never stopped', async () => {
  const one = await Harness.open();
  const two = await Harness.open('memory');
  // 40 keys × 60 revisions: 2400 history entries, more than two chunks.
  const KEYS = 40;
  const ROUNDS = 60;
  assert.ok(KEYS * ROUNDS > 2 * COMPACT_CHUNK_ENTRIES_MAX);
  try {
    for (const h of [one, two]) {
      for (let r = 0; r < ROUNDS; r++) {
        const success = [];
        for (let k = 0; k < KEYS; k++) {
          if (r % 7 === 6 && k % 5 === 0) success.push({ type: 'deleteRange' as const, deleteRange: { key: b(`k${k}`) } });
          else success.push({ type: 'put' as const, put: { key: b(`k${k}`), value: b(`v${r}`) } });
        }
        for (let i = 0; i < success.length; i += 40) await h.txn({ compare: [], success: success.slice(i, i + 40), failure: [] });
      }
    }
    const mid = Math.floor(one.store.currentRevision / 2);
    const before = await one.get('k', { rangeEnd: b('l'), revision: mid });
    const current = await one.get('k', { rangeEnd: b('l') });
    for (const h of [one, two]) await h.apply({ type: 'compact', compact: { revision: mid } });
    await one.reopen(); // idle() pauses the chunks: the compaction is left half done, on disk
    assert.equal(one.store.compactionPending, true, 'the restart came before the deletions were done');
    assert.deepEqual(await one.store.hashKV(0), await two.store.hashKV(0), 'same revisions left as a store that never stopped');
    assert.equal(one.store.compactionPending, false);
    assert.deepEqual(await one.get('k', { rangeEnd: b('l'), revision: mid }), { ...before, revision: current.revision });
    assert.deepEqual(await one.get('k', { rangeEnd: b('l') }), current);
    // Below the compaction only each key's newest record at the compacted revision is left.
    let records = 0;
    for await (const chunk of one.engine.scan({ gte: Uint8Array.of(StateKeyspace.MvccRevision), lt: Uint8Array.of(StateKeyspace.MvccRevision + 1) })) {
      for (const [k] of chunk) if (parseRevKey(k).main <= mid) records++;
    }
    assert.ok(records <= KEYS, `${records} revision records at or below the compaction`);
    // The hash sum kept through every apply and compaction chunk equals one summed afresh
    // from the records left on disk (what a state from before the sum gets on open).
    const kept = await one.store.hashKV(0);
    const old = await one.store.hashKV(mid + 5);
    await one.store.idle();
    await one.engine.write([{ type: 'del', key: META_HASH_SUM_KEY }]);
    await one.reopen();
    assert.deepEqual(await one.store.hashKV(0), kept, 'the kept sum is the sum of the records on disk');
    assert.deepEqual(await one.store.hashKV(mid + 5), old);
  } finally {
    await one.close();
    await two.close();
  }
});

test('a state written before the key index was persisted is converted on open', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    await h.put('b', '2', {});
    await h.put('a', '3');
    await h.del('b');
    await h.put('c', '4');
    const want = await h.get('\0', { rangeEnd: b('\0') });
    const old = await h.get('a', { revision: 3 });
    await h.store.idle();
    // What the old layout held: revision records and meta, no latest/history/lease rows.
    for (const ks of [StateKeyspace.MvccLatest, StateKeyspace.MvccKeyHistory, StateKeyspace.MvccLeaseKey]) {
      await h.engine.clear({ gte: Uint8Array.of(ks), lt: Uint8Array.of(ks + 1) });
    }
    await h.engine.write([{ type: 'del', key: META_FORMAT_KEY }, { type: 'del', key: META_LIVE_KEYS_KEY }]);
    await h.reopen();
    assert.deepEqual(await h.get('\0', { rangeEnd: b('\0') }), want);
    assert.deepEqual(await h.get('a', { revision: 3 }), old);
    assert.equal(h.store.keyCount, 2);
    assert.equal((await h.put('c', '5')).revision, h.store.currentRevision);
    assert.equal((await h.get('c')).kvs[0]?.version, 2);
  }));
