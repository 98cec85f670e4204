// An ordered set of strings with O(√n)-ish inserts: a list of sorted chunks. Keys are
// byte strings held as latin1 strings (one char per byte), whose `<` order is the bytewise
// order. A flat sorted array would cost O(n) memmove per new key; chunks bound that cost.

import { assert } from '../util/assert.js';

/** A chunk splits in two past this many keys. */
const CHUNK_KEYS_MAX = 512;

export class SortedKeys {
  /** Invariant: every chunk non-empty and sorted; chunk i's keys < chunk i+1's keys. */
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count++;
      return;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci] as string[];
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) return;
    chunk.splice(i, 0, key);
    this.count++;
    if (chunk.length > CHUNK_KEYS_MAX) this.chunks.splice(ci + 1, 0, chunk.splice(CHUNK_KEYS_MAX >> 1));
  }

  delete(key: string): void {
    if (this.chunks.length === 0) return;
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci] as string[];
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
  }

  /** Keys k with from <= k < to (to undefined: no upper bound), in ascending order. */
  *range(from: string, to: string | undefined): Generator<string> {
    if (this.chunks.length === 0) return;
    let ci = this.chunkFor(from);
    let i = lowerBound(this.chunks[ci] as string[], from);
    for (; ci < this.chunks.length; ci++, i = 0) {
      const chunk = this.chunks[ci] as string[];
      for (; i < chunk.length; i++) {
        const k = chunk[i] as string;
        if (to !== undefined && k >= to) return;
        yield k;
      }
    }
  }

  /** The chunk that holds `key` or should: the last whose first key is <= key (or 0). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const first = (this.chunks[mid] as string[])[0];
      assert(first !== undefined, 'empty chunk');
      if (first <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
