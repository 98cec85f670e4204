// The Engine over RocksDB, through the `rocksdb` npm package (leveldown's callback API).
//
// Every callback is wrapped in a Promise by hand (not util.promisify) so `this` stays
// bound and the NotFound error of `get` becomes `undefined`. Keys and values cross the
// binding as Buffers: leveldown turns anything else into a string.

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { assert } from '../util/assert.js';
import { selectRocksdbBinding } from './rocksdb-binding.js';
import { parseRocksStatistics, ROCKSDB_TUNING, STATE_ROCKSDB_TUNING, tuningFromEnv, type RocksTuning, type TuningScope } from './rocksdb-tuning.js';
import { stagedKey, stagedValue } from './native-staging.js';
import {
  ENGINE_SCAN_CHUNK_BYTES, type BatchOp, type Bytes, type Engine, type EngineBatch, type IterateOptions, type ScanOptions,
} from './engine.js';

/** Open options. The log and the state are small records written in batches. */
export const ROCKSDB_OPEN_OPTIONS = {
  createIfMissing: true,
  errorIfExists: false,
  /** Snappy: cheap on CPU, and log entries and mvcc values compress well. */
  compression: true,
  /**
   * Block cache per database (an LRU that fills as blocks are read, so the raft log's,
   * read mostly from memory by RaftLogStore, stays nearly empty). The state database's
   * key index lives here now (server/mvcc/kv-layout.ts): a get at the current revision
   * that misses the mvcc caches is a seek into MvccLatest, which wants that keyspace's
   * hot blocks resident. Scans (counts, snapshots, HashKV) read with fillCache false and
   * do not evict them. RocksDB 6.17's other defaults suit 2 cores: 2 background jobs
   * (flush + compaction), 2 memtables, L0 slowdown at 20 files. The package's open() takes
   * no more than cache, write buffer, block size and open files; the release build also
   * reads the rs* options of rocksdb-tuning.ts (memtable bloom, table format, ...).
   */
  cacheSize: 32 * 1024 * 1024,
  /** Memtable size before a flush; larger absorbs write bursts with fewer L0 files. */
  writeBufferSize: 16 * 1024 * 1024,
  /** Two databases per node and several nodes per test machine: cap file descriptors. */
  maxOpenFiles: 256,
  /** RocksDB's own LOG file: errors only, it is not rotated by us. */
  infoLogLevel: 'error',
} as const;

/** What RocksEngine.open takes besides `create`: ROCKSDB_OPEN_OPTIONS' keys, any values. */
export type RocksOpenOptions = {
  -readonly [K in keyof typeof ROCKSDB_OPEN_OPTIONS]?: (typeof ROCKSDB_OPEN_OPTIONS)[K] extends number ? number
    : (typeof ROCKSDB_OPEN_OPTIONS)[K] extends string ? string : boolean;
};


/** Pairs fetched per round trip to the binding's worker thread while iterating. */
export const ROCKSDB_ITERATOR_HIGH_WATER_BYTES = 64 * 1024;
/** leveldown passes `limit` as an int32. */
const ITERATOR_LIMIT_MAX = 0x7fff_ffff;
/** Bounds of approximateSize: every key we write starts with a keyspace byte below 0xff. */
const WHOLE_DB_START = Buffer.of(0x00);
const WHOLE_DB_END = Buffer.alloc(16, 0xff);

type Cb<T = void> = (err: Error | null | undefined, value?: T) => void;

interface LevelIterator {
  /** The native iterator (binding.iterator_next reads a whole chunk from it). */
  context: unknown;
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: Cb): void;
}

