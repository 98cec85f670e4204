// Multi-value map (dotted version vectors, Riak style). Each write is a dot plus the context
// its writer had seen of the key; a sibling survives until some record's context covers its
// dot. A reader gets the siblings and a token (the key's context); a write that sends the
// token back replaces exactly the siblings it saw.

import { bytesKey, renderBytes, renderMap, type RenderedBytes, type RenderedMap } from './bytes.js';
import { DotMap, dotKey, VersionVector } from './dots.js';
import { SiblingCapError } from './errors.js';
import type { MvRecord } from './records.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

/** Riak's defaults: warn past 25 siblings, refuse a write that would leave more than 100. */
export const MV_SIBLINGS_WARN_DEFAULT = 25;
export const MV_SIBLINGS_CAP_DEFAULT = 100;

interface Entry {
  readonly key: Uint8Array;
  siblings: Map<string, MvRecord>;
  /** Join of every applied record's context: the dots of this key already replaced. */
  covered: VersionVector;
}

export class MvStore implements TypeStore<MvRecord> {
  /** bytesKey(key) → entry. */
  private readonly keys = new Map<string, Entry>();
  private liveDots = new DotMap<MvRecord>();

  constructor(
    readonly unsafe: UnsafeCrdtSwitches = {},
    readonly siblingsCap = MV_SIBLINGS_CAP_DEFAULT,
    readonly siblingsWarn = MV_SIBLINGS_WARN_DEFAULT,
  ) {}

  apply(r: MvRecord): void {
    const id = bytesKey(r.key);
    let e = this.keys.get(id);
    if (e === undefined) this.keys.set(id, (e = { key: r.key, siblings: new Map(), covered: new VersionVector() }));
    // The context joins even when r itself was replaced before it arrived: covered is then
    // the join of every applied record's context whatever the order (commutative).
    e.covered.join(VersionVector.from(r.context));
    for (const [k, s] of e.siblings) {
      if (e.covered.covers(s)) {
        e.siblings.delete(k);
        this.liveDots.delete(s);
      }
    }
    if (e.covered.covers(r)) return; // replaced before it arrived
    e.siblings.set(dotKey(r), r);
    this.liveDots.set(r, r);
  }

  live(origin: string, seq: number): MvRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** Sibling values in dot order, and the token to send back with the next write. */
  read(key: Uint8Array): { values: Uint8Array[]; token: Record<string, number> } {
    const e = this.keys.get(bytesKey(key));
    if (e === undefined) return { values: [], token: {} };
    const token = e.covered.clone();
    for (const s of e.siblings.values()) token.advance(s.origin, s.seq);
    return { values: this.sorted(e).map((s) => s.value), token: token.toJSON() };
  }

  /** Throws SiblingCapError if a write with this token would leave more than the cap. */
  checkWrite(key: Uint8Array, token: Readonly<Record<string, number>>): void {
    const e = this.keys.get(bytesKey(key));
    if (e === undefined) return;
    const t = VersionVector.from(token);
    let left = 1;
    for (const s of e.siblings.values()) if (!t.covers(s)) left++;
    if (left > this.siblingsCap) throw new SiblingCapError(key, left, this.siblingsCap);
  }

  /** Keys with more than one sibling (`unresolved_conflicts`). */
  unresolvedConflicts(): number {
    let n = 0;
    for (const e of this.keys.values()) if (e.siblings.size > 1) n++;
    return n;
  }

  /** Keys past the sibling warning threshold. */
  overWarning(): Uint8Array[] {
    return [...this.keys].sort(([a], [b]) => (a < b ? -1 : 1)).filter(([, e]) => e.siblings.size > this.siblingsWarn).map(([, e]) => e.key);
  }

  private sorted(e: Entry): MvRecord[] {
    return [...e.siblings.values()].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq));
  }

  gc(): void {
    /* replaced siblings leave at once; the per-key context is bounded by the origins */
  }

  render(): RenderedMap<RenderedBytes[]> {
    return renderMap(this.keys, (e) => (e.siblings.size > 0 ? this.sorted(e).map((s) => renderBytes(s.value)) : undefined));
  }

  clone(): MvStore {
    const c = new MvStore(this.unsafe, this.siblingsCap, this.siblingsWarn);
    for (const [k, e] of this.keys) c.keys.set(k, { key: e.key, siblings: new Map(e.siblings), covered: e.covered.clone() });
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
