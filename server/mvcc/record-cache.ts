// Recently written or read revision records, in memory, so a Range of a hot key answers
// without an asynchronous RocksDB get (the largest single cost of a serializable Range in
// the profile, README "Benchmark"). A revision's record never changes once written, so a
// cached record is never stale; a compaction drops the revisions it removes.
//
// Bounded by an estimate of the bytes held; least recently used records go first (a Map
// keeps insertion order, and a hit re-inserts).

import type { KvRecord } from './records.js';

/** Bytes of records kept in memory per member; 0 turns the cache off. */
export const RECORD_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** What a record costs beyond its key and value (objects, map entry, cache key). */
const RECORD_OVERHEAD_BYTES = 160;

export class RecordCache {
  private readonly records = new Map<string, KvRecord>();
  private bytes = 0;

  constructor(readonly maxBytes: number = RECORD_CACHE_BYTES_DEFAULT) {}

  get(key: string): KvRecord | undefined {
    const r = this.records.get(key);
    if (r !== undefined) {
      this.records.delete(key);
      this.records.set(key, r);
    }
    return r;
  }

  set(key: string, r: KvRecord): void {
    const size = sizeOf(r);
    if (size > this.maxBytes) return;
    this.delete(key);
    this.records.set(key, r);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const oldest = this.records.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const r = this.records.get(key);
    if (r === undefined) return;
    this.records.delete(key);
    this.bytes -= sizeOf(r);
  }

  get size(): number {
    return this.records.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}

function sizeOf(r: KvRecord): number {
  return r.key.length + r.value.length + RECORD_OVERHEAD_BYTES;
}
