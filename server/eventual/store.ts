// The eventual store of a replica (a region member, or an edge under its own origin): the persistent CRDT state of every eventual
// namespace in the `state/` engine (layout.ts), applied as mvcc `external` commands so that
// a CRDT write's own keyspaces, its change-feed projection, the dedupe record and the applied
// index are one engine write (server/mvcc/external.ts). One instance per open engine: a
// snapshot install opens a new one (the caches hold the old engine's state).
//
// Memory: per namespace its record (vector + running counts; grows with origins, not keys);
// decoded per-key states in a bounded LRU (CRDT_STATE_CACHE_ENTRIES); what a batch changed,
// until it is written. Everything that grows with keys or events is in the engine.

import { HLC_ZERO, VersionVector, type CrdtRecord, type Hlc } from '../crdt/index.js';
import type { ExternalAnswer, ExternalApplier, ExternalTx } from '../mvcc/index.js';
import type { NamespaceRegistry } from '../namespace/index.js';
import { crc32 } from '../mvcc/index.js';
import type { BatchOp, Engine } from '../storage/index.js';
import { applyPage, applyWrite, eventKeysOwned, type ApplyEnv, type StateKeys } from './apply.js';
import { applyGc, gcFrontierKey } from './gc.js';
import { LruCache } from './cache.js';
import { FreshIndex } from './fresh-index.js';
import {
  SET_STATE_TAG, decodeHlcValue, decodeKeyState, decodeNsRecord, encodeHlcValue, encodeKeyState, encodeNsRecord, keyStateHashForm,
  type DeviceSummary, type NsCounts, type NsRecord,
} from './codec.js';
import { EvError, decodeBody, encodeAnswer, type EvAnswer, type EvBody } from './entry.js';
import { NS_RECORDS_RANGE, Sub, deviceKey, eventKey, keyStateKey, metaKey, nsDataRange, nsOfRecordKey, nsRecordKey, subRange } from './layout.js';
import { eventEtcdKey } from './project.js';
import { CRDT_STATE_CACHE_BYTES, CRDT_STATE_CACHE_ENTRIES } from './limits.js';
import { EMPTY_NS_RECORD, Work, flushBatch, keyString, type BatchState, type WorkBase } from './work.js';
import { decodeEdgeRecord, edgeKey, edgeKeyRange, encodeEdgeRecord, mergeEdge, type EdgeRecord } from './edges.js';
import { mergeRecord } from './merge.js';
import {
  RESYNC_MARKS_RANGE, decodeMark, keptRange, keptRecords, nsOfResyncMarkKey, resetNamespace, resyncMarkKey, type ResyncMark,
} from './resync.js';

// The local replica's last HLC (the stored name predates edges: kept, it is on disk).
const HLC_KEY = metaKey('region-hlc');

export interface EventualStoreOptions {
  /** This replica's id, the origin of its own writes: `region:<initial-cluster-token>` in a region,
   *  `edge:<device>:<incarnation>` on an edge. */
  localOrigin: string;
  /** The namespace registry as applied up to the entry being applied. */
  registry: () => NamespaceRegistry;
  /** UNSAFE (testing only, --unsafe-crdt-apply-duplicates): retried CRDT writes apply again. */
  unsafeApplyDuplicates?: boolean;
  /** Ops applied per (namespace, type), once their batch is written (the metric). */
  onApplied?: (namespace: string, type: string, n: number) => void;
  /**
   * Once a written batch changed a namespace's record (its vector or counts), once per
   * namespace: what sync sessions push on. Not onApplied: a page whose records were all held
   * or dominated merges no op, yet its ranges advance the vector, and a peer that is not told
   * keeps a smaller vector (and another CrdtHash) until the namespace changes again.
   */
  onChanged?: (namespace: string) => void;
  /**
   * Once a batch's engine write is issued (ExternalApplier.writing: not yet durable; or at
   * publish if the store never says so), per namespace it changed: the records this replica's
   * own writes merged in it, in seq order; or undefined when anything else (a page, a gc, a
   * resync step) changed the namespace in that batch. An edge's live push sends them from
   * memory instead of reading them back, and starts while they are being synced
   * (server/edge/replica.ts).
   */
  onLocalRecords?: (namespace: string, records: readonly CrdtRecord[] | undefined) => void;
  cacheEntries?: number;
  cacheBytes?: number;
}

