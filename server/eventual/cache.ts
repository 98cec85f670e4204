// A map bounded in entries and in bytes (each value's encoded size), evicting the least
// recently used entries first, approximately: "second chance" (CLOCK) over the Map's insertion
// order. A use only marks its entry; the eviction gives a marked entry at the old end one more
// round (unmarked, moved to the new end) and drops the first unmarked one. So a use is one Map
// lookup, not the delete and insert an exact LRU does per get (the apply reads every key
// state it merges through here, once per lww write on every member: issue 13, session 10).
// A value larger than an eighth of the byte bound is not kept: one huge state must not push
// out everything else.

interface Entry<V> {
  v: V;
  bytes: number;
  /** Used since it was last inserted or given its second chance. */
  used: boolean;
}

export class LruCache<V> {
  private readonly m = new Map<string, Entry<V>>();
  private held = 0;

  constructor(readonly maxEntries: number, readonly maxBytes: number) {}

  get size(): number {
    return this.m.size;
  }

  get heldBytes(): number {
    return this.held;
  }

  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (e === undefined) return undefined;
    e.used = true;
    return e.v;
  }

  /** Whether `k` is held, leaving it unmarked (a look, not a use). */
  has(k: string): boolean {
    return this.m.has(k);
  }

  set(k: string, v: V, bytes: number): void {
    const e = this.m.get(k);
    if (bytes > this.maxBytes / 8) {
      if (e !== undefined) this.delete(k);
      return;
    }
    if (e !== undefined) {
      // Changed in place: a set is a use (the entry keeps its place, marked).
      this.held += bytes - e.bytes;
      e.v = v;
      e.bytes = bytes;
      e.used = true;
    } else {
      // Marked: what is set was just used (a key its batch wrote), and a new entry dropped by
      // the very next eviction would make the cache useless once everything in it is marked.
      this.m.set(k, { v, bytes, used: true });
      this.held += bytes;
    }
    this.evict();
  }

  delete(k: string): void {
    const e = this.m.get(k);
    if (e === undefined) return;
    this.m.delete(k);
    this.held -= e.bytes;
  }

  clear(): void {
    this.m.clear();
    this.held = 0;
  }

  /**
   * Drops entries from the old end until both bounds hold, a marked one getting a second
   * chance instead (each pass unmarks what it moves, so this ends: at worst after one round).
   */
  private evict(): void {
    while (this.m.size > this.maxEntries || this.held > this.maxBytes) {
      const [k, e] = this.m.entries().next().value as [string, Entry<V>];
      this.m.delete(k);
      if (e.used && this.m.size > 0) {
        e.used = false;
        this.m.set(k, e);
      } else this.held -= e.bytes;
    }
  }
}
