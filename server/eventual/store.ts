// The eventual store of a replica (a region member, or an edge under its own origin): the persistent CRDT state of every eventual
// namespace in the `state/` engine (layout.ts), applied as mvcc `external` commands so that
// a CRDT write's own keyspaces, its change-feed projection, the dedupe record and the applied
// index are one engine write (server/mvcc/external.ts). One instance per open engine: a
// snapshot install opens a new one (the caches hold the old engine's state).
//
// Memory: per namespace its record (vector + running counts; grows with origins, not keys);
// decoded per-key states in a bounded LRU (CRDT_STATE_CACHE_ENTRIES); what a batch changed,
// until it is written. Everything that grows with keys or events is in the engine.

import { HLC_ZERO, type Hlc } from '../crdt/index.js';
import type { ExternalApplier, ExternalTx } from '../mvcc/index.js';
import type { NamespaceRegistry } from '../namespace/index.js';
import { crc32 } from '../mvcc/index.js';
import type { BatchOp, Engine } from '../storage/index.js';
import { applyPage, applyWrite } from './apply.js';
import { applyGc } from './gc.js';
import { LruCache } from './cache.js';
import { decodeHlcValue, decodeNsRecord, encodeHlcValue, encodeNsRecord, type DeviceSummary, type NsCounts, type NsRecord, keyStateHashForm } from './codec.js';
import { EvError, decodeBody, encodeAnswer, type EvAnswer, type EvBody } from './entry.js';
import { NS_RECORDS_RANGE, Sub, deviceKey, eventKey, keyStateKey, metaKey, nsDataRange, nsOfRecordKey, nsRecordKey, subRange } from './layout.js';
import { eventEtcdKey } from './project.js';
import { CRDT_STATE_CACHE_BYTES, CRDT_STATE_CACHE_ENTRIES } from './limits.js';
import { EMPTY_NS_RECORD, Work, flushBatch, keyString, type BatchState } from './work.js';
import { decodeEdgeRecord, edgeKey, edgeKeyRange, encodeEdgeRecord, mergeEdge, type EdgeRecord } from './edges.js';

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
  cacheEntries?: number;
  cacheBytes?: number;
}

function freshBatch(): BatchState {
  return { slots: new Map(), ns: new Map(), hlc: undefined, applied: new Map(), fresh: new Map() };
}

export class EventualStore implements ExternalApplier {
  readonly skipDedupe: boolean;
  private readonly records: Map<string, NsRecord>;
  private hlc: Hlc;
  private batch: BatchState = freshBatch();
  private readonly cache: LruCache<unknown>;
  /** Known edges (edges.ts), as of the last written batch; `edgeBatch`: this batch's changes. */
  private readonly edgeTable: Map<string, EdgeRecord>;
  private edgeBatch = new Map<string, EdgeRecord>();
  /** Bodies decoded by readAhead, for apply to take (the same bytes object), not decode again;
   *  emptied when the batch is written. */
  private readonly decoded = new Map<Uint8Array, EvBody>();

  private constructor(
    readonly engine: Engine, private readonly opts: EventualStoreOptions, records: Map<string, NsRecord>, hlc: Hlc, edges: Map<string, EdgeRecord>,
  ) {
    this.edgeTable = edges;
    this.skipDedupe = opts.unsafeApplyDuplicates === true;
    this.records = records;
    this.hlc = hlc;
    this.cache = new LruCache(opts.cacheEntries ?? CRDT_STATE_CACHE_ENTRIES, opts.cacheBytes ?? CRDT_STATE_CACHE_BYTES);
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
    return new EventualStore(engine, opts, records, h === undefined ? HLC_ZERO : decodeHlcValue(h), edges);
  }

  get localOrigin(): string {
    return this.opts.localOrigin;
  }

  // ---- apply (ExternalApplier)

  async apply(_index: number, bytes: Uint8Array, tx: ExternalTx): Promise<Uint8Array> {
    return encodeAnswer(await this.applyBody(bytes, tx));
  }

  /**
   * The engine keys a command will read (ExternalApplier.readAhead): per key op the key's
   * CRDT state (unless the batch or the cache holds it) and its mvcc row (the projection's
   * prior kv); per event with its seq given, the held event and its etcd key; per device its
   * summary. The store reads them in one round trip with the batch's other keys.
   */
  readAhead(bytes: Uint8Array): { mvcc: Uint8Array[]; raw: Uint8Array[] } {
    const mvcc: Uint8Array[] = [];
    const raw: Uint8Array[] = [];
    let body: EvBody;
    try {
      body = decodeBody(bytes);
    } catch {
      return { mvcc, raw }; // apply refuses it
    }
    this.decoded.set(bytes, body);
    const ns = body.namespace;
    if (body.kind === 'write') {
      for (const op of body.ops) {
        if (op.type === 'eventAppend') this.eventAhead(ns, op.device, op.seq, mvcc, raw);
        else {
          this.stateAhead(keyStateKey(ns, op.key), raw);
          mvcc.push(op.key);
        }
      }
    } else if (body.kind === 'page') {
      for (const r of body.records) {
        if (r.kind === 'events') this.eventAhead(ns, r.deviceId, r.deviceSeq, mvcc, raw);
        else {
          this.stateAhead(keyStateKey(ns, r.key), raw);
          mvcc.push(r.key);
        }
      }
    }
    return { mvcc, raw };
  }

