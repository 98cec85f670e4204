// An edge's local database: one RocksDB (`<data-dir>/state`) holding an MvccStore (etcd
// Range/Watch over every namespace the edge holds) and the server/eventual CRDT store under
// the edge's own origin (`edge:<device>:<incarnation>`). Every change goes through the same
// mvcc external-command apply as in the region, with a local log index counter in place of
// the Raft index, so each change has a revision and a Watch event.
//
// Group commit: changes queue here; the queue applies everything waiting as one batch, one
// engine write with sync (fsync) before any of them is answered. Concurrent writes that
// arrive while a batch is being synced share the next one. With no Raft log behind it, the
// synced engine write IS the edge's durability: a restart loses nothing acknowledged.
//
// The external commands the edge applies (first byte):
//   1 · an eventual entry (server/eventual/entry.ts): a local write or a downloaded page
//   2 · a strong-namespace feed batch: puts and deletes copied from the region's Watch, with
//       the region revision they bring the copy to (stored in the same write)
//   3 · the namespace registry as the region sent it (stored, so an offline restart has it)
//   4 · a resync reset of a namespace (server/eventual/resync.ts), alone in its batch
//   5 · a resync restore of a namespace, alone in its batch

import { join } from 'node:path';
import {
  BinReader, BinWriter, MvccStore, MvccError, encodeCommand,
  type ClientSeq, type Command, type CommandResponse, type ExternalAnswer, type ExternalApplier, type ExternalTx,
} from '../mvcc/index.js';
import { NamespaceRegistry, decodeDefinition, encodeDefinition, type NamespaceDefinition } from '../namespace/index.js';
import { StateKeyspace, decodeU64, encodeU64, openExistingRocksEngine, openRocksEngine, type BatchOp, type Engine } from '../storage/index.js';
import { recordingDurablePoints } from '../storage/durable-points.js';
import { watchingCorruption } from '../storage/corruption-watch.js';

/** What follows bad bytes found while an edge runs, as every failed call's message says. */
export const EDGE_CORRUPTION_CONSEQUENCE = 'this edge stops; its next start checks its data directory, moves the damaged database aside and takes a new incarnation that downloads from the region';
import { EventualStore } from '../eventual/store.js';
import type { CrdtRecord } from '../crdt/index.js';
import { unsafeEdge } from '../util/unsafe-edge.js';

/** Test-only tooth (server/util/unsafe-edge.ts): local writes acknowledged without an fsync. */
const unsafeSkipFsync = unsafeEdge('skip-fsync');

const EDGE = StateKeyspace.Edge;
const REGISTRY_KEY = Uint8Array.of(EDGE, 0x01);
const FEED_REVISION_KEY = Uint8Array.of(EDGE, 0x02);

export const Tag = { Eventual: 1, Feed: 2, Registry: 3, ResyncReset: 4, ResyncRestore: 5 } as const;

/** Changes applied in one group-committed batch at most (each its own local log index). */
export const EDGE_COMMIT_BATCH_MAX = 512;

export interface FeedChange {
  type: 'put' | 'delete';
  key: Uint8Array;
  value?: Uint8Array;
}

export function encodeFeed(regionRevision: number, changes: FeedChange[]): Uint8Array {
  const w = new BinWriter().byte(Tag.Feed).uint(regionRevision).uint(changes.length);
  for (const c of changes) {
    w.byte(c.type === 'put' ? 1 : 2).bytes(c.key);
    if (c.type === 'put') w.bytes(c.value ?? new Uint8Array(0));
  }
  return w.finish();
}

function decodeFeed(bytes: Uint8Array): { revision: number; changes: FeedChange[] } {
  const r = new BinReader(bytes);
  r.byte();
  const revision = r.uint();
  const changes: FeedChange[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const t = r.byte();
    const key = r.bytes().slice();
    changes.push(t === 1 ? { type: 'put', key, value: r.bytes().slice() } : { type: 'delete', key });
  }
  return { revision, changes };
}

function encodeRegistryValue(defs: NamespaceDefinition[]): Uint8Array {
  const w = new BinWriter().uint(defs.length);
  for (const d of defs) w.bytes(encodeDefinition(d));
  return w.finish();
}

function decodeRegistryValue(bytes: Uint8Array): NamespaceDefinition[] {
  const r = new BinReader(bytes);
  const out: NamespaceDefinition[] = [];
  for (let n = r.uint(); n > 0; n--) out.push(decodeDefinition(r.bytes()));
  return out;
}