interface LevelDb {
  /** The native database (binding calls take it). */
  context: unknown;
  open(options: object, cb: Cb): void;
  close(cb: Cb): void;
  get(key: Buffer, options: object, cb: Cb<Buffer>): void;
  getMany(keys: Buffer[], options: object, cb: Cb<Array<Buffer | undefined>>): void;
  batch(ops: Array<{ type: 'put' | 'del'; key: Buffer; value?: Buffer }>, options: object, cb: Cb): void;
  iterator(options: object): LevelIterator;
  clear(options: object, cb: Cb): void;
  approximateSize(start: Buffer, end: Buffer, cb: Cb<number>): void;
  /** RocksDB's GetProperty (synchronous, an in-memory read of the database's state). */
  getProperty(name: string): string;
}

const require = createRequire(import.meta.url);
/** The release build when it is there (rocksdb-binding.ts): chosen before the package loads. */
export const ROCKSDB_BINDING = selectRocksdbBinding();
const rocksdb = require('rocksdb') as (location: string) => LevelDb;

/**
 * The state database's memtable (the raft log's keeps ROCKSDB_OPEN_OPTIONS'). Every put
 * writes its revision record, its latest row and its history entry there, the latter two
 * at scattered keys, so each flushed file overlaps all of level 1 and every level-0
 * compaction rewrites level 1's scattered part. The compaction work per byte is set by the
 * level-0 bytes gathered per compaction, memtable size × level-0 trigger: session 7 raised
 * it from 16 MiB × RocksDB's trigger of 4 to 64 MiB × 4 (compaction per put at 300k-600k
 * keys 12 → 3 µs). Session 10 (issue 20) keeps those 256 MiB per compaction as 16 MiB × 16
 * (STATE_ROCKSDB_TUNING's trigger) because a put's scattered inserts search the skip list
 * (RocksDB's RecomputeSpliceLevels: the largest RocksDB symbol in perf on every member) and
 * a smaller one is shallower and more cache-resident. Measured against 64 MiB × 4
 * (scripts/bench-rocks-tuning.ts, trace-put-cpu.ts; README "Scale benchmark", session 10):
 * - 3-member loads 40k→200k-300k keys, random values, each pair of clusters run at once:
 *   libuv's pool (memtable inserts, WAL, read-ahead) 1.5-3.4 µs per put per member less
 *   (16.7-20.8 → 14.7-18.5 µs at load 18-28, 15.0-15.9 → 13.4-14.4 at load 4-11; four
 *   pairs), flush within ±0.6; the leader's CPU per get at 200k-300k keys equal (131 / 128,
 *   116 / 116 µs; its pool's share +0-2 µs).
 * - A 1M-key state snapshot installed in process (bench-snapshot-stream, two each, run at
 *   once): CPU 5.9-6.0 → 4.9-5.1 s, wall 5.0-5.9 → 4.2-5.0 s.
 * - In process, 300k→1M keys, two pairs: CPU per put 21.6 → 20.7 and 22.4 → 21.8 µs (pool
 *   6.4 → 5.5, 6.8 → 5.9; compaction 2.2-2.3 → 2.4, 1.9 KB compacted per put either way);
 *   perf: RecomputeSpliceLevels 16.9 → 8.5 % of the process, the filter probes of the
 *   extra level-0 files 2.4 → 5.6 %; RSS 300-309 → 202-221 MiB; no write stall.
 * Cost: up to 16 level-0 files (11 at the end of the 1M load, against 2), which each read
 * of a key that is not in the memtables probes one bloom filter each: a point get ~+1 µs
 * (19 → 20 µs in process at 1M), a long scan ~20 % more merge work (a count scan of 1M
 * keys 372 → 453 ms of CPU, one pair). The package's prebuilt binary ignores the rs*
 * trigger, so it keeps 64 MiB (16 MiB at a trigger of 4 compacts 4 times as much).
 */
export const STATE_WRITE_BUFFER_BYTES = ROCKSDB_BINDING.kind === 'release' ? 16 * 1024 * 1024 : 64 * 1024 * 1024;

/** The native binding under leveldown: its iterator_next hands out a whole chunk (an array
 *  of up to 1000 pairs or ~highWaterMark bytes, last pair first) per call, where
 *  leveldown's next() costs a process.nextTick per pair. */
