// Recently written or read revision records, in memory, so a Range of a hot key answers
// without an asynchronous RocksDB get (the largest single cost of a serializable Range in
// the profile, README "Benchmark"). A revision's record never changes once written, so a
// cached record is never stale; a compaction drops the revisions it removes.
//
// Bounded by an estimate of the bytes held. Eviction is CLOCK (second chance): a hit only
// marks the entry; the evictor walks from the oldest insertion, moving marked entries to
// the back and dropping the first unmarked one. Re-inserting on every hit (true LRU with a
// Map) costs ~3 µs per hit in V8, more than the RocksDB get it saves.

import type { KvRecord } from './records.js';

/** Bytes of records kept in memory per member; 0 turns the cache off. */
export const RECORD_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** What a record costs beyond its key and value (objects, map entry, cache key). */
const RECORD_OVERHEAD_BYTES = 160;

interface Slot {
  record: KvRecord;
  used: boolean;
}

export class RecordCache {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;
  /** Lookups answered from memory and not, since this cache was made (for metrics). */
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number = RECORD_CACHE_BYTES_DEFAULT) {}

  get(key: string): KvRecord | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    slot.used = true;
    return slot.record;
  }

  set(key: string, record: KvRecord): void {
    const size = sizeOf(record);
    if (size > this.maxBytes) return;
    this.delete(key);
    this.slots.set(key, { record: detached(record), used: false });
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.evictOne();
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    this.slots.delete(key);
    this.bytes -= sizeOf(slot.record);
  }

  private evictOne(): void {
    // Terminates: every marked entry is unmarked as it moves to the back.
    for (;;) {
      const [key, slot] = this.slots.entries().next().value as [string, Slot];
      this.slots.delete(key);
      if (!slot.used) {
        this.bytes -= sizeOf(slot.record);
        return;
      }
      slot.used = false;
      this.slots.set(key, slot);
    }
  }

  get size(): number {
    return this.slots.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}

/**
 * The record with key and value in memory of their own. A record applied from the log
 * views into the entry's bytes, which may be a whole multi-megabyte peer frame: cached
 * as is, one small record would keep the frame alive for as long as it stays cached.
 */
function detached(r: KvRecord): KvRecord {
  if (ownsMemory(r.key) && ownsMemory(r.value)) return r;
  return { ...r, key: ownCopy(r.key), value: ownCopy(r.value) };
}

function ownsMemory(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
}

function ownCopy(b: Uint8Array): Uint8Array {
  return ownsMemory(b) ? b : new Uint8Array(b); // copies: a typed array from a typed array
}

function sizeOf(r: KvRecord): number {
  return r.key.length + r.value.length + RECORD_OVERHEAD_BYTES;
}