export function encodeRegistry(defs: NamespaceDefinition[]): Uint8Array {
  const v = encodeRegistryValue(defs);
  const out = new Uint8Array(v.length + 1);
  out[0] = Tag.Registry;
  out.set(v, 1);
  return out;
}

export function eventualCommand(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = Tag.Eventual;
  out.set(body, 1);
  return out;
}

/** A resync step of `ns` (Tag.ResyncReset with the region's seq of our origin, or Tag.ResyncRestore). */
export function encodeResync(tag: typeof Tag.ResyncReset | typeof Tag.ResyncRestore, ns: string, regionSeq = 0): Uint8Array {
  return new BinWriter().byte(tag).string(ns).uint(regionSeq).finish();
}

const EMPTY = new Uint8Array(0);

interface Queued {
  /** Applied alone in its batch (it reads the engine as the batches before it left it). */
  alone: boolean;
  command: Command;
  resolve(r: CommandResponse): void;
  reject(e: unknown): void;
}

export class EdgeStore implements ExternalApplier {
  readonly skipDedupe = false;
  private registryNow: NamespaceRegistry;
  private feedRevisionNow: number;
  private pendingFeedRevision: number | undefined;
  private queue: Queued[] = [];
  private running = false;
  private closed = false;
  private nextIndex: number;
  /** Batches and writes group-committed (for metrics and tests). */
  readonly commits = { batches: 0, writes: 0 };

  /** The records of each published batch's local writes (EventualStoreOptions.onLocalRecords): the replica's live pushes. */
  localRecords: ((namespace: string, records: readonly CrdtRecord[] | undefined) => void) | undefined;

  private constructor(
    readonly engine: Engine,
    readonly mvcc: MvccStore,
    public eventual: EventualStore,
    registry: NamespaceRegistry,
    feedRevision: number,
    private readonly onApplied?: (namespace: string, type: string, n: number) => void,
  ) {
    this.registryNow = registry;
    this.feedRevisionNow = feedRevision;
    this.nextIndex = mvcc.appliedIndex + 1;
  }

  /**
   * `create`: the database may be created (a new data dir, or a damaged one moved aside:
   * startup-check.ts). `recordDurablePoints` (test-only, --unsafe-record-durable-points):
   * every synced write leaves a durable point for the chaos power cut (server/util/power-cut.ts).
   * `onCorruption`: called once when RocksDB reports bad bytes while the edge runs (the call
   * that met them fails UNAVAILABLE, never with data; corruption-watch.ts).
   */
  static async open(
    dataDir: string, origin: string, onApplied?: (namespace: string, type: string, n: number) => void, create = true,
    opts: { recordDurablePoints?: boolean; onCorruption?: (err: Error) => void } = {},
  ): Promise<EdgeStore> {
    const dir = join(dataDir, 'state');
    const opened = create ? await openRocksEngine(dir) : await openExistingRocksEngine(dir);
    const recording = opts.recordDurablePoints === true ? recordingDurablePoints(opened, dir) : opened;
    const engine = opts.onCorruption === undefined ? recording : watchingCorruption(recording, opts.onCorruption, EDGE_CORRUPTION_CONSEQUENCE);
    const mvcc = await MvccStore.open(engine);
    const reg = await engine.get(REGISTRY_KEY);
    const registry = NamespaceRegistry.of(reg === undefined ? [] : decodeRegistryValue(reg));
    const fr = await engine.get(FEED_REVISION_KEY);
    let store: EdgeStore | undefined;
    const eventual = await EventualStore.open(engine, {
      localOrigin: origin, registry: () => store!.registryNow, ...(onApplied ? { onApplied } : {}),
      onLocalRecords: (ns, records) => store?.localRecords?.(ns, records),
    });
    store = new EdgeStore(engine, mvcc, eventual, registry, fr === undefined ? 0 : decodeU64(fr, 0), onApplied);
    mvcc.setExternalApplier(store);
    return store;
  }

  get registry(): NamespaceRegistry {
    return this.registryNow;
  }

  /** The region revision the strong namespaces' copy has applied (0: none yet). */
  get feedRevision(): number {
    return this.feedRevisionNow;
  }

  get origin(): string {
    return this.eventual.localOrigin;
  }

  /** After an incarnation bump: the eventual store under the new origin (behind every queued change). */
  async switchOrigin(origin: string): Promise<void> {
    await this.mvcc.idle();
    this.eventual = await EventualStore.open(this.engine, {
      localOrigin: origin, registry: () => this.registryNow, ...(this.onApplied ? { onApplied: this.onApplied } : {}),
      onLocalRecords: (ns, records) => this.localRecords?.(ns, records),
    });
  }

  // ---- the group-committed queue

