// The Engine over RocksDB 9 through `@nxtedition/rocksdb` (an abstract-level binding,
// maintained): an evaluation adapter for issue 19 (storage faults), not the default
// engine. Its reads verify block checksums (RocksDB's ReadOptions default, iterators
// included), writes take `sync`, and it ships prebuilds for linux-x64 and darwin-arm64
// only (other platforms build RocksDB from source at install).

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { assert } from '../util/assert.js';
import {
  ENGINE_SCAN_CHUNK_BYTES, ENGINE_SCAN_CHUNK_PAIRS_MAX, inSkippedRange,
  OpsBatch, type BatchOp, type Bytes, type Engine, type EngineBatch, type IterateOptions, type ScanOptions,
} from './engine.js';

/** Open options: the same cache, memtable and file limits as rocksdb-engine.ts. */
export const NXT_ROCKSDB_OPEN_OPTIONS = {
  cacheSize: 32 * 1024 * 1024,
  writeBufferSize: 16 * 1024 * 1024,
  maxOpenFiles: 256,
  infoLogLevel: 'error',
} as const;

/** Bounds of approximateSize and of an unbounded clear: every key starts below 0xff. */
const WHOLE_DB_END = Buffer.alloc(16, 0xff);

interface NxtIterator {
  nextv(size: number): Promise<Array<[Buffer | undefined, Buffer | undefined]>>;
  close(): Promise<void>;
}

interface NxtDb {
  open(options: object): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>>;
  batch(ops: Array<{ type: 'put' | 'del'; key: Buffer; value?: Buffer }>, options: { sync: boolean }): Promise<void>;
  iterator(options: object): NxtIterator;
  clear(options: object): Promise<void>;
  getProperty(name: string): string;
}

const require = createRequire(import.meta.url);

/** Whether the binding is installed (an optional dependency). */
export function nxteditionRocksdbAvailable(): boolean {
  try {
    require.resolve('@nxtedition/rocksdb');
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

export class NxtRocksEngine implements Engine {
  private closed = false;

  private constructor(private readonly db: NxtDb, readonly dir: string) {}

  /** `create: false` opens only an existing database (DESIGN §5: never re-created). */
  static async open(dir: string, options: { create?: boolean } = {}): Promise<NxtRocksEngine> {
    const create = options.create ?? true;
    if (create) await mkdir(dir, { recursive: true });
    const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: new (dir: string, o: object) => NxtDb };
    const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open({ ...NXT_ROCKSDB_OPEN_OPTIONS, createIfMissing: create, errorIfExists: false });
    return new NxtRocksEngine(db, dir);
  }

  async get(key: Bytes): Promise<Bytes | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    this.checkOpen();
    if (keys.length === 0) return [];
    const values = await this.db.getMany(keys.map(buf));
    return values.map((v) => (v === undefined || v === null ? undefined : plain(v)));
  }

  async write(ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    this.checkOpen();
    // Keys are never empty (engine.ts); leveldown refuses such a batch whole, so do we.
    if (ops.some((op) => op.key.length === 0)) throw new Error('engine write: a key is empty; the batch is refused whole');
    const batch = ops.map((op) =>
      op.type === 'put' ? { type: op.type, key: buf(op.key), value: buf(op.value) } : { type: op.type, key: buf(op.key) },
    );
    await this.db.batch(batch, { sync: options.sync === true });
  }

  batch(): EngineBatch {
    return new OpsBatch(this);
  }

  iterate(options: IterateOptions = {}): AsyncIterableIterator<[Bytes, Bytes]> {
    const chunks = this.scan(options); // the view is fixed here, at the call
    return (async function* () {
      for await (const chunk of chunks) yield* chunk;
    })();
  }

  scan(options: ScanOptions = {}): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    this.checkOpen();
    const limit = options.limit ?? -1;
    assert(Number.isInteger(limit) && limit >= -1, () => `bad iterate limit ${limit}`);
    const o: Record<string, unknown> = {
      reverse: options.reverse === true,
      limit,
      // Neither keys nor values aborts the binding (an assert in Iterator::nextv): a count
      // reads the keys and drops them.
      keys: options.keys !== false || options.values === false,
      values: options.values !== false,
      fillCache: false,
      highWaterMarkBytes: options.chunkBytes ?? ENGINE_SCAN_CHUNK_BYTES,
    };
    for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
      const b = options[bound];
      if (b !== undefined && b.length > 0) o[bound] = buf(b);
    }
    if (limit === 0) return (async function* () {})();
    // Created here, synchronously: RocksDB's iterator pins its view now.
    const it = this.db.iterator(o);
    const withKeys = options.keys !== false;
    const withValues = options.values !== false;
    const skip = options.skip;
    const isClosed = (): boolean => this.closed;
    return (async function* () {
      try {
        for (;;) {
          if (isClosed()) throw new Error('rocksdb engine closed during iteration: the scan is incomplete');
          const rows = await it.nextv(ENGINE_SCAN_CHUNK_PAIRS_MAX);
          if (rows.length === 0) return;
          // A skipped range is filtered, not seeked past (this adapter is an evaluation one).
          const kept = skip === undefined ? rows : rows.filter(([k]) => k === undefined || !inSkippedRange(k, skip));
          if (kept.length === 0) continue;
          yield kept.map(([k, v]): [Bytes, Bytes] => [withKeys && k ? plain(k) : NO_BYTES, withValues && v ? plain(v) : NO_BYTES]);
        }
      } finally {
        await it.close().catch(() => undefined);
      }
    })();
  }

  async clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    this.checkOpen();
    const o: Record<string, unknown> = {};
    if (range.gte.length > 0) o['gte'] = buf(range.gte);
    o['lt'] = range.lt.length > 0 ? buf(range.lt) : WHOLE_DB_END;
    await this.db.clear(o);
  }

  async approximateSize(): Promise<number> {
    this.checkOpen();
    return Number(this.db.getProperty('rocksdb.total-sst-files-size')) + Number(this.db.getProperty('rocksdb.cur-size-all-mem-tables'));
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

export function openNxtRocksEngine(dir: string): Promise<Engine> {
  return NxtRocksEngine.open(dir);
}
