// The in-flight window of one follower in replicate state: append messages sent but not
// yet acknowledged, bounded both in messages and in entry bytes, so a slow follower
// cannot make the leader buffer (or the network carry) an unbounded amount.

import { assert } from '../util/assert.js';

export class Inflights {
  /** Last entry index of each message in flight, ascending. */
  private indexes: number[] = [];
  private sizes: number[] = [];
  private bytes = 0;

  constructor(readonly maxMsgs: number, readonly maxBytes: number) {
    assert(maxMsgs >= 1, () => `maxInflightMsgs must be >= 1, got ${maxMsgs}`);
  }

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), () => `inflights full (${this.indexes.length} msgs, ${this.bytes} bytes), cannot add ${lastIndex}`);
    const prev = this.indexes[this.indexes.length - 1];
    assert(prev === undefined || lastIndex > prev, () => `inflight ${lastIndex} not after ${prev}`);
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= index) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n === 0) return;
    this.indexes = this.indexes.slice(n);
    this.sizes = this.sizes.slice(n);
  }

  full(): boolean {
    return this.indexes.length >= this.maxMsgs || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.indexes.length;
  }

  inflightBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.bytes = 0;
  }
}
