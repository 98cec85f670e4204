// The physical half of compaction: deleting the revisions a compaction made unreachable,
// in chunks of at most COMPACT_CHUNK_ENTRIES_MAX history entries, each chunk one engine
// batch that also moves the persisted cursor (so a restart resumes where it stopped).
//
// Walking MvccKeyHistory in key order then revision order, an entry e of key k at or
// below the compaction revision C goes when the next entry of k is also at or below C
// (e is then never the newest at or before any readable revision), or when e is a
// tombstone (the newest at or before C being a delete, k is absent at C). Everything
// else stays. Deleting e deletes its history row and its revision record.

import type { BatchOp, Bytes } from '../storage/engine.js';
import { StateKeyspace, stateMetaKey } from '../storage/keys.js';
import { BinReader, BinWriter } from './bin.js';
import { decodeHist, histKeyPart, keyString } from './kv-layout.js';
import { META_HASH_SUM_KEY, encodeU64, recordHash, revKey, subHash } from './records.js';
import { type MvccState, type PendingCompaction, overlayKey } from './state.js';

/** History entries decided per chunk: bounds the CPU between awaits and the batch size. */
export const COMPACT_CHUNK_ENTRIES_MAX = 1000;
export const META_COMPACT_PENDING_KEY = stateMetaKey('mvcc-compact-pending');
/** Where a compaction's walk starts: the first history key there can be. */
export const HISTORY_START: Uint8Array = Uint8Array.of(StateKeyspace.MvccKeyHistory);
const HISTORY_END: Uint8Array = Uint8Array.of(StateKeyspace.MvccKeyHistory + 1);

export function pendingCompactionOp(p: PendingCompaction): BatchOp {
  return { type: 'put', key: META_COMPACT_PENDING_KEY, value: new BinWriter().uint(p.revision).bytes(p.cursor).finish() };
}

export function decodePendingCompaction(bytes: Uint8Array): PendingCompaction {
  const r = new BinReader(bytes);
  return { revision: r.uint(), cursor: r.bytes().slice() };
}

/**
 * Does one chunk of the pending compaction; true while more remains. Must not overlap an
 * apply (the store runs it in its serial queue): an apply may replace `st.pending`.
 */
export async function compactChunk(st: MvccState): Promise<boolean> {
  const p = st.pending;
  if (p === undefined) return false;
  const at = p.revision;
  const rows: Array<{ key: Bytes; part: string; main: number; sub: number; tombstone: boolean }> = [];
  // One entry past the chunk: deciding an entry needs the next one.
  for await (const chunk of st.engine.scan({ gte: p.cursor, lt: HISTORY_END, limit: COMPACT_CHUNK_ENTRIES_MAX + 1 })) {
    for (const [k, v] of chunk) {
      const e = decodeHist(k, v);
      rows.push({ key: k, part: keyString(histKeyPart(k)), main: e.main, sub: e.sub, tombstone: e.tombstone });
    }
  }
  const done = rows.length <= COMPACT_CHUNK_ENTRIES_MAX;
  const decide = done ? rows.length : rows.length - 1;
  const ops: BatchOp[] = [];
  const gone: Uint8Array[] = [];
  for (let i = 0; i < decide; i++) {
    const e = rows[i] as (typeof rows)[number];
    if (e.main > at) continue;
    const next = rows[i + 1];
    const superseded = next !== undefined && next.part === e.part && next.main <= at;
    if (!superseded && !e.tombstone) continue;
    const rk = revKey(e.main, e.sub);
    gone.push(rk);
    ops.push({ type: 'del', key: e.key }, { type: 'del', key: rk });
    st.cache.delete(overlayKey(e.main, e.sub));
  }
  // The records deleted leave the hash sum (records.ts META_HASH_SUM_KEY): their bytes are
  // read back in one round trip (the history entries hold no value).
  let sum = st.hashSum;
  const values = await st.engine.getMany(gone);
  values.forEach((v, i) => {
    if (v !== undefined) sum = subHash(sum, recordHash(gone[i] as Uint8Array, v));
  });
  if (gone.length > 0) ops.push({ type: 'put', key: META_HASH_SUM_KEY, value: encodeU64(sum) });
  const next: PendingCompaction | undefined = done ? undefined : { revision: at, cursor: (rows[decide] as (typeof rows)[number]).key.slice() };
  ops.push(next === undefined ? { type: 'del', key: META_COMPACT_PENDING_KEY } : pendingCompactionOp(next));
  // Before the write: a record read that started earlier must not be cached (readRecord).
  st.compactions++;
  await st.engine.write(ops);
  st.compactions++;
  st.hashSum = sum;
  st.publishedHashSum = sum;
  st.pending = next;
  return next !== undefined;
}
