// Range evaluation over the key index at one revision: etcd's filters, count, sort and
// limit rules. Values come from the engine (one get per returned kv, issued together).

import type { IndexHit, KeyIndex } from './key-index.js';
import type { MvccState } from './state.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest, type RangeResponse } from './types.js';

const EMPTY = new Uint8Array(0);

export interface Hit {
  ki: KeyIndex;
  hit: IndexHit;
}

/** Live kvs in the request's range at revision `at`, in key order (synchronous: one index view). */
export function hitsAt(st: MvccState, key: Uint8Array, rangeEnd: Uint8Array | undefined, at: number): Hit[] {
  const out: Hit[] = [];
  for (const ki of st.index.range(key, rangeEnd)) {
    const hit = ki.get(at);
    if (hit !== undefined) out.push({ ki, hit });
  }
  return out;
}

const z = (n: number | undefined): number => n ?? 0;

function passesFilters(req: RangeRequest, h: IndexHit): boolean {
  if (z(req.minModRevision) > 0 && h.main < z(req.minModRevision)) return false;
  if (z(req.maxModRevision) > 0 && h.main > z(req.maxModRevision)) return false;
  if (z(req.minCreateRevision) > 0 && h.createRevision < z(req.minCreateRevision)) return false;
  if (z(req.maxCreateRevision) > 0 && h.createRevision > z(req.maxCreateRevision)) return false;
  return true;
}

/**
 * Evaluates `req` at revision `at` (already checked against compaction/future bounds).
 * `headerRevision` is what the response's header carries.
 */
export async function evalRange(st: MvccState, req: RangeRequest, at: number, headerRevision: number): Promise<RangeResponse> {
  const all = hitsAt(st, req.key, req.rangeEnd, at);
  // etcd counts keys in range at the revision, before the revision filters and limit.
  const count = all.length;
  if (req.countOnly === true) return { revision: headerRevision, kvs: [], more: false, count };
  const hits = all.filter((h) => passesFilters(req, h.hit));
  let order = req.sortOrder ?? SortOrder.NONE;
  const target = req.sortTarget ?? SortTarget.KEY;
  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  const limit = req.limit !== undefined && req.limit > 0 ? req.limit : Infinity;

  let kvs: KeyValue[];
  if (target === SortTarget.VALUE && order !== SortOrder.NONE) {
    // Sorting by value needs every value before the limit applies.
    kvs = await readKvs(st, hits, false);
    const sign = order === SortOrder.DESCEND ? -1 : 1;
    kvs.sort((a, b) => sign * compareBytes(a.value, b.value));
    const more = kvs.length > limit;
    kvs = kvs.slice(0, limit);
    if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { revision: headerRevision, kvs, more, count };
  }
  sortHits(hits, target, order);
  const more = hits.length > limit;
  kvs = await readKvs(st, hits.slice(0, limit), req.keysOnly === true);
  return { revision: headerRevision, kvs, more, count };
}

function sortHits(hits: Hit[], target: SortTarget, order: SortOrder): void {
  if (order === SortOrder.NONE) return; // key order
  const field = (h: Hit): number =>
    target === SortTarget.VERSION ? h.hit.version : target === SortTarget.CREATE ? h.hit.createRevision : h.hit.main;
  if (target === SortTarget.KEY) {
    if (order === SortOrder.DESCEND) hits.reverse();
    return;
  }
  // Array.prototype.sort is stable: ties stay in key order, the same on every member.
  const sign = order === SortOrder.DESCEND ? -1 : 1;
  hits.sort((a, b) => sign * (field(a) - field(b)));
}

export async function readKvs(st: MvccState, hits: Hit[], keysOnly: boolean): Promise<KeyValue[]> {
  const records = await Promise.all(hits.map((h) => st.readRecord(h.hit.main, h.hit.sub)));
  return records.map((r) => ({
    key: r.key, createRevision: r.createRevision, modRevision: r.modRevision, version: r.version,
    value: keysOnly ? EMPTY : r.value, lease: r.lease,
  }));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
