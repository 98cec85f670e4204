// RecentEntries: the Entry objects of the latest appends to the raft log store, held from
// save() until the first entries() that hands them out. That first read is the apply, one
// Ready or a few after the save (a few ms), and it was the only decode from the slabs in a
// put load (measured: one decode per entry per member, none for appends to followers, which
// the leader sends from the unstable log): with these it takes the objects the core already
// made instead of decoding a copy. Held that briefly they die young, in the scavenges; the
// cap bounds what a stalled apply can keep (then entries() decodes, as for any older entry).
//
// Invariant: items[head + k] is entry first + k, the live entry of that index (a truncation
// cuts the replaced suffix before the new entries go in).

import type { Entry } from '../raft/types.js';

/** Entries held at most: far more than a Ready's worth between a save and its apply. */
export const RECENT_ENTRIES_MAX = 1024;
/** Dropped slots at the front beyond which the array is compacted. */
const COMPACT_HEAD_MIN = 256;

export class RecentEntries {
  private items: Array<Entry | undefined> = [];
  private head = 0;
  /** Index of items[head]. */
  private first = 0;

  /** Entry `i` if held. */
  get(i: number): Entry | undefined {
    const k = i - this.first;
    return k >= 0 && k < this.items.length - this.head ? this.items[this.head + k] : undefined;
  }

  /** Contiguous entries just appended: they replace any held at or after their first index. */
  add(fresh: readonly Entry[]): void {
    const start = fresh[0]?.index;
    if (start === undefined) return;
    const end = this.first + this.items.length - this.head;
    if (this.items.length === this.head || start < this.first || start > end) {
      this.clear();
      this.first = start;
    } else {
      this.items.length = this.head + (start - this.first);
    }
    for (const e of fresh) this.items.push(e);
    const excess = this.items.length - this.head - RECENT_ENTRIES_MAX;
    if (excess > 0) this.dropBelow(this.first + excess);
  }

  /** Forgets the entries below index `i` (handed out, or compacted). */
  dropBelow(i: number): void {
    const n = Math.min(i - this.first, this.items.length - this.head);
    if (n <= 0) return;
    for (let k = 0; k < n; k++) this.items[this.head + k] = undefined;
    this.head += n;
    this.first += n;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= COMPACT_HEAD_MIN && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
