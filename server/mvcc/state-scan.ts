// One consistent pass over a store's state for exporting it (etcd-format snapshots):
// the node metadata, then every kept revision record, then every lease, all read through a
// single engine iterator (one RocksDB snapshot), so the three agree on one applied index.
// The parts must be consumed in that order; memory holds one record at a time.
//
//   const scan = new StateScan(engine);
//   const meta = await scan.meta();          // raw meta keyspace entries + decoded fields
//   for await (const r of scan.revisions()) ...
//   for await (const l of scan.leases()) ...
//   await scan.close();

import type { Engine } from '../storage/engine.js';
import { StateKeyspace, decodeU64 } from '../storage/keys.js';
import {
  META_COMPACTED_KEY, META_REVISION_KEY, STATE_APPLIED_INDEX_KEY, decodeLease, decodeRecord, leaseIdOfKey, parseRevKey,
  type KvRecord,
} from './records.js';

export interface ScannedMeta {
  appliedIndex: number;
  revision: number;
  compactedRevision: number;
  /** Every entry of the meta keyspace (members, conf state, ...), in key order. */
  entries: Array<[Uint8Array, Uint8Array]>;
}

export interface ScannedRevision {
  main: number;
  sub: number;
  record: KvRecord;
}

export interface ScannedLease {
  id: number;
  ttl: number;
  /** Remaining seconds at the last checkpoint; 0 when never checkpointed. */
  remainingTtl: number;
}

export class StateScan {
  private readonly it: AsyncIterator<[Uint8Array, Uint8Array]>;
  private head: [Uint8Array, Uint8Array] | undefined;
  private done = false;

  constructor(engine: Engine) {
    this.it = engine.iterate({ gte: Uint8Array.of(StateKeyspace.Meta), lt: Uint8Array.of(StateKeyspace.Lease + 1) });
  }

  async meta(): Promise<ScannedMeta> {
    const entries: Array<[Uint8Array, Uint8Array]> = [];
    for await (const e of this.take(StateKeyspace.Meta)) entries.push(e);
    const get = (key: Uint8Array): number => {
      const hit = entries.find(([k]) => Buffer.compare(k, key) === 0);
      return hit === undefined ? 0 : decodeU64(hit[1]);
    };
    return {
      appliedIndex: get(STATE_APPLIED_INDEX_KEY),
      revision: get(META_REVISION_KEY),
      compactedRevision: get(META_COMPACTED_KEY),
      entries,
    };
  }

  async *revisions(): AsyncGenerator<ScannedRevision> {
    for await (const _ of this.take(StateKeyspace.MvccKeyIndex)) {
      // The key index is derived from the revisions; an export does not need it.
    }
    for await (const [k, v] of this.take(StateKeyspace.MvccRevision)) {
      const { main, sub } = parseRevKey(k);
      yield { main, sub, record: decodeRecord(v, main) };
    }
  }

  async *leases(): AsyncGenerator<ScannedLease> {
    for await (const [k, v] of this.take(StateKeyspace.Lease)) {
      const l = decodeLease(v);
      yield { id: leaseIdOfKey(k), ttl: l.ttl, remainingTtl: l.remainingTtl };
    }
  }

  async close(): Promise<void> {
    if (!this.done) await this.it.return?.();
    this.done = true;
  }

  /** The entries of one keyspace, skipping any before it; leaves the next one's first entry. */
  private async *take(keyspace: number): AsyncGenerator<[Uint8Array, Uint8Array]> {
    for (;;) {
      if (this.head === undefined) {
        if (this.done) return;
        const n = await this.it.next();
        if (n.done === true) {
          this.done = true;
          return;
        }
        this.head = n.value;
      }
      const ks = this.head[0][0]!;
      if (ks > keyspace) return;
      const e = this.head;
      this.head = undefined;
      if (ks === keyspace) yield e;
    }
  }
}
