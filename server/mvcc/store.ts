// MvccStore: etcd v3 semantics over an Engine. apply*() is the only way state changes:
// deterministic (same commands → same state, answers and hash on every member), and a
// batch of entries is one engine write holding the changes and the applied index, without
// sync because the Raft log is the write-ahead log. Reads are local (serializable); the
// API layer makes them linearizable with ReadIndex before calling.

import type { Bytes, Engine } from '../storage/engine.js';
import { sortOpsByKeyInRuns } from '../storage/batch-order.js';
import { ByteArena } from './bin.js';
import { decodeCommand } from './command-codec.js';
import { compactChunk } from './compactor.js';
import { crc32 } from './crc32.js';
import { SUB_MAX } from './kv-layout.js';
import { prefetchLatest } from './kv-view.js';
import { tracePoint, tracing } from '../util/trace-points.js';
import { MvccError } from './errors.js';
import type { LeaseChange } from './lease-table.js';
import { evalRange } from './range.js';
import {
  META_COMPACTED_KEY, META_HASH_SUM_KEY, META_REVISION_KEY, STATE_APPLIED_INDEX_KEY, encodeU64, recordHash, revKey, subHash,
} from './records.js';
import { applyCommand } from './apply.js';
import { META_FORMAT_KEY, META_LIVE_KEYS_KEY, MVCC_FORMAT, restoreState } from './restore.js';
import { MvccState } from './state.js';
import type { BatchOut } from './txn-exec.js';
import { TxnExec } from './txn-exec.js';
import { validateTxn } from './validate-txn.js';
import { WatchHub } from './watch-hub.js';
import type { ExternalApplier } from './external.js';
import type { WriteGuard } from './write-guard.js';
import type {
  AlarmMember, Command, CommandResponse, LeaseStatus, LeaseTimeToLiveResponse, RangeRequest, RangeResponse, RequestOp,
  TxnRequest, TxnResponse,
} from './types.js';

export interface ApplyItem {
  /** Raft log index of the entry; strictly increasing within and across calls. */
  index: number;
  /** The entry's data: encoded (as proposed) or already decoded. */
  command: Command | Uint8Array;
  /**
   * A command the embedder built itself rather than a client's write (a namespace force
   * delete clearing the namespace's keys): the write guard does not judge it.
   */
  internal?: boolean;
}

export interface ApplyResult {
  index: number;
  /** Undefined when the entry was applied before (index <= applied index): no one awaits it. */
  response: CommandResponse | undefined;
}

export interface HashKVResult {
  hash: number;
  compactRevision: number;
  hashRevision: number;
}

export class MvccStore {
  readonly watchHub: WatchHub;
  private readonly leaseListeners = new Set<(changes: LeaseChange[]) => void>();
  /** Applies and whole-store reads run one at a time, in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private failed: Error | undefined;
  /** A compaction chunk is queued (at most one at a time). */
  private compacting = false;
  /** Set by idle(): background compaction chunks stop until the next apply. */
  private compactionPaused = false;
  /** The failure that stopped applies (a failed engine write, a throwing apply); undefined while healthy. */
  get applyFailure(): Error | undefined {
    return this.failed;
  }
  /** The last background compaction failure (a closed engine, a disk error); retried on the next apply. */
  compactionError: Error | undefined;

  /**
   * Meta values as the engine holds them, for those a batch rarely changes: a batch writes
   * them only when they differ (two to three engine writes fewer per batch, out of nine for a
   * batch of one put). Set once a batch's write resolved.
   */
  private readonly metaOnDisk: { compacted: number; liveKeys: number; format: boolean };

  private constructor(private readonly st: MvccState, formatOnDisk: boolean) {
    // restoreState read the absent ones as 0, which is what a reader of the engine takes too.
    this.metaOnDisk = { compacted: st.compacted, liveKeys: st.liveKeys, format: formatOnDisk };
    this.watchHub = new WatchHub(st);
    this.kickCompaction();
  }

  /** Opens the store over an engine: a few meta records, leases and the dedupe table; the
   *  key index is in the engine. */
  static async open(engine: Engine, opts: { recordCacheBytes?: number; latestCacheBytes?: number } = {}): Promise<MvccStore> {
    const st = new MvccState(engine, opts.recordCacheBytes, opts.latestCacheBytes);
    return new MvccStore(st, await restoreState(st));
  }

