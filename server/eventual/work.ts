// The working set of one external command: what it read and changed of the eventual state,
// kept apart until the command succeeds, so a refusal half way leaves nothing behind. Reads go
// through the layers newest first: this command's changes, the batch's (applied, not yet
// written), the published cache, then the engine (through the mvcc batch's raw overlay).
// Decoded values are never changed in place: a change sets a new value.

import { HLC_ZERO, compareHlc, type Hlc } from '../crdt/index.js';
import { keyString, type ExternalTx } from '../mvcc/index.js';
import type { BatchOp } from '../storage/index.js';
import { ZERO_COUNTS, type NsCounts, type NsRecord } from './codec.js';

export interface Slot {
  key: Uint8Array;
  /** Decoded value; null: deleted. */
  value: unknown;
  encode: (v: never) => Uint8Array;
  /** Whether the published cache may keep it (events are written once and rarely read again). */
  cache: boolean;
  /** The encoded size, once flushed (the cache's byte bound). */
  bytes?: number;
}

/** What a batch holds between apply and publish (the store keeps one). */
export interface BatchState {
  slots: Map<string, Slot>;
  ns: Map<string, NsRecord>;
  hlc: Hlc | undefined;
  /** (namespace, type) → ops applied, for the metric once written. */
  applied: Map<string, { namespace: string; type: string; n: number }>;
  /** Fresh puts (Work.putFresh) of the batch's commands, written at flush unless deleted since. */
  fresh: Map<string, BatchOp>;
}

interface Projection {
  key: Uint8Array;
  value: Uint8Array | null;
  always: boolean;
  /** Not live before this command, and written by nothing else (projectNew). */
  fresh?: boolean;
}

export interface WorkBase {
  /** A published value (or undefined when not cached). */
  cached(ks: string): unknown;
  nsRecord(ns: string): NsRecord;
  readonly hlc: Hlc;
  readonly batch: BatchState;
}

/** The key's bytes as a latin1 string: mvcc's (one definition for both apply paths). */
export { keyString };

export class Work {
  private readonly slots = new Map<string, Slot>();
  private readonly ns = new Map<string, NsRecord>();
  private readonly raw: BatchOp[] = [];
  /** This command's fresh puts, and the batch's earlier fresh puts it deleted. */
  private readonly fresh = new Map<string, BatchOp>();
  private readonly unfresh: string[] = [];
  /**
   * mvcc keys whose visible value this command sets (null: deletes), in first-touch order:
   * the first one in `firstProjection`, without a string of its key (most commands set one
   * key); the others, once there are two, in `projections` by key string.
   */
  private firstProjection: Projection | undefined;
  private projections: Map<string, Projection> | undefined; // made for a second key
  private readonly applied = new Map<string, { namespace: string; type: string; n: number }>();
  hlc: Hlc;

  constructor(private readonly base: WorkBase, private readonly tx: ExternalTx) {
    this.hlc = base.batch.hlc ?? base.hlc;
  }

  /** The last two keys given to get/set and their strings: a merge reads then writes the same
   *  key object, and an event's merge goes back to its device's (shared) summary key between. */
  private lastKey: Uint8Array | undefined;
  private lastKs = '';
  private prevKey: Uint8Array | undefined;
  private prevKs = '';

  private ks(key: Uint8Array): string {
    if (key === this.lastKey) return this.lastKs;
    if (key === this.prevKey) {
      this.prevKey = this.lastKey;
      this.lastKey = key;
      const s = this.prevKs;
      this.prevKs = this.lastKs;
      this.lastKs = s;
      return s;
    }
    this.prevKey = this.lastKey;
    this.prevKs = this.lastKs;
    this.lastKey = key;
    this.lastKs = keyString(key);
    return this.lastKs;
  }

  /** `ks` is keyString(key), computed already (the store's read ahead did): get/set of this key object take it. */
  prime(key: Uint8Array, ks: string): void {
    if (key === this.lastKey) return;
    this.prevKey = this.lastKey;
    this.prevKs = this.lastKs;
    this.lastKey = key;
    this.lastKs = ks;
  }

  async get<T>(key: Uint8Array, decode: (b: Uint8Array) => T): Promise<T | null> {
    const ks = this.ks(key);
    const own = this.slots.get(ks) ?? this.base.batch.slots.get(ks);
    if (own !== undefined) return own.value as T | null;
    const cached = this.base.cached(ks);
    if (cached !== undefined) return cached as T | null;
    const bytes = await this.tx.read(key);
    return bytes === undefined ? null : decode(bytes);
  }

