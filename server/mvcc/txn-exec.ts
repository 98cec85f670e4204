// Executes writes as one revision: a Put, a DeleteRange, a Txn (any nesting) or a lease
// revoke. Every check that can fail runs before the first change (compares pick the
// path, then puts and ranges on that path are checked), so a failed command leaves no
// trace and every member reaches the same answer.

import { assert, unreachable } from '../util/assert.js';
import type { BatchOp } from '../storage/engine.js';
import type { ByteArena } from './bin.js';
import { MvccError } from './errors.js';
import { encodeHist, encodeLatest, histKey, keyString, latestKey, leaseKeyKey } from './kv-layout.js';
import { applierGet, applierGetNow, applierRange } from './kv-view.js';
import type { LeaseChange } from './lease-table.js';
import { evalRange } from './range.js';
import { addHash, encodeRecord, recordHash, type KvRecord, revKey } from './records.js';
import { type MvccState, overlayKey } from './state.js';
import {
  type Compare, CompareResult, CompareTarget, type DeleteRangeRequest, type DeleteRangeResponse, type Event,
  EventType, type KeyValue, type PutRequest, type PutResponse, type RangeRequest, type RangeResponse,
  type RequestOp, type ResponseOp, type TxnRequest, type TxnResponse,
} from './types.js';

/** What a batch of applied commands produces besides the in-memory changes. */
export interface BatchOut {
  ops: BatchOp[];
  events: Event[];
  leaseChanges: LeaseChange[];
  /** Where values that live only until the batch is written are encoded (bin.ts). */
  arena?: ByteArena;
}

const EMPTY = new Uint8Array(0);
/** Writes of one command between two turns of the event loop (~5 ms of CPU). */
export const WRITES_PER_YIELD = 512;

export class TxnExec {
  /** The revision this command writes at, if it writes. */
  readonly main: number;
  private sub = 0;

  /** `readOnly`: a read txn at `base` (the published revision) that must not write. */
  constructor(
    private readonly st: MvccState,
    private readonly out: BatchOut | undefined,
    private readonly base: number,
  ) {
    this.main = base + 1;
  }

  get changed(): boolean {
    return this.sub > 0;
  }

  /** Reads inside the command see its own earlier writes (etcd's rule). */
  private get readRev(): number {
    return this.changed ? this.main : this.base;
  }

  /** The header revision of the command's response. */
  get revision(): number {
    return this.readRev;
  }

  /** Makes the revision current if anything was written. */
  finish(): number {
    if (this.changed) this.st.revision = this.main;
    return this.st.revision;
  }

  // ---- checks (no changes) ----

  async checkPut(req: PutRequest): Promise<void> {
    const lease = req.lease ?? 0;
    if (lease !== 0 && req.ignoreLease !== true && !this.st.leases.has(lease)) throw new MvccError('lease-not-found');
    if (req.ignoreLease === true && lease !== 0) throw new MvccError('invalid', 'etcdserver: lease id must be 0 with ignore_lease');
    if (req.ignoreValue === true && req.value.length > 0) throw new MvccError('invalid', 'etcdserver: value must be empty with ignore_value');
    if (req.ignoreValue === true || req.ignoreLease === true) {
      if ((await applierGet(this.st, req.key)) === undefined) throw new MvccError('key-not-found');
    }
  }

  checkRange(req: RangeRequest): void {
    const rev = req.revision ?? 0;
    if (rev > this.base) throw new MvccError('future-revision');
    if (rev > 0 && rev < this.st.compacted) throw new MvccError('compacted');
  }

  // ---- single operations ----

  async put(req: PutRequest): Promise<PutResponse> {
    assert(this.out !== undefined, 'put in a read-only txn');
    return this.putOver(req, await applierGet(this.st, req.key));
  }

  /**
   * A plain put (no lease, no prev kv in the answer) of a key whose live kv is known without
   * an engine read (the batch's overlay, the read ahead, the latest cache): done at once,
   * with no promise (an lww winner's projection at a hot key, every member, every write).
   * False: not known, nothing done; the caller puts it the ordinary way.
   */
  putKnown(key: Uint8Array, value: Uint8Array): boolean {
    assert(this.out !== undefined, 'put in a read-only txn');
    const prev = applierGetNow(this.st, key, keyString(key));
    if (prev === undefined) return false;
    this.putOver({ key, value }, prev ?? undefined);
    return true;
  }

