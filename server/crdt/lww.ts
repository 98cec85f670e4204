// lww map: per key the record with the largest (HLC, replica id) wins; a null value is a
// tombstone. Losing records are kept as superseded (listable) until causally stable; a
// tombstone goes once it and everything concurrent with it are stable (store.ts).

import { renderBytes } from './bytes.js';
import { DotMap, type VersionVector } from './dots.js';
import { compareHlc, compareStamp } from './hlc.js';
import type { LwwRecord } from './records.js';
import type { Stability, TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

interface Entry {
  winner: LwwRecord;
  superseded: LwwRecord[];
}

export class LwwStore implements TypeStore<LwwRecord> {
  private readonly keys = new Map<string, Entry>();
  private liveDots = new DotMap<LwwRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: LwwRecord): void {
    const e = this.keys.get(r.key);
    if (e === undefined) {
      this.keys.set(r.key, { winner: r, superseded: [] });
      this.liveDots.set(r, r);
      return;
    }
    if (this.wins(r, e.winner)) {
      e.superseded.push(e.winner);
      this.liveDots.delete(e.winner);
      e.winner = r;
      this.liveDots.set(r, r);
    } else e.superseded.push(r);
  }

  private wins(a: LwwRecord, b: LwwRecord): boolean {
    if (this.unsafe.lwwTieByArrival && compareHlc(a.hlc, b.hlc) === 0) return false;
    return compareStamp(a.hlc, a.origin, b.hlc, b.origin) > 0;
  }

  live(origin: string, seq: number): LwwRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** The value as stored (the bytes an etcd Range returns), undefined when absent or deleted. */
  get(key: string): Uint8Array | undefined {
    return this.keys.get(key)?.winner.value ?? undefined;
  }

  /** The current winning record of `key` (a tombstone included). */
  winner(key: string): LwwRecord | undefined {
    return this.keys.get(key)?.winner;
  }

  keyNames(): string[] {
    return [...this.keys.keys()].sort();
  }

  /** The records that lost to the current value of `key` and are not yet collected. */
  superseded(key: string): readonly LwwRecord[] {
    return this.keys.get(key)?.superseded ?? [];
  }

  gc(s: Stability, held: VersionVector): void {
    const complete = held.dominates(s.horizon);
    for (const [key, e] of this.keys) {
      e.superseded = e.superseded.filter((r) => !s.stable.covers(r));
      if (e.winner.value === null && e.superseded.length === 0 && complete && s.stable.covers(e.winner)) {
        this.keys.delete(key);
        this.liveDots.delete(e.winner);
      }
    }
  }

  /** Canonical JSON shape: values rendered by renderBytes (bytes.ts); Range itself returns get(). */
  render(): Record<string, ReturnType<typeof renderBytes>> {
    const out: Record<string, ReturnType<typeof renderBytes>> = {};
    for (const key of [...this.keys.keys()].sort()) {
      const v = this.keys.get(key)!.winner.value;
      if (v !== null) out[key] = renderBytes(v);
    }
    return out;
  }

  clone(): LwwStore {
    const c = new LwwStore(this.unsafe);
    for (const [k, e] of this.keys) c.keys.set(k, { winner: e.winner, superseded: [...e.superseded] });
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
