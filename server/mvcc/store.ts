// MvccStore: etcd v3 semantics over an Engine. apply*() is the only way state changes:
// deterministic (same commands → same state, answers and hash on every member), and a
// batch of entries is one engine write holding the changes and the applied index, without
// sync because the Raft log is the write-ahead log. Reads are local (serializable); the
// API layer makes them linearizable with ReadIndex before calling.

import type { Engine } from '../storage/engine.js';
import { decodeCommand } from './command-codec.js';
import { crc32 } from './crc32.js';
import { MvccError } from './errors.js';
import type { LeaseChange } from './lease-table.js';
import { evalRange } from './range.js';
import {
  META_COMPACTED_KEY, META_REVISION_KEY, STATE_APPLIED_INDEX_KEY, encodeU64, revKey,
} from './records.js';
import { applyCommand } from './apply.js';
import { restoreState } from './restore.js';
import { MvccState } from './state.js';
import type { BatchOut } from './txn-exec.js';
import { TxnExec } from './txn-exec.js';
import { validateTxn } from './validate-txn.js';
import { WatchHub } from './watch-hub.js';
import type {
  AlarmMember, Command, CommandResponse, LeaseStatus, LeaseTimeToLiveResponse, RangeRequest, RangeResponse, RequestOp,
  TxnRequest, TxnResponse,
} from './types.js';

export interface ApplyItem {
  /** Raft log index of the entry; strictly increasing within and across calls. */
  index: number;
  /** The entry's data: encoded (as proposed) or already decoded. */
  command: Command | Uint8Array;
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

  private constructor(private readonly st: MvccState) {
    this.watchHub = new WatchHub(st);
  }

  /** Opens the store over an engine, rebuilding the key index, leases and dedupe table from it. */
  static async open(engine: Engine, opts: { recordCacheBytes?: number } = {}): Promise<MvccStore> {
    const st = new MvccState(engine, opts.recordCacheBytes);
    await restoreState(st);
    return new MvccStore(st);
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

  /** The record cache's size and use (for metrics); hits and misses count from open(). */
  get recordCacheStats(): { bytes: number; records: number; hits: number; misses: number } {
    const c = this.st.cache;
    return { bytes: c.heldBytes, records: c.size, hits: c.hits, misses: c.misses };
  }

  /** Live keys (for metrics). */
  get keyCount(): number {
    let n = 0;
    for (const ki of this.st.index.range(Uint8Array.of(0), Uint8Array.of(0))) if (ki.live) n++;
    return n;
  }

  apply(index: number, command: Command | Uint8Array): Promise<ApplyResult> {
    return this.applyBatch([{ index, command }]).then((r) => r[0] as ApplyResult);
  }

  /** Applies committed entries in order; one engine write for the whole batch. */
  applyBatch(items: ApplyItem[]): Promise<ApplyResult[]> {
    return this.serial(() => this.applyNow(items));
  }

  private async applyNow(items: ApplyItem[]): Promise<ApplyResult[]> {
    // After a failed engine write memory and disk disagree: refuse to go on (the node restarts).
    if (this.failed !== undefined) throw this.failed;
    try {
      return await this.applyUnchecked(items);
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
      throw e;
    }
  }

  private async applyUnchecked(items: ApplyItem[]): Promise<ApplyResult[]> {
    const out: BatchOut = { ops: [], events: [], leaseChanges: [] };
    const results: ApplyResult[] = [];
    let last = this.st.applied;
    for (const item of items) {
      if (item.index <= last) {
        results.push({ index: item.index, response: undefined });
        continue;
      }
      const cmd = item.command instanceof Uint8Array ? decodeCommand(item.command) : item.command;
      results.push({ index: item.index, response: await applyCommand(this.st, item.index, cmd, out) });
      last = item.index;
    }
    if (last === this.st.applied) return results;
    out.ops.push(
      { type: 'put', key: STATE_APPLIED_INDEX_KEY, value: encodeU64(last) },
      { type: 'put', key: META_REVISION_KEY, value: encodeU64(this.st.revision) },
      { type: 'put', key: META_COMPACTED_KEY, value: encodeU64(this.st.compacted) },
    );
    await this.st.engine.write(out.ops);
    this.st.applied = last;
    this.st.published = this.st.revision;
    this.st.publishOverlay();
    // Emitted only now: watchers and the lessor must never see an unwritten change.
    this.watchHub.publish(out.events, this.st.published);
    if (out.leaseChanges.length > 0) for (const l of this.leaseListeners) l(out.leaseChanges);
    return results;
  }

  /** A local read (serializable). Throws MvccError compacted / future-revision. */
  async range(req: RangeRequest): Promise<RangeResponse> {
    const at = this.st.readRevision(req.revision);
    const header = this.st.published;
    return evalRange(this.st, req, at, header);
  }

  /** A txn without writes, evaluated locally like range(); MvccError('invalid') if it writes. */
  async readTxn(req: TxnRequest): Promise<TxnResponse> {
    if (!isReadOnlyTxn(req)) throw new MvccError('invalid', 'etcdserver: a txn with writes must go through the log');
    validateTxn(req);
    const exec = new TxnExec(this.st, undefined, this.st.published);
    return exec.txn(req);
  }

  /**
   * CRC32 over every revision record at or below `revision` (0 = current) and the compacted
   * revision. Records below the compacted revision are the ones compaction kept, the same on
   * every member, so members that applied the same log agree.
   */
  hashKV(revision = 0): Promise<HashKVResult> {
    return this.serial(async () => {
      const rev = this.st.readRevision(revision);
      let hash = crc32(encodeU64(this.st.compacted), 0);
      for await (const [k, v] of this.st.engine.iterate({ gte: revKey(0, 0), lte: revKey(rev, 0xffff_ffff) })) {
        hash = crc32(v, crc32(k, hash));
      }
      return { hash, compactRevision: this.st.compacted, hashRevision: rev };
    });
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

  /** Resolves once every apply issued so far is written. */
  idle(): Promise<void> {
    return this.serial(async () => {});
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
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
