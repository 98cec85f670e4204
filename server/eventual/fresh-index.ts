// Index entries put for the first time in a batch (merge.ts indexPut: a dot merged for the
// first time has no entry on disk), held by namespace, origin and seq until the batch is
// flushed, so that a delete of one later in the same batch (a hot key rewritten: each write
// dominates the one before) cancels both without an engine op. Keyed by the dot itself, not
// by the engine key's string: a put and its cancelling delete build no key bytes or strings;
// only the entries left at flush get their engine key (layout.ts indexKey).
//
// While it holds at most one entry, that entry sits in fields of its own, before any Map is
// made: a batch of one write (1 in flight) holds one, and a hot key's batch holds one at a
// time (each write's put is cancelled by the next write's delete), so neither builds the
// three map levels per batch or looks through them per write.

import type { BatchOp } from '../storage/index.js';
import { encodeKeyIndex } from './codec.js';
import { indexKey } from './layout.js';

/**
 * An entry's value (codec.ts encodeIndex), or, for the entry of a record that lives in its
 * key's state (most: every lww write's), that record or anything holding its key: encoded
 * (encodeKeyIndex) only at flush, so an entry a later write of the batch deletes (a hot key's,
 * every write but the batch's last) never builds its bytes. The key must stay unchanged until
 * the batch is flushed (a record's key is).
 */
export type FreshValue = Uint8Array | { readonly key: Uint8Array };

function valueBytes(v: FreshValue): Uint8Array {
  return v instanceof Uint8Array ? v : encodeKeyIndex(v.key);
}

export class FreshIndex {
  /** namespace → origin → seq → the entry's value (FreshValue); made for a second entry. */
  private byNs: Map<string, Map<string, Map<number, FreshValue>>> | undefined;
  /** The entries held (in the one-entry fields or the maps, never both at once). */
  private count = 0;
  // The one entry held while the maps hold none (singleValue undefined: none).
  private singleNs = '';
  private singleOrigin = '';
  private singleSeq = 0;
  private singleValue: FreshValue | undefined;

  get size(): number {
    return this.count;
  }

  private isSingle(ns: string, origin: string, seq: number): boolean {
    return this.singleValue !== undefined && this.singleSeq === seq && this.singleOrigin === origin && this.singleNs === ns;
  }

  private seqs(ns: string, origin: string, make: boolean): Map<number, FreshValue> | undefined {
    let byNs = this.byNs;
    if (byNs === undefined) {
      if (!make) return undefined;
      this.byNs = byNs = new Map();
    }
    let origins = byNs.get(ns);
    if (origins === undefined) {
      if (!make) return undefined;
      byNs.set(ns, (origins = new Map()));
    }
    let seqs = origins.get(origin);
    if (seqs === undefined && make) origins.set(origin, (seqs = new Map()));
    return seqs;
  }

  set(ns: string, origin: string, seq: number, value: FreshValue): void {
    if (this.isSingle(ns, origin, seq)) {
      this.singleValue = value;
      return;
    }
    if (this.count === 0) {
      this.singleNs = ns;
      this.singleOrigin = origin;
      this.singleSeq = seq;
      this.singleValue = value;
      this.count = 1;
      return;
    }
    if (this.singleValue !== undefined) {
      // A second entry: the first one moves into the maps, where both are held from now on.
      this.seqs(this.singleNs, this.singleOrigin, true)!.set(this.singleSeq, this.singleValue);
      this.singleValue = undefined;
    }
    const seqs = this.seqs(ns, origin, true)!;
    if (!seqs.has(seq)) this.count++;
    seqs.set(seq, value);
  }

  has(ns: string, origin: string, seq: number): boolean {
    return this.isSingle(ns, origin, seq) || this.seqs(ns, origin, false)?.has(seq) === true;
  }

  /** Whether the entry was held (and is now dropped). */
  delete(ns: string, origin: string, seq: number): boolean {
    if (this.isSingle(ns, origin, seq)) {
      this.singleValue = undefined;
      this.count = 0;
      return true;
    }
    const dropped = this.seqs(ns, origin, false)?.delete(seq) === true;
    if (dropped) this.count--;
    return dropped;
  }

  // forEach below, not for-of over entries: no [key, value] array per entry (once per batch each).

  /** Every entry held, into `into` (a later FreshIndex of the same batch). */
  moveInto(into: FreshIndex): void {
    if (this.singleValue !== undefined) into.set(this.singleNs, this.singleOrigin, this.singleSeq, this.singleValue);
    this.byNs?.forEach((origins, ns) => origins.forEach((seqs, origin) => seqs.forEach((v, seq) => into.set(ns, origin, seq, v))));
  }

  /** The engine puts of the entries held. */
  flush(append: (op: BatchOp) => void): void {
    if (this.singleValue !== undefined) append({ type: 'put', key: indexKey(this.singleNs, this.singleOrigin, this.singleSeq), value: valueBytes(this.singleValue) });
    this.byNs?.forEach((origins, ns) => origins.forEach((seqs, origin) => seqs.forEach((v, seq) => append({ type: 'put', key: indexKey(ns, origin, seq), value: valueBytes(v) }))));
  }
}
