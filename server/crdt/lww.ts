// lww map: per key the record with the largest (HLC, replica id) wins; a null value is a
// tombstone. Losing records are kept as superseded (listable) until causally stable; a
// tombstone goes once it and everything concurrent with it are stable (store.ts).

import { bytesKey, renderBytes, renderMap, type RenderedBytes, type RenderedMap } from './bytes.js';
import { DotMap, type VersionVector } from './dots.js';
import { lwwMerge } from './rules.js';
import type { LwwRecord } from './records.js';
import type { Stability, TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

interface Entry {
  winner: LwwRecord;
  superseded: LwwRecord[];
}

export class LwwStore implements TypeStore<LwwRecord> {
  /** bytesKey(key) → entry. */
  private readonly keys = new Map<string, Entry>();
  private liveDots = new DotMap<LwwRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: LwwRecord): void {
    const k = bytesKey(r.key);
    const e = this.keys.get(k);
    if (e === undefined) {
      this.keys.set(k, { winner: r, superseded: [] });
      this.liveDots.set(r, r);
      return;
    }
    const m = lwwMerge(e.winner, r, this.unsafe);
    if (m.winner === r) {
      this.liveDots.delete(e.winner);
      e.winner = r;
      this.liveDots.set(r, r);
    }
    e.superseded.push(m.loser!);
  }

  live(origin: string, seq: number): LwwRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** The value as stored (the bytes an etcd Range returns), undefined when absent or deleted. */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.keys.get(bytesKey(key))?.winner.value ?? undefined;
  }

  /** The current winning record of `key` (a tombstone included). */
  winner(key: Uint8Array): LwwRecord | undefined {
    return this.keys.get(bytesKey(key))?.winner;
  }

  /** Keys held (tombstones included), in byte order. */
  keyNames(): Uint8Array[] {
    return [...this.keys.keys()].sort().map((k) => this.keys.get(k)!.winner.key);
  }

  /** The records that lost to the current value of `key` and are not yet collected. */
  superseded(key: Uint8Array): readonly LwwRecord[] {
    return this.keys.get(bytesKey(key))?.superseded ?? [];
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

  /** Canonical JSON shape: [key, value] pairs rendered by renderBytes (bytes.ts); Range itself returns get(). */
  render(): RenderedMap<RenderedBytes> {
    return renderMap(this.keys, (e) => (e.winner.value === null ? undefined : renderBytes(e.winner.value)));
  }

  clone(): LwwStore {
    const c = new LwwStore(this.unsafe);
    for (const [k, e] of this.keys) c.keys.set(k, { winner: e.winner, superseded: [...e.superseded] });
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
