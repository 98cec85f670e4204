// PN-counter per key: each origin's running (p, n) totals; a later record of an origin
// replaces its earlier one (which is then dominated and not sent again).

import { DotMap } from './dots.js';
import type { CounterRecord } from './records.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

export class CounterStore implements TypeStore<CounterRecord> {
  private readonly keys = new Map<string, Map<string, CounterRecord>>();
  private liveDots = new DotMap<CounterRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: CounterRecord): void {
    let perOrigin = this.keys.get(r.key);
    if (perOrigin === undefined) this.keys.set(r.key, (perOrigin = new Map()));
    const cur = perOrigin.get(r.origin);
    if (cur !== undefined && cur.seq > r.seq) return; // an older entry of the same origin
    if (cur !== undefined) this.liveDots.delete(cur);
    perOrigin.set(r.origin, r);
    this.liveDots.set(r, r);
  }

  live(origin: string, seq: number): CounterRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** This origin's totals for key, for building its next record. */
  totals(key: string, origin: string): { p: number; n: number } {
    const r = this.keys.get(key)?.get(origin);
    return { p: r?.p ?? 0, n: r?.n ?? 0 };
  }

  value(key: string): number {
    let v = 0;
    for (const r of this.keys.get(key)?.values() ?? []) v += r.p - r.n;
    return v;
  }

  gc(): void {
    /* nothing to collect: one entry per origin and key */
  }

  render(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.keys.keys()].sort()) out[key] = this.value(key);
    return out;
  }

  clone(): CounterStore {
    const c = new CounterStore(this.unsafe);
    for (const [k, m] of this.keys) c.keys.set(k, new Map(m));
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
