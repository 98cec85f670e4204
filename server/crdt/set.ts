// Add-wins observed-remove set per key. An add is its own dot; a remove lists the add dots
// it observed and nothing else, so an add concurrent with it survives. No tombstone per
// element: a removed add dot that has not arrived yet waits in a small cloud (the causal
// context beyond the vector) and is forgotten once the vector covers it. Remove records
// themselves are kept only until causally stable.

import { DotMap, dotKey, type Dot, type VersionVector } from './dots.js';
import type { SetRecord } from './records.js';
import type { Stability, TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

type AddRecord = Extract<SetRecord, { op: 'add' }>;

export class SetStore implements TypeStore<SetRecord> {
  /** key → element → add dot → add record. */
  private readonly keys = new Map<string, Map<string, Map<string, AddRecord>>>();
  /** Removed add dots not held yet, with the (key, element) they removed. */
  private readonly removedCloud = new Map<string, { key: string; elem: string; dot: Dot }>();
  private liveDots = new DotMap<SetRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: SetRecord, held: VersionVector): void {
    const k = dotKey(r);
    if (r.op === 'add') {
      const blocked = this.removedCloud.get(k);
      if (blocked !== undefined && blocked.key === r.key && blocked.elem === r.elem) {
        this.removedCloud.delete(k);
        return;
      }
      this.adds(r.key, r.elem, true)!.set(k, r);
      this.liveDots.set(r, r);
      return;
    }
    const adds = this.adds(r.key, r.elem, false);
    for (const d of r.removed) {
      const dk = dotKey(d);
      if (adds?.delete(dk)) this.liveDots.delete(d);
      else if (!held.covers(d)) this.removedCloud.set(dk, { key: r.key, elem: r.elem, dot: d });
    }
    if (adds !== undefined && adds.size === 0) this.keys.get(r.key)!.delete(r.elem);
    this.liveDots.set(r, r);
  }

  private adds(key: string, elem: string, create: boolean): Map<string, AddRecord> | undefined {
    let elems = this.keys.get(key);
    if (elems === undefined) {
      if (!create) return undefined;
      this.keys.set(key, (elems = new Map()));
    }
    let dots = elems.get(elem);
    if (dots === undefined && create) elems.set(elem, (dots = new Map()));
    return dots;
  }

  live(origin: string, seq: number): SetRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** The add dots of elem this replica holds: what a remove made here observes. */
  observed(key: string, elem: string): Dot[] {
    return [...(this.keys.get(key)?.get(elem)?.values() ?? [])].map((r) => ({ origin: r.origin, seq: r.seq }));
  }

  has(key: string, elem: string): boolean {
    return (this.keys.get(key)?.get(elem)?.size ?? 0) > 0;
  }

  elements(key: string): string[] {
    const elems = this.keys.get(key);
    if (elems === undefined) return [];
    return [...elems.keys()].filter((e) => elems.get(e)!.size > 0).sort();
  }

  get cloudSize(): number {
    return this.removedCloud.size;
  }

  gc(s: Stability, held: VersionVector): void {
    for (const [d, r] of this.liveDots.entries()) if (r.op === 'remove' && s.stable.covers(r)) this.liveDots.delete(d);
    for (const [k, c] of this.removedCloud) if (held.covers(c.dot)) this.removedCloud.delete(k);
  }

  render(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const key of [...this.keys.keys()].sort()) {
      const elems = this.elements(key);
      if (elems.length > 0) out[key] = elems;
    }
    return out;
  }

  clone(): SetStore {
    const c = new SetStore(this.unsafe);
    for (const [key, elems] of this.keys) {
      const m = new Map<string, Map<string, AddRecord>>();
      for (const [e, dots] of elems) m.set(e, new Map(dots));
      c.keys.set(key, m);
    }
    for (const [k, v] of this.removedCloud) c.removedCloud.set(k, v);
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
