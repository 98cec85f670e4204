// The store's in-memory state, shared by the applier (txn-exec.ts), reads (range.ts)
// and the store facade. One instance per open engine.

import type { Engine } from '../storage/engine.js';
import { AlarmTable } from './alarm-table.js';
import { DedupeTable } from './dedupe-table.js';
import { MvccError } from './errors.js';
import { TreeIndex } from './key-index.js';
import { LeaseTable } from './lease-table.js';
import { RecordCache } from './record-cache.js';
import { decodeRecord, type KvRecord, revKey } from './records.js';

export class MvccState {
  readonly index = new TreeIndex();
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
  /**
   * Records of the batch being applied, not yet in the engine. Invariant: every revision
   * the index holds is in the engine or here (until a compaction removes it).
   */
  readonly overlay = new Map<string, KvRecord>();
  /** Compactions applied so far (readRecord's guard against caching a removed record). */
  compactions = 0;
  /** Records already in the engine, kept in memory (record-cache.ts). */
  readonly cache: RecordCache;

  constructor(readonly engine: Engine, recordCacheBytes?: number) {
    this.cache = new RecordCache(recordCacheBytes);
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

  /** After the batch holding the overlay's records is written: they move to the cache. */
  publishOverlay(): void {
    for (const [key, r] of this.overlay) this.cache.set(key, r);
    this.overlay.clear();
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
