// Dots, version vectors and causal contexts (DESIGN §6). A dot (origin, seq) names one write;
// seqs of an origin start at 1 and are contiguous within a namespace, so a version vector
// origin → highest contiguous seq held says exactly which writes a replica has.

export interface Dot {
  readonly origin: string;
  readonly seq: number;
}

export function dotKey(d: Dot): string {
  return `${d.origin}\u0000${d.seq}`;
}

/** A map keyed by dot without building a string per lookup (origin → seq → value). */
export class DotMap<V> {
  private readonly m = new Map<string, Map<number, V>>();
  private count = 0;

  get(origin: string, seq: number): V | undefined {
    return this.m.get(origin)?.get(seq);
  }

  set(d: Dot, v: V): void {
    let seqs = this.m.get(d.origin);
    if (seqs === undefined) this.m.set(d.origin, (seqs = new Map()));
    if (!seqs.has(d.seq)) this.count++;
    seqs.set(d.seq, v);
  }

  delete(d: Dot): boolean {
    const seqs = this.m.get(d.origin);
    if (seqs === undefined || !seqs.delete(d.seq)) return false;
    this.count--;
    return true;
  }

  get size(): number {
    return this.count;
  }

  *entries(): IterableIterator<[Dot, V]> {
    for (const [origin, seqs] of this.m) for (const [seq, v] of seqs) yield [{ origin, seq }, v];
  }

  clone(): DotMap<V> {
    const c = new DotMap<V>();
    for (const [o, seqs] of this.m) c.m.set(o, new Map(seqs));
    c.count = this.count;
    return c;
  }
}

export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

/** Seqs from..to (inclusive) of one origin. */
export interface SeqRange {
  readonly origin: string;
  readonly from: number;
  readonly to: number;
}

export class VersionVector {
  private readonly m = new Map<string, number>();

  static from(entries: Iterable<readonly [string, number]> | Record<string, number>): VersionVector {
    const v = new VersionVector();
    const it = Symbol.iterator in entries ? (entries as Iterable<readonly [string, number]>) : Object.entries(entries);
    for (const [o, s] of it) v.advance(o, s);
    return v;
  }

  get(origin: string): number {
    return this.m.get(origin) ?? 0;
  }

  /** Raises origin's entry to at least seq (never lowers it). */
  advance(origin: string, seq: number): void {
    if (seq > this.get(origin)) this.m.set(origin, seq);
  }

  covers(d: Dot): boolean {
    return d.seq <= this.get(d.origin);
  }

  origins(): string[] {
    return [...this.m.keys()].sort();
  }

  entries(): Array<[string, number]> {
    return this.origins().map((o) => [o, this.get(o)]);
  }

  clone(): VersionVector {
    return VersionVector.from(this.m);
  }

  /** Pointwise maximum, in place. */
  join(other: VersionVector): this {
    for (const [o, s] of other.m) this.advance(o, s);
    return this;
  }

  compare(other: VersionVector): Ordering {
    let less = false;
    let more = false;
    for (const o of new Set([...this.m.keys(), ...other.m.keys()])) {
      const a = this.get(o);
      const b = other.get(o);
      if (a < b) less = true;
      else if (a > b) more = true;
    }
    if (less && more) return 'concurrent';
    if (less) return 'before';
    if (more) return 'after';
    return 'equal';
  }

  /** True when every entry of this is at least other's. */
  dominates(other: VersionVector): boolean {
    const c = this.compare(other);
    return c === 'after' || c === 'equal';
  }

  /** What `peer` lacks from this vector, per origin in origin order. */
  lacks(peer: VersionVector): SeqRange[] {
    const out: SeqRange[] = [];
    for (const [o, s] of this.entries()) {
      const p = peer.get(o);
      if (s > p) out.push({ origin: o, from: p + 1, to: s });
    }
    return out;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }

  equals(other: VersionVector): boolean {
    return this.compare(other) === 'equal';
  }
}

/** Pointwise minimum over vectors (an origin missing from one is 0). */
export function meetAll(vectors: readonly VersionVector[]): VersionVector {
  const out = new VersionVector();
  if (vectors.length === 0) return out;
  const origins = new Set(vectors.flatMap((v) => v.origins()));
  for (const o of origins) out.advance(o, Math.min(...vectors.map((v) => v.get(o))));
  return out;
}

/**
 * A causal context: a version vector plus a cloud of dots seen beyond it (out of order).
 * `compact()` folds cloud dots that became contiguous into the vector, so the cloud only
 * holds the truly out-of-order dots.
 */
export class CausalContext {
  readonly vector: VersionVector;
  private readonly cloud = new Map<string, Dot>();

  constructor(vector = new VersionVector()) {
    this.vector = vector;
  }

  has(d: Dot): boolean {
    return this.vector.covers(d) || this.cloud.has(dotKey(d));
  }

  add(d: Dot): void {
    if (this.vector.covers(d)) return;
    if (d.seq === this.vector.get(d.origin) + 1) {
      this.vector.advance(d.origin, d.seq);
      this.compact();
    } else this.cloud.set(dotKey(d), d);
  }

  join(other: CausalContext): this {
    this.vector.join(other.vector);
    for (const d of other.cloud.values()) this.cloud.set(dotKey(d), d);
    this.compact();
    return this;
  }

  get cloudSize(): number {
    return this.cloud.size;
  }

  compact(): void {
    let moved = true;
    while (moved) {
      moved = false;
      for (const [k, d] of this.cloud) {
        if (this.vector.covers(d)) {
          this.cloud.delete(k);
        } else if (d.seq === this.vector.get(d.origin) + 1) {
          this.vector.advance(d.origin, d.seq);
          this.cloud.delete(k);
          moved = true;
        }
      }
    }
  }

  clone(): CausalContext {
    const c = new CausalContext(this.vector.clone());
    for (const [k, d] of this.cloud) c.cloud.set(k, d);
    return c;
  }
}