  get appliedIndex(): number {
    return this.st.applied;
  }

  /** The revision of the last applied write, as readers see it. */
  get currentRevision(): number {
    return this.st.published;
  }

  get compactedRevision(): number {
    return this.st.compacted;
  }

  /** The caches' size and use (for metrics), revision records and live kvs together;
   *  hits and misses count from open(). */
  get recordCacheStats(): { bytes: number; records: number; hits: number; misses: number } {
    const c = this.st.cache;
    const l = this.st.latestCache;
    return { bytes: c.heldBytes + l.heldBytes, records: c.size + l.size, hits: c.hits + l.hits, misses: c.misses + l.misses };
  }

  /** Live keys as readers see them (for metrics): a counter, not a scan. */
  get keyCount(): number {
    return this.st.publishedLiveKeys;
  }

  /** True while a compaction's deletions are still to be done (tests, metrics). */
  get compactionPending(): boolean {
    return this.st.pending !== undefined;
  }

  apply(index: number, command: Command | Uint8Array, opts: { internal?: boolean } = {}): Promise<ApplyResult> {
    return this.applyBatch([{ index, command, ...(opts.internal === true ? { internal: true } : {}) }]).then((r) => r[0] as ApplyResult);
  }

  /**
   * Applies committed entries in order; one engine write for the whole batch. `sync`: that
   * write is durable (fsync) before it resolves: an edge, which has no Raft log as its
   * write-ahead log, acknowledges a local write only then (group commit: one sync per batch).
   */
  applyBatch(items: ApplyItem[], opts: { sync?: boolean } = {}): Promise<ApplyResult[]> {
    return this.serial(() => this.applyNow(items, opts.sync === true));
  }

  private async applyNow(items: ApplyItem[], sync: boolean): Promise<ApplyResult[]> {
    // After a failed engine write memory and disk disagree: refuse to go on (the node restarts).
    if (this.failed !== undefined) throw this.failed;
    try {
      const results = await this.applyUnchecked(items, sync);
      this.compactionPaused = false;
      this.kickCompaction();
      return results;
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
      this.st.dropOverlay();
      throw e;
    }
  }

