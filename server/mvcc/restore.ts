// Rebuilds the in-memory state from the engine: on start, and after a snapshot (which is
// the engine's contents) is installed. Reads every revision record once, as etcd's
// restore does; values are not kept in memory.

import { keyspaceRange, StateKeyspace } from '../storage/keys.js';
import { META_ALARMS_KEY } from './alarm-table.js';
import { keyString } from './key-index.js';
import {
  META_COMPACTED_KEY, META_REVISION_KEY, STATE_APPLIED_INDEX_KEY, clientIdOfKey, decodeDedupe, decodeLease,
  decodeRecord, decodeU64, leaseIdOfKey, parseRevKey, type DedupeRecord,
} from './records.js';
import type { MvccState } from './state.js';

/** etcd's revision of a store that has never been written. */
export const EMPTY_STORE_REVISION = 1;

async function getNumber(st: MvccState, key: Uint8Array): Promise<number> {
  const v = await st.engine.get(key);
  return v === undefined ? 0 : decodeU64(v);
}

export async function restoreState(st: MvccState): Promise<void> {
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

  for await (const [k, v] of st.engine.iterate(keyspaceRange(StateKeyspace.MvccRevision))) {
    const { main, sub } = parseRevKey(k);
    const rec = decodeRecord(v, main);
    const ki = st.index.getOrCreate(rec.key);
    if (rec.tombstone) ki.tombstone(main, sub);
    else {
      ki.restorePut(main, sub, rec.createRevision, rec.version);
      ki.lease = rec.lease;
    }
  }

  for await (const [k, v] of st.engine.iterate(keyspaceRange(StateKeyspace.Lease))) {
    const rec = decodeLease(v);
    st.leases.add(leaseIdOfKey(k), rec.ttl, rec.remainingTtl);
  }
  for (const ki of st.index.range(Uint8Array.of(0), Uint8Array.of(0))) {
    if (ki.live && ki.lease !== 0) st.leases.attach(ki.lease, keyString(ki.key));
  }

  const clients: Array<[string, DedupeRecord]> = [];
  for await (const [k, v] of st.engine.iterate(keyspaceRange(StateKeyspace.Dedupe))) {
    clients.push([clientIdOfKey(k), decodeDedupe(v)]);
  }
  st.dedupe.load(clients);
}