/** A refusal (EvError) as the command's answer: refused before anything was written, the work is dropped. Anything else is thrown on. */
function refusal(e: unknown): Uint8Array {
  if (!(e instanceof EvError)) throw e;
  return encodeAnswer({ kind: 'error', code: e.code, message: e.message, ...(e.resendFrom !== undefined ? { resendFrom: e.resendFrom } : {}) });
}

/**
 * An applied command's answer, encoded (encodeAnswer) only when mvcc asks for its bytes: a
 * waiter or a dedupe record (external.ts ExternalAnswer). Answers never change once made.
 */
class AnswerBytes implements ExternalAnswer {
  constructor(private readonly answer: EvAnswer) {}

  encode(): Uint8Array {
    return encodeAnswer(this.answer);
  }
}

/** A namespace's vector as vector() hands it out: shared, so read only. */
export type VectorView = ReadonlyArray<Readonly<{ origin: string; seq: number }>>;

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function freshBatch(): BatchState {
  return { slots: new Map(), ns: new Map(), hlc: undefined, applied: new Map(), fresh: new FreshIndex() };
}

export class EventualStore implements ExternalApplier {
  readonly skipDedupe: boolean;
  private readonly records: Map<string, NsRecord>;
  /** vector() per namespace, until its record changes (dropped with it). */
  private readonly vectors = new Map<string, VectorView>();
  private hlc: Hlc;
  private batch: BatchState = freshBatch();
  private readonly workBase: WorkBase;
  /** The apply environment, one for every command (its registry set per command); made at the
   *  first apply (opts.registry may not answer before the embedder finished opening). */
  private env: ApplyEnv | undefined;
  private readonly cache: LruCache<unknown>;
  /** Known edges (edges.ts), as of the last written batch; `edgeBatch`: this batch's changes. */
  private readonly edgeTable: Map<string, EdgeRecord>;
  private edgeBatch = new Map<string, EdgeRecord>();
  /** Bodies decoded by readAhead, for apply to take (the same bytes object), not decode again;
   *  emptied when the batch is written. */
  private decoded = new Map<Uint8Array, { body: EvBody; keys: StateKeys | undefined }>();
  /** Namespaces being resynced on this replica (resync.ts), and this batch's changes to them. */
  private readonly resyncs: Map<string, ResyncMark>;
  private resyncBatch: Array<{ ns: string; mark: ResyncMark | undefined }> = [];
  /** This batch's records for onLocalRecords, per namespace (undefined: changed otherwise too). */
  private localBatch = new Map<string, CrdtRecord[] | undefined>();

  private constructor(
    readonly engine: Engine, private readonly opts: EventualStoreOptions, records: Map<string, NsRecord>, hlc: Hlc, edges: Map<string, EdgeRecord>,
    resyncs: Map<string, ResyncMark>,
  ) {
    this.resyncs = resyncs;
    this.edgeTable = edges;
    this.skipDedupe = opts.unsafeApplyDuplicates === true;
    this.records = records;
    this.hlc = hlc;
    this.cache = new LruCache(opts.cacheEntries ?? CRDT_STATE_CACHE_ENTRIES, opts.cacheBytes ?? CRDT_STATE_CACHE_BYTES);
    // One base for every command's Work (its fields read the store's current ones), not an
    // object and two closures per command.
    const hlcNow = (): Hlc => this.hlc;
    const batchNow = (): BatchState => this.batch;
    this.workBase = {
      cached: (ks) => this.cache.get(ks),
      nsRecord: (ns) => this.records.get(ns) ?? EMPTY_NS_RECORD,
      get hlc() { return hlcNow(); },
      get batch() { return batchNow(); },
    };
  }

