// Add-wins observed-remove set per key. An add is its own dot; a remove lists the add dots
// it observed and nothing else, so an add concurrent with it survives. No tombstone per
// element: a removed add dot that has not arrived yet waits in a small cloud (the causal
// context beyond the vector) and is forgotten once the vector covers it. Remove records
// themselves are kept only until causally stable.

import { bytesKey, renderBytes, renderMap, type RenderedBytes, type RenderedMap } from './bytes.js';
import { DotMap, dotKey, type Dot, type VersionVector } from './dots.js';
import type { SetRecord } from './records.js';
import { setAddBlocked, setRemoveEffects } from './rules.js';
import type { Stability, TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

type AddRecord = Extract<SetRecord, { op: 'add' }>;

/** The elements of one key (bytesKey → add records) in byte order: bytesKeys sort that way. */
function elementsOf(elems: ReadonlyMap<string, ReadonlyMap<string, AddRecord>> | undefined): Uint8Array[] {
  if (elems === undefined) return [];
  const out: Uint8Array[] = [];
  for (const e of [...elems.keys()].sort()) {
    const first = elems.get(e)!.values().next();
    if (first.done !== true) out.push(first.value.elem);
  }
  return out;
}

export class SetStore implements TypeStore<SetRecord> {
  /** bytesKey(key) → bytesKey(element) → add dot → add record. */
  private readonly keys = new Map<string, Map<string, Map<string, AddRecord>>>();
  /** Removed add dots not held yet, with the (key, element) as bytesKeys they removed. */
  private readonly removedCloud = new Map<string, { key: string; elem: string; dot: Dot }>();
  private liveDots = new DotMap<SetRecord>();

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  apply(r: SetRecord, held: VersionVector): void {
    const k = dotKey(r);
    const key = bytesKey(r.key);
    const elem = bytesKey(r.elem);
    if (r.op === 'add') {
      const blocked = this.removedCloud.get(k);
      if (blocked !== undefined && blocked.key === key && setAddBlocked(blocked, elem)) {
        this.removedCloud.delete(k);
        return;
      }
      this.adds(key, elem, true)!.set(k, r);
      this.liveDots.set(r, r);
      return;
    }
    const adds = this.adds(key, elem, false);
    const { taken, cloud } = setRemoveEffects(new Set(adds?.keys() ?? []), r, held);
    for (const d of taken) {
      adds!.delete(dotKey(d));
      this.liveDots.delete(d);
    }
    for (const d of cloud) this.removedCloud.set(dotKey(d), { key, elem, dot: d });
    if (adds !== undefined && adds.size === 0) this.keys.get(key)!.delete(elem);
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
  observed(key: Uint8Array, elem: Uint8Array): Dot[] {
    return [...(this.keys.get(bytesKey(key))?.get(bytesKey(elem))?.values() ?? [])].map((r) => ({ origin: r.origin, seq: r.seq }));
  }

  has(key: Uint8Array, elem: Uint8Array): boolean {
    return (this.keys.get(bytesKey(key))?.get(bytesKey(elem))?.size ?? 0) > 0;
  }

  /** The elements of `key` in byte order (their bytesKey strings sort the same way). */
  elements(key: Uint8Array): Uint8Array[] {
    return elementsOf(this.keys.get(bytesKey(key)));
  }

  get cloudSize(): number {
    return this.removedCloud.size;
  }

  gc(s: Stability, held: VersionVector): void {
    for (const [d, r] of this.liveDots.entries()) if (r.op === 'remove' && s.stable.covers(r)) this.liveDots.delete(d);
    for (const [k, c] of this.removedCloud) if (held.covers(c.dot)) this.removedCloud.delete(k);
  }

  render(): RenderedMap<RenderedBytes[]> {
    return renderMap(this.keys, (elems) => {
      const list = elementsOf(elems);
      return list.length > 0 ? list.map(renderBytes) : undefined;
    });
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
