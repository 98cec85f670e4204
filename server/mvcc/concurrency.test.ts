// Reads run while a batch is being applied (the region node does not stop reads during
// apply): they must see whole revisions only, never part of one, and a read racing a
// compaction gets either the right answer or the compacted error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { SeededRandom } from '../util/random.js';
import { MvccError } from './errors.js';
import { b, keys, str, withHarness } from './testing/harness.js';
import { MvccStore, type ApplyItem } from './store.js';

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

// A single-key read at the current revision may be a point Get on the thread pool, which
// sees whatever is written by the time it runs (kv-view.ts pointGet): it must still answer
// exactly the state at the revision in its header, with puts, deletes and re-creations of
// the same few keys applied meanwhile. Reproduce with MVCC_SEED=<seed>.
test('single-key reads racing applies answer the state at their header revision', (t) =>
  withHarness(async (h) => {
    const seed = Number(process.env['MVCC_SEED'] ?? Date.now() % 1_000_000);
    t.diagnostic(`seed=${seed} (MVCC_SEED=${seed} replays it)`);
    const rnd = new SeededRandom(seed);
    // No latest cache: every read goes to the engine (a cached key would skip the Get).
    const store = await MvccStore.open(h.engine, { latestCacheBytes: 0 });
    const names = ['k0', 'k1', 'k2', 'k3'];
    const model = new Map<string, string>();
    /** The model at each published revision (the end of each batch). */
    const states = new Map<number, Map<string, string>>([[store.currentRevision, new Map()]]);
    const state = { done: false };
    const applying = (async () => {
      let index = 0;
      for (let batch = 0; batch < 300; batch++) {
        const items: ApplyItem[] = [];
        for (let n = rnd.int(1, 6); n > 0; n--) {
          const key = names[rnd.int(0, names.length)] as string;
          if (rnd.next() < 0.35) {
            items.push({ index: ++index, command: { type: 'deleteRange', deleteRange: { key: b(key) } } });
            model.delete(key);
          } else {
            const value = `${batch}.${n}`;
            items.push({ index: ++index, command: { type: 'put', put: { key: b(key), value: b(value) } } });
            model.set(key, value);
          }
        }
        await store.applyBatch(items);
        states.set(store.currentRevision, new Map(model));
        if (rnd.next() < 0.5) await tick();
      }
      state.done = true;
    })();
    const reads: Array<{ key: string; revision: number; value: string | undefined; modRevision: number }> = [];
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (!state.done) {
        const key = names[rnd.int(0, names.length)] as string;
        const r = await store.range({ key: b(key) });
        const kv = r.kvs[0];
        reads.push({ key, revision: r.revision, value: kv === undefined ? undefined : str(kv.value), modRevision: kv?.modRevision ?? 0 });
        // A read answered from the latest cache settles in microtasks only: without a turn
        // of the event loop the applier's write callback would never run.
        if (rnd.next() < 0.5) await tick();
      }
    }));
    await applying;
    assert.ok(reads.length > 50, `only ${reads.length} reads ran`);
    for (const read of reads) {
      const at = states.get(read.revision);
      assert.ok(at !== undefined, `a read answered at revision ${read.revision}, which no batch published (seed ${seed})`);
      assert.equal(read.value, at.get(read.key), `${read.key} at revision ${read.revision} (seed ${seed})`);
      assert.ok(read.modRevision <= read.revision, `a kv newer than its header (seed ${seed})`);
    }
  }));