  /** Loads the namespace records (vectors and counts) and the local HLC. */
  static async open(engine: Engine, opts: EventualStoreOptions): Promise<EventualStore> {
    const records = new Map<string, NsRecord>();
    for await (const [k, v] of engine.iterate(NS_RECORDS_RANGE)) records.set(nsOfRecordKey(k), decodeNsRecord(v));
    const h = await engine.get(HLC_KEY);
    const edges = new Map<string, EdgeRecord>();
    for await (const [, v] of engine.iterate(edgeKeyRange())) {
      const e = decodeEdgeRecord(v);
      edges.set(e.replicaId, e);
    }
    const resyncs = new Map<string, ResyncMark>();
    for await (const [k, v] of engine.iterate(RESYNC_MARKS_RANGE)) resyncs.set(nsOfResyncMarkKey(k), decodeMark(v));
    return new EventualStore(engine, opts, records, h === undefined ? HLC_ZERO : decodeHlcValue(h), edges, resyncs);
  }

  get localOrigin(): string {
    return this.opts.localOrigin;
  }

  // ---- apply (ExternalApplier)

  apply(_index: number, bytes: Uint8Array, tx: ExternalTx): Uint8Array | ExternalAnswer | Promise<Uint8Array | ExternalAnswer> {
    return this.applyBody(bytes, tx);
  }

