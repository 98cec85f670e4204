// An Engine that records its durable points for the power-cut emulation (test-only:
// server/util/power-cut.ts): one at open, and one right after every write with sync:true,
// before that write's promise resolves, so whatever the caller acknowledges next is below a
// recorded point. Everything else passes straight through.

import { recordDurablePoint } from '../util/power-cut.js';
import type { BatchOp, Bytes, Engine, EngineBatch, IterateOptions, ScanOptions } from './engine.js';

/**
 * Wraps the RocksDB engine whose files live in `dir`. The open point makes what the open
 * left durable: RocksDB 6.17 flushes what it replayed from old WALs into a synced SST and
 * starts an empty WAL, so nothing below the open point is unsynced.
 */
export function recordingDurablePoints(engine: Engine, dir: string): Engine {
  recordDurablePoint(dir, 'open');
  return new DurablePointsEngine(engine, dir);
}

class DurablePointsEngine implements Engine {
  constructor(private readonly inner: Engine, private readonly dir: string) {}

  get(key: Bytes): Promise<Bytes | undefined> {
    return this.inner.get(key);
  }

  getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    return this.inner.getMany(keys);
  }

  async write(ops: BatchOp[], options?: { sync?: boolean }): Promise<void> {
    await this.inner.write(ops, options);
    // An empty batch is neither written nor synced (RocksEngine.write): no new point.
    if (options?.sync === true && ops.length > 0) recordDurablePoint(this.dir, 'sync');
  }

  batch(): EngineBatch {
    const inner = this.inner.batch();
    const dir = this.dir;
    return {
      put: (key, value) => inner.put(key, value),
      del: (key) => inner.del(key),
      get bytes() {
        return inner.bytes;
      },
      async write(options) {
        const nonEmpty = inner.bytes > 0;
        await inner.write(options);
        if (options?.sync === true && nonEmpty) recordDurablePoint(dir, 'sync');
      },
    };
  }

  iterate(options?: IterateOptions): AsyncIterableIterator<[Bytes, Bytes]> {
    return this.inner.iterate(options);
  }

  scan(options?: ScanOptions): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    return this.inner.scan(options);
  }

  clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    return this.inner.clear(range);
  }

  approximateSize(): Promise<number> {
    return this.inner.approximateSize();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
