// A least-recently-used map bounded in entries and in bytes (each value's encoded size; Map
// insertion order is the recency order). A value larger than an eighth of the byte bound is
// not kept: one huge state must not push out everything else.

export class LruCache<V> {
  private readonly m = new Map<string, { v: V; bytes: number }>();
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
    this.m.delete(k);
    this.m.set(k, e);
    return e.v;
  }

  /** Whether `k` is held, leaving the recency order as it is (a look, not a use). */
  has(k: string): boolean {
    return this.m.has(k);
  }

  set(k: string, v: V, bytes: number): void {
    this.delete(k);
    if (bytes > this.maxBytes / 8) return;
    this.m.set(k, { v, bytes });
    this.held += bytes;
    while (this.m.size > this.maxEntries || this.held > this.maxBytes) this.delete(this.m.keys().next().value as string);
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
}
