// A bounded least-recently-used map (Map insertion order is the recency order).

export class LruCache<V> {
  private readonly m = new Map<string, V>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.m.size;
  }

  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v === undefined) return undefined;
    this.m.delete(k);
    this.m.set(k, v);
    return v;
  }

  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.maxEntries) this.m.delete(this.m.keys().next().value as string);
  }

  clear(): void {
    this.m.clear();
  }
}
