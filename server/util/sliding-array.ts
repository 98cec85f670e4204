// SlidingArray: values at consecutive, increasing indexes, pushed at the end and dropped
// from the front (the pending proposals by counter, the raft log's recent entries by log
// index). take() leaves a hole (undefined) in the middle (a proposal answered out of order);
// at() answers undefined for a hole and for any index outside the window alike.
//
// It is a plain array with a head offset, not a Map (README "Promotion after a
// Mark-Compact"): V8 links a Map's old hash table to the new one under set/delete churn, and
// once a Mark-Compact has moved the table in use to the old generation every scavenge finds
// the next tables alive through those links, with all they hold. Values sit in the array
// itself (no wrapper object per slot), dropped slots are cleared at once so what they held
// dies young, and the consumed prefix is compacted by slicing into a NEW array rather than
// copying down in place: the old array is linked to nothing and dies whole, and the copy
// costs at most as many slots as were dropped since the last one (amortized O(1) a push).

/** Invariant: items[head + k] is the slot of index first + k, for 0 <= k < items.length - head. */
export class SlidingArray<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private first: number;

  /**
   * @param firstIndex the index the first push gets.
   * @param compactHeadMin dropped slots at the front below which the array is never compacted
   *   (a compaction also waits until they are at least half the array).
   */
  constructor(firstIndex: number, private readonly compactHeadMin: number) {
    this.first = firstIndex;
  }

  /** Index of the first slot held (equal to endIndex when empty). */
  get firstIndex(): number {
    return this.first;
  }

  /** Index the next push gets: one past the last slot held. */
  get endIndex(): number {
    return this.first + this.items.length - this.head;
  }

  /** Slots held, holes included. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** The value at `index`, or undefined for a hole or an index not held. */
  at(index: number): T | undefined {
    const k = index - this.first;
    // No integer check: a fractional key misses on its own (take() checks before it writes).
    return k >= 0 && k < this.items.length - this.head ? this.items[this.head + k] : undefined;
  }

  /** Appends `value` at endIndex. */
  push(value: T): void {
    this.items.push(value);
  }

  /** The value at `index`, leaving a hole in its slot; undefined for a hole or an index not held. */
  take(index: number): T | undefined {
    const k = index - this.first;
    // Checked here, where it matters: a fractional key written to the array would be a property.
    if (!Number.isInteger(k) || k < 0 || k >= this.items.length - this.head) return undefined;
    const value = this.items[this.head + k];
    this.items[this.head + k] = undefined;
    return value;
  }

  /** Drops the slots below `index`; at or past endIndex that is all of them (firstIndex becomes endIndex). */
  dropBelow(index: number): void {
    const n = Math.min(index - this.first, this.items.length - this.head);
    if (!(n > 0)) return; // written so, not n <= 0: a NaN index drops nothing
    // Cleared now, not at the next compaction: what they held may die in the next scavenge.
    for (let k = 0; k < n; k++) this.items[this.head + k] = undefined;
    this.advance(n);
  }

  /** Drops the holes at the front, up to the first value held (all of the slots if none is). */
  dropLeadingHoles(): void {
    let k = this.head;
    while (k < this.items.length && this.items[k] === undefined) k++;
    if (k > this.head) this.advance(k - this.head);
  }

  /** Moves the front by `n` cleared slots, and compacts. */
  private advance(n: number): void {
    this.head += n;
    this.first += n;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= this.compactHeadMin && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops the slots at and after `index` (all of them below firstIndex, none at or past endIndex). */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.first);
    if (keep < this.items.length - this.head) this.items.length = this.head + keep;
  }

  /** Empties the window; the next push gets `firstIndex`. */
  reset(firstIndex: number): void {
    this.items = [];
    this.head = 0;
    this.first = firstIndex;
  }
}