const binding = require('rocksdb/binding') as {
  iterator_next(context: unknown, cb: (err: Error | null | undefined, array: Buffer[], finished: boolean) => void): void;
  /** Moves the native iterator to the first key >= target (within its bounds), on the view
   *  it was created with. Synchronous; never while an iterator_next is in flight. */
  iterator_seek(context: unknown, target: Buffer): void;
  /** A chained batch (the native WriteBatch behind leveldown's db.batch()): one native call
   *  per op, no op objects copied. Keys and values may be any Uint8Array (napi_is_buffer
   *  accepts every ArrayBufferView on Node 20); the binding copies them at once. */
  batch_init(dbContext: unknown): NativeBatch;
  batch_put(batch: NativeBatch, key: Uint8Array, value: Uint8Array): void;
  batch_del(batch: NativeBatch, key: Uint8Array): void;
  batch_clear(batch: NativeBatch): void;
  batch_write(batch: NativeBatch, options: { sync: boolean }, cb: Cb): void;
};

/** A native WriteBatch (an external: freed when garbage collected). */
type NativeBatch = { readonly __nativeBatch: unique symbol };

/**
 * Native batches kept per engine for reuse. A written batch is cleared and kept: its
 * memory (as large as the largest batch it held) is then reused, where a new batch per
 * write would hold its memory until a major GC finalizes it (V8 does not see its size).
 * A few cover the writes in flight at once (an apply, a snapshot install's pipeline).
 */
export const ROCKSDB_BATCH_POOL_MAX = 4;
/** Bytes of keys and values copied into a native batch between two turns of the event
 *  loop: about 2 ms of the binding's copying on this machine. */
export const ROCKSDB_WRITE_YIELD_BYTES = 1024 * 1024;
/** Ops copied into a native batch between two turns of the event loop, whatever their size:
 *  small ops cost ~1 us each in the binding, so a 30k-op batch of tombstones (a delete of
 *  10k keys) is 2.4 MB but ~30 ms of calls; this bounds a step to ~2-3 ms. */
export const ROCKSDB_WRITE_YIELD_OPS = 2048;

function call<T = void>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

