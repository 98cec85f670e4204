// Builds a store's state from outside history (an etcd snapshot being restored): the
// revision records, leases, revision counter and compaction point as engine writes, in
// batches. The target engine must be empty. It writes the history only, without the
// format record: the first MvccStore.open() builds the persisted key index and the lease
// attachments from the revisions (restore.ts convertFromRevisions), the one code path that
// derives them from history, so an import cannot disagree with it.
//
//   const imp = new StateImport(engine);
//   await imp.revision(main, sub, record) ...   // ascending (main, sub)
//   await imp.lease(id, ttl, remainingTtl) ...
//   await imp.finish({ revision, compactedRevision });

import type { BatchOp, Engine } from '../storage/engine.js';
import {
  META_COMPACTED_KEY, META_REVISION_KEY, encodeLease, encodeRecord, encodeU64, leaseKey, revKey, type KvRecord,
} from './records.js';

/** Engine writes are batched to about this many bytes (bounded memory on a big import). */
export const IMPORT_BATCH_BYTES_MAX = 4 << 20;

export class StateImport {
  private ops: BatchOp[] = [];
  private bytes = 0;
  private last: [number, number] = [0, -1];
  private maxMain = 0;
  /** The store revision finish() wrote. */
  revisionWritten = 0;

  constructor(private readonly engine: Engine) {}

  /** A revision record; calls must come in ascending (main, sub) order. */
  async revision(main: number, sub: number, record: KvRecord): Promise<void> {
    const [pm, ps] = this.last;
    if (main < pm || (main === pm && sub <= ps)) {
      throw new Error(`revisions out of order: ${main}_${sub} after ${pm}_${ps}`);
    }
    this.last = [main, sub];
    this.maxMain = Math.max(this.maxMain, main);
    await this.put(revKey(main, sub), encodeRecord(record));
  }

  async lease(id: number, ttl: number, remainingTtl: number): Promise<void> {
    await this.put(leaseKey(id), encodeLease({ ttl, remainingTtl }));
  }

  /** Writes the counters and flushes. `revision` at least the highest record's revision. */
  async finish(o: { revision: number; compactedRevision: number }): Promise<void> {
    const revision = Math.max(o.revision, this.maxMain);
    this.revisionWritten = revision;
    await this.put(META_REVISION_KEY, encodeU64(revision));
    if (o.compactedRevision > 0) await this.put(META_COMPACTED_KEY, encodeU64(o.compactedRevision));
    await this.flush(true);
  }

  private async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.ops.push({ type: 'put', key, value });
    this.bytes += key.length + value.length;
    if (this.bytes >= IMPORT_BATCH_BYTES_MAX) await this.flush(false);
  }

  private async flush(sync: boolean): Promise<void> {
    if (this.ops.length > 0 || sync) await this.engine.write(this.ops, { sync });
    this.ops = [];
    this.bytes = 0;
  }
}