  /** Applies `command` in the next batch; resolves once it is durable. */
  submit(command: Command, alone = false): Promise<CommandResponse> {
    if (this.closed) return Promise.reject(Object.assign(new Error('edge: the local store is closed (stopping)'), { code: 'stopped' }));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject, alone });
      if (!this.running) void this.drain();
    });
  }

  /** Submits an external command and returns its answer bytes and revision. */
  async external(body: Uint8Array, client?: ClientSeq, alone = false): Promise<{ revision: number; body: Uint8Array }> {
    const res = await this.submit(client === undefined ? { type: 'external', external: { body } } : { type: 'external', external: { body }, client }, alone);
    if (res.type === 'error') throw new MvccError(res.code, res.message);
    if (res.type !== 'external') throw new Error(`an edge external command got a ${res.type} answer`);
    return res.external;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // A command that must be alone takes a batch of its own; the others stop before it.
        const stop = this.queue.findIndex((q, i) => q.alone && i > 0);
        const batch = this.queue[0]!.alone ? this.queue.splice(0, 1) : this.queue.splice(0, Math.min(EDGE_COMMIT_BATCH_MAX, stop < 0 ? Infinity : stop));
        const items = batch.map((q) => ({ index: this.nextIndex++, command: encodeCommand(q.command) }));
        try {
          const results = await this.mvcc.applyBatch(items, { sync: !unsafeSkipFsync });
          this.commits.batches++;
          this.commits.writes += batch.length;
          batch.forEach((q, i) => q.resolve(results[i]!.response!));
        } catch (e) {
          for (const q of batch) q.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  // ---- ExternalApplier

  /** The eventual body of each command read ahead: the same object for readAhead and apply,
   *  so the eventual store decodes it once (it keys its decoded bodies by the object). */
  private readonly inner = new Map<Uint8Array, Uint8Array>();

  private eventualBody(body: Uint8Array): Uint8Array {
    return this.inner.get(body) ?? body.subarray(1);
  }

  /**
   * The keys a command will read (ExternalApplier.readAhead), so a batch's single-key reads
   * (the held event, the device summary, the projection's prior mvcc row) are one engine
   * round trip for the whole batch instead of one each.
   */
  readAhead(body: Uint8Array, mvcc: Uint8Array[], raw: Uint8Array[]): void {
    if (body[0] !== Tag.Eventual) return;
    const inner = body.subarray(1);
    this.inner.set(body, inner);
    this.eventual.readAhead(inner, mvcc, raw);
  }

  async apply(index: number, body: Uint8Array, tx: ExternalTx): Promise<Uint8Array | ExternalAnswer> {
    switch (body[0]) {
      case Tag.Eventual:
        return this.eventual.apply(index, this.eventualBody(body), tx);
      case Tag.Feed: {
        const f = decodeFeed(body);
        for (const c of f.changes) {
          if (c.type === 'put') await tx.put(c.key, c.value ?? EMPTY);
          else await tx.delete(c.key);
        }
        tx.append({ type: 'put', key: FEED_REVISION_KEY, value: encodeU64(f.revision) });
        this.pendingFeedRevision = f.revision;
        return EMPTY;
      }
      case Tag.Registry: {
        const v = body.subarray(1);
        const defs = decodeRegistryValue(v);
        tx.append({ type: 'put', key: REGISTRY_KEY, value: v.slice() });
        // Later commands of the batch route by it already (the edge is its only writer).
        this.registryNow = NamespaceRegistry.of(defs);
        return EMPTY;
      }
      case Tag.ResyncReset: case Tag.ResyncRestore: {
        const r = new BinReader(body);
        const tag = r.byte();
        const ns = r.string();
        const regionSeq = r.uint();
        const n = tag === Tag.ResyncReset ? await this.eventual.resyncReset(ns, regionSeq, tx) : await this.eventual.resyncRestore(ns, tx);
        // The answer: 0 for a reset that found the namespace resyncing already, else 1 + records kept/restored.
        return new BinWriter().uint(n === undefined ? 0 : n + 1).finish();
      }
      default:
        throw new Error(`edge: unknown external command tag ${String(body[0])}`);
    }
  }

  flush(append: (op: BatchOp) => void): void {
    this.eventual.flush(append);
  }

  writing(): void {
    this.eventual.writing();
  }

  published(): void {
    this.inner.clear();
    this.eventual.published();
    if (this.pendingFeedRevision !== undefined) this.feedRevisionNow = this.pendingFeedRevision;
    this.pendingFeedRevision = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.mvcc.idle();
    await this.engine.close();
  }
}
