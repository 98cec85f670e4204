// Index entries put for the first time in a batch (merge.ts indexPut: a dot merged for the
// first time has no entry on disk), held by namespace, origin and seq until the batch is
// flushed, so that a delete of one later in the same batch (a hot key rewritten: each write
// dominates the one before) cancels both without an engine op. Keyed by the dot itself, not
// by the engine key's string: a put and its cancelling delete build no key bytes or strings;
// only the entries left at flush get their engine key (layout.ts indexKey).

import type { BatchOp } from '../storage/index.js';
import { indexKey } from './layout.js';

export class FreshIndex {
  /** namespace → origin → seq → the entry's value (codec.ts encodeIndex). */
  private readonly byNs = new Map<string, Map<string, Map<number, Uint8Array>>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private seqs(ns: string, origin: string, make: boolean): Map<number, Uint8Array> | undefined {
    let origins = this.byNs.get(ns);
    if (origins === undefined) {
      if (!make) return undefined;
      this.byNs.set(ns, (origins = new Map()));
    }
    let seqs = origins.get(origin);
    if (seqs === undefined && make) origins.set(origin, (seqs = new Map()));
    return seqs;
  }

  set(ns: string, origin: string, seq: number, value: Uint8Array): void {
    const seqs = this.seqs(ns, origin, true)!;
    if (!seqs.has(seq)) this.count++;
    seqs.set(seq, value);
  }

  has(ns: string, origin: string, seq: number): boolean {
    return this.seqs(ns, origin, false)?.has(seq) === true;
  }

  /** Whether the entry was held (and is now dropped). */
  delete(ns: string, origin: string, seq: number): boolean {
    const dropped = this.seqs(ns, origin, false)?.delete(seq) === true;
    if (dropped) this.count--;
    return dropped;
  }

  // forEach below, not for-of over entries: no [key, value] array per entry (once per batch each).

  /** Every entry held, into `into` (a later FreshIndex of the same batch). */
  moveInto(into: FreshIndex): void {
    this.byNs.forEach((origins, ns) => origins.forEach((seqs, origin) => seqs.forEach((v, seq) => into.set(ns, origin, seq, v))));
  }

  /** The engine puts of the entries held. */
  flush(append: (op: BatchOp) => void): void {
    this.byNs.forEach((origins, ns) => origins.forEach((seqs, origin) => seqs.forEach((value, seq) => append({ type: 'put', key: indexKey(ns, origin, seq), value }))));
  }
}