  /** A state key worth reading ahead: neither the batch nor the cache holds it. */
  private stateAhead(k: Uint8Array, raw: Uint8Array[]): void {
    const ks = keyString(k);
    // has(), not get(): the apply's own get is the use that refreshes the entry.
    if (!this.batch.slots.has(ks) && !this.cache.has(ks)) raw.push(k);
  }

  private eventAhead(ns: string, device: string, seq: number, mvcc: Uint8Array[], raw: Uint8Array[]): void {
    const dk = deviceKey(ns, device);
    this.stateAhead(dk, raw);
    if (seq <= 0) return; // assigned at apply
    // A seq past the device's highest is not held (merge.ts heldEvent): no read for it.
    const ks = keyString(dk);
    const summary = (this.batch.slots.get(ks)?.value ?? this.cache.get(ks)) as DeviceSummary | null | undefined;
    if (summary === undefined || (summary !== null && seq <= summary.highest)) raw.push(eventKey(ns, device, seq));
    const prefix = this.opts.registry().get(ns)?.prefix;
    if (prefix !== undefined) mvcc.push(eventEtcdKey(prefix, device, seq));
  }

  private async applyBody(bytes: Uint8Array, tx: ExternalTx): Promise<EvAnswer> {
    let body: EvBody;
    try {
      body = this.decoded.get(bytes) ?? decodeBody(bytes);
    } catch (e) {
      // Only a corrupted entry (or a proposer bug) gets here: refuse it, the same everywhere.
      return { kind: 'error', code: 'invalid-argument', message: `undecodable eventual entry: ${(e as Error).message}` };
    }
    if (body.kind === 'edge') {
      const u = body.update;
      const next = mergeEdge(this.edgeBatch.get(u.replicaId) ?? this.edgeTable.get(u.replicaId), u);
      this.edgeBatch.set(u.replicaId, next);
      tx.append({ type: 'put', key: edgeKey(u.replicaId), value: encodeEdgeRecord(next) });
      return { kind: 'edge' };
    }
    const work = new Work({
      cached: (ks) => this.cache.get(ks),
      nsRecord: (ns) => this.records.get(ns) ?? EMPTY_NS_RECORD,
      hlc: this.hlc,
      batch: this.batch,
    }, tx);
    const env = { registry: this.opts.registry(), localOrigin: this.opts.localOrigin };
    let answer: EvAnswer;
    try {
      answer = body.kind === 'write' ? await applyWrite(env, work, body) : body.kind === 'gc' ? await applyGc(env, work, body) : await applyPage(env, work, body);
    } catch (e) {
      if (!(e instanceof EvError)) throw e;
      // Refused before anything was written: the work is dropped.
      return { kind: 'error', code: e.code, message: e.message, ...(e.resendFrom !== undefined ? { resendFrom: e.resendFrom } : {}) };
    }
    await work.commit();
    return answer;
  }

  flush(append: (op: BatchOp) => void): void {
    flushBatch(this.batch, append, nsRecordKey, encodeNsRecord, (h) => ({ type: 'put', key: HLC_KEY, value: encodeHlcValue(h) }));
  }

  published(): void {
    const b = this.batch;
    this.batch = freshBatch();
    this.decoded.clear();
    for (const [ks, s] of b.slots) {
      if (s.cache) this.cache.set(ks, s.value, s.bytes ?? 0);
      else this.cache.delete(ks);
    }
    for (const [ns, r] of b.ns) this.records.set(ns, r);
    if (b.hlc !== undefined) this.hlc = b.hlc;
    for (const [id, e] of this.edgeBatch) this.edgeTable.set(id, e);
    this.edgeBatch = new Map();
    if (this.opts.onApplied !== undefined) for (const c of b.applied.values()) this.opts.onApplied(c.namespace, c.type, c.n);
  }

  // ---- a namespace deleted (namespace-applier.ts)

  /** Deletes of every key of the namespace's CRDT state (its record and its data range). */
  async dropOps(ns: string): Promise<BatchOp[]> {
    const ops: BatchOp[] = [{ type: 'del', key: nsRecordKey(ns) }];
    for await (const chunk of this.engine.scan({ ...nsDataRange(ns), values: false })) for (const [k] of chunk) ops.push({ type: 'del', key: k });
    return ops;
  }

  dropped(ns: string): void {
    this.records.delete(ns);
    this.cache.clear();
  }

  // ---- published state (reads)

  /** The namespace's vector as of the last written batch, origins in order. */
  vector(ns: string): Array<{ origin: string; seq: number }> {
    const v = this.records.get(ns)?.vector ?? new Map<string, number>();
    return [...v.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([origin, seq]) => ({ origin, seq }));
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
    let hash = 0;
    for await (const chunk of record) {
      for (const [k, v] of chunk) {
        const r = decodeNsRecord(v);
        hash = crc32(Buffer.concat([k, encodeNsRecord({ ...r, counts: { ...r.counts, superseded: 0 } })]), hash);
      }
    }
    // lww states in their hash form (codec.ts keyStateHashForm): no mvcc revision, either format.
    const states = subRange(ns, Sub.KeyState);
    const form = (k: Uint8Array, v: Uint8Array): Uint8Array => (Buffer.compare(k, states.gte) >= 0 && Buffer.compare(k, states.lt) < 0 ? keyStateHashForm(v) : v);
    for await (const chunk of data) hash = crc32(Buffer.concat(chunk.filter(([k]) => !inSup(k)).flatMap(([k, v]) => [k, form(k, v)])), hash);
    return hash >>> 0;
  }

}
