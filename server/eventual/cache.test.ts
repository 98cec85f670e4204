// The eventual store's state cache (cache.ts): its bounds always hold, a used entry outlives
// unused ones, and it answers like a plain map for what it still holds (a seeded random
// sequence against a model; the seed is printed and can be given back: CACHE_TEST_SEED=N).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruCache } from './cache.js';
import { SeededRandom } from '../util/random.js';

test('bounds in entries and bytes; a huge value is not kept', () => {
  const c = new LruCache<number>(3, 800);
  for (let i = 0; i < 10; i++) c.set(`k${i}`, i, 10);
  assert.equal(c.size, 3);
  assert.equal(c.heldBytes, 30);
  c.set('big', 1, 101); // over an eighth of 800
  assert.equal(c.get('big'), undefined);
  c.set('k9', 90, 90); // changed in place
  assert.equal(c.get('k9'), 90);
  assert.equal(c.heldBytes, 110);
  c.set('k9', 9, 500); // now too large: dropped
  assert.equal(c.has('k9'), false);
  assert.equal(c.heldBytes, 20);
});

test('a used entry is kept over entries not used since', () => {
  const c = new LruCache<string>(3, 1 << 20);
  c.set('a', 'A', 1);
  c.set('b', 'B', 1);
  c.set('c', 'C', 1);
  // All three are marked (just set): the next insert takes a round of second chances, then
  // drops the oldest, as an exact LRU would.
  c.set('d', 'D', 1);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => c.has(k)), [false, true, true, true]);
  // b and c were unmarked by that round, d is marked: a use of b keeps it, c goes next.
  assert.equal(c.get('b'), 'B');
  c.set('e', 'E', 1);
  assert.deepEqual(['b', 'c', 'd', 'e'].map((k) => c.has(k)), [true, false, true, true]);
});

test('a random sequence: the bounds hold and every held value is the last one set', () => {
  const seed = Number(process.env['CACHE_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`cache test seed ${seed} (replay: CACHE_TEST_SEED=${seed})`);
  const rng = new SeededRandom(seed);
  const c = new LruCache<number>(50, 4000);
  const model = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const k = `k${rng.int(0, 200)}`;
    const r = rng.int(0, 10);
    if (r < 5) {
      const v = rng.int(0, 1_000_000);
      c.set(k, v, rng.int(1, 600));
      model.set(k, v);
    } else if (r < 9) {
      const got = c.get(k);
      if (got !== undefined) assert.equal(got, model.get(k), `seed ${seed} step ${i}`);
    } else {
      c.delete(k);
      model.delete(k);
    }
    assert.ok(c.size <= 50 && c.heldBytes <= 4000 && c.heldBytes >= 0, `seed ${seed} step ${i}: bounds`);
  }
});
