// The reference Engine: a sorted array in memory. Slow inserts (O(n)), obviously correct;
// engine-suite.ts holds it and the RocksDB engine to the same behaviour. Tests and the
// simulator use it where durability across a process restart is not the point.

import { assert } from '../util/assert.js';
import { ENGINE_SCAN_CHUNK_BYTES, ENGINE_SCAN_CHUNK_PAIRS_MAX, inSkippedRange, OpsBatch, type BatchOp, type Bytes, type Engine, type EngineBatch, type IterateOptions, type ScanOptions } from './engine.js';
import { compareBytes } from './keys.js';

type Pair = [Uint8Array, Uint8Array];

export class MemoryEngine implements Engine {
  /** Invariant: sorted by key, keys unique. Stored bytes are private copies. */
  private pairs: Pair[] = [];
  private closed = false;

  // async so that a closed engine or a bad key rejects the promise rather than throwing.
  async get(key: Bytes): Promise<Bytes | undefined> {
    this.checkOpen();
    checkKey(key);
    const i = this.search(key);
    const pair = this.pairs[i];
    return pair !== undefined && compareBytes(pair[0], key) === 0 ? pair[1].slice() : undefined;
  }

  async getMany(keys: Bytes[]): Promise<Array<Bytes | undefined>> {
    const out: Array<Bytes | undefined> = [];
    for (const k of keys) out.push(await this.get(k));
    return out;
  }

  async write(ops: BatchOp[], _options?: { sync?: boolean }): Promise<void> {
    this.checkOpen();
    // Validate every op first so a bad one leaves the batch unapplied (atomicity).
    for (const op of ops) checkKey(op.key);
    for (const op of ops) {
      if (op.type === 'put') this.put(op.key, op.value);
      else this.del(op.key);
    }
  }

  batch(): EngineBatch {
    return new OpsBatch(this);
  }

  iterate(options: IterateOptions = {}): AsyncIterableIterator<[Bytes, Bytes]> {
    return this.view(options, undefined);
  }

  private view(options: IterateOptions, skip: ScanOptions['skip']): AsyncIterableIterator<[Bytes, Bytes]> {
    this.checkOpen();
    const limit = options.limit ?? Infinity;
    assert(limit >= 0, () => `limit must be >= 0, got ${limit}`);
    // The view is fixed here, when iterate() is called (not at the first next()), like a
    // RocksDB snapshot: later writes are not seen. Pairs are immutable (write replaces
    // them), so a shallow copy of the array is a consistent view.
    const view = this.pairs.slice();
    if (options.reverse === true) view.reverse();
    const inRange = rangePredicate(options);
    return pairsOf(view, skip === undefined ? inRange : (k) => inRange(k) && !inSkippedRange(k, skip), limit);
  }

  scan(options: ScanOptions = {}): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
    const pairs = this.view(options, options.skip); // the view is fixed here
    return chunksOf(pairs, options.keys !== false, options.values !== false, options.chunkBytes ?? ENGINE_SCAN_CHUNK_BYTES);
  }

  async clear(range: { gte: Bytes; lt: Bytes }): Promise<void> {
    this.checkOpen();
    const inRange = rangePredicate(range);
    this.pairs = this.pairs.filter(([k]) => !inRange(k));
  }

  async approximateSize(): Promise<number> {
    let bytes = 0;
    for (const [k, v] of this.pairs) bytes += k.length + v.length;
    return bytes;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private put(key: Bytes, value: Bytes): void {
    const i = this.search(key);
    const pair: Pair = [key.slice(), value.slice()];
    const at = this.pairs[i];
    if (at !== undefined && compareBytes(at[0], key) === 0) this.pairs[i] = pair;
    else this.pairs.splice(i, 0, pair);
  }

  private del(key: Bytes): void {
    const i = this.search(key);
    const at = this.pairs[i];
    if (at !== undefined && compareBytes(at[0], key) === 0) this.pairs.splice(i, 1);
  }

  /** Index of the first pair whose key is >= key. */
  private search(key: Bytes): number {
    let lo = 0;
    let hi = this.pairs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes((this.pairs[mid] as Pair)[0], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private checkOpen(): void {
    assert(!this.closed, 'memory engine is closed');
  }
}

async function* pairsOf(view: Pair[], inRange: (k: Bytes) => boolean, limit: number): AsyncIterableIterator<[Bytes, Bytes]> {
  let n = 0;
  for (const [k, v] of view) {
    if (n >= limit) return;
    if (!inRange(k)) continue;
    n++;
    // Copies: a caller that mutates what it read must not change the database.
    yield [k.slice(), v.slice()];
  }
}

async function* chunksOf(pairs: AsyncIterableIterator<[Bytes, Bytes]>, keys: boolean, values: boolean, chunkBytes: number): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
  let chunk: Array<[Bytes, Bytes]> = [];
  let bytes = 0;
  for await (const [k, v] of pairs) {
    chunk.push([keys ? k : new Uint8Array(0), values ? v : new Uint8Array(0)]);
    bytes += (keys ? k.length : 0) + (values ? v.length : 0);
    if (chunk.length >= ENGINE_SCAN_CHUNK_PAIRS_MAX || bytes >= chunkBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

function checkKey(key: Bytes): void {
  assert(key.length > 0, 'engine keys must not be empty');
}

/** An empty bound is no bound (leveldown's rule, which RocksDB follows). */
function set(b: Bytes | undefined): b is Bytes {
  return b !== undefined && b.length > 0;
}

function rangePredicate(o: IterateOptions): (k: Bytes) => boolean {
  return (k) =>
    (!set(o.gt) || compareBytes(k, o.gt) > 0) &&
    (!set(o.gte) || compareBytes(k, o.gte) >= 0) &&
    (!set(o.lt) || compareBytes(k, o.lt) < 0) &&
    (!set(o.lte) || compareBytes(k, o.lte) <= 0);
}

export async function openMemoryEngine(): Promise<Engine> {
  return new MemoryEngine();
}
