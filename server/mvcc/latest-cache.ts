// Live kvs as of the published revision, in memory, by keyString: a Range of a hot key
// and the applier's read of a key's create revision, version and lease answer without an
// engine read. Each entry is one byte array (the MvccLatest row as stored, or an empty one
// for "no such key"), not an object graph: the cache's share of a major GC is a few
// objects per entry, whatever the entry holds. What enters: keys read, and keys written
// again; a key's first write does not (state.ts publishOverlay: a load of new keys would
// churn the cache, and the old generation with it, at the write rate).

import { decodeLatest, encodeLatest } from './kv-layout.js';
import { ClockCache } from './record-cache.js';
import type { KeyValue } from './types.js';

/** Bytes of live kvs kept in memory per member; 0 turns it off. */
export const LATEST_CACHE_BYTES_DEFAULT = 32 * 1024 * 1024;
/** What an entry costs beyond its bytes (the array, its buffer, map entry and key string). */
const LATEST_OVERHEAD_BYTES = 120;
const ABSENT = new Uint8Array(0);

export class LatestCache extends ClockCache<Uint8Array> {
  constructor(maxBytes: number = LATEST_CACHE_BYTES_DEFAULT) {
    super(maxBytes, (v) => v.length + LATEST_OVERHEAD_BYTES, (v) => v);
  }

  /** The live kv of `key` (keyString `ks`); null if known absent, undefined if not cached. */
  lookup(key: Uint8Array, ks: string): KeyValue | null | undefined {
    const bytes = this.get(ks);
    if (bytes === undefined) return undefined;
    return bytes.length === 0 ? null : decodeLatest(key, bytes);
  }

  /** Remembers the kv of `ks` (null: the key is absent). */
  remember(ks: string, kv: KeyValue | null): void {
    this.set(ks, kv === null ? ABSENT : encodeLatest(kv));
  }
}