  /**
   * get() without the engine: the value when this command, the batch or the cache holds it
   * (null: known absent), undefined when only the engine could tell (then get() it). No
   * promise: an event's merge asks for its device's summary, held in memory after the first.
   */
  peek<T>(key: Uint8Array): T | null | undefined {
    const ks = this.ks(key);
    const own = this.slots.get(ks) ?? this.base.batch.slots.get(ks);
    if (own !== undefined) return own.value as T | null;
    return this.base.cached(ks) as T | null | undefined;
  }

  set<T>(key: Uint8Array, value: T | null, encode: (v: T) => Uint8Array, cache = true): void {
    this.slots.set(this.ks(key), { key, value, encode: encode as (v: never) => Uint8Array, cache });
  }

  /** A write-only engine op (index, superseded, event losers): never read back by apply. */
  put(key: Uint8Array, value: Uint8Array): void {
    this.raw.push({ type: 'put', key, value });
  }

  /**
   * A write-only put of a key that cannot exist in the engine before this batch (the index
   * entry of a dot merged for the first time): held until the batch is flushed, so that a
   * delete of it in the same batch cancels both.
   */
  putFresh(key: Uint8Array, value: Uint8Array): void {
    this.fresh.set(keyString(key), { type: 'put', key, value });
  }

  del(key: Uint8Array): void {
    const ks = keyString(key);
    if (this.fresh.delete(ks)) return; // put by this command
    if (this.base.batch.fresh.has(ks)) {
      this.unfresh.push(ks); // put earlier in this batch: dropped when this command commits
      return;
    }
    this.raw.push({ type: 'del', key });
  }

  /** The namespace record as this command sees it (a copy it may change). */
  record(ns: string): NsRecord {
    let r = this.ns.get(ns);
    if (r === undefined) {
      const cur = this.base.batch.ns.get(ns) ?? this.base.nsRecord(ns);
      r = { vector: new Map(cur.vector), counts: { ...cur.counts }, ...(cur.top !== undefined ? { top: cur.top } : {}) };
      this.ns.set(ns, r);
    }
    return r;
  }

  counts(ns: string): NsCounts {
    return this.record(ns).counts;
  }

  vectorOf(ns: string, origin: string): number {
    return this.record(ns).vector.get(origin) ?? 0;
  }

  /** The namespace's highest merged stamp (codec.ts NsRecord.top). */
  topHlc(ns: string): Hlc {
    return this.record(ns).top ?? HLC_ZERO;
  }

  raiseTopHlc(ns: string, h: Hlc): void {
    const r = this.record(ns);
    if (r.top === undefined || compareHlc(h, r.top) > 0) r.top = h;
  }

  advance(ns: string, origin: string, seq: number): void {
    const v = this.record(ns).vector;
    if (seq > (v.get(origin) ?? 0)) v.set(origin, seq);
  }

  /** The mvcc revision this command's projections are written at. */
  get writeRevision(): number {
    return this.tx.writeRevision;
  }

  /** This command's pending projection of `key`, if any. */
  private projectionOf(key: Uint8Array): Projection | undefined {
    const first = this.firstProjection;
    if (first === undefined) return undefined;
    if (first.key === key || sameBytes(first.key, key)) return first;
    return this.projections?.get(keyString(key));
  }

  /** The visible value of an mvcc key now: this command's pending projection, else its live row. */
  async liveValue(key: Uint8Array): Promise<Uint8Array | null> {
    const own = this.projectionOf(key);
    if (own !== undefined) return own.value;
    return (await this.tx.get(key))?.value ?? null;
  }

  /**
   * Sets the visible value of an mvcc key. `always`: a put even when the value is the same
   * (an lww write that wins is a write, as an etcd Put of the same value is); otherwise only
   * a changed value is written.
   */
  project(key: Uint8Array, value: Uint8Array | null, always = false): void {
    const cur = this.projectionOf(key);
    if (cur !== undefined) {
      cur.value = value;
      cur.always ||= always;
    } else this.addProjection({ key, value, always });
  }

