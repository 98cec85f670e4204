// The storage seam: a small promise-based key-value engine. RocksDB (rocksdb-engine.ts) is
// the real one; memory-engine.ts is the reference. Both pass engine-suite.ts.
//
// Keys are byte strings compared bytewise; callers put a one-byte keyspace prefix and
// big-endian numbers in them (keys.ts) so that iteration order is numeric order.

import { compareBytes } from '../util/bytes.js';

export type Bytes = Uint8Array;

export type BatchOp =
  | { type: 'put'; key: Bytes; value: Bytes }
  | { type: 'del'; key: Bytes };

/** Bounds are inclusive (gte/lte) or exclusive (gt/lt); an empty bound is no bound, as in
 *  leveldown. Keys themselves are never empty. */
export interface IterateOptions {
  gt?: Bytes;
  gte?: Bytes;
  lt?: Bytes;
  lte?: Bytes;
  reverse?: boolean;
  /** At most this many pairs; unlimited when absent. */
  limit?: number;
}

/** What scan() hands out per step: at most ENGINE_SCAN_CHUNK_PAIRS_MAX pairs, and about
 *  ENGINE_SCAN_CHUNK_BYTES of keys and values (one pair may exceed it alone). */
export const ENGINE_SCAN_CHUNK_PAIRS_MAX = 1000;
export const ENGINE_SCAN_CHUNK_BYTES = 64 * 1024;

export interface ScanOptions extends IterateOptions {
  /** false: values come back empty (not copied out of the engine). */
  values?: boolean;
  /** false: keys come back empty too; with values false, a count as cheap as it gets
   *  (copying a key into a Buffer costs more than RocksDB's step to it). */
  keys?: boolean;
  /** Bytes per chunk instead of ENGINE_SCAN_CHUNK_BYTES: a whole-database stream (snapshot)
   *  reads more per round trip; the pair bound stays. */
  chunkBytes?: number;
  /**
   * Key ranges [gte, lt) left out, ascending and not overlapping (forward scans only). An
   * engine that can seeks past each one on the same view, so its pairs are never read: a
   * snapshot stream leaves out the keyspaces its receiver derives (storage/state-snapshot.ts).
   */
  skip?: ReadonlyArray<{ gte: Bytes; lt: Bytes }>;
  /** Read the next chunk while the caller works on this one (one chunk more in memory): a
   *  whole-database stream overlaps the engine's read with its own framing and sending. */
  readAhead?: boolean;
}

/** Whether `key` lies in one of `skip`'s ranges (for engines that filter rather than seek). */
export function inSkippedRange(key: Bytes, skip: ReadonlyArray<{ gte: Bytes; lt: Bytes }> | undefined): boolean {
  if (skip === undefined) return false;
  for (const r of skip) if (compareBytes(key, r.gte) >= 0 && compareBytes(key, r.lt) < 0) return true;
  return false;
}

export interface Engine {
  get(key: Bytes): Promise<Bytes | undefined>;
  /** Values of several keys (undefined where missing), in one round trip. */
  getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>>;
  /** Applies every op atomically, in order. `sync` makes it durable (fsync) before resolving. */
  write(ops: BatchOp[], options?: { sync?: boolean }): Promise<void>;
  /** An empty batch to fill op by op (EngineBatch): a bulk load without op objects. */
  batch(): EngineBatch;
  /** Pairs in key order (or reverse), read from one consistent view of the database. */
  iterate(options?: IterateOptions): AsyncIterableIterator<[Bytes, Bytes]>;
  /**
   * Like iterate(), but pairs come in chunks (bounded as ENGINE_SCAN_CHUNK_* say), so a
   * caller can do bounded work per chunk and the event loop runs between chunks. The view
   * is fixed when scan() is called (synchronously), not at the first next().
   */
  scan(options?: ScanOptions): AsyncIterableIterator<Array<[Bytes, Bytes]>>;
  /** Deletes every key in [gte, lt). */
  clear(range: { gte: Bytes; lt: Bytes }): Promise<void>;
  /** Bytes the database takes on disk (approximate; 0 for the memory engine's overhead). */
  approximateSize(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Puts and deletes added one at a time and written together, for a bulk load that builds
 * its pairs in scratch memory (a snapshot install: a million keys, three pairs each). put
 * and del copy the bytes before they return, so the caller may reuse them at once; the
 * RocksDB engine copies them into a native batch, keeping nothing per op in the JS heap
 * (op objects and their views, held until the write, were a third of an install's time in
 * garbage collection). One write at a time per batch; a written batch is empty again.
 */
export interface EngineBatch {
  put(key: Bytes, value: Bytes): void;
  del(key: Bytes): void;
  /** Bytes of keys and values added since the last write. */
  readonly bytes: number;
  /** Writes what was added, atomically and in order (`sync` as in Engine.write), and empties the batch. */
  write(options?: { sync?: boolean }): Promise<void>;
}

/** An EngineBatch over Engine.write, for engines without a native one: copies every op. */
export class OpsBatch implements EngineBatch {
  private ops: BatchOp[] = [];
  private added = 0;
  private writing = false;

  constructor(private readonly engine: Pick<Engine, 'write'>) {}

  get bytes(): number {
    return this.added;
  }

  put(key: Bytes, value: Bytes): void {
    this.checkIdle();
    this.ops.push({ type: 'put', key: key.slice(), value: value.slice() });
    this.added += key.length + value.length;
  }

  del(key: Bytes): void {
    this.checkIdle();
    this.ops.push({ type: 'del', key: key.slice() });
    this.added += key.length;
  }

  async write(options?: { sync?: boolean }): Promise<void> {
    this.checkIdle();
    const ops = this.ops;
    this.ops = [];
    this.added = 0;
    this.writing = true;
    try {
      await this.engine.write(ops, options);
    } finally {
      this.writing = false;
    }
  }

  private checkIdle(): void {
    if (this.writing) throw new Error('engine batch: changed while its write is in flight');
  }
}

/** Opens (creating if missing) the engine whose files live in `dir`. */
export type EngineOpener = (dir: string) => Promise<Engine>;