  private async applyUnchecked(items: ApplyItem[], sync: boolean): Promise<ApplyResult[]> {
    // The batch's revision records and latest rows live until it is written: one arena (bin.ts).
    const out: BatchOut = { ops: [], events: [], leaseChanges: [], arena: new ByteArena(items.length) };
    const results: ApplyResult[] = [];
    let last = this.st.applied;
    const todo: Array<{ index: number; cmd: Command; internal: boolean }> = [];
    for (const item of items) {
      if (item.index <= last) {
        results.push({ index: item.index, response: undefined });
        continue;
      }
      todo.push({ index: item.index, cmd: item.command instanceof Uint8Array ? decodeCommand(item.command) : item.command, internal: item.internal === true });
      last = item.index;
    }
    if (todo.length === 0) return results;
    // The live kvs of every key the batch puts, and what its external commands will read,
    // in one engine round trip.
    const ahead = { mvcc: putKeys(todo.map((t) => t.cmd)), raw: [] as Uint8Array[] };
    const external = this.st.external;
    if (external?.readAhead !== undefined) {
      for (const { cmd } of todo) if (cmd.type === 'external') external.readAhead(cmd.external.body, ahead.mvcc, ahead.raw);
    }
    if (tracing) tracePoint('mvcc.prefetch', last);
    await prefetchLatest(this.st, ahead.mvcc, ahead.raw);
    if (tracing) tracePoint('mvcc.prefetched', last);
    let sinceYield = 0;
    for (const { index, cmd, internal } of todo) {
      results.push({ index, response: await applyCommand(this.st, index, cmd, out, internal) });
      // A big batch (many txns of 128 puts) is CPU between awaits that resolve at once:
      // let timers (Raft's tick, heartbeats) run every APPLY_YIELD_OPS engine ops.
      if (out.ops.length - sinceYield >= APPLY_YIELD_OPS) {
        sinceYield = out.ops.length;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.st.external?.flush((op) => out.ops.push(op));
    out.ops.push(
      { type: 'put', key: STATE_APPLIED_INDEX_KEY, value: encodeU64(last) },
      { type: 'put', key: META_REVISION_KEY, value: encodeU64(this.st.revision) },
      { type: 'put', key: META_HASH_SUM_KEY, value: encodeU64(this.st.hashSum) },
    );
    const onDisk = this.metaOnDisk;
    const { compacted, liveKeys } = this.st;
    if (compacted !== onDisk.compacted) out.ops.push({ type: 'put', key: META_COMPACTED_KEY, value: encodeU64(compacted) });
    if (liveKeys !== onDisk.liveKeys) out.ops.push({ type: 'put', key: META_LIVE_KEYS_KEY, value: encodeU64(liveKeys) });
    if (!onDisk.format) out.ops.push({ type: 'put', key: META_FORMAT_KEY, value: FORMAT_VALUE });
    // Readers that need a view consistent with `published` wait for this write (kv-view.ts).
    // In key order: the memtable inserts each op next to the previous one (batch-order.ts);
    // a big batch in runs, with turns of the event loop between them.
    await sortOpsByKeyInRuns(out.ops);
    if (tracing) tracePoint('mvcc.write', last);
    const write = this.st.engine.write(out.ops, sync ? { sync: true } : undefined);
    this.st.writing = write.then(() => undefined, () => undefined);
    // The write is on its way (a thread-pool job): what the batch holds is final (external.ts).
    this.st.external?.writing?.();
    try {
      await write;
    } finally {
      this.st.writing = undefined;
    }
    onDisk.compacted = compacted;
    onDisk.liveKeys = liveKeys;
    onDisk.format = true;
    if (tracing) tracePoint('mvcc.written', last);
    this.st.applied = last;
    this.st.published = this.st.revision;
    this.st.publishedLiveKeys = this.st.liveKeys;
    this.st.publishedHashSum = this.st.hashSum;
    this.st.publishOverlay();
    this.st.external?.published();
    // Emitted only now: watchers and the lessor must never see an unwritten change.
    this.watchHub.publish(out.events, this.st.published);
    if (out.leaseChanges.length > 0) for (const l of this.leaseListeners) l(out.leaseChanges);
    return results;
  }

  /** Wires the check of the keys of etcd writes at apply (write-guard.ts); undefined unwires it. */
  setWriteGuard(guard: WriteGuard | undefined): void {
    this.st.writeGuard = guard;
  }

  /** Wires the applier of external commands (the region's CRDT store); undefined unwires it. */
  setExternalApplier(applier: ExternalApplier | undefined): void {
    this.st.external = applier;
  }

  /** A local read (serializable). Throws MvccError compacted / future-revision. */
  async range(req: RangeRequest): Promise<RangeResponse> {
    this.st.readRevision(req.revision); // compacted / future: refused before any read
    return evalRange(this.st, req, { kind: 'reader' });
  }

  /** A txn without writes, evaluated locally like range(); MvccError('invalid') if it writes. */
  async readTxn(req: TxnRequest): Promise<TxnResponse> {
    if (!isReadOnlyTxn(req)) throw new MvccError('invalid', 'etcdserver: a txn with writes must go through the log');
    validateTxn(req);
    const exec = new TxnExec(this.st, undefined, this.st.published);
    return exec.txn(req);
  }

  /** Queues the next compaction chunk behind the applies already queued, one at a time. */
  private kickCompaction(): void {
    if (this.compacting || this.compactionPaused || this.st.pending === undefined || this.failed !== undefined) return;
    this.compacting = true;
    this.serial(() => (this.compactionPaused ? Promise.resolve(false) : compactChunk(this.st))).then(
      (more) => {
        this.compacting = false;
        this.compactionError = undefined;
        if (more) this.kickCompaction();
      },
      (err: unknown) => {
        this.compacting = false;
        this.compactionError = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /**
   * A hash of every revision record at or below `revision` (0 = current) and the compacted
   * revision: CRC-32 of the compacted revision and of the records' hash sum (the sum of
   * each record's CRC, records.ts recordHash). Records below the compacted revision are the
   * ones compaction kept, the same on every member, so members that applied the same log
   * agree. The sum is kept up to date by every apply and compaction chunk, so at the
   * current revision this reads nothing (a scan of every record took 5.4 s at 1M keys);
   * at an older revision it subtracts the records above it, read in engine chunks.
   */
  async hashKV(revision = 0): Promise<HashKVResult> {
    // The revisions left on disk are the same on every member only once every compaction
    // has done its deletions: finish them first (chunk by chunk, between applies), then
    // take the sum and the view in the same serial slot. The scan of newer records runs
    // outside the queue, in engine chunks, so applies go on meanwhile.
    type View = { scan: AsyncIterableIterator<Array<[Bytes, Bytes]>> | undefined; sum: number; rev: number; compacted: number };
    let view: View | undefined;
    while (view === undefined) {
      view = await this.serial(async (): Promise<View | undefined> => {
        if (this.st.pending !== undefined) {
          await compactChunk(this.st);
          return undefined;
        }
        const rev = this.st.readRevision(revision);
        const newer = rev < this.st.published
          ? this.st.engine.scan({ gt: revKey(rev, SUB_MAX), lte: revKey(this.st.published, SUB_MAX) })
          : undefined;
        return { scan: newer, sum: this.st.publishedHashSum, rev, compacted: this.st.compacted };
      });
    }
    let sum = view.sum;
    if (view.scan !== undefined) {
      for await (const chunk of view.scan) for (const [k, v] of chunk) sum = subHash(sum, recordHash(k, v));
    }
    const sumBytes = new Uint8Array(4);
    new DataView(sumBytes.buffer).setUint32(0, sum);
    const hash = crc32(sumBytes, crc32(encodeU64(view.compacted), 0));
    return { hash, compactRevision: view.compacted, hashRevision: view.rev };
  }

  /** Active alarms (replicated), ordered by type then member id. */
  alarms(): AlarmMember[] {
    return this.st.alarms.list();
  }

  // ---- leases (replicated view) ----

  leases(): LeaseStatus[] {
    return [...this.st.leases.all()].map((l) => ({ id: l.id, ttl: l.ttl }));
  }

  leaseTimeToLive(id: number, withKeys: boolean): LeaseTimeToLiveResponse | undefined {
    const l = this.st.leases.get(id);
    if (l === undefined) return undefined;
    const keys = withKeys ? [...l.keys].sort().map((s) => Uint8Array.from(Buffer.from(s, 'latin1'))) : [];
    return { id, grantedTtl: l.ttl, remainingTtl: l.remainingTtl > 0 ? l.remainingTtl : -1, keys };
  }

  /** Lease grants/revokes/checkpoints after each applied batch (the Lessor listens). */
  onLeaseChange(listener: (changes: LeaseChange[]) => void): () => void {
    this.leaseListeners.add(listener);
    return () => this.leaseListeners.delete(listener);
  }

  /** Resolves once every apply issued so far is written; background compaction pauses
   *  (until the next apply), so the engine can be closed or replaced after this. */
  async idle(): Promise<void> {
    this.compactionPaused = true;
    let tail: Promise<unknown> | undefined;
    while (tail !== this.tail) {
      tail = this.tail;
      await tail;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

const FORMAT_VALUE = encodeU64(MVCC_FORMAT);
/** Engine ops an apply builds between two turns of the event loop (~4 per put): about
 *  10 ms of CPU on this machine's cores, well inside a heartbeat interval. */
export const APPLY_YIELD_OPS = 2048;

/** Keys the batch's puts (including those inside txns) write: worth reading ahead. */
function putKeys(cmds: Command[]): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const ofOps = (ops: RequestOp[]): void => {
    for (const op of ops) {
      if (op.type === 'put') keys.push(op.put.key);
      else if (op.type === 'txn') ofTxn(op.txn);
    }
  };
  const ofTxn = (t: TxnRequest): void => {
    ofOps(t.success);
    ofOps(t.failure);
  };
  for (const cmd of cmds) {
    if (cmd.type === 'put') keys.push(cmd.put.key);
    else if (cmd.type === 'txn') ofTxn(cmd.txn);
  }
  return keys;
}

export function isReadOnlyTxn(req: TxnRequest): boolean {
  const ro = (ops: RequestOp[]): boolean =>
    ops.every((op) => op.type === 'range' || (op.type === 'txn' && isReadOnlyTxn(op.txn)));
  return ro(req.success) && ro(req.failure);
}

/** Used by tests and the API layer to say whether a response is an error. */
export function responseError(res: CommandResponse | undefined): MvccError | undefined {
  return res !== undefined && res.type === 'error' ? new MvccError(res.code, res.message) : undefined;
}