  /**
   * project() of a key the caller knows is not live and that only its own projection ever
   * writes (a new event's etcd key: merge.ts says when): written at commit without reading
   * its live kv (ExternalTx.putNew), so the store's read ahead need not fetch it either.
   * `key` must be the caller's own bytes (putNew keeps it).
   */
  projectNew(key: Uint8Array, value: Uint8Array): void {
    const cur = this.projectionOf(key);
    if (cur !== undefined) cur.value = value; // touched already in this command: the ordinary way
    else this.addProjection({ key, value, always: true, fresh: true });
  }

  private addProjection(p: Projection): void {
    if (this.firstProjection === undefined) this.firstProjection = p;
    else (this.projections ??= new Map()).set(keyString(p.key), p);
  }

  /** The last counter countOp moved: a command's ops are mostly of one namespace and type. */
  private lastCount: { namespace: string; type: string; n: number } | undefined;

  countOp(namespace: string, type: string): void {
    const last = this.lastCount;
    if (last !== undefined && last.namespace === namespace && last.type === type) {
      last.n++;
      return;
    }
    const k = `${namespace}\u0000${type}`;
    let c = this.applied.get(k);
    if (c !== undefined) c.n++;
    else this.applied.set(k, (c = { namespace, type, n: 1 }));
    this.lastCount = c;
  }

  /**
   * The command succeeded: its engine ops join the mvcc batch, its changes the batch state,
   * and the visible values it changed become mvcc puts and deletes at the command's revision.
   */
  async commit(): Promise<void> {
    const batch = this.base.batch;
    // States, namespace records and the clock are written once per batch (their last value:
    // flushBatch), the write-only ops in order now.
    // forEach, not for-of over entries: no [key, value] array per entry.
    this.slots.forEach((s, ks) => batch.slots.set(ks, s));
    for (const op of this.raw) this.tx.append(op, true);
    for (const ks of this.unfresh) batch.fresh.delete(ks);
    this.fresh.forEach((op, ks) => batch.fresh.set(ks, op));
    this.ns.forEach((r, ns) => batch.ns.set(ns, r));
    if (this.hlc !== (batch.hlc ?? this.base.hlc)) batch.hlc = this.hlc;
    this.applied.forEach((c, k) => {
      const b = batch.applied.get(k);
      if (b !== undefined) b.n += c.n;
      else batch.applied.set(k, { ...c });
    });
    // A fresh projection (projectNew) is written at once, with no promise per key.
    const first = this.firstProjection;
    if (first !== undefined && !(first.fresh === true && first.value !== null && this.tx.putNew(first.key, first.value))) await this.writeProjection(first);
    if (this.projections !== undefined) {
      for (const p of this.projections.values()) {
        if (p.fresh === true && p.value !== null && this.tx.putNew(p.key, p.value)) continue;
        await this.writeProjection(p);
      }
    }
  }

  private async writeProjection({ key, value, always }: Projection): Promise<void> {
    if (always) {
      if (value === null) await this.tx.delete(key); // a no-op when not live
      else await this.tx.put(key, value);
      return;
    }
    const cur = await this.tx.get(key);
    if (value === null) {
      if (cur !== undefined) await this.tx.delete(key);
    } else if (cur === undefined || !sameBytes(cur.value, value)) {
      await this.tx.put(key, value);
    }
  }
}

/** The engine ops of what a batch's commands left: each state, record and the clock once, and
 *  the fresh puts no later command of the batch deleted. */
export function flushBatch(batch: BatchState, append: (op: BatchOp) => void, nsRecordKey: (ns: string) => Uint8Array, encodeNs: (r: NsRecord) => Uint8Array, hlcOp: (h: Hlc) => BatchOp): void {
  for (const op of batch.fresh.values()) append(op);
  for (const s of batch.slots.values()) {
    if (s.value === null) {
      s.bytes = 0;
      append({ type: 'del', key: s.key });
    } else {
      const value = s.encode(s.value as never);
      s.bytes = s.key.length + value.length;
      append({ type: 'put', key: s.key, value });
    }
  }
  for (const [ns, r] of batch.ns) append({ type: 'put', key: nsRecordKey(ns), value: encodeNs(r) });
  if (batch.hlc !== undefined) append(hlcOp(batch.hlc));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export const EMPTY_NS_RECORD: NsRecord = { vector: new Map(), counts: { ...ZERO_COUNTS } };