  private putOver(req: PutRequest, prev: KeyValue | undefined): PutResponse {
    assert(this.out !== undefined, 'put in a read-only txn');
    const value = req.ignoreValue === true ? (prev as KeyValue).value : req.value;
    const prevLease = prev?.lease ?? 0;
    const lease = req.ignoreLease === true ? prevLease : req.lease ?? 0;
    const sub = this.sub++;
    const key = req.key.slice(); // own memory: req views into the entry's bytes
    if (prevLease !== lease) this.detach(prevLease, key);
    this.attach(lease, key);
    const createRevision = prev === undefined ? this.main : prev.createRevision;
    const version = prev === undefined ? 1 : prev.version + 1;
    if (prev === undefined) this.st.liveKeys++;
    const rec: KvRecord = { key, value, createRevision, modRevision: this.main, version, lease, tombstone: false };
    this.write(rec, sub);
    this.out.events.push({ type: EventType.PUT, kv: toKv(rec) });
    return prev !== undefined && req.prevKv === true ? { revision: this.main, prevKv: toKv(prev) } : { revision: this.main };
  }

  /**
   * A put of a key its caller knows is not live (an external applier's invariant: a new
   * event's etcd key, which nothing but that event's projection writes), without reading the
   * key's live kv: the read ahead of such keys was one engine read per event of an edge's
   * upload. What this batch or the caches already know is still looked at (no engine read):
   * a key they show live is not written and false is returned (the caller puts it the
   * ordinary way), so a wrong claim within a batch cannot double-count it. No lease, no
   * previous value to answer with; synchronous (no promise per event). `key` is kept as
   * given (the caller's own bytes, not a view into an entry): no copy.
   */
  putNew(key: Uint8Array, value: Uint8Array): boolean {
    assert(this.out !== undefined, 'put in a read-only txn');
    const ks = keyString(key);
    const known = this.st.latestOverlay.get(ks) ?? this.st.prefetched.get(ks) ?? this.st.latestCache.lookup(key, ks);
    if (known !== undefined && known !== null) return false;
    const sub = this.sub++;
    this.st.liveKeys++;
    const rec: KvRecord = { key, value, createRevision: this.main, modRevision: this.main, version: 1, lease: 0, tombstone: false };
    this.write(rec, sub, ks);
    this.out.events.push({ type: EventType.PUT, kv: toKv(rec) });
    return true;
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    assert(this.out !== undefined, 'delete in a read-only txn');
    // Values only when the response carries them: a tombstone needs the key and its lease.
    const live = await applierRange(this.st, req.key, req.rangeEnd, { values: req.prevKv === true });
    for (const kv of live) {
      // A delete of a large range (or a revoke of a lease with many keys) is one revision
      // but need not be one turn of the event loop: readers never see the batch's overlay.
      if (this.sub > 0 && this.sub % WRITES_PER_YIELD === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const sub = this.sub++;
      this.detach(kv.lease, kv.key);
      this.st.liveKeys--;
      const rec: KvRecord = { key: kv.key, value: EMPTY, createRevision: 0, modRevision: this.main, version: 0, lease: 0, tombstone: true };
      this.write(rec, sub);
      this.out.events.push({ type: EventType.DELETE, kv: toKv(rec) });
    }
    return { revision: this.readRev, deleted: live.length, prevKvs: req.prevKv === true ? live : [] };
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    if (this.out === undefined) {
      // A read-only txn: a reader at `base` (the published revision it started at).
      const revision = req.revision !== undefined && req.revision > 0 ? req.revision : this.base;
      return evalRange(this.st, { ...req, revision }, { kind: 'reader' }).then((r) => ({ ...r, revision: this.base }));
    }
    return evalRange(this.st, req, { kind: 'applier', current: this.readRev });
  }

  private attach(lease: number, key: Uint8Array): void {
    if (lease === 0) return;
    this.st.leases.attach(lease, keyString(key));
    (this.out as BatchOut).ops.push({ type: 'put', key: leaseKeyKey(lease, key), value: EMPTY });
  }

  private detach(lease: number, key: Uint8Array): void {
    if (lease === 0) return;
    this.st.leases.detach(lease, keyString(key));
    (this.out as BatchOut).ops.push({ type: 'del', key: leaseKeyKey(lease, key) });
  }

  /** The revision record, the key's new latest row (or its removal) and its history entry. */
  private write(rec: KvRecord, sub: number, keyStr?: string): void {
    const { ops, arena } = this.out as BatchOut;
    const key = revKey(this.main, sub);
    const value = encodeRecord(rec, arena);
    ops.push({ type: 'put', key, value });
    this.st.hashSum = addHash(this.st.hashSum, recordHash(key, value));
    if (rec.tombstone) ops.push({ type: 'del', key: latestKey(rec.key) });
    else ops.push({ type: 'put', key: latestKey(rec.key), value: encodeLatest(rec, arena) });
    ops.push({ type: 'put', key: histKey(rec.key, this.main, sub), value: encodeHist(rec) });
    this.st.overlay.set(overlayKey(this.main, sub), rec);
    const ks = keyStr ?? keyString(rec.key);
    this.st.latestOverlay.set(ks, rec.tombstone ? null : toKv(rec));
    let entries = this.st.histOverlay.get(ks);
    if (entries === undefined) this.st.histOverlay.set(ks, (entries = []));
    entries.push({ main: this.main, sub, tombstone: rec.tombstone, createRevision: rec.createRevision, version: rec.version });
  }

  // ---- txn ----

  /** Runs a txn: compares → path, checks along the path, then the ops. */
  async txn(req: TxnRequest): Promise<TxnResponse> {
    const path: boolean[] = [];
    await this.choosePath(req, path);
    await this.checkPath(req, path, { at: 0 });
    const res = await this.execPath(req, path, { at: 0 });
    return res;
  }

  /** Evaluates the compares of the txn and of nested txns on the taken branches (pre-txn state). */
  private async choosePath(req: TxnRequest, path: boolean[]): Promise<void> {
    let ok = true;
    for (const c of req.compare) {
      if (!(await this.compare(c))) {
        ok = false;
        break;
      }
    }
    path.push(ok);
    for (const op of ok ? req.success : req.failure) if (op.type === 'txn') await this.choosePath(op.txn, path);
  }

  private async checkPath(req: TxnRequest, path: boolean[], cursor: { at: number }): Promise<void> {
    const ok = path[cursor.at++] as boolean;
    for (const op of ok ? req.success : req.failure) {
      if (op.type === 'put') {
        assert(this.out !== undefined, () => 'put in a read-only txn');
        await this.checkPut(op.put);
      } else if (op.type === 'range') this.checkRange(op.range);
      else if (op.type === 'txn') await this.checkPath(op.txn, path, cursor);
      else assert(this.out !== undefined, 'delete in a read-only txn');
    }
  }

  private async execPath(req: TxnRequest, path: boolean[], cursor: { at: number }): Promise<TxnResponse> {
    const ok = path[cursor.at++] as boolean;
    const responses: ResponseOp[] = [];
    for (const op of ok ? req.success : req.failure) responses.push(await this.execOp(op, path, cursor));
    return { revision: this.readRev, succeeded: ok, responses };
  }

  private async execOp(op: RequestOp, path: boolean[], cursor: { at: number }): Promise<ResponseOp> {
    switch (op.type) {
      case 'range': return { type: 'range', range: await this.range(op.range) };
      case 'put': return { type: 'put', put: await this.put(op.put) };
      case 'deleteRange': return { type: 'deleteRange', deleteRange: await this.deleteRange(op.deleteRange) };
      case 'txn': return { type: 'txn', txn: await this.execPath(op.txn, path, cursor) };
      default: return unreachable(op, 'request op');
    }
  }

  /** etcd's applyCompare: every key in range must satisfy it; no key compares as a zero kv. */
  private async compare(c: Compare): Promise<boolean> {
    const kvs = this.out === undefined
      ? (await evalRange(this.st, { key: c.key, ...(c.rangeEnd === undefined ? {} : { rangeEnd: c.rangeEnd }), revision: this.base }, { kind: 'reader' })).kvs
      : await applierRange(this.st, c.key, c.rangeEnd);
    if (kvs.length === 0) return c.target === CompareTarget.VALUE ? false : compareKv(c, undefined);
    for (const kv of kvs) if (!compareKv(c, kv)) return false;
    return true;
  }
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let d: number;
  switch (c.target) {
    case CompareTarget.VERSION: d = (kv?.version ?? 0) - c.version; break;
    case CompareTarget.CREATE: d = (kv?.createRevision ?? 0) - c.createRevision; break;
    case CompareTarget.MOD: d = (kv?.modRevision ?? 0) - c.modRevision; break;
    case CompareTarget.LEASE: d = (kv?.lease ?? 0) - c.lease; break;
    case CompareTarget.VALUE: d = Buffer.compare(kv?.value ?? EMPTY, c.value); break;
    default: return unreachable(c, 'compare target');
  }
  switch (c.result) {
    case CompareResult.EQUAL: return d === 0;
    case CompareResult.NOT_EQUAL: return d !== 0;
    case CompareResult.GREATER: return d > 0;
    case CompareResult.LESS: return d < 0;
    default: return unreachable(c.result, 'compare result');
  }
}

function toKv(r: KeyValue): KeyValue {
  return { key: r.key, createRevision: r.createRevision, modRevision: r.modRevision, version: r.version, value: r.value, lease: r.lease };
}
