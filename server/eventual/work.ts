// The working set of one external command: what it read and changed of the eventual state,
// kept apart until the command succeeds, so a refusal half way leaves nothing behind. Reads go
// through the layers newest first: this command's changes, the batch's (applied, not yet
// written), the published cache, then the engine (through the mvcc batch's raw overlay).
// Decoded values are never changed in place: a change sets a new value.

import { HLC_ZERO, compareHlc, type Hlc } from '../crdt/index.js';
import { keyString, type ExternalTx } from '../mvcc/index.js';
import type { BatchOp } from '../storage/index.js';
import { ZERO_COUNTS, copyCounts, type NsCounts, type NsRecord } from './codec.js';
import { FreshIndex, type FreshValue } from './fresh-index.js';
import { indexKey } from './layout.js';

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
  /** The counter of `applied` a direct() command moved last (Work.countOp: a hot namespace's
   *  commands all move the same one; no key string and lookup per command). */
  lastApplied?: { namespace: string; type: string; n: number };
  /** Fresh index puts (Work.putIndexFresh) of the batch's commands, written at flush unless deleted since. */
  fresh: FreshIndex;
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
  // This command's changes kept apart until commit, each made when first needed (a direct()
  // command needs none of them).
  private slots: Map<string, Slot> | undefined;
  private ns: Map<string, NsRecord> | undefined;
  private raw: BatchOp[] | undefined;
  /** This command's fresh index puts, and the batch's earlier fresh ones it deleted (made when first needed). */
  private fresh: FreshIndex | undefined;
  private unfresh: Array<{ ns: string; origin: string; seq: number }> | undefined;
  /**
   * The command can no longer be refused (direct()): its changes go straight into the batch
   * state, with no per-command copies to merge at commit.
   */
  private isDirect = false;
  /**
   * mvcc keys whose visible value this command sets (null: deletes), in first-touch order:
   * the first one in `firstProjection`, without a string of its key (most commands set one
   * key); the others, once there are two, in `projections` by key string.
   */
  private firstProjection: Projection | undefined;
  private projections: Map<string, Projection> | undefined; // made for a second key
  private applied: Map<string, { namespace: string; type: string; n: number }> | undefined;
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

  /**
   * The value of `key` when it is known without an engine read: this command's, the batch's
   * or the published cache's (null: deleted or absent); undefined when only the engine knows.
   */
  peek(key: Uint8Array): unknown {
    const ks = this.ks(key);
    const own = this.slots?.get(ks) ?? this.base.batch.slots.get(ks);
    if (own !== undefined) return own.value;
    return this.base.cached(ks);
  }

  async get<T>(key: Uint8Array, decode: (b: Uint8Array) => T): Promise<T | null> {
    const known = this.peek(key);
    if (known !== undefined) return known as T | null;
    const bytes = await this.tx.read(key);
    return bytes === undefined ? null : decode(bytes);
  }

  /**
   * From here on nothing can refuse this command (the caller checked everything a refusal
   * could come from): its changes go straight into the batch state instead of copies kept
   * apart until commit. Called before its first change. An lww write takes this path: its
   * checks are all made before its first stamp (apply.ts applyWrite).
   */
  direct(): void {
    this.isDirect = true;
  }

  set<T>(key: Uint8Array, value: T | null, encode: (v: T) => Uint8Array, cache = true): void {
    (this.isDirect ? this.base.batch.slots : (this.slots ??= new Map())).set(this.ks(key), { key, value, encode: encode as (v: never) => Uint8Array, cache });
  }

  /** A write-only engine op (index, superseded, event losers): never read back by apply. */
  put(key: Uint8Array, value: Uint8Array): void {
    if (this.isDirect) this.tx.append({ type: 'put', key, value }, true);
    else (this.raw ??= []).push({ type: 'put', key, value });
  }

  /**
   * A write-only put of the index entry of a dot merged for the first time, which cannot
   * exist in the engine before this batch: held until the batch is flushed, so that a
   * delete of it in the same batch cancels both (fresh-index.ts).
   */
  putIndexFresh(ns: string, origin: string, seq: number, value: FreshValue): void {
    (this.isDirect ? this.base.batch.fresh : (this.fresh ??= new FreshIndex())).set(ns, origin, seq, value);
  }

  /** Deletes the index entry of a dot (a record dominated or collected). */
  delIndex(ns: string, origin: string, seq: number): void {
    const batchFresh = this.base.batch.fresh;
    if (this.isDirect) {
      if (!batchFresh.delete(ns, origin, seq)) this.tx.append({ type: 'del', key: indexKey(ns, origin, seq) }, true);
      return;
    }
    if (this.fresh?.delete(ns, origin, seq) === true) return; // put by this command
    if (batchFresh.has(ns, origin, seq)) {
      (this.unfresh ??= []).push({ ns, origin, seq }); // put earlier in this batch: dropped when this command commits
      return;
    }
    (this.raw ??= []).push({ type: 'del', key: indexKey(ns, origin, seq) });
  }

  /** Deletes a key that is not an index entry (those: delIndex). */
  del(key: Uint8Array): void {
    if (this.isDirect) this.tx.append({ type: 'del', key }, true);
    else (this.raw ??= []).push({ type: 'del', key });
  }

  /**
   * The namespace record as this command sees it: a copy it may change, or (direct()) the
   * batch's own, copied from the published one once per batch rather than once per command.
   */
  record(ns: string): NsRecord {
    const own = this.isDirect ? this.base.batch.ns : (this.ns ??= new Map());
    let r = own.get(ns);
    if (r === undefined) {
      const cur = (this.isDirect ? undefined : this.base.batch.ns.get(ns)) ?? this.base.nsRecord(ns);
      r = { vector: new Map(cur.vector), counts: copyCounts(cur.counts), top: cur.top };
      own.set(ns, r);
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
    const batch = this.base.batch;
    const last = this.isDirect ? batch.lastApplied : this.lastCount;
    if (last !== undefined && last.namespace === namespace && last.type === type) {
      last.n++;
      return;
    }
    const k = `${namespace}\u0000${type}`;
    const applied = this.isDirect ? batch.applied : (this.applied ??= new Map());
    let c = applied.get(k);
    if (c !== undefined) c.n++;
    else applied.set(k, (c = { namespace, type, n: 1 }));
    if (this.isDirect) batch.lastApplied = c;
    else this.lastCount = c;
  }

  /**
   * The command succeeded: its engine ops join the mvcc batch, its changes the batch state,
   * and the visible values it changed become mvcc puts and deletes at the command's revision.
   */
  // Not async itself: a command with one projection (most) hands back that write's promise,
  // with no promise and frame of its own per command.
  commit(): Promise<unknown> | undefined {
    const batch = this.base.batch;
    // States, namespace records and the clock are written once per batch (their last value:
    // flushBatch), the write-only ops in order now.
    // forEach, not for-of over entries: no [key, value] array per entry.
    this.slots?.forEach((s, ks) => batch.slots.set(ks, s));
    if (this.raw !== undefined) for (const op of this.raw) this.tx.append(op, true);
    if (this.unfresh !== undefined) for (const d of this.unfresh) batch.fresh.delete(d.ns, d.origin, d.seq);
    this.fresh?.moveInto(batch.fresh);
    this.ns?.forEach((r, ns) => batch.ns.set(ns, r));
    if (this.hlc !== (batch.hlc ?? this.base.hlc)) batch.hlc = this.hlc;
    this.applied?.forEach((c, k) => {
      const b = batch.applied.get(k);
      if (b !== undefined) b.n += c.n;
      else batch.applied.set(k, { ...c });
    });
    // A fresh projection (projectNew) is written at once, with no promise per key.
    const first = this.firstProjection;
    if (first === undefined) return undefined;
    if (this.projections === undefined) return this.writtenNow(first) || this.putNow(first) ? undefined : this.writeProjection(first);
    return this.writeProjections(first, this.projections);
  }

  private async writeProjections(first: Projection, others: Map<string, Projection>): Promise<void> {
    if (!this.writtenNow(first)) await this.writeProjection(first);
    for (const p of others.values()) if (!this.writtenNow(p)) await this.writeProjection(p);
  }

  /** A fresh projection put at once (ExternalTx.putNew); false: write it the ordinary way. */
  private writtenNow(p: Projection): boolean {
    return p.fresh === true && p.value !== null && this.tx.putNew(p.key, p.value);
  }

  /**
   * An lww winner's put done at once when its key's live kv is known without an engine read
   * (ExternalTx.putKnown: a hot key, or one the read ahead fetched); false: write it the ordinary way.
   */
  private putNow(p: Projection): boolean {
    return p.always && p.value !== null && this.tx.putKnown(p.key, p.value);
  }

  private writeProjection(p: Projection): Promise<unknown> {
    // An lww winner (always): the put or delete's own promise, no frame of this one.
    if (p.always) return p.value === null ? this.tx.delete(p.key) : this.tx.put(p.key, p.value); // a delete: a no-op when not live
    return this.writeChanged(p);
  }

  private async writeChanged({ key, value }: Projection): Promise<void> {
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
  batch.fresh.flush(append);
  batch.slots.forEach((s) => {
    if (s.value === null) {
      s.bytes = 0;
      append({ type: 'del', key: s.key });
    } else {
      const value = s.encode(s.value as never);
      s.bytes = s.key.length + value.length;
      append({ type: 'put', key: s.key, value });
    }
  });
  batch.ns.forEach((r, ns) => append({ type: 'put', key: nsRecordKey(ns), value: encodeNs(r) }));
  if (batch.hlc !== undefined) append(hlcOp(batch.hlc));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export const EMPTY_NS_RECORD: NsRecord = { vector: new Map(), counts: copyCounts(ZERO_COUNTS), top: undefined };
