// PN-counter per key: each origin's running (p, n) totals; a later record of an origin
// replaces its earlier one (which is then dominated and not sent again).

import { bytesKey, renderMap, type RenderedMap } from './bytes.js';
import { DotMap } from './dots.js';
import type { CounterRecord } from './records.js';
import { counterMerge, counterValue } from './rules.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

function sum(perOrigin: ReadonlyMap<string, CounterRecord> | undefined): number {
  return counterValue(perOrigin?.values() ?? []);
}

export class CounterStore implements TypeStore<CounterRecord> {
  /** bytesKey(key) → origin → its latest record. */
  private readonly keys = new Map<string, Map<string, CounterRecord>>();
  private liveDots = new DotMap<CounterRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: CounterRecord): void {
    const k = bytesKey(r.key);
    let perOrigin = this.keys.get(k);
    if (perOrigin === undefined) this.keys.set(k, (perOrigin = new Map()));
    const m = counterMerge(perOrigin.get(r.origin), r);
    if (m === undefined) return; // an older entry of the same origin
    if (m.dominated !== undefined) this.liveDots.delete(m.dominated);
    perOrigin.set(r.origin, r);
    this.liveDots.set(r, r);
  }

  live(origin: string, seq: number): CounterRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** This origin's totals for key, for building its next record. */
  totals(key: Uint8Array, origin: string): { p: number; n: number } {
    const r = this.keys.get(bytesKey(key))?.get(origin);
    return { p: r?.p ?? 0, n: r?.n ?? 0 };
  }

  value(key: Uint8Array): number {
    return sum(this.keys.get(bytesKey(key)));
  }

  gc(): void {
    /* nothing to collect: one entry per origin and key */
  }

  render(): RenderedMap<number> {
    return renderMap(this.keys, sum);
  }

  clone(): CounterStore {
    const c = new CounterStore(this.unsafe);
    for (const [k, m] of this.keys) c.keys.set(k, new Map(m));
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