/** A Buffer over the same memory (no copy). */
function buf(b: Bytes): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The same memory as a plain Uint8Array: both engines return the same type, so callers
 *  (and deepEqual in tests) never see a Buffer from one and not the other. */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class RocksEngine implements Engine {
  private closed = false;
  /** Iterators not yet ended; close() ends them first (the binding never answers an end()
   *  of an iterator after its database has closed). */
  private readonly open = new Set<Abortable>();
  /** Cleared native batches ready for reuse (ROCKSDB_BATCH_POOL_MAX). */
  private readonly batches: NativeBatch[] = [];

  private constructor(private readonly db: LevelDb, readonly dir: string) {}

  /**
   * Opens the database in `dir`. `create: false` (DESIGN §5 storage faults) opens only an
   * existing database: RocksDB never creates, re-creates or rewrites one over files it
   * could not read (a missing CURRENT with create_if_missing once threw the data away).
   */
  static async open(dir: string, options: RocksOpenOptions & RocksTuning & { create?: boolean; scope?: TuningScope } = {}): Promise<RocksEngine> {
    const { create = true, scope = 'other', ...rest } = options;
    // Read before anything is created: a wrong override refuses the open, not half of it.
    const override = tuningFromEnv(process.env, scope);
    if (create) await mkdir(dir, { recursive: true });
    const db = rocksdb(dir);
    // rs* keys (rocksdb-tuning.ts) are read by the release build, ignored by the prebuilt one.
    await call((cb) => db.open({ ...ROCKSDB_OPEN_OPTIONS, ...ROCKSDB_TUNING, ...rest, ...override, createIfMissing: create }, cb));
    return new RocksEngine(db, dir);
  }

  /** A RocksDB property (`rocksdb.stats`, `rocksdb.num-files-at-level0`, ...); undefined when RocksDB has none by that name. */
  property(name: string): string | undefined {
    this.checkOpen();
    try {
      return this.db.getProperty(name);
    } catch {
      return undefined;
    }
  }

  /**
   * RocksDB's statistics tickers by name (block cache hits and misses, bloom filter useful,
   * memtable hits and misses, stall micros, compaction bytes...): empty unless the database
   * was opened with rsStatistics by the release build.
   */
  statistics(): Record<string, number> {
    return parseRocksStatistics(this.property('rocksdb.options-statistics') ?? '');
  }

  async get(key: Bytes): Promise<Bytes | undefined> {
    this.checkOpen();
    try {
      return plain(await call<Buffer>((cb) => this.db.get(buf(key), { asBuffer: true }, cb)));
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NotFound')) return undefined;
      throw err;
    }
  }

  async getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    this.checkOpen();
    if (keys.length === 0) return [];
    const values = await call<Array<Buffer | undefined>>((cb) => this.db.getMany(keys.map(buf), { asBuffer: true }, cb));
    return values.map((v) => (v === undefined ? undefined : plain(v)));
  }

  /**
   * Through a chained native batch: leveldown's db.batch(array) copied every op into two
   * new objects and two Buffer views before the binding read each op's properties; this
   * is one native call per op (a 10k-op batch of 290-byte pairs: 0.9 us per op instead of
   * 2.0, RocksDB's own write included). An empty batch is not written (nor synced).
   */
  async write(ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    this.checkOpen();
    if (ops.length === 0) return;
    const batch = this.batches.pop() ?? binding.batch_init(this.db.context);
    try {
      let sinceYield = 0;
      let opsSinceYield = 0;
      for (const op of ops) {
        // leveldown refused these before the binding saw them; the binding would write an
        // empty key. The batch is cleared below unwritten: refused as a whole.
        if (op.key.length === 0) throw new Error('rocksdb write: a key cannot be empty');
        if (op.type === 'put') {
          binding.batch_put(batch, stagedKey(op.key), stagedValue(op.value));
          sinceYield += op.key.length + op.value.length;
        } else {
          binding.batch_del(batch, stagedKey(op.key));
          sinceYield += op.key.length;
        }
        // A big batch is built across turns of the event loop (a delete of 10k keys of 512
        // bytes, etcdctl check datascale's clean-up, held every member's loop ~0.5 s in
        // one go); it is still written once, atomically. Writes called meanwhile may reach
        // RocksDB first: concurrent writes were never ordered (each runs on its own libuv
        // thread); callers that need an order await (RaftLogStore chains its writes).
        if (sinceYield >= ROCKSDB_WRITE_YIELD_BYTES || ++opsSinceYield >= ROCKSDB_WRITE_YIELD_OPS) {
          sinceYield = 0;
          opsSinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.checkOpen();
        }
      }
      // sync: WriteOptions.sync, the WAL is fsynced before the callback.
      await call((cb) => binding.batch_write(batch, { sync: options.sync === true }, cb));
    } finally {
      binding.batch_clear(batch);
      if (this.batches.length < ROCKSDB_BATCH_POOL_MAX) this.batches.push(batch);
    }
  }

  /** A native batch filled op by op (the binding copies each key and value at once). */
  batch(): EngineBatch {
    this.checkOpen();
    return new RocksBatch(this.batches.pop() ?? binding.batch_init(this.db.context), () => this.checkOpen());
  }

  iterate(options: IterateOptions = {}): AsyncIterableIterator<[Bytes, Bytes]> {
    return this.openIterator(options, ROCKSDB_ITERATOR_HIGH_WATER_BYTES);
  }

  private openIterator(options: IterateOptions, highWaterMark: number): AsyncIterableIterator<[Bytes, Bytes]> {
    this.checkOpen();
    const levelOptions = iteratorOptions(options, highWaterMark);
    // The binding takes a RocksDB snapshot right here, so the view is fixed at iterate().
    if (levelOptions['limit'] === 0) return emptyIterator<[Bytes, Bytes]>();
    const it = new RocksIterator(this.db.iterator(levelOptions), () => this.open.delete(it));
    this.open.add(it);
    return it;
  }

  scan(options: ScanOptions = {}): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    this.checkOpen();
    const levelOptions = iteratorOptions(options, options.chunkBytes ?? ENGINE_SCAN_CHUNK_BYTES);
    // An empty string is all but free; an empty Buffer is an allocation per pair.
    if (options.values === false) Object.assign(levelOptions, { values: false, valueAsBuffer: false });
    if (options.keys === false) Object.assign(levelOptions, { keys: false, keyAsBuffer: false });
    if (levelOptions['limit'] === 0) return emptyIterator();
    const skip = options.skip ?? [];
    assert(skip.length === 0 || (options.reverse !== true && options.limit === undefined), 'scan: skip is for forward scans without a limit');
    const it = new RocksScanner(this.db.iterator(levelOptions), options.keys !== false, options.values !== false, () => this.open.delete(it),
      skip, options.readAhead === true);
    this.open.add(it);
    return it;
  }

  async clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    this.checkOpen();
    const options: Record<string, unknown> = {};
    if (range.gte.length > 0) options['gte'] = buf(range.gte);
    if (range.lt.length > 0) options['lt'] = buf(range.lt);
    await call((cb) => this.db.clear(options, cb));
  }

  async approximateSize(): Promise<number> {
    this.checkOpen();
    return call<number>((cb) => this.db.approximateSize(WHOLE_DB_START, WHOLE_DB_END, cb));
  }

  /** Ends any iterator still open, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.open].map((it) => it.abort()));
    await call((cb) => this.db.close(cb));
  }

  private checkOpen(): void {
    assert(!this.closed, () => `rocksdb engine at ${this.dir} is closed`);
  }
}

/** An EngineBatch over one native WriteBatch, kept for the batch's life (freed when
 *  garbage collected, like the engine's pooled ones). */
