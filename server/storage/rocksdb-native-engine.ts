// The Engine over RocksDB through `rocksdb-native` (Holepunch's binding over librocksdb,
// current RocksDB, prebuilds for linux-x64, linux-arm64, Android, iOS, macOS, Windows): an
// evaluation adapter for issue 19 (storage faults), not the default engine. Its reads
// verify block checksums (RocksDB's default ReadOptions). Its writes take no WriteOptions:
// there is no `sync` write, so `sync: true` here flushes the memtable to an SST (durable,
// but a new L0 file per call) — unfit for the raft log as it stands.

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { assert } from '../util/assert.js';
import {
  ENGINE_SCAN_CHUNK_BYTES, ENGINE_SCAN_CHUNK_PAIRS_MAX, inSkippedRange,
  OpsBatch, type BatchOp, type Bytes, type Engine, type EngineBatch, type IterateOptions, type ScanOptions,
} from './engine.js';

const WHOLE_DB_START = Buffer.of(0x00);
const WHOLE_DB_END = Buffer.alloc(16, 0xff);

interface NativeReadBatch {
  get(key: Buffer): Promise<Buffer | null>;
  flush(): Promise<void>;
}
interface NativeWriteBatch {
  put(key: Buffer, value: Buffer): Promise<void>;
  delete(key: Buffer): Promise<void>;
  deleteRange(start: Buffer, end: Buffer): Promise<void>;
  flush(): Promise<void>;
}
interface NativeIterator extends AsyncIterable<{ key: Buffer; value: Buffer | null }> {
  destroy(): void;
}
interface NativeDb {
  ready(): Promise<void>;
  close(options?: { force?: boolean }): Promise<void>;
  read(options?: { autoDestroy?: boolean; capacity?: number }): NativeReadBatch;
  write(options?: { autoDestroy?: boolean; capacity?: number }): NativeWriteBatch;
  flush(): Promise<void>;
  snapshot(): NativeDb;
  iterator(range: object, options?: object): NativeIterator;
  approximateSize(start: Buffer, end: Buffer): Promise<number>;
}

const require = createRequire(import.meta.url);

/** Whether the binding is installed (an optional dependency). */
export function rocksdbNativeAvailable(): boolean {
  try {
    require.resolve('rocksdb-native');
    return true;
  } catch {
    return false;
  }
}

function buf(b: Bytes): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const NO_BYTES = new Uint8Array(0);

export class NativeRocksEngine implements Engine {
  private closed = false;

  private constructor(private readonly db: NativeDb, readonly dir: string) {}

  static async open(dir: string, options: { create?: boolean } = {}): Promise<NativeRocksEngine> {
    const create = options.create ?? true;
    if (create) await mkdir(dir, { recursive: true });
    const RocksDB = require('rocksdb-native') as new (dir: string, o: object) => NativeDb;
    const db = new RocksDB(dir, { createIfMissing: create, maxOpenFiles: 256 });
    await db.ready();
    return new NativeRocksEngine(db, dir);
  }

  async get(key: Bytes): Promise<Bytes | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    this.checkOpen();
    if (keys.length === 0) return [];
    // autoDestroy: a batch holds a reference on the database until destroyed (close waits).
    const r = this.db.read({ autoDestroy: true, capacity: keys.length });
    const all = Promise.all(keys.map((k) => r.get(buf(k))));
    all.catch(() => undefined); // a failed flush rejects every get too
    try {
      await r.flush();
    } catch (err) {
      await all; // the first get's own error names the cause ("Batch was not applied" does not)
      throw err;
    }
    return (await all).map((v) => (v === null ? undefined : plain(v)));
  }

  async write(ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    this.checkOpen();
    // Keys are never empty (engine.ts); leveldown refuses such a batch whole, so do we.
    if (ops.some((op) => op.key.length === 0)) throw new Error('engine write: a key is empty; the batch is refused whole');
    const w = this.db.write({ autoDestroy: true, capacity: Math.max(1, ops.length) });
    const done: Array<Promise<void>> = [];
    for (const op of ops) done.push(op.type === 'put' ? w.put(buf(op.key), buf(op.value)) : w.delete(buf(op.key)));
    const all = Promise.all(done);
    all.catch(() => undefined); // a failed flush rejects every op too: one error is enough
    await w.flush();
    await all;
    // No WriteOptions.sync in this binding: durability means flushing the memtable.
    if (options.sync === true) await this.db.flush();
  }

  batch(): EngineBatch {
    return new OpsBatch(this);
  }

  iterate(options: IterateOptions = {}): AsyncIterableIterator<[Bytes, Bytes]> {
    const chunks = this.scan(options);
    return (async function* () {
      for await (const chunk of chunks) yield* chunk;
    })();
  }

  scan(options: ScanOptions = {}): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    this.checkOpen();
    const limit = options.limit ?? -1;
    assert(Number.isInteger(limit) && limit >= -1, () => `bad iterate limit ${limit}`);
    const range: Record<string, unknown> = {};
    for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
      const b = options[bound];
      if (b !== undefined && b.length > 0) range[bound] = buf(b);
    }
    if (limit === 0) return (async function* () {})();
    const snap = this.db.snapshot(); // the view, taken now
    const it = snap.iterator(range, { reverse: options.reverse === true, limit: limit < 0 ? Infinity : limit, values: options.values !== false, capacity: 64 });
    const withKeys = options.keys !== false;
    const withValues = options.values !== false;
    const chunkBytes = options.chunkBytes ?? ENGINE_SCAN_CHUNK_BYTES;
    const skip = options.skip;
    const isClosed = (): boolean => this.closed;
    return (async function* () {
      try {
        let chunk: Array<[Bytes, Bytes]> = [];
        let bytes = 0;
        for await (const { key, value } of it) {
          if (isClosed()) throw new Error('rocksdb engine closed during iteration: the scan is incomplete');
          // A skipped range is filtered, not seeked past (this adapter is an evaluation one).
          if (skip !== undefined && inSkippedRange(key, skip)) continue;
          const v = withValues && value !== null ? plain(value) : NO_BYTES;
          chunk.push([withKeys ? plain(key) : NO_BYTES, v]);
          bytes += key.length + v.length;
          if (chunk.length >= ENGINE_SCAN_CHUNK_PAIRS_MAX || bytes >= chunkBytes) {
            yield chunk;
            chunk = [];
            bytes = 0;
          }
        }
        if (isClosed()) throw new Error('rocksdb engine closed during iteration: the scan is incomplete');
        if (chunk.length > 0) yield chunk;
      } finally {
        it.destroy();
        await snap.close().catch(() => undefined);
      }
    })();
  }

  async clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    this.checkOpen();
    const w = this.db.write({ autoDestroy: true, capacity: 1 });
    const done = w.deleteRange(range.gte.length > 0 ? buf(range.gte) : WHOLE_DB_START, range.lt.length > 0 ? buf(range.lt) : WHOLE_DB_END);
    done.catch(() => undefined);
    await w.flush();
    await done;
  }

  async approximateSize(): Promise<number> {
    this.checkOpen();
    return this.db.approximateSize(WHOLE_DB_START, WHOLE_DB_END);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private checkOpen(): void {
    assert(!this.closed, () => `rocksdb engine at ${this.dir} is closed`);
  }
}

export function openNativeRocksEngine(dir: string): Promise<Engine> {
  return NativeRocksEngine.open(dir);
}
