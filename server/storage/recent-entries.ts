// RecentEntries: the Entry objects of the latest appends to the raft log store, held from
// save() until the first entries() that hands them out. That first read is the apply, one
// Ready or a few after the save (a few ms), and it was the only decode from the slabs in a
// put load (measured: one decode per entry per member, none for appends to followers, which
// the leader sends from the unstable log): with these it takes the objects the core already
// made instead of decoding a copy. Held that briefly they die young, in the scavenges; the
// cap bounds what a stalled apply can keep (then entries() decodes, as for any older entry).
//
// Invariant: the slot of index i is entry i, the live entry of that index (a truncation
// cuts the replaced suffix before the new entries go in).

import type { Entry } from '../raft/types.js';
import { SlidingArray } from '../util/sliding-array.js';

/** Entries held at most: far more than a Ready's worth between a save and its apply. */
export const RECENT_ENTRIES_MAX = 1024;
/** Dropped slots at the front beyond which the array is compacted. */
const COMPACT_HEAD_MIN = 256;

export class RecentEntries {
  private readonly entries = new SlidingArray<Entry>(0, COMPACT_HEAD_MIN);

  /** Entry `i` if held. */
  get(i: number): Entry | undefined {
    return this.entries.at(i);
  }

  /** Contiguous entries just appended: they replace any held at or after their first index. */
  add(fresh: readonly Entry[]): void {
    const start = fresh[0]?.index;
    if (start === undefined) return;
    const held = this.entries;
    if (held.length === 0 || start < held.firstIndex || start > held.endIndex) held.reset(start);
    else held.truncateFrom(start);
    for (const e of fresh) held.push(e);
    const excess = held.length - RECENT_ENTRIES_MAX;
    if (excess > 0) held.dropBelow(held.firstIndex + excess);
  }

  /** Forgets the entries below index `i` (handed out, or compacted). */
  dropBelow(i: number): void {
    this.entries.dropBelow(i);
  }

  clear(): void {
    this.entries.reset(this.entries.endIndex);
  }
}