  /**
   * The engine keys a command will read (ExternalApplier.readAhead): per key op the key's
   * CRDT state (unless the batch or the cache holds it) and its mvcc row (the projection's
   * prior kv); per event with its seq given, the held event and its etcd key (neither for an
   * event known not held, whose etcd key is known not live: apply.ts eventKeysOwned); per
   * device its summary. The store reads them in one round trip with the batch's other keys.
   */
  readAhead(bytes: Uint8Array, mvcc: Uint8Array[], raw: Uint8Array[]): void {
    let body: EvBody;
    try {
      body = decodeBody(bytes);
    } catch {
      return; // apply refuses it
    }
    const ns = body.namespace;
    if (body.kind === 'write') {
      // The state keys built here (and their strings) are handed to apply (StateKeys).
      const keys: StateKeys = [];
      const ops = body.ops;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.type === 'eventAppend') {
          keys.push(undefined);
          this.eventAhead(ns, op.device, op.seq, mvcc, raw);
          continue;
        }
        keys.push(this.stateKeyAhead(ns, op.key, raw));
        mvcc.push(op.key);
      }
      this.decoded.set(bytes, { body, keys });
      return;
    }
    this.decoded.set(bytes, { body, keys: undefined });
    if (body.kind === 'page') {
      for (const r of body.records) {
        if (r.kind === 'events') this.eventAhead(ns, r.deviceId, r.deviceSeq, mvcc, raw);
        else {
          this.stateAhead(keyStateKey(ns, r.key), raw);
          mvcc.push(r.key);
        }
      }
    }
  }

  /** The state key the last op read ahead named, in this batch: a hot key's ops share it (no key bytes, string or object per op). */
  private lastAhead: { ns: string; key: Uint8Array; keys: { sk: Uint8Array; ks: string } } | undefined;

  /** The state key of `key` of namespace `ns` and its string, read ahead unless held (stateAhead). */
  private stateKeyAhead(ns: string, key: Uint8Array, raw: Uint8Array[]): { sk: Uint8Array; ks: string } {
    const last = this.lastAhead;
    // The same key as the last op (a hot key): named for the read ahead already, in this batch.
    if (last !== undefined && last.ns === ns && sameKey(last.key, key)) return last.keys;
    const sk = keyStateKey(ns, key);
    const keys = { sk, ks: this.stateAhead(sk, raw) };
    this.lastAhead = { ns, key, keys };
    return keys;
  }

  /** A state key worth reading ahead: neither the batch nor the cache holds it. Returns its key string. */
  private stateAhead(k: Uint8Array, raw: Uint8Array[]): string {
    const ks = keyString(k);
    // has(), not get(): the apply's own get is the use that refreshes the entry.
    if (!this.batch.slots.has(ks) && !this.cache.has(ks)) raw.push(k);
    return ks;
  }

  /** The last namespace eventKeysOf answered for, under which registry. */
  private eventKeysMemo: { registry: NamespaceRegistry; ns: string; keys: { prefix: string; owned: boolean } | undefined } | undefined;

  /**
   * The etcd keys of `ns`'s events: its prefix (undefined: no such namespace, apply refuses),
   * and whether an event not held may skip its key's read (apply.ts eventKeysOwned).
   * Remembered for the last namespace asked: a page asks once per event.
   */
  private eventKeysOf(ns: string): { prefix: string; owned: boolean } | undefined {
    const registry = this.opts.registry();
    const m = this.eventKeysMemo;
    if (m !== undefined && m.registry === registry && m.ns === ns) return m.keys;
    const def = registry.get(ns);
    const keys = def === undefined ? undefined : { prefix: def.prefix, owned: def.crdtType === 'events' && eventKeysOwned(registry, def) };
    this.eventKeysMemo = { registry, ns, keys };
    return keys;
  }

  private eventAhead(ns: string, device: string, seq: number, mvcc: Uint8Array[], raw: Uint8Array[]): void {
    const events = this.eventKeysOf(ns);
    const dk = deviceKey(ns, device);
    const ks = this.stateAhead(dk, raw);
    if (seq <= 0) return; // assigned at apply
    // A seq past the device's highest is not held (merge.ts heldEvent): no read for it.
    const summary = (this.batch.slots.get(ks)?.value ?? this.cache.get(ks)) as DeviceSummary | null | undefined;
    const maybeHeld = summary === undefined || (summary !== null && seq <= summary.highest);
    if (maybeHeld) raw.push(eventKey(ns, device, seq));
    // Nor of its etcd key, when only projections write there (merge.ts writes it unread then).
    if (events !== undefined && (maybeHeld || !events.owned)) mvcc.push(eventEtcdKey(events.prefix, device, seq));
  }

  /**
   * The command's answer, encoded. Not async itself: a write whose merges and projection were
   * done at once (an lww write at a hot key, or at a key the read ahead fetched) answers with
   * no promise and no async frame; the rest continue in applyRest.
   */
  private applyBody(bytes: Uint8Array, tx: ExternalTx): Uint8Array | ExternalAnswer | Promise<Uint8Array | ExternalAnswer> {
    let body: EvBody;
    const ahead = this.decoded.get(bytes);
    try {
      body = ahead?.body ?? decodeBody(bytes);
    } catch (e) {
      // Only a corrupted entry (or a proposer bug) gets here: refuse it, the same everywhere.
      return encodeAnswer({ kind: 'error', code: 'invalid-argument', message: `undecodable eventual entry: ${(e as Error).message}` });
    }
    if (body.kind === 'edge') {
      const u = body.update;
      const next = mergeEdge(this.edgeBatch.get(u.replicaId) ?? this.edgeTable.get(u.replicaId), u);
      this.edgeBatch.set(u.replicaId, next);
      tx.append({ type: 'put', key: edgeKey(u.replicaId), value: encodeEdgeRecord(next) });
      return encodeAnswer({ kind: 'edge' });
    }
    const work = new Work(this.workBase, tx);
    const registry = this.opts.registry(); // as applied up to this entry
    const env = this.env ??= { registry, localOrigin: this.opts.localOrigin, resyncing: (ns) => this.resyncs.get(ns) };
    env.registry = registry;
    const merged: CrdtRecord[] | undefined = this.opts.onLocalRecords !== undefined && body.kind === 'write' ? [] : undefined;
    let pending: Promise<EvAnswer>;
    try {
      if (body.kind === 'write') {
        // An lww write at a hot key answers at once (apply.ts applyWrite).
        const a = applyWrite(env, work, body, merged, ahead?.keys);
        if (!(a instanceof Promise)) {
          const committing = work.commit();
          if (committing === undefined) return this.answered(body.namespace, merged, a);
          return committing.then(() => this.answered(body.namespace, merged, a));
        }
        pending = a;
      } else pending = body.kind === 'gc' ? applyGc(env, work, body) : applyPage(env, work, body);
    } catch (e) {
      return refusal(e);
    }
    return this.applyRest(body.namespace, work, pending, merged);
  }

  /** applyBody once its ops wait for reads. */
  private async applyRest(namespace: string, work: Work, pending: Promise<EvAnswer>, merged: CrdtRecord[] | undefined): Promise<Uint8Array | ExternalAnswer> {
    let answer: EvAnswer;
    try {
      answer = await pending;
    } catch (e) {
      return refusal(e);
    }
    const committing = work.commit();
    if (committing !== undefined) await committing;
    return this.answered(namespace, merged, answer);
  }

  /** A command's answer once its work is committed: encoded only if asked for (AnswerBytes). */
  private answered(namespace: string, merged: CrdtRecord[] | undefined, answer: EvAnswer): ExternalAnswer {
    if (this.opts.onLocalRecords !== undefined) this.noteLocal(namespace, merged);
    return new AnswerBytes(answer);
  }

  /** `records` merged by a local write of `ns` in this batch; undefined: `ns` changed otherwise. */
  private noteLocal(ns: string, records: CrdtRecord[] | undefined): void {
    const cur = this.localBatch.get(ns);
    if (records === undefined || (this.localBatch.has(ns) && cur === undefined)) this.localBatch.set(ns, undefined);
    else if (cur === undefined) this.localBatch.set(ns, records);
    else cur.push(...records);
  }

  flush(append: (op: BatchOp) => void): void {
    flushBatch(this.batch, append, nsRecordKey, encodeNsRecord, (h) => ({ type: 'put', key: HLC_KEY, value: encodeHlcValue(h) }));
  }

  /** The batch's engine write is issued: its own records go out (onLocalRecords) now. */
  writing(): void {
    this.deliverLocal();
  }

  private deliverLocal(): void {
    if (this.localBatch.size === 0) return;
    const local = this.localBatch;
    this.localBatch = new Map();
    if (this.opts.onLocalRecords !== undefined) for (const [ns, records] of local) this.opts.onLocalRecords(ns, records);
  }

  published(): void {
    const b = this.batch;
    this.batch = freshBatch();
    // Replaced, not cleared: a cleared Map's old table links to its new one, and after a
    // Mark-Compact every scavenge would promote the bodies through that chain (README
    // "Promotion after a Mark-Compact", server/mvcc/state.ts). One left empty is kept (no
    // Map per batch for nothing).
    if (this.decoded.size > 0) this.decoded = new Map();
    this.lastAhead = undefined;
    // forEach, not for-of over entries: no [key, value] array per entry.
    b.slots.forEach((s, ks) => {
      if (s.cache) this.cache.set(ks, s.value, s.bytes ?? 0);
      else this.cache.delete(ks);
    });
    b.ns.forEach((r, ns) => {
      this.records.set(ns, r);
      this.vectors.delete(ns);
    });
    if (b.hlc !== undefined) this.hlc = b.hlc;
    if (this.edgeBatch.size > 0) {
      this.edgeBatch.forEach((e, id) => this.edgeTable.set(id, e));
      this.edgeBatch = new Map();
    }
    if (this.resyncBatch.length > 0) this.publishResyncs();
    this.deliverLocal(); // when writing() was not called
    const { onApplied, onChanged } = this.opts;
    if (onApplied !== undefined) b.applied.forEach((c) => onApplied(c.namespace, c.type, c.n));
    if (onChanged !== undefined) b.ns.forEach((_r, ns) => onChanged(ns));
  }

  private publishResyncs(): void {
    for (const { ns, mark } of this.resyncBatch) {
      if (mark === undefined) {
        this.resyncs.delete(ns);
        continue;
      }
      this.resyncs.set(ns, mark);
      this.records.delete(ns);
      this.vectors.delete(ns);
      this.cache.clear(); // states of the dropped namespace
    }
    this.resyncBatch = [];
  }

  // ---- a namespace deleted (namespace-applier.ts)

  /** Deletes of every key of the namespace's CRDT state (its record and its data range). */
  async dropOps(ns: string): Promise<BatchOp[]> {
    const ops: BatchOp[] = [{ type: 'del', key: nsRecordKey(ns) }, { type: 'del', key: resyncMarkKey(ns) }, { type: 'del', key: gcFrontierKey(ns) }];
    for (const range of [nsDataRange(ns), keptRange(ns)]) {
      for await (const chunk of this.engine.scan({ ...range, values: false })) for (const [k] of chunk) ops.push({ type: 'del', key: k });
    }
    return ops;
  }

  dropped(ns: string): void {
    this.records.delete(ns);
    this.vectors.delete(ns);
    this.resyncs.delete(ns);
    this.cache.clear();
    this.opts.onLocalRecords?.(ns, undefined);
  }

  // ---- a namespace resynced from a snapshot (resync.ts; an edge, in a command alone in its batch)

  /** The namespace's resync in progress on this replica, if any. */
  resyncMark(ns: string): ResyncMark | undefined {
    return this.resyncs.get(ns);
  }

  /** Namespaces being resynced. */
  resyncing(): string[] {
    return [...this.resyncs.keys()].sort();
  }

  private checkAlone(what: string): void {
    if (this.batch.slots.size > 0 || this.batch.ns.size > 0 || this.resyncBatch.length > 0) throw new Error(`eventual store: a resync ${what} must be alone in its batch`);
  }

  /**
   * Step 1: keeps this replica's writes past `regionSeq` (what the region holds of its origin)
   * and drops the namespace's state and projection. Returns the records kept, or undefined
   * when the namespace is resyncing already (nothing done: its download simply goes on).
   */
  async resyncReset(ns: string, regionSeq: number, tx: ExternalTx): Promise<number | undefined> {
    this.checkAlone('reset');
    const def = this.opts.registry().get(ns);
    if (def === undefined || def.level !== 'eventual' || this.resyncs.has(ns)) return undefined;
    const y = this.records.get(ns)?.vector.get(this.opts.localOrigin) ?? 0;
    const mark: ResyncMark = { x: Math.min(regionSeq, y), y };
    const kept = await resetNamespace(this.engine, def, this.opts.localOrigin, mark, tx);
    this.resyncBatch.push({ ns, mark });
    if (this.opts.onLocalRecords !== undefined) this.noteLocal(ns, undefined);
    return kept;
  }

  /** Step 3, once the region's snapshot is applied: the kept writes merged back. Returns how many (0: nothing to do). */
  async resyncRestore(ns: string, tx: ExternalTx): Promise<number> {
    this.checkAlone('restore');
    const mark = this.resyncs.get(ns);
    const def = this.opts.registry().get(ns);
    if (mark === undefined || def === undefined) return 0;
    const origin = this.opts.localOrigin;
    const work = new Work(this.workBase, tx);
    const kept = await keptRecords(this.engine, ns);
    for (const r of kept) {
      if (r.seq <= work.vectorOf(ns, origin)) continue;
      await mergeRecord({ work, def, localOrigin: origin }, r);
      work.advance(ns, origin, r.seq);
    }
    // The seqs between that were dominated here before the reset stay covered.
    work.advance(ns, origin, mark.y);
    await work.commit();
    for await (const chunk of this.engine.scan({ ...keptRange(ns), values: false })) for (const [k] of chunk) tx.append({ type: 'del', key: k });
    tx.append({ type: 'del', key: resyncMarkKey(ns) });
    this.resyncBatch.push({ ns, mark: undefined });
    if (this.opts.onLocalRecords !== undefined) this.noteLocal(ns, undefined);
    return kept.length;
  }

  // ---- published state (reads)

  /**
   * The namespace's vector as of the last written batch, origins in order. The same frozen
   * array until a written batch changes the namespace's record: every Write answered from one
   * batch carries it (sorted once per batch, not per answer; server/api encodes it once too).
   */
  vector(ns: string): VectorView {
    let v = this.vectors.get(ns);
    if (v === undefined) {
      const entries: Array<Readonly<{ origin: string; seq: number }>> = [];
      // forEach: no [origin, seq] array per entry; rebuilt by the first answer after every batch that wrote the namespace.
      this.records.get(ns)?.vector.forEach((seq, origin) => entries.push(Object.freeze({ origin, seq })));
      if (entries.length > 1) entries.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
      v = Object.freeze(entries);
      this.vectors.set(ns, v);
    }
    return v;
  }

  counts(ns: string): Readonly<NsCounts> {
    return (this.records.get(ns) ?? EMPTY_NS_RECORD).counts;
  }

  /** Namespaces with CRDT state, for the gauges. */
  namespaces(): string[] {
    return [...this.records.keys()].sort();
  }

  /** Known edges as of the last written batch (edges.ts), by replica id. */
  edges(): ReadonlyMap<string, EdgeRecord> {
    return this.edgeTable;
  }

  get lastHlc(): Hlc {
    return this.hlc;
  }

  /**
   * CRC-32 over the namespace's record and its converged state (key states and events) in key
   * order (keys and values), read in engine chunks (the event loop runs between them). Equal on
   * members that applied the same entries, and on any two replicas (edges included) that hold
   * the same records, whatever each has garbage-collected.
   */
  async hash(ns: string): Promise<number> {
    // Both views are fixed here, in one turn of the event loop (scan() takes its view at once).
    const record = this.engine.scan({ gte: nsRecordKey(ns), lte: nsRecordKey(ns) });
    const data = this.engine.scan(nsDataRange(ns));
    // Left out: superseded lww losers (and their count), since a replica that downloaded only
    // the winner never held the loser; and the per-origin index, which is derived from the
    // key states and events except for set remove records, which causal-stability GC drops
    // on each replica at its own time (the region through Raft, an edge later or never).
    // What is hashed is the state converged replicas share: vector, key states, events.
    const skipped = [subRange(ns, Sub.Superseded), subRange(ns, Sub.Index)];
    const inSup = (k: Uint8Array): boolean => skipped.some((r) => Buffer.compare(k, r.gte) >= 0 && Buffer.compare(k, r.lt) < 0);
    const keyStates = subRange(ns, Sub.KeyState);
    let vector = new VersionVector();
    let hash = 0;
    for await (const chunk of record) {
      for (const [k, v] of chunk) {
        const r = decodeNsRecord(v);
        vector = VersionVector.from(r.vector);
        hash = crc32(Buffer.concat([k, encodeNsRecord({ vector: r.vector, counts: { ...r.counts, superseded: 0 }, top: undefined })]), hash);
      }
    }
    // Key states in their hash form: lww without the mvcc revision, either format (codec.ts
    // keyStateHashForm); a set without its dead cloud entries (canonicalKeyState).
    for await (const chunk of data) {
      const parts: Uint8Array[] = [];
      for (const [k, v] of chunk) {
        if (inSup(k)) continue;
        const value = Buffer.compare(k, keyStates.gte) >= 0 && Buffer.compare(k, keyStates.lt) < 0 ? canonicalKeyState(keyStateHashForm(v), vector) : v;
        if (value !== undefined) parts.push(k, value);
      }
      hash = crc32(Buffer.concat(parts), hash);
    }
    return hash >>> 0;
  }
}

/**
 * A key state as converged replicas share it. A set's cloud (removed add dots that had not
 * arrived when the remove was merged) loses an entry once the namespace vector covers its dot
 * (that dot can no longer arrive), but only when the key is merged again: a replica that got
 * the range holding that dot without the dot (dominated at the sender) still lists it until
 * then, another never listed it. Covered entries are dead either way, so they are not hashed;
 * a set left with no element and no live cloud entry is no state at all (undefined), as the
 * merge would leave it.
 */
function canonicalKeyState(v: Uint8Array, vector: VersionVector): Uint8Array | undefined {
  if (v[0] !== SET_STATE_TAG) return v;
  const s = decodeKeyState(v);
  if (s.kind !== 'set' || s.state.cloud.every((e) => !vector.covers(e.dot))) return v;
  const cloud = s.state.cloud.filter((e) => !vector.covers(e.dot));
  if (s.state.elems.size === 0 && cloud.length === 0) return undefined;
  return encodeKeyState({ kind: 'set', state: { elems: s.state.elems, cloud } });
}
