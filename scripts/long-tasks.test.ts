// scripts/long-tasks.ts on a hand-made profile: runs without idle are cut at idle samples,
// and a stall ([start, ms] from the preload's timer) gets exactly the samples inside it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { longTasks, stallTasks } from './long-tasks.js';

const frame = (functionName: string, url = ''): { functionName: string; url: string; lineNumber: number } => ({ functionName, url, lineNumber: 0 });
// root → idle; root → apply (ours) → write (ours); root → (garbage collector)
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('apply', 'file:///repo/server/mvcc/store.js'), children: [4] },
    { id: 4, callFrame: frame('write', 'file:///repo/server/storage/rocksdb-engine.js') },
    { id: 5, callFrame: frame('(garbage collector)') },
  ],
  startTime: 1_000_000, // µs
  // 10 ms idle, 30 ms busy (write ×2, GC), 10 ms idle, 5 ms busy
  samples: [2, 4, 4, 5, 2, 3],
  timeDeltas: [10_000, 10_000, 10_000, 10_000, 10_000, 5_000],
};

test('longTasks: runs of busy samples, longest first, with GC and our frames', () => {
  const tasks = longTasks(profile, 1, 5);
  assert.deepEqual(tasks.map((t) => [t.ms, t.samples, t.gcMs]), [[30, 3, 10], [5, 1, 0]]);
  assert.match(tasks[0]!.self[0]![0], /^write server\/storage\/rocksdb-engine\.js:1 \(2\)$/);
  assert.ok(tasks[0]!.inclusive.some(([name]) => name.startsWith('apply server/mvcc/store.js')));
  assert.deepEqual(longTasks(profile, 10, 5).map((t) => t.ms), [30], '--min leaves the short one out');
});

test('stallTasks: the samples inside each stall window', () => {
  // Sample i ends at startTime + sum(deltas[0..i]): 1010, 1020, 1030, 1040, 1050, 1055 ms.
  const [s] = stallTasks(profile, [[1015, 20]], 5); // 1015..1035 holds the samples ending at 1020 and 1030
  assert.deepEqual([s!.ms, s!.samples, s!.gcMs], [20, 2, 0]);
  const [g] = stallTasks(profile, [[1035, 6]], 5);
  assert.deepEqual([g!.samples, g!.gcMs], [1, 10]);
  assert.deepEqual([s!.cpuMs, s!.waitMs], [undefined, undefined], 'an old stall log: neither figure');
});

test('stallTasks: a stall keeps the CPU and runqueue wait the stall log gives (-1: unknown)', () => {
  const [t] = stallTasks(profile, [[1015, 20, 4.5, 14.5]], 5);
  assert.deepEqual([t!.cpuMs, t!.waitMs], [4.5, 14.5]);
  const [u] = stallTasks(profile, [[1015, 20, -1, -1]], 5);
  assert.deepEqual([u!.cpuMs, u!.waitMs], [undefined, undefined]);
});
