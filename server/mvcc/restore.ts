// Opens the state from the engine: on start, and after a snapshot (which is the engine's
// contents) is installed. The key index is persisted (kv-layout.ts), so this reads a few
// meta records, the leases with their attached keys and the at-most-once table: nothing
// per key or per revision. A state written before the index was persisted (no format
// record) is converted once, in bounded batches.

import type { BatchOp } from '../storage/engine.js';
import { keyspaceRange, stateMetaKey, StateKeyspace } from '../storage/keys.js';
import { META_ALARMS_KEY } from './alarm-table.js';
import { decodePendingCompaction, META_COMPACT_PENDING_KEY } from './compactor.js';
import {
  decodeLatest, encodeHist, encodeLatest, histKey, keyString, latestKey, leaseKeyKey, parseLeaseKeyKey, userKeyOfLatest,
} from './kv-layout.js';
import {
  META_COMPACTED_KEY, META_HASH_SUM_KEY, META_REVISION_KEY, STATE_APPLIED_INDEX_KEY, addHash, clientIdOfKey, decodeDedupe,
  decodeLease, decodeRecord, decodeU64, encodeU64, leaseIdOfKey, parseRevKey, recordHash, type DedupeRecord,
} from './records.js';
import type { MvccState } from './state.js';

/** etcd's revision of a store that has never been written. */
export const EMPTY_STORE_REVISION = 1;
/** Live keys, written with every batch. */
export const META_LIVE_KEYS_KEY = stateMetaKey('mvcc-live-keys');
/** The mvcc layout version, written with every batch; absent in a state from before 2. */
export const META_FORMAT_KEY = stateMetaKey('mvcc-format');
export const MVCC_FORMAT = 2;
/** Engine ops per batch while converting an old state. */
const CONVERT_BATCH_OPS = 4096;

async function getNumber(st: MvccState, key: Uint8Array): Promise<number> {
  const v = await st.engine.get(key);
  return v === undefined ? 0 : decodeU64(v);
}

/** Loads the state's meta records, leases and dedupe table; true when the engine holds the
 *  mvcc format key afterwards (an empty state gets it with its first apply batch). */
export async function restoreState(st: MvccState): Promise<boolean> {
  st.applied = await getNumber(st, STATE_APPLIED_INDEX_KEY);
  // etcd numbers an empty store's revision 1 (its first write gets 2), and clients compare
  // revisions with numbers they read from etcd. An empty engine (no revision stored, read
  // as 0) opens at 1. A data dir from when revisions began at 0 keeps the revisions it
  // holds (nobody had one to migrate); only its empty state, revision 0, becomes 1.
  st.revision = Math.max(await getNumber(st, META_REVISION_KEY), EMPTY_STORE_REVISION);
  st.compacted = await getNumber(st, META_COMPACTED_KEY);
  st.published = st.revision;
  const alarms = await st.engine.get(META_ALARMS_KEY);
  if (alarms !== undefined) st.alarms.load(alarms);
  const formatOnDisk = (await st.engine.get(META_FORMAT_KEY)) !== undefined || (await convertFromRevisions(st));
  st.liveKeys = await getNumber(st, META_LIVE_KEYS_KEY);
  st.publishedLiveKeys = st.liveKeys;
  const hashSum = await st.engine.get(META_HASH_SUM_KEY);
  st.hashSum = hashSum === undefined ? await sumRecordHashes(st) : decodeU64(hashSum);
  st.publishedHashSum = st.hashSum;
  const pending = await st.engine.get(META_COMPACT_PENDING_KEY);
  st.pending = pending === undefined ? undefined : decodePendingCompaction(pending);

  for await (const chunk of st.engine.scan(keyspaceRange(StateKeyspace.Lease))) {
    for (const [k, v] of chunk) {
      const rec = decodeLease(v);
      st.leases.add(leaseIdOfKey(k), rec.ttl, rec.remainingTtl);
    }
  }
  for await (const chunk of st.engine.scan({ ...keyspaceRange(StateKeyspace.MvccLeaseKey), values: false })) {
    for (const [k] of chunk) {
      const { lease, key } = parseLeaseKeyKey(k);
      st.leases.attach(lease, keyString(key));
    }
  }

  const clients: Array<[string, DedupeRecord]> = [];
  for await (const [k, v] of st.engine.iterate(keyspaceRange(StateKeyspace.Dedupe))) {
    clients.push([clientIdOfKey(k), decodeDedupe(v)]);
  }
  st.dedupe.load(clients);
  return formatOnDisk;
}

/** Builds MvccLatest, MvccKeyHistory and MvccLeaseKey from the revision records; true when it
 *  wrote them (and the format key), false for an empty state. */
async function convertFromRevisions(st: MvccState): Promise<boolean> {
  let ops: BatchOp[] = [];
  const flush = async (): Promise<void> => {
    if (ops.length > 0) await st.engine.write(ops);
    ops = [];
  };
  let any = false;
  for await (const chunk of st.engine.scan(keyspaceRange(StateKeyspace.MvccRevision))) {
    for (const [k, v] of chunk) {
      any = true;
      const { main, sub } = parseRevKey(k);
      const rec = decodeRecord(v, main);
      ops.push({ type: 'put', key: histKey(rec.key, main, sub), value: encodeHist(rec) });
      // Revision order: the last op on a key's latest row is its state now.
      ops.push(rec.tombstone ? { type: 'del', key: latestKey(rec.key) } : { type: 'put', key: latestKey(rec.key), value: encodeLatest(rec) });
    }
    if (ops.length >= CONVERT_BATCH_OPS) await flush();
  }
  await flush();
  if (!any) return false; // an empty state: nothing to convert, and nothing is written
  let live = 0;
  {
    for await (const chunk of st.engine.scan(keyspaceRange(StateKeyspace.MvccLatest))) {
      for (const [k, v] of chunk) {
        live++;
        const kv = decodeLatest(userKeyOfLatest(k), v);
        if (kv.lease !== 0) ops.push({ type: 'put', key: leaseKeyKey(kv.lease, kv.key), value: new Uint8Array(0) });
      }
      if (ops.length >= CONVERT_BATCH_OPS) await flush();
    }
  }
  ops.push({ type: 'put', key: META_LIVE_KEYS_KEY, value: encodeU64(live) });
  ops.push({ type: 'put', key: META_FORMAT_KEY, value: encodeU64(MVCC_FORMAT) });
  await flush();
  return true;
}

/**
 * The hash sum of a state written before it was kept (or imported from an etcd snapshot):
 * one pass over the revision records, written back so it is done once. An empty state
 * sums to 0 and nothing is written.
 */
async function sumRecordHashes(st: MvccState): Promise<number> {
  let sum = 0;
  let any = false;
  for await (const chunk of st.engine.scan(keyspaceRange(StateKeyspace.MvccRevision))) {
    for (const [k, v] of chunk) {
      any = true;
      sum = addHash(sum, recordHash(k, v));
    }
  }
  if (any) await st.engine.write([{ type: 'put', key: META_HASH_SUM_KEY, value: encodeU64(sum) }]);
  return sum;
}
