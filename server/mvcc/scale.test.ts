// The store's cost must not grow with the data (DESIGN.md §9): 200k keys in a real
// RocksDB store leave the JS heap within a fixed bound (the key index is in the engine,
// the caches have a named size), a count over all of them does not hold the event loop,
// and a restart reads no key and no revision. The bounds are far from what the store
// needs, and far below what an object per key costs (the old in-memory index: ~240 MiB
// of heap at 200k keys), so a regression fails here and load on the machine does not.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RocksEngine } from '../storage/rocksdb-engine.js';
import { MvccStore } from './store.js';
import type { ApplyItem } from './store.js';

const KEYS = 200_000;
const PUTS_PER_BATCH = 1000;
const VALUE = new Uint8Array(64).fill(0x76);
/** Each cache's size in this test: the heap bound below must hold with both full. */
const CACHE_BYTES = 8 * 1024 * 1024;
/** Heap after a full GC with 200k keys loaded. The store needs ~10 MiB beyond the caches. */
export const HEAP_BOUND_200K_KEYS_BYTES = 64 * 1024 * 1024;
/** A count over every key may not hold the event loop longer than this: etcd's default
 *  heartbeat interval, the cadence Raft's ticks must keep. */
const LOOP_DELAY_BOUND_MS = 100;

function fullGc(): void {
  // --expose-gc for this process only, without a flag on the test runner's command line.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function key(i: number): Uint8Array {
  return Buffer.from(`key/${i.toString().padStart(8, '0')}`);
}

test('200k keys: heap within a fixed bound, a count does not hold the event loop, restart reads no key', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mvcc-scale-'));
  let engine = await RocksEngine.open(dir);
  let store = await MvccStore.open(engine, { recordCacheBytes: CACHE_BYTES, latestCacheBytes: CACHE_BYTES });
  try {
    let index = 0;
    for (let i = 0; i < KEYS; i += PUTS_PER_BATCH) {
      const items: ApplyItem[] = [];
      for (let j = i; j < i + PUTS_PER_BATCH; j++) items.push({ index: ++index, command: { type: 'put', put: { key: key(j), value: VALUE } } });
      await store.applyBatch(items);
    }
    fullGc();
    const heap = process.memoryUsage().heapUsed;
    console.log(`heap after ${KEYS} keys: ${(heap / 2 ** 20).toFixed(1)} MiB (bound ${HEAP_BOUND_200K_KEYS_BYTES / 2 ** 20} MiB)`);
    assert.ok(heap < HEAP_BOUND_200K_KEYS_BYTES, `heap ${heap} bytes with ${KEYS} keys exceeds ${HEAP_BOUND_200K_KEYS_BYTES}`);

    // A prefix count scans the keys (the all-keys count would be the counter).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    await new Promise((r) => setTimeout(r, 30)); // the monitor's first sample
    const t0 = performance.now();
    const counted = await store.range({ key: Buffer.from('key/'), rangeEnd: Buffer.from('key0'), countOnly: true });
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 30));
    loop.disable();
    console.log(`count of ${counted.count} keys: ${ms.toFixed(0)} ms, event loop delay max ${(loop.max / 1e6).toFixed(1)} ms`);
    assert.equal(counted.count, KEYS);
    assert.ok(loop.max / 1e6 < LOOP_DELAY_BOUND_MS, `a count held the event loop ${loop.max / 1e6} ms`);
    const all = await store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), limit: 2 });
    assert.deepEqual([all.count, all.kvs.length, all.more], [KEYS, 2, true]);

    // A restart reads meta records, not keys: the heap stays small and reads work at once.
    await store.idle();
    await engine.close();
    engine = await RocksEngine.open(dir);
    store = await MvccStore.open(engine, { recordCacheBytes: CACHE_BYTES, latestCacheBytes: CACHE_BYTES });
    assert.equal(store.keyCount, KEYS);
    const one = await store.range({ key: key(123_456) });
    assert.deepEqual([one.kvs[0]?.version, one.kvs[0]?.value.length], [1, VALUE.length]);
  } finally {
    await store.idle();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
});