class RocksBatch implements EngineBatch {
  private added = 0;
  private writing = false;

  constructor(private readonly native: NativeBatch, private readonly checkOpen: () => void) {}

  get bytes(): number {
    return this.added;
  }

  put(key: Bytes, value: Bytes): void {
    this.check(key);
    binding.batch_put(this.native, stagedKey(key), stagedValue(value));
    this.added += key.length + value.length;
  }

  del(key: Bytes): void {
    this.check(key);
    binding.batch_del(this.native, stagedKey(key));
    this.added += key.length;
  }

  async write(options: { sync?: boolean } = {}): Promise<void> {
    this.checkOpen();
    if (this.writing) throw new Error('rocksdb batch: a second write while one is in flight');
    this.writing = true;
    try {
      await call((cb) => binding.batch_write(this.native, { sync: options.sync === true }, cb));
    } finally {
      binding.batch_clear(this.native);
      this.added = 0;
      this.writing = false;
    }
  }

  private check(key: Bytes): void {
    this.checkOpen();
    // The native batch is being written on the binding's thread: no op meanwhile.
    if (this.writing) throw new Error('rocksdb batch: changed while its write is in flight');
    if (key.length === 0) throw new Error('rocksdb write: a key cannot be empty');
  }
}

/**
 * An iterator over a native one. The native iterator holds a snapshot until ended, so it
 * is ended when exhausted, on error, and on return() (a `for await` that breaks early).
 * An iterator that is created and never consumed holds its snapshot until close().
 */
