import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from './random.js';
import { SlidingArray } from './sliding-array.js';

/** The private storage, read to check the property the module exists for: how and when it compacts. */
const storage = (a: SlidingArray<unknown>): { items: unknown[]; head: number } => a as unknown as { items: unknown[]; head: number };

const window = <T>(a: SlidingArray<T>, lo: number, hi: number): Array<T | undefined> =>
  Array.from({ length: hi - lo }, (_, k) => a.at(lo + k));

describe('SlidingArray', () => {
  it('starts empty at its first index', () => {
    const a = new SlidingArray<string>(7, 4);
    assert.equal(a.length, 0);
    assert.equal(a.firstIndex, 7);
    assert.equal(a.endIndex, 7);
    assert.equal(a.at(7), undefined);
    a.dropBelow(100);
    a.truncateFrom(0);
    assert.equal(a.take(7), undefined);
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [7, 7, 0]);
    a.push('x');
    assert.equal(a.at(7), 'x');
  });

  it('answers undefined outside the window, for holes, and for an index that is not an integer', () => {
    const a = new SlidingArray<string>(10, 4);
    for (const v of ['a', 'b', 'c']) a.push(v);
    assert.deepEqual(window(a, 8, 14), [undefined, undefined, 'a', 'b', 'c', undefined]);
    assert.equal(a.at(10.5), undefined);
    assert.equal(a.at(Number.NaN), undefined);
    assert.equal(a.take(11), 'b');
    assert.equal(a.take(11), undefined, 'a hole now');
    assert.equal(a.take(11.5), undefined); // not a slot: must not write a property on the array
    assert.equal(Object.keys(storage(a).items).length, 3);
    assert.deepEqual(window(a, 10, 13), ['a', undefined, 'c']);
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [10, 13, 3]);
    assert.equal(storage(a).items.length, 3);
  });

  it('drops below an index, everything, and past the end (firstIndex becomes endIndex)', () => {
    const a = new SlidingArray<number>(0, 100);
    for (let i = 0; i < 5; i++) a.push(i);
    a.dropBelow(-3); // below the window: nothing
    a.dropBelow(2);
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [2, 5, 3]);
    assert.deepEqual(window(a, 0, 5), [undefined, undefined, 2, 3, 4]);
    assert.deepEqual(storage(a).items.slice(0, 2), [undefined, undefined], 'dropped slots are cleared at once');
    a.dropBelow(1_000);
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [5, 5, 0]);
    assert.deepEqual(storage(a).items, []);
    a.push(5);
    assert.equal(a.at(5), 5);
    a.dropBelow(6); // exactly everything
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [6, 6, 0]);
  });

  it('drops the holes at the front up to the first value, or all of the slots when they are all holes', () => {
    const a = new SlidingArray<string>(3, 100);
    for (const v of ['a', 'b', 'c', 'd']) a.push(v);
    a.dropLeadingHoles(); // 'a' is a value: nothing
    assert.equal(a.firstIndex, 3);
    a.take(4);
    a.take(3);
    a.dropLeadingHoles();
    assert.deepEqual([a.firstIndex, a.endIndex], [5, 7]);
    assert.deepEqual(window(a, 3, 8), [undefined, undefined, 'c', 'd', undefined]);
    a.take(6); // a hole after a value stays
    a.dropLeadingHoles();
    assert.equal(a.firstIndex, 5);
    a.take(5);
    a.dropLeadingHoles();
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [7, 7, 0]);
    assert.deepEqual(storage(a).items, []);
  });

  it('truncates from an index, and resets to a new first index', () => {
    const a = new SlidingArray<number>(1, 100);
    for (let i = 1; i <= 6; i++) a.push(i);
    a.dropBelow(3);
    a.truncateFrom(9); // past the end: nothing
    assert.equal(a.endIndex, 7);
    a.truncateFrom(5);
    assert.deepEqual(window(a, 2, 7), [undefined, 3, 4, undefined, undefined]);
    a.push(50);
    assert.equal(a.at(5), 50);
    a.truncateFrom(0); // below the window: all of it, firstIndex stays
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [3, 3, 0]);
    a.reset(40);
    assert.deepEqual([a.firstIndex, a.endIndex, a.length], [40, 40, 0]);
    a.push(40);
    assert.deepEqual(window(a, 39, 42), [undefined, 40, undefined]);
  });

  it('compacts into a new array once the dropped front is compactHeadMin and half the array', () => {
    const a = new SlidingArray<number>(0, 4);
    for (let i = 0; i < 10; i++) a.push(i);
    const before = storage(a).items;
    a.dropBelow(3); // 3 < compactHeadMin
    assert.equal(storage(a).items, before);
    a.dropBelow(4); // 4 dropped, but less than half of 10
    assert.equal(storage(a).items, before);
    a.dropBelow(5); // 5 of 10: compacted, by a copy (the old array is left whole, linked to nothing)
    const after = storage(a).items;
    assert.notEqual(after, before);
    assert.deepEqual(after, [5, 6, 7, 8, 9]);
    assert.equal(storage(a).head, 0);
    assert.deepEqual(window(a, 4, 11), [undefined, 5, 6, 7, 8, 9, undefined]);
  });

  it('keeps its index arithmetic over many compactions', () => {
    const a = new SlidingArray<number>(1_000_000, 16);
    let compactions = 0;
    let items = storage(a).items;
    for (let i = 0; i < 100_000; i++) {
      a.push(1_000_000 + i);
      a.dropBelow(a.endIndex - (20 + ((i * 7) % 13))); // a window of 20 to 32 slots
      if (storage(a).items !== items) {
        assert.notEqual(storage(a).items.length, 0, 'a slice, not an emptied window');
        compactions++;
        items = storage(a).items;
      }
    }
    assert.ok(compactions > 1_000, `${compactions} compactions`);
    assert.equal(a.endIndex, 1_100_000);
    for (let i = a.firstIndex; i < a.endIndex; i++) assert.equal(a.at(i), i);
    assert.equal(a.at(a.firstIndex - 1), undefined);
    assert.ok(storage(a).items.length <= 2 * a.length + 16, 'the dropped front stays bounded');
  });

  it('seeded: agrees with a plain model over random pushes, takes, drops, truncations and resets', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000) || 1;
    console.log(`sliding-array model test seed=${seed} (replay: SEED=${seed})`);
    const rand = new SeededRandom(seed);
    const compactHeadMin = rand.int(1, 20);
    const a = new SlidingArray<number>(0, compactHeadMin);
    // The model: every index ever held maps to its value, or to undefined for a hole; the window is [first, end).
    const model = new Map<number, number | undefined>();
    let first = 0;
    let end = 0;
    const near = (): number => rand.int(first - 5, end + 5);
    let slices = 0;
    let items = storage(a).items;
    for (let step = 0; step < 50_000; step++) {
      const r = rand.int(0, 100);
      if (r < 50) {
        const v = rand.int(0, 1_000_000);
        a.push(v);
        model.set(end++, v);
      } else if (r < 62) {
        const i = near();
        const held = i >= first && i < end;
        assert.equal(a.take(i), held ? model.get(i) : undefined, `take ${i} at step ${step} (seed ${seed})`);
        if (held) model.set(i, undefined);
      } else if (r < 85) {
        // Mostly a few slots off the front, as the users drop; sometimes anywhere, past the end too.
        const i = rand.int(0, 5) === 0 ? near() : first + rand.int(-1, 4);
        a.dropBelow(i);
        first = Math.min(Math.max(first, i), end);
      } else if (r < 92) {
        a.dropLeadingHoles();
        while (first < end && model.get(first) === undefined) first++;
      } else if (r < 98) {
        const i = near();
        a.truncateFrom(i);
        end = Math.max(first, Math.min(end, i));
      } else {
        first = end = rand.int(0, 2 * end + 10);
        a.reset(first);
      }
      if (storage(a).items !== items) {
        if (storage(a).items.length > 0) slices++;
        items = storage(a).items;
      }
      const where = `step ${step} (seed ${seed}, compactHeadMin ${compactHeadMin})`;
      assert.deepEqual([a.firstIndex, a.endIndex, a.length], [first, end, end - first], where);
      for (let i = first - 3; i < end + 3; i++) assert.equal(a.at(i), i >= first && i < end ? model.get(i) : undefined, `${where}, index ${i}`);
    }
    console.log(`sliding-array model test: ${slices} compactions by slice`);
    assert.ok(slices > 20, `${slices} compactions by slice (seed ${seed})`);
  });
});
