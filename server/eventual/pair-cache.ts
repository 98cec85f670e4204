// Bytes remembered per (namespace or prefix, device): keys and key heads an event apply asks
// for several times per event. Two map levels, so a lookup builds no combined string.
// Devices are unbounded: past `max` entries every one is forgotten and rebuilt as asked for
// (finding the oldest in two levels is not worth it).

export class PairCache<V> {
  private readonly outer = new Map<string, Map<string, V>>();
  private held = 0;

  constructor(private readonly max: number) {}

  get(a: string, b: string): V | undefined {
    return this.outer.get(a)?.get(b);
  }

  set(a: string, b: string, value: V): void {
    if (this.held >= this.max) {
      this.outer.clear();
      this.held = 0;
    }
    let inner = this.outer.get(a);
    if (inner === undefined) this.outer.set(a, (inner = new Map()));
    if (!inner.has(b)) this.held++;
    inner.set(b, value);
  }
}
