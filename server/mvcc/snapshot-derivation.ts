// What a state snapshot leaves out of the mvcc layout, and how the receiver rebuilds it
// (storage/state-snapshot.ts format 2). Each key costs three pairs in the engine: its
// revision record, its latest row (the value again) and its history entry (kv-layout.ts).
// The latest rows and the history entries follow from the revision records alone:
// every write and every compaction chunk adds or removes a revision record together with
// its history entry, and a key's latest row is its newest record unless that one is a
// tombstone (restore.ts convertFromRevisions relies on the same). So the sender reads and
// sends one pair per key, and the receiver writes the other two as it writes the record:
// the leader's CPU per key (the binding's cost per pair read) falls to a third and the
// value crosses the wire once.
//
// MvccLeaseKey travels as it is: it is small (keys with a lease only), and deriving it
// would need each key's previous lease.

import type { BatchOp } from '../storage/engine.js';
import { StateKeyspace, decodeU64 } from '../storage/keys.js';
import type { SnapshotDerivation } from '../storage/state-snapshot.js';
import { encodeHist, encodeLatest, histKey, latestKey } from './kv-layout.js';
import { decodeRecord } from './records.js';

/**
 * Names this derivation in the stream's header. Change it whenever what the sender leaves
 * out, or what the receiver writes for a record, changes: a member that derives
 * differently then refuses the stream instead of building a different state.
 */
export const MVCC_SNAPSHOT_DERIVATION_ID = 1;

/** Offset of the u32 sub-revision in a revision record's engine key ([0x12][u64][u32]). */
const REV_KEY_SUB_AT = 9;
const REV_KEY_BYTES = 13;

function derive(key: Uint8Array, value: Uint8Array, out: BatchOp[]): number {
  if (key.length !== REV_KEY_BYTES) throw new Error(`state snapshot: a revision record key of ${key.length} bytes`);
  const main = decodeU64(key, 1);
  const sub = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(REV_KEY_SUB_AT);
  const rec = decodeRecord(value, main);
  const hk = histKey(rec.key, main, sub);
  const hv = encodeHist(rec);
  const lk = latestKey(rec.key);
  out.push({ type: 'put', key: hk, value: hv });
  // Records come in revision order: the last op on a key's latest row is its state.
  if (rec.tombstone) {
    out.push({ type: 'del', key: lk });
    return hk.length + hv.length + lk.length;
  }
  const lv = encodeLatest(rec);
  out.push({ type: 'put', key: lk, value: lv });
  return hk.length + hv.length + lk.length + lv.length;
}

export const MVCC_SNAPSHOT_DERIVATION: SnapshotDerivation = {
  id: MVCC_SNAPSHOT_DERIVATION_ID,
  // MvccLatest and MvccKeyHistory are adjacent keyspaces: one range.
  omitted: [{ gte: Uint8Array.of(StateKeyspace.MvccLatest), lt: Uint8Array.of(StateKeyspace.MvccKeyHistory + 1) }],
  sourceKeyspace: StateKeyspace.MvccRevision,
  derive,
};
