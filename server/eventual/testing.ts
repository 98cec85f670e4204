// Test helpers: an mvcc store with the eventual store wired in, over the real RocksDB engine
// in a temp dir, fed entries through the same codecs the region node uses (no Raft).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CrdtRecord } from '../crdt/index.js';
import { MvccStore, encodeCommand, type ClientSeq, type Command } from '../mvcc/index.js';
import { NamespaceRegistry, completeDefinition, type NamespaceSpec } from '../namespace/index.js';
import { RocksEngine } from '../storage/rocksdb-engine.js';
import type { Engine } from '../storage/index.js';
import { decodeAnswer, encodeBody, type EvAnswer, type EvBody, type EvOp, type EvPageRange } from './entry.js';
import { EventualStore } from './store.js';

export const REGION = 'region:test';
const enc = new TextEncoder();
const dec = new TextDecoder();
export const b = (s: string): Uint8Array => enc.encode(s);
export const str = (u: Uint8Array): string => dec.decode(u);

export interface Applied {
  answer: EvAnswer;
  revision: number;
}

export class EvHarness {
  index = 0;
  /** The physical time the next entry is stamped with (tests move it by hand). */
  nowMs = 1_700_000_000_000;
  readonly applied = new Map<string, number>();

  private constructor(
    readonly dir: string,
    public engine: Engine,
    public mvcc: MvccStore,
    public store: EventualStore,
    readonly registry: NamespaceRegistry,
    private readonly unsafe: boolean,
    private readonly cacheEntries: number | undefined,
    readonly localOrigin: string = REGION,
    private readonly onChanged?: (namespace: string) => void,
  ) {}

  /** `localOrigin`: the origin of this store's own writes (an edge's `edge:<device>:<incarnation>`; REGION by default). */
  static async open(
    specs: NamespaceSpec[],
    opts: { unsafeApplyDuplicates?: boolean; dir?: string; cacheEntries?: number; localOrigin?: string; onChanged?: (namespace: string) => void } = {},
  ): Promise<EvHarness> {
    const dir = opts.dir ?? await mkdtemp(join(tmpdir(), 'eventual-test-'));
    const registry = NamespaceRegistry.of(specs.map((s) => completeDefinition(s)));
    const engine = await RocksEngine.open(dir);
    const h = new EvHarness(dir, engine, undefined as unknown as MvccStore, undefined as unknown as EventualStore, registry, opts.unsafeApplyDuplicates === true, opts.cacheEntries, opts.localOrigin, opts.onChanged);
    await h.openStores();
    return h;
  }

  private async openStores(): Promise<void> {
    this.mvcc = await MvccStore.open(this.engine);
    this.store = await EventualStore.open(this.engine, {
      localOrigin: this.localOrigin, registry: () => this.registry, unsafeApplyDuplicates: this.unsafe,
      ...(this.cacheEntries !== undefined ? { cacheEntries: this.cacheEntries } : {}),
      ...(this.onChanged !== undefined ? { onChanged: this.onChanged } : {}),
      onApplied: (ns, type, n) => this.applied.set(`${ns}/${type}`, (this.applied.get(`${ns}/${type}`) ?? 0) + n),
    });
    this.mvcc.setExternalApplier(this.store);
    this.index = Math.max(this.index, this.mvcc.appliedIndex);
  }

  /** Applies entries as one batch (one engine write), each its own log index. */
  async applyBodies(bodies: Array<{ body: EvBody; client?: ClientSeq }>): Promise<Applied[]> {
    const items = bodies.map(({ body, client }) => {
      const cmd: Command = { type: 'external', external: { body: encodeBody(body) }, ...(client ? { client } : {}) };
      return { index: ++this.index, command: encodeCommand(cmd) };
    });
    const results = await this.mvcc.applyBatch(items);
    return results.map((r) => {
      const res = r.response;
      if (res === undefined) throw new Error(`entry ${r.index} was skipped`);
      if (res.type !== 'external') throw new Error(`entry ${r.index}: ${JSON.stringify(res)}`);
      return { answer: decodeAnswer(res.external.body), revision: res.external.revision };
    });
  }

  /** Re-delivers raw items at given indexes (a restart's replay). */
  async redeliver(index: number, body: EvBody): Promise<boolean> {
    const [r] = await this.mvcc.applyBatch([{ index, command: encodeCommand({ type: 'external', external: { body: encodeBody(body) } }) }]);
    return r?.response !== undefined;
  }

  writeBody(namespace: string, ops: EvOp[]): EvBody {
    return { kind: 'write', namespace, physicalMs: this.nowMs, ops };
  }

  async write(namespace: string, ops: EvOp[], client?: ClientSeq): Promise<Applied> {
    return (await this.applyBodies([{ body: this.writeBody(namespace, ops), ...(client ? { client } : {}) }]))[0]!;
  }

  async page(namespace: string, ranges: EvPageRange[], records: CrdtRecord[]): Promise<Applied> {
    return (await this.applyBodies([{ body: { kind: 'page', namespace, physicalMs: this.nowMs, ranges, records } }]))[0]!;
  }

  /** The etcd view of a key: its value as a string, or undefined. */
  async etcd(key: string): Promise<string | undefined> {
    const r = await this.mvcc.range({ key: b(key) });
    const kv = r.kvs[0];
    return kv === undefined ? undefined : str(kv.value);
  }

  async etcdKeys(prefix: string): Promise<string[]> {
    const end = b(prefix);
    end[end.length - 1]!++;
    return (await this.mvcc.range({ key: b(prefix), rangeEnd: end })).kvs.map((kv) => str(kv.key));
  }

  async reopen(): Promise<void> {
    await this.mvcc.idle();
    await this.engine.close();
    this.engine = await RocksEngine.open(this.dir);
    await this.openStores();
  }

  async close(): Promise<void> {
    await this.mvcc.idle();
    await this.engine.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function withHarness(specs: NamespaceSpec[], fn: (h: EvHarness) => Promise<void>, opts: { unsafeApplyDuplicates?: boolean } = {}): Promise<void> {
  const h = await EvHarness.open(specs, opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}
