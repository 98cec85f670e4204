import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../raft/types.js';
import { RECENT_ENTRIES_MAX, RecentEntries } from './recent-entries.js';

const ent = (index: number, term = 1): Entry => ({ index, term, type: 0, data: new Uint8Array(0) });
const run = (lo: number, hi: number, term = 1): Entry[] => Array.from({ length: hi - lo + 1 }, (_, k) => ent(lo + k, term));
const held = (r: RecentEntries, lo: number, hi: number): Array<number | undefined> =>
  Array.from({ length: hi - lo + 1 }, (_, k) => r.get(lo + k)?.term);

describe('RecentEntries', () => {
  it('holds appended entries until dropped below, and the live entry after a truncation', () => {
    const r = new RecentEntries();
    r.add(run(5, 9));
    assert.deepEqual(held(r, 4, 10), [undefined, 1, 1, 1, 1, 1, undefined]);
    r.add(run(7, 8, 2)); // a conflicting suffix from 7: 9 is gone
    assert.deepEqual(held(r, 5, 9), [1, 1, 2, 2, undefined]);
    r.dropBelow(7);
    assert.deepEqual(held(r, 5, 9), [undefined, undefined, 2, 2, undefined]);
    r.add(run(3, 4, 3)); // before what is held: starts over
    assert.deepEqual(held(r, 3, 8), [3, 3, undefined, undefined, undefined, undefined]);
    r.clear();
    assert.equal(r.get(3), undefined);
  });

  it('keeps at most RECENT_ENTRIES_MAX, the newest', () => {
    const r = new RecentEntries();
    let last = 0;
    for (let i = 1; i <= 3 * RECENT_ENTRIES_MAX; i += 100) {
      r.add(run(i, i + 99));
      last = i + 99;
    }
    assert.equal(r.get(last)?.index, last);
    assert.equal(r.get(last - RECENT_ENTRIES_MAX + 1)?.index, last - RECENT_ENTRIES_MAX + 1);
    assert.equal(r.get(last - RECENT_ENTRIES_MAX), undefined);
  });
});
