// An Engine that notices RocksDB's Corruption status (a block that fails its checksum, bytes
// that do not decompress) on any call while the process runs, and reports it once. What the
// owner does then is its business (an edge stops uncleanly, so its next start's checks find
// the damage and take a new incarnation: server/edge/startup-check.ts); the call itself fails
// with an UNAVAILABLE-coded error naming the damage, never with the engine's raw status as an
// internal error, and never with data. Everything else passes straight through.

import type { BatchOp, Bytes, Engine, EngineBatch, IterateOptions, ScanOptions } from './engine.js';

/** RocksDB's Corruption status, as the binding reports it ("Corruption: block checksum mismatch ..."). */
export function isCorruption(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('Corruption:');
}

/** What a call that met corruption fails with: `code` is server/api's backend error code. */
export class StorageCorruptionError extends Error {
  override name = 'StorageCorruptionError';
  readonly code = 'unavailable';
  constructor(readonly corruption: Error, consequence: string) {
    super(`storage corruption: ${corruption.message}; ${consequence}`);
  }
}

/**
 * Wraps `engine`; `onCorruption` is called once, at the first Corruption status any call
 * meets; `consequence` ends every such call's message (what happens next, for the person
 * who reads it).
 */
export function watchingCorruption(engine: Engine, onCorruption: (err: Error) => void, consequence: string): Engine {
  return new CorruptionWatchEngine(engine, onCorruption, consequence);
}

class CorruptionWatchEngine implements Engine {
  private reported = false;

  constructor(
    private readonly inner: Engine,
    private readonly onCorruption: (err: Error) => void,
    private readonly consequence: string,
  ) {}

  /** Rethrows `err`, as StorageCorruptionError when it is a Corruption status (reported once). */
  private readonly fail = (err: unknown): never => {
    if (!isCorruption(err)) throw err;
    if (!this.reported) {
      this.reported = true;
      this.onCorruption(err as Error);
    }
    throw new StorageCorruptionError(err as Error, this.consequence);
  };

  get(key: Bytes): Promise<Bytes | undefined> {
    return this.inner.get(key).catch(this.fail);
  }

  getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    return this.inner.getMany(keys).catch(this.fail);
  }

  write(ops: BatchOp[], options?: { sync?: boolean }): Promise<void> {
    return this.inner.write(ops, options).catch(this.fail);
  }

  batch(): EngineBatch {
    const inner = this.inner.batch();
    const fail = this.fail;
    return {
      put: (key, value) => inner.put(key, value),
      del: (key) => inner.del(key),
      get bytes() {
        return inner.bytes;
      },
      write: (options) => inner.write(options).catch(fail),
    };
  }

  iterate(options?: IterateOptions): AsyncIterableIterator<[Bytes, Bytes]> {
    return this.watched(this.inner.iterate(options));
  }

  scan(options?: ScanOptions): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    return this.watched(this.inner.scan(options));
  }

  clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    return this.inner.clear(range).catch(this.fail);
  }

  approximateSize(): Promise<number> {
    return this.inner.approximateSize().catch(this.fail);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The same iterator, its steps watched (the view is still fixed when it was made). */
  private watched<T>(it: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
    const fail = this.fail;
    const wrapped: AsyncIterableIterator<T> = {
      next: () => it.next().catch(fail),
      return: (value?: unknown) => (it.return !== undefined ? it.return(value) : Promise.resolve({ done: true as const, value: undefined as unknown as T })),
      [Symbol.asyncIterator]: () => wrapped,
    };
    return wrapped;
  }
}
