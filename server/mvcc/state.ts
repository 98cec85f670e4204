// The store's in-memory state, shared by the applier (txn-exec.ts), reads (range.ts,
// kv-view.ts) and the store facade. One instance per open engine. Nothing here grows with
// the number of keys: the key index is in the engine (kv-layout.ts), and what is kept in
// memory is either bounded by a named size (the caches) or by one batch (the overlays).

import type { Engine } from '../storage/engine.js';
import type { ExternalApplier } from './external.js';
import type { WriteGuard } from './write-guard.js';
import { AlarmTable } from './alarm-table.js';
import { DedupeTable } from './dedupe-table.js';
import { MvccError } from './errors.js';
import type { HistEntry } from './kv-layout.js';
import { LatestCache } from './latest-cache.js';
import { LeaseTable } from './lease-table.js';
import { RecordCache } from './record-cache.js';
import { decodeRecord, type KvRecord, revKey } from './records.js';
import type { KeyValue } from './types.js';

/** A compaction applied but not yet done on disk (compactor.ts): resumes after a restart. */
export interface PendingCompaction {
  revision: number;
  /** The first history engine key not yet decided. */
  cursor: Uint8Array;
}

export class MvccState {
  readonly leases = new LeaseTable();
  readonly dedupe = new DedupeTable();
  readonly alarms = new AlarmTable();
  /** Revision including applied-but-unflushed commands (the applier's view). */
  revision = 0;
  /** Compacted revision including unflushed compactions: reads below it must fail. */
  compacted = 0;
  /** Revision readers see: only batches already written to the engine. */
  published = 0;
  applied = 0;
  /** Live keys (persisted with each batch), so counting every key costs nothing. */
  liveKeys = 0;
  /** liveKeys as of `published`. */
  publishedLiveKeys = 0;
  /** Hash sum of the revision records including the batch being applied (records.ts
   *  META_HASH_SUM_KEY), and as of `published`. */
  hashSum = 0;
  publishedHashSum = 0;
  /** Set while a compaction's deletions are still to be done. */
  pending: PendingCompaction | undefined;
  /**
   * Records of the batch being applied, not yet in the engine. Invariant: every revision
   * the history holds is in the engine or here (until a compaction removes it).
   */
  overlay = new Map<string, KvRecord>();
  /** The batch's changes to MvccLatest by keyString: the new kv, or null once deleted. */
  latestOverlay = new Map<string, KeyValue | null>();
  /** The batch's new MvccKeyHistory entries by keyString, in revision order. */
  histOverlay = new Map<string, HistEntry[]>();
  /** Raw engine writes of external commands in this batch, by keyString (null: deleted). */
  rawOverlay = new Map<string, Uint8Array | null>();
  /** The applier of external commands (the region's CRDT store), when one is wired. */
  external: ExternalApplier | undefined;
  /** The embedder's check of the keys of etcd writes (write-guard.ts), when one is wired. */
  writeGuard: WriteGuard | undefined;
  /** Live kvs of the batch's keys read ahead in one engine round trip (null: absent). */
  prefetched = new Map<string, KeyValue | null>();
  /** Raw engine values external commands will read, read ahead with them (null: absent). */
  rawPrefetched = new Map<string, Uint8Array | null>();
  /** Compaction chunks done so far (readRecord's guard against caching a removed record). */
  compactions = 0;
  /** Batches published so far (the latest cache's guard against caching a stale read). */
  publications = 0;
  /** Set while the applier's engine write is in flight: readers that need a view
   *  consistent with `published` wait for it (kv-view.ts readerView). */
  writing: Promise<void> | undefined;
  /** Records already in the engine, kept in memory (record-cache.ts), by revision. */
  readonly cache: RecordCache;
  /** Live kvs as of `published`, by keyString (latest-cache.ts). */
  readonly latestCache: LatestCache;

  constructor(readonly engine: Engine, recordCacheBytes?: number, latestCacheBytes?: number) {
    this.cache = new RecordCache(recordCacheBytes);
    this.latestCache = new LatestCache(latestCacheBytes);
  }

  /** The record of one revision; MvccError('compacted') if compaction removed it meanwhile. */
  async readRecord(main: number, sub: number): Promise<KvRecord> {
    const key = overlayKey(main, sub);
    const known = this.overlay.get(key) ?? this.cache.get(key);
    if (known !== undefined) return known;
    const compactions = this.compactions;
    const bytes = await this.engine.get(revKey(main, sub));
    if (bytes === undefined) throw new MvccError('compacted');
    const r = decodeRecord(bytes, main);
    // A compaction during the get may have removed this revision (and dropped its cache
    // entry): caching it then would keep a removed record alive.
    if (compactions === this.compactions) this.cache.set(key, r);
    return r;
  }

  /**
   * After the batch holding the overlays is written: the latest cache learns the new live
   * kvs of the keys it already holds (so it is never stale) and of keys written again (a
   * version above 1: a key written more than once is likely written or read again). Reads
   * bring keys in too (kv-view.ts readerGet). The first write of a key does not: caching
   * every created kv churned the cache at the write rate of a load, and each entry,
   * promoted to the old generation and evicted later, was garbage for a Mark-Compact
   * (issue 20: the top survivor of a put load, about half of the promoted bytes on every
   * member). The revision records do not go to the record cache for the same reason:
   * reads at the current revision are answered from the latest rows, so a written record
   * is rarely read again.
   */
  publishOverlay(): void {
    for (const [ks, kv] of this.latestOverlay) {
      if (this.latestCache.has(ks) || (kv !== null && kv.version > 1)) this.latestCache.remember(ks, kv);
    }
    this.freshOverlays();
    this.publications++;
  }

  /**
   * Empties the batch's maps by replacing them, not with Map.clear() (issue 20). clear()
   * keeps the Map and links its old table to the new one; once a Mark-Compact has moved a
   * batch's table to the old generation (it promotes what is young and alive when it runs),
   * each scavenge found the next table alive through that link, and with it every row the
   * batch put in: every batch's rows were promoted from then on, the tables chaining
   * until the next Mark-Compact, which promoted the table of the batch then in flight and
   * started the chain again (measured: a leader's scavenges promoted ~0.2 MB each before its
   * first Mark-Compact of a put load and ~3.7 MB each after it). A replaced map is dropped
   * whole and dies young with its batch.
   */
  private freshOverlays(): void {
    this.overlay = new Map();
    this.latestOverlay = new Map();
    this.histOverlay = new Map();
    this.prefetched = new Map();
    this.rawPrefetched = new Map();
    this.rawOverlay = new Map();
  }

  /** Drops a failed batch's overlays (the store refuses to go on after it anyway). */
  dropOverlay(): void {
    this.freshOverlays();
  }

  /** Checks a read revision (0 = current) against the published and compacted bounds. */
  readRevision(requested: number | undefined): number {
    const at = requested === undefined || requested <= 0 ? this.published : requested;
    if (at > this.published) throw new MvccError('future-revision');
    if (at < this.compacted) throw new MvccError('compacted');
    return at;
  }
}

export function overlayKey(main: number, sub: number): string {
  return `${main}.${sub}`;
}
