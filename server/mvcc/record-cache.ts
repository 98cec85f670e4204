// Recently written or read revision records, in memory, so a Range of a hot key answers
// without an asynchronous RocksDB get (the largest single cost of a serializable Range in
// the profile, README "Benchmark"). A revision's record never changes once written, so a
// cached record is never stale; a compaction drops the revisions it removes.
//
// Bounded by an estimate of the bytes held. Eviction is CLOCK (second chance): a hit only
// marks the entry; the hand walks a ring of slots, unmarking marked entries and dropping
// the first unmarked one. Re-inserting on every hit (true LRU with a Map) costs ~3 µs per
// hit in V8, more than the RocksDB get it saves. The ring is an array, not a Map's
// insertion order: a Map used as a queue keeps its deleted entries as holes that every
// "oldest entry" lookup walks, which made eviction the top of the put profile at 300k keys.

import type { KvRecord } from './records.js';

/** Bytes of records kept in memory per member; 0 turns the cache off. */
export const RECORD_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** What a record costs beyond its key and value (objects, map entry, cache key). */
const RECORD_OVERHEAD_BYTES = 160;

/** A CLOCK cache of values of any kind, bounded by `sizeOf` of what it holds. */
export class ClockCache<V> {
  /** key → slot in the ring. */
  private readonly index = new Map<string, number>();
  private readonly keys: Array<string | undefined> = [];
  private readonly records: Array<V | undefined> = [];
  private readonly used: boolean[] = [];
  /** Empty slots of the ring, reused before it grows. */
  private readonly free: number[] = [];
  private hand = 0;
  private bytes = 0;
  /** Lookups answered from memory and not, since this cache was made (for metrics). */
  hits = 0;
  misses = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOfValue: (v: V) => number,
    /** What is kept for a value set (a copy that owns its memory, say). */
    private readonly keep: (v: V) => V,
  ) {}

  get(key: string): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.used[slot] = true;
    return this.records[slot];
  }

  set(key: string, record: V): void {
    const size = this.sizeOfValue(record);
    if (size > this.maxBytes) return;
    this.delete(key);
    const slot = this.free.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.records[slot] = this.keep(record);
    this.used[slot] = false;
    this.index.set(key, slot);
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.evictOne();
  }

  /** Whether `key` is held; unlike get(), not a use (no mark, no hit or miss counted). */
  has(key: string): boolean {
    return this.index.has(key);
  }

  delete(key: string): void {
    const slot = this.index.get(key);
    if (slot === undefined) return;
    this.drop(slot);
  }

  private drop(slot: number): void {
    const key = this.keys[slot] as string;
    this.index.delete(key);
    this.bytes -= this.sizeOfValue(this.records[slot] as V);
    this.keys[slot] = undefined;
    this.records[slot] = undefined;
    this.used[slot] = false;
    this.free.push(slot);
  }

  private evictOne(): void {
    // Terminates: the hand unmarks what it passes, so within two turns it finds an
    // unmarked entry (there is one: bytes > 0).
    for (;;) {
      if (this.hand >= this.keys.length) this.hand = 0;
      const slot = this.hand++;
      if (this.keys[slot] === undefined) continue;
      if (this.used[slot] === true) {
        this.used[slot] = false;
        continue;
      }
      this.drop(slot);
      return;
    }
  }

  get size(): number {
    return this.index.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}

/** Revision records by "main.sub". */
export class RecordCache extends ClockCache<KvRecord> {
  constructor(maxBytes: number = RECORD_CACHE_BYTES_DEFAULT) {
    super(maxBytes, sizeOf, detached);
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
