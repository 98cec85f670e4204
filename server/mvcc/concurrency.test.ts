// Reads run while a batch is being applied (the region node does not stop reads during
// apply): they must see whole revisions only, never part of one, and a read racing a
// compaction gets either the right answer or the compacted error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { MvccError } from './errors.js';
import { b, keys, withHarness } from './testing/harness.js';
import type { ApplyItem } from './store.js';

test('reads during apply see whole revisions', () =>
  withHarness(async (h) => {
    const items: ApplyItem[] = [];
    for (let i = 1; i <= 200; i++) {
      const success = ['a', 'b', 'c'].map((k) => ({ type: 'put' as const, put: { key: b(k), value: b(`${i}`) } }));
      items.push({ index: i, command: { type: 'txn', txn: { compare: [], success, failure: [] } } });
    }
    const state = { done: false };
    const applying = (async () => {
      for (let i = 0; i < items.length; i += 20) await h.store.applyBatch(items.slice(i, i + 20));
      state.done = true;
    })();
    let reads = 0;
    while (!state.done) {
      const r = await h.store.range({ key: b('a'), rangeEnd: b('z') });
      const values = new Set(r.kvs.map((kv) => new TextDecoder().decode(kv.value)));
      assert.ok(values.size <= 1, `a read saw part of a txn: ${[...values]}`);
      assert.ok(r.kvs.every((kv) => kv.modRevision === r.revision), 'kvs newer than the header revision');
      reads++;
      await tick();
    }
    await applying;
    assert.ok(reads > 1);
    assert.deepEqual(keys((await h.get('a', { rangeEnd: b('z') })).kvs), ['a', 'b', 'c']);
  }));

test('a historical read racing a compaction is right or says compacted', () =>
  withHarness(async (h) => {
    for (let i = 1; i <= 50; i++) await h.put(`k${i % 5}`, `${i}`);
    const reads = [];
    for (let rev = 1; rev <= 51; rev++) {
      reads.push(h.store.range({ key: b('k'), rangeEnd: b('l'), revision: rev }).then(
        (r) => ({ rev, n: r.kvs.length }),
        (e: unknown) => {
          assert.ok(e instanceof MvccError && e.code === 'compacted', String(e));
          return { rev, n: -1 };
        },
      ));
    }
    await h.apply({ type: 'compact', compact: { revision: 41 } });
    for (const { rev, n } of await Promise.all(reads)) {
      // Revision 1 is the empty store; the i-th put is revision i + 1.
      if (n >= 0) assert.equal(n, Math.min(rev - 1, 5), `revision ${rev}`);
    }
  }));
