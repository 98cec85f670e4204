// Multi-value map (dotted version vectors, Riak style). Each write is a dot plus the context
// its writer had seen of the key; a sibling survives until some record's context covers its
// dot. A reader gets the siblings and a token (the key's context); a write that sends the
// token back replaces exactly the siblings it saw.

import { bytesKey, renderBytes, renderMap, type RenderedBytes, type RenderedMap } from './bytes.js';
import { DotMap } from './dots.js';
import { SiblingCapError } from './errors.js';
import type { MvRecord } from './records.js';
import { mvMerge, mvSiblingsAfterWrite, mvToken, type MvKeyState } from './rules.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

/** Riak's defaults: warn past 25 siblings, refuse a write that would leave more than 100. */
export const MV_SIBLINGS_WARN_DEFAULT = 25;
export const MV_SIBLINGS_CAP_DEFAULT = 100;

interface Entry {
  readonly key: Uint8Array;
  /** Siblings in dot order and the join of every applied record's context (rules.ts). */
  state: MvKeyState;
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
    const e = this.keys.get(id);
    const m = mvMerge(e?.state, r);
    if (e === undefined) this.keys.set(id, { key: r.key, state: m.state });
    else e.state = m.state;
    for (const s of m.replaced) this.liveDots.delete(s);
    if (m.kept) this.liveDots.set(r, r);
  }

  live(origin: string, seq: number): MvRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  /** Sibling values in dot order, and the token to send back with the next write. */
  read(key: Uint8Array): { values: Uint8Array[]; token: Record<string, number> } {
    const e = this.keys.get(bytesKey(key));
    if (e === undefined) return { values: [], token: {} };
    return { values: e.state.siblings.map((s) => s.value), token: mvToken(e.state) };
  }

  /** Throws SiblingCapError if a write with this token would leave more than the cap. */
  checkWrite(key: Uint8Array, token: Readonly<Record<string, number>>): void {
    const e = this.keys.get(bytesKey(key));
    if (e === undefined) return;
    const left = mvSiblingsAfterWrite(e.state, token);
    if (left > this.siblingsCap) throw new SiblingCapError(key, left, this.siblingsCap);
  }

  /** Keys with more than one sibling (`unresolved_conflicts`). */
  unresolvedConflicts(): number {
    let n = 0;
    for (const e of this.keys.values()) if (e.state.siblings.length > 1) n++;
    return n;
  }

  /** Keys past the sibling warning threshold. */
  overWarning(): Uint8Array[] {
    return [...this.keys].sort(([a], [b]) => (a < b ? -1 : 1)).filter(([, e]) => e.state.siblings.length > this.siblingsWarn).map(([, e]) => e.key);
  }

  gc(): void {
    /* replaced siblings leave at once; the per-key context is bounded by the origins */
  }

  render(): RenderedMap<RenderedBytes[]> {
    return renderMap(this.keys, (e) => (e.state.siblings.length > 0 ? e.state.siblings.map((s) => renderBytes(s.value)) : undefined));
  }

  clone(): MvStore {
    const c = new MvStore(this.unsafe, this.siblingsCap, this.siblingsWarn);
    // States are replaced, never changed in place (mvMerge returns a new one): share them.
    for (const [k, e] of this.keys) c.keys.set(k, { key: e.key, state: e.state });
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