function iteratorOptions(options: IterateOptions, highWaterMark: number): Record<string, unknown> {
  const limit = options.limit ?? -1;
  assert(Number.isInteger(limit) && limit >= -1 && limit <= ITERATOR_LIMIT_MAX, () => `bad iterate limit ${limit}`);
  const levelOptions: Record<string, unknown> = {
    reverse: options.reverse === true,
    limit,
    keyAsBuffer: true,
    valueAsBuffer: true,
    // A scan (snapshot stream, log load, count) should not evict the hot blocks.
    fillCache: false,
    highWaterMark,
  };
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const b = options[bound];
    if (b !== undefined && b.length > 0) levelOptions[bound] = buf(b);
  }
  return levelOptions;
}

/** What an iterate() or scan() cut short by close() throws, so it never looks complete. */
function closedUnderIterator(): Error {
  return new Error('rocksdb engine closed during iteration: the scan is incomplete');
}

/** What close() ends under its consumer: a later next() then throws. */
interface Abortable {
  abort(): Promise<void>;
}

class RocksIterator implements AsyncIterableIterator<[Bytes, Bytes]>, Abortable {
  private ended = false;
  /** Ended by the engine's close(), not by its consumer: a later next() must throw, or a
   *  scan cut short (a snapshot being streamed) would look complete. */
  private aborted = false;

  constructor(
    private readonly it: LevelIterator,
    private readonly onEnd: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<[Bytes, Bytes]>> {
    this.checkNotAborted();
    if (this.ended) return { done: true, value: undefined };
    let pair: [Bytes, Bytes] | undefined;
    try {
      pair = await new Promise<[Bytes, Bytes] | undefined>((resolve, reject) => {
        this.it.next((err, key, value) => {
          if (err) reject(err);
          else resolve(key === undefined || value === undefined ? undefined : [plain(key), plain(value)]);
        });
      });
    } catch (err) {
      await this.end();
      throw err;
    }
    this.checkNotAborted(); // closed while this read was in flight
    if (pair === undefined) {
      await this.end();
      return { done: true, value: undefined };
    }
    return { done: false, value: pair };
  }

  /** The engine closes under this iterator. */
  async abort(): Promise<void> {
    if (!this.ended) this.aborted = true;
    await this.end();
  }

  private checkNotAborted(): void {
    if (this.aborted) throw closedUnderIterator();
  }

  async return(): Promise<IteratorResult<[Bytes, Bytes]>> {
    await this.end();
    return { done: true, value: undefined };
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    await call((cb) => this.it.end(cb));
  }
}

/** What one binding read hands back: a chunk laid out last pair first, and whether the
 *  iterator is exhausted after it. */
type NativeChunk = { array: Buffer[]; finished: boolean };

/**
 * Chunks straight from the binding: one native call per chunk, no per-pair tick. With
 * `skip`, a chunk that ends inside a skipped range is followed by a seek past it on the same
 * native iterator (so the same view); only the pairs of that one chunk inside the range were
 * read. With `readAhead`, the next chunk is requested as soon as this one is handed out.
 */
class RocksScanner implements AsyncIterableIterator<Array<[Bytes, Bytes]>>, Abortable {
  private ended = false;
  private finished = false;
  /** Ended by the engine's close(): a later next() throws (a cut scan must not look whole). */
  private aborted = false;
  /** The read requested ahead of the caller's next(), if any. */
  private ahead: Promise<NativeChunk> | undefined;
  /** Index of the first skipped range not yet behind the scan. */
  private skipAt = 0;

