// The in-memory key index (etcd's treeIndex): user key → generations of revisions.
// A generation is one life of a key, from the put that creates it to the delete that
// ends it. Values live in the engine under their revision; this index says which
// revision of a key is visible at a given store revision. Rebuilt on open.

import { assert } from '../util/assert.js';
import { SortedKeys } from './sorted-keys.js';

export interface Revision {
  main: number;
  sub: number;
}

interface Generation {
  /** Main revision of the put that began this life of the key. */
  created: number;
  /** Version (put count) of revs[0]; advances when compaction drops older revisions. */
  firstVersion: number;
  mains: number[];
  subs: number[];
  /** True once a delete ended it; the last revision then is the tombstone. */
  closed: boolean;
}

/** What the index knows of one key at one revision, enough to answer without the value. */
export interface IndexHit {
  main: number;
  sub: number;
  createRevision: number;
  version: number;
}

export class KeyIndex {
  generations: Generation[] = [];
  /** Lease of the live version; 0 when none or deleted. */
  lease = 0;

  constructor(readonly key: Uint8Array) {}

  get live(): boolean {
    const g = this.generations[this.generations.length - 1];
    return g !== undefined && !g.closed;
  }

  /** Records a put; returns the create revision and version of the new kv. */
  put(main: number, sub: number): { createRevision: number; version: number } {
    let g = this.generations[this.generations.length - 1];
    if (g === undefined || g.closed) {
      g = { created: main, firstVersion: 1, mains: [], subs: [], closed: false };
      this.generations.push(g);
    }
    assert(g.mains.length === 0 || (g.mains[g.mains.length - 1] as number) <= main, 'revisions go backwards');
    g.mains.push(main);
    g.subs.push(sub);
    return { createRevision: g.created, version: g.firstVersion + g.mains.length - 1 };
  }

  /** Re-adds a put read back from the engine (open): its generation may have been compacted. */
  restorePut(main: number, sub: number, createRevision: number, version: number): void {
    let g = this.generations[this.generations.length - 1];
    if (g === undefined || g.closed) {
      g = { created: createRevision, firstVersion: version, mains: [], subs: [], closed: false };
      this.generations.push(g);
    }
    assert(g.firstVersion + g.mains.length === version, () => `version gap restoring revision ${main}.${sub}`);
    g.mains.push(main);
    g.subs.push(sub);
  }

  tombstone(main: number, sub: number): void {
    const g = this.generations[this.generations.length - 1];
    assert(g !== undefined && !g.closed, 'tombstone of a key that is not live');
    g.mains.push(main);
    g.subs.push(sub);
    g.closed = true;
    this.lease = 0;
  }

  /** The live kv as of revision `at` (undefined if absent or deleted then). */
  get(at: number): IndexHit | undefined {
    for (let gi = this.generations.length - 1; gi >= 0; gi--) {
      const g = this.generations[gi] as Generation;
      if (g.mains.length === 0 || (g.mains[0] as number) > at) continue;
      const i = lastAtOrBefore(g.mains, at);
      if (g.closed && i === g.mains.length - 1) return undefined;
      return { main: g.mains[i] as number, sub: g.subs[i] as number, createRevision: g.created, version: g.firstVersion + i };
    }
    return undefined;
  }

  /** Drops revisions compaction at `at` makes unreachable; returns them. Empty index ⇒ caller removes the key. */
  compact(at: number, removed: Revision[]): void {
    // The newest revision <= at stays (reads at `at` need it) unless it is a tombstone.
    let keepGen = -1;
    let keepIdx = -1;
    for (let gi = this.generations.length - 1; gi >= 0 && keepGen < 0; gi--) {
      const g = this.generations[gi] as Generation;
      if (g.mains.length > 0 && (g.mains[0] as number) <= at) {
        keepGen = gi;
        keepIdx = lastAtOrBefore(g.mains, at);
      }
    }
    if (keepGen < 0) return;
    const g = this.generations[keepGen] as Generation;
    if (g.closed && keepIdx === g.mains.length - 1) keepIdx++; // the tombstone goes too
    for (let gi = 0; gi < keepGen; gi++) {
      const old = this.generations[gi] as Generation;
      for (let i = 0; i < old.mains.length; i++) removed.push({ main: old.mains[i] as number, sub: old.subs[i] as number });
    }
    for (let i = 0; i < keepIdx; i++) removed.push({ main: g.mains[i] as number, sub: g.subs[i] as number });
    g.mains.splice(0, keepIdx);
    g.subs.splice(0, keepIdx);
    g.firstVersion += keepIdx;
    this.generations.splice(0, keepGen);
    if (g.mains.length === 0 && g.closed) this.generations.splice(0, 1);
  }

  get empty(): boolean {
    return this.generations.every((g) => g.mains.length === 0);
  }
}

function lastAtOrBefore(mains: number[], at: number): number {
  let lo = 0;
  let hi = mains.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((mains[mid] as number) <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** latin1 string of the key bytes: JS string order equals bytewise order. */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export class TreeIndex {
  private readonly byKey = new Map<string, KeyIndex>();
  private readonly order = new SortedKeys();

  get size(): number {
    return this.byKey.size;
  }

  get(key: Uint8Array): KeyIndex | undefined {
    return this.byKey.get(keyString(key));
  }

  getOrCreate(key: Uint8Array): KeyIndex {
    const s = keyString(key);
    let ki = this.byKey.get(s);
    if (ki === undefined) {
      ki = new KeyIndex(key.slice());
      this.byKey.set(s, ki);
      this.order.insert(s);
    }
    return ki;
  }

  /**
   * Key indexes in [key, rangeEnd) in key order, etcd's rules: empty rangeEnd is the single
   * key, "\0" is every key >= key.
   */
  *range(key: Uint8Array, rangeEnd: Uint8Array | undefined): Generator<KeyIndex> {
    if (rangeEnd === undefined || rangeEnd.length === 0) {
      const ki = this.get(key);
      if (ki !== undefined) yield ki;
      return;
    }
    const to = rangeEnd.length === 1 && rangeEnd[0] === 0 ? undefined : keyString(rangeEnd);
    for (const s of this.order.range(keyString(key), to)) yield this.byKey.get(s) as KeyIndex;
  }

  /** Compacts every key at `at`; returns the revisions to delete from the engine. */
  compact(at: number): Revision[] {
    const removed: Revision[] = [];
    const emptied: string[] = [];
    for (const [s, ki] of this.byKey) {
      ki.compact(at, removed);
      if (ki.empty) emptied.push(s);
    }
    for (const s of emptied) {
      this.byKey.delete(s);
      this.order.delete(s);
    }
    return removed;
  }
}
