// Node's unnamed threads told apart by start order (node-threads.ts): the ranks, the pool
// sizes from flags and environment, and on Linux this process's own threads, checked by
// where CPU goes when the process makes garbage (V8's workers) and reads files (libuv's pool).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { NODE_DEFAULT_V8_POOL_SIZE, UV_DEFAULT_POOL_SIZE, nodeThreads, ownPoolSizes, unnamedThreadClass } from './node-threads.js';

test('ranks after the main thread: delayed-task scheduler, V8 workers, signal thread, libuv pool, then others', () => {
  const pools = { v8: 4, uv: 4 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((r) => unnamedThreadClass(r, pools)), [
    'platform-delayed', 'v8-worker', 'v8-worker', 'v8-worker', 'v8-worker', 'inspector-signal',
    'libuv-pool', 'libuv-pool', 'libuv-pool', 'libuv-pool', 'node-other',
  ]);
  assert.deepEqual([2, 3, 4, 5, 6].map((r) => unnamedThreadClass(r, { v8: 1, uv: 2 })), ['v8-worker', 'inspector-signal', 'libuv-pool', 'libuv-pool', 'node-other']);
});

test('pool sizes from --v8-pool-size (command line or NODE_OPTIONS) and UV_THREADPOOL_SIZE, else the defaults', () => {
  assert.deepEqual(ownPoolSizes([], {}), { v8: NODE_DEFAULT_V8_POOL_SIZE, uv: UV_DEFAULT_POOL_SIZE });
  assert.deepEqual(ownPoolSizes(['--v8-pool-size=2'], { UV_THREADPOOL_SIZE: '8' }), { v8: 2, uv: 8 });
  assert.deepEqual(ownPoolSizes([], { NODE_OPTIONS: '--max-old-space-size=100 --v8-pool-size=1' }), { v8: 1, uv: UV_DEFAULT_POOL_SIZE });
  assert.deepEqual(ownPoolSizes(['--v8-pool-size=0'], { UV_THREADPOOL_SIZE: 'x' }), { v8: NODE_DEFAULT_V8_POOL_SIZE, uv: UV_DEFAULT_POOL_SIZE });
});

/** CPU ns of this process's threads by class. */
function cpuByClass(): Map<string, number> {
  const out = new Map<string, number>();
  for (const th of nodeThreads()) {
    const ns = Number(readFileSync(`/proc/self/task/${th.tid}/schedstat`, 'latin1').split(' ')[0]);
    out.set(th.cls, (out.get(th.cls) ?? 0) + ns);
  }
  return out;
}

/** CPU ns a class gained from `b` to `a`. */
const gained = (a: Map<string, number>, b: Map<string, number>, cls: string): number => (a.get(cls) ?? 0) - (b.get(cls) ?? 0);

/** Nanoseconds of CPU a class needs to count as "used" (scheduler accounting noise is µs). */
const USED_NS = 1e6;

test('this process: the classes have the expected sizes, GC work lands on the V8 workers and file reads on the pool', async (t) => {
  if (!existsSync('/proc/self/task')) {
    t.skip('not Linux: no /proc/self/task');
    return;
  }
  await readFile('/proc/self/stat'); // the pool is running (an ES module load starts it anyway)
  const pools = ownPoolSizes();
  const threads = nodeThreads();
  assert.equal(threads[0]?.cls, 'main');
  assert.equal(threads[0]?.tid, process.pid);
  const count = (cls: string): number => threads.filter((th) => th.cls === cls).length;
  assert.equal(count('v8-worker'), pools.v8, JSON.stringify(threads));
  assert.equal(count('libuv-pool'), pools.uv, JSON.stringify(threads));
  assert.equal(count('platform-delayed'), 1);

  const beforeGc = cpuByClass();
  let keep: Array<{ i: number; s: string }> = [];
  for (let i = 0; i < 3_000_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 500_000) keep = [];
  }
  const afterGc = cpuByClass();
  assert.ok(gained(afterGc, beforeGc, 'v8-worker') > USED_NS, `V8 workers helped the GC: ${gained(afterGc, beforeGc, 'v8-worker')} ns`);
  assert.ok(gained(afterGc, beforeGc, 'libuv-pool') < gained(afterGc, beforeGc, 'v8-worker'), 'the pool did less than the V8 workers while the process made garbage');

  await Promise.all(Array.from({ length: 2000 }, () => readFile('/proc/self/stat')));
  const afterFs = cpuByClass();
  assert.ok(gained(afterFs, afterGc, 'libuv-pool') > USED_NS, `the pool read the files: ${gained(afterFs, afterGc, 'libuv-pool')} ns`);
  assert.equal(gained(afterFs, beforeGc, 'platform-delayed') < USED_NS, true, 'the delayed-task scheduler stays idle');
});
