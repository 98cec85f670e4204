// collectStartupGarbage: one full collection that empties the young generation and frees
// garbage, and leaves no `gc` global behind (the flag it sets is cleared again).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectStartupGarbage } from './startup-gc.js';

const newSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;

test('collectStartupGarbage frees garbage, empties the young generation, exposes nothing', () => {
  let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `v${i}` }));
  assert.equal(garbage.length, 200_000);
  garbage = undefined;
  const r = collectStartupGarbage();
  assert.ok(r.usedAfter < r.usedBefore, `heap used ${r.usedBefore} -> ${r.usedAfter} bytes`);
  assert.ok(r.ms >= 0);
  // Objects still in use were moved out of the young generation: what is there now was allocated since.
  assert.ok(newSpaceUsed() < 1024 * 1024, `new space holds ${newSpaceUsed()} bytes after a full collection`);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'no gc global in this context');
  assert.equal(runInNewContext('typeof gc'), 'undefined', 'nor in contexts made later');
});