  constructor(
    private readonly it: LevelIterator,
    private readonly withKeys: boolean,
    private readonly withValues: boolean,
    private readonly onEnd: () => void,
    private readonly skip: ReadonlyArray<{ gte: Bytes; lt: Bytes }> = [],
    private readonly readAhead = false,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Array<[Bytes, Bytes]>>> {
    for (;;) {
      this.checkNotAborted();
      if (this.ended || (this.finished && this.ahead === undefined)) {
        await this.end();
        return { done: true, value: undefined };
      }
      let chunk: NativeChunk;
      try {
        chunk = await (this.ahead ?? this.read());
      } catch (err) {
        await this.end();
        throw err;
      } finally {
        this.ahead = undefined;
      }
      this.checkNotAborted(); // closed while this read was in flight
      const { array } = chunk;
      this.finished = chunk.finished;
      if (array.length === 0) {
        await this.end();
        return { done: true, value: undefined };
      }
      const pairs = this.pairsOf(array);
      // Only between two reads may the native iterator seek (a read runs on a libuv thread).
      if (!this.finished && this.readAhead) this.ahead = this.read();
      if (pairs.length > 0) return { done: false, value: pairs };
    }
  }

  /** One chunk from the binding (`finished` recorded by next(), not here: a read ahead
   *  must not end the scan before the chunk before it is handed out). */
  private read(): Promise<NativeChunk> {
    const p = new Promise<NativeChunk>((resolve, reject) => {
      binding.iterator_next(this.it.context, (err, array, finished) => (err ? reject(err) : resolve({ array, finished })));
    });
    p.catch(() => undefined); // a read ahead nobody awaits (the scan ended) must not go unhandled
    return p;
  }

  /** The chunk's pairs in key order, without those in skipped ranges; seeks past a skipped
   *  range the chunk ends in. */
  private pairsOf(array: Buffer[]): Array<[Bytes, Bytes]> {
    const pairs: Array<[Bytes, Bytes]> = [];
    let seekTo: Bytes | undefined;
    // The binding lays a chunk out last pair first: [..., v2, k2, v1, k1].
    for (let i = array.length - 1; i > 0; i -= 2) {
      const key = array[i] as Buffer;
      if (this.skipAt < this.skip.length) {
        let r = this.skip[this.skipAt] as { gte: Bytes; lt: Bytes };
        while (Buffer.compare(key, r.lt) >= 0 && ++this.skipAt < this.skip.length) r = this.skip[this.skipAt] as { gte: Bytes; lt: Bytes };
        if (this.skipAt < this.skip.length && Buffer.compare(key, r.gte) >= 0) {
          seekTo = r.lt;
          continue;
        }
        seekTo = undefined;
      }
      pairs.push([this.withKeys ? plain(key) : NO_BYTES, this.withValues ? plain(array[i - 1] as Buffer) : NO_BYTES]);
    }
    if (seekTo !== undefined && !this.finished) {
      binding.iterator_seek(this.it.context, buf(seekTo));
      this.skipAt++;
    }
    return pairs;
  }

  async return(): Promise<IteratorResult<Array<[Bytes, Bytes]>>> {
    await this.end();
    return { done: true, value: undefined };
  }

  async abort(): Promise<void> {
    if (!this.ended) this.aborted = true;
    await this.end();
  }

  private checkNotAborted(): void {
    if (this.aborted) throw closedUnderIterator();
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    // A read ahead in flight: the binding ends the iterator once it completes.
    await call((cb) => this.it.end(cb));
  }
}

const NO_BYTES = new Uint8Array(0);

async function* emptyIterator<T>(): AsyncIterableIterator<T> {}

export function openRocksEngine(dir: string): Promise<Engine> {
  return RocksEngine.open(dir);
}

/** Opens the database in `dir` only if one exists there (never creates one). */
export function openExistingRocksEngine(dir: string): Promise<Engine> {
  return RocksEngine.open(dir, { create: false });
}

/** openRocksEngine for a member's state database (STATE_WRITE_BUFFER_BYTES). */
export function openStateRocksEngine(dir: string): Promise<Engine> {
  return RocksEngine.open(dir, { ...STATE_ROCKSDB_TUNING, writeBufferSize: STATE_WRITE_BUFFER_BYTES, scope: 'state' });
}

/** openExistingRocksEngine for a member's state database (STATE_WRITE_BUFFER_BYTES). */
export function openExistingStateRocksEngine(dir: string): Promise<Engine> {
  return RocksEngine.open(dir, { ...STATE_ROCKSDB_TUNING, create: false, writeBufferSize: STATE_WRITE_BUFFER_BYTES, scope: 'state' });
}
