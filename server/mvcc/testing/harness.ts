// Test helpers: a store over the real RocksDB engine in a temp dir (or the memory engine),
// and shorthands that go through the command codec like the region node does.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../storage/engine.js';
import { MemoryEngine } from '../../storage/memory-engine.js';
import { RocksEngine } from '../../storage/rocksdb-engine.js';
import { encodeCommand } from '../command-codec.js';
import { MvccError } from '../errors.js';
import { MvccStore } from '../store.js';
import type {
  Command, CommandResponse, DeleteRangeRequest, DeleteRangeResponse, KeyValue, PutRequest, PutResponse,
  RangeRequest, RangeResponse, TxnRequest, TxnResponse,
} from '../types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export const b = (s: string): Uint8Array => enc.encode(s);
export const str = (u: Uint8Array): string => dec.decode(u);

export type EngineKind = 'rocksdb' | 'memory';

export class Harness {
  index = 0;
  private constructor(
    public store: MvccStore,
    public engine: Engine,
    private readonly dir: string | undefined,
    private readonly kind: EngineKind,
  ) {}

  static async open(kind: EngineKind = 'rocksdb'): Promise<Harness> {
    if (kind === 'memory') {
      const engine = new MemoryEngine();
      return new Harness(await MvccStore.open(engine), engine, undefined, kind);
    }
    const dir = await mkdtemp(join(tmpdir(), 'mvcc-test-'));
    const engine = await RocksEngine.open(dir);
    return new Harness(await MvccStore.open(engine), engine, dir, kind);
  }

  /** Closes and reopens the engine and store (a restart). */
  async reopen(): Promise<void> {
    await this.store.idle();
    if (this.kind === 'rocksdb') {
      await this.engine.close();
      this.engine = await RocksEngine.open(this.dir as string);
    }
    this.store = await MvccStore.open(this.engine);
  }

  async close(): Promise<void> {
    await this.store.idle();
    await this.engine.close();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }

  /** Applies one command at the next log index (encoded, as from a Raft entry). */
  async apply(cmd: Command): Promise<CommandResponse> {
    const res = await this.store.apply(++this.index, encodeCommand(cmd));
    if (res.response === undefined) throw new Error('entry skipped');
    return res.response;
  }

  async put(key: string, value: string, opts: Omit<PutRequest, 'key' | 'value'> = {}): Promise<PutResponse> {
    return unwrap(await this.apply({ type: 'put', put: { key: b(key), value: b(value), ...opts } }), 'put').put;
  }

  async del(key: string, rangeEnd?: string | Uint8Array, prevKv = false): Promise<DeleteRangeResponse> {
    const req: DeleteRangeRequest = { key: b(key), prevKv };
    if (rangeEnd !== undefined) req.rangeEnd = typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd;
    return unwrap(await this.apply({ type: 'deleteRange', deleteRange: req }), 'deleteRange').deleteRange;
  }

  async txn(txn: TxnRequest): Promise<TxnResponse> {
    return unwrap(await this.apply({ type: 'txn', txn }), 'txn').txn;
  }

  async get(key: string, opts: Omit<RangeRequest, 'key'> = {}): Promise<RangeResponse> {
    return this.store.range({ key: b(key), ...opts });
  }

  /** The single value of `key` at revision `rev` (0 = current), or undefined. */
  async value(key: string, rev = 0): Promise<string | undefined> {
    const r = await this.get(key, { revision: rev });
    return r.kvs[0] === undefined ? undefined : str(r.kvs[0].value);
  }
}

/** Narrows a response to the expected type; throws the MvccError of an error response. */
export function unwrap<T extends CommandResponse['type']>(res: CommandResponse, type: T): Extract<CommandResponse, { type: T }> {
  if (res.type === 'error') throw new MvccError(res.code, res.message);
  if (res.type !== type) throw new Error(`expected ${type}, got ${res.type}`);
  return res as Extract<CommandResponse, { type: T }>;
}

export function keys(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => str(kv.key));
}

/** Runs `fn` with a fresh harness, closing it afterwards. */
export async function withHarness(fn: (h: Harness) => Promise<void>, kind: EngineKind = 'rocksdb'): Promise<void> {
  const h = await Harness.open(kind);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}
