// Range evaluation: etcd's filters, count, sort and limit rules over the persisted key
// index (kv-view.ts). At the current revision the live kvs come from MvccLatest with their
// values (one scan); at an old revision the history gives each key's revision and the
// values come from MvccRevision (one get per returned kv, issued together).

import {
  type Hit, applierRange, countScan, readerGet, hitsAtRevision, latestChunks, openLatestScan, withReaderView,
} from './kv-view.js';
import type { MvccState } from './state.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest, type RangeResponse } from './types.js';

const EMPTY = new Uint8Array(0);

/** Where a range reads: a reader (published state) or the applier at its current revision. */
export type RangeView = { kind: 'reader' } | { kind: 'applier'; current: number };

const z = (n: number | undefined): number => n ?? 0;

function hasFilters(req: RangeRequest): boolean {
  return z(req.minModRevision) > 0 || z(req.maxModRevision) > 0 || z(req.minCreateRevision) > 0 || z(req.maxCreateRevision) > 0;
}

function passesFilters(req: RangeRequest, h: { modRevision: number; createRevision: number }): boolean {
  if (z(req.minModRevision) > 0 && h.modRevision < z(req.minModRevision)) return false;
  if (z(req.maxModRevision) > 0 && h.modRevision > z(req.maxModRevision)) return false;
  if (z(req.minCreateRevision) > 0 && h.createRevision < z(req.minCreateRevision)) return false;
  if (z(req.maxCreateRevision) > 0 && h.createRevision > z(req.maxCreateRevision)) return false;
  return true;
}

function sortOf(req: RangeRequest): { order: SortOrder; target: SortTarget } {
  let order = req.sortOrder ?? SortOrder.NONE;
  const target = req.sortTarget ?? SortTarget.KEY;
  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  return { order, target };
}

function limitOf(req: RangeRequest): number {
  return req.limit !== undefined && req.limit > 0 ? req.limit : Infinity;
}

/**
 * Evaluates `req` (its revision already checked against the compacted bound). Readers read
 * at `req.revision` or, when absent, at `published`; the header carries `published` as of
 * the read. The applier reads at `req.revision` or its current revision.
 */
export async function evalRange(st: MvccState, req: RangeRequest, view: RangeView): Promise<RangeResponse> {
  const requested = req.revision !== undefined && req.revision > 0 ? req.revision : 0;
  if (view.kind === 'applier') {
    const at = requested > 0 ? requested : view.current;
    if (at === view.current) return finish(req, await applierRange(st, req.key, req.rangeEnd), view.current);
    return fromHistory(st, req, at, view.current, true);
  }
  const single = req.rangeEnd === undefined || req.rangeEnd.length === 0;
  if (single && (requested === 0 || requested === st.published)) {
    // One key at the current revision: the latest cache, or one engine seek.
    const { kv, at } = await readerGet(st, req.key);
    if (requested === 0 || requested === at) return finish(req, kv === undefined ? [] : [kv], at);
  }
  const opened = await withReaderView(st, () => {
    const header = st.published;
    const at = requested > 0 ? requested : header;
    return { header, at, current: at === header ? openCurrent(st, req) : undefined };
  });
  if (opened.current === undefined) return fromHistory(st, req, opened.at, opened.header, false);
  return opened.current(opened.header);
}

type CurrentRead = (header: number) => Promise<RangeResponse>;

/** Opens (synchronously, inside the reader view) the scans a read at the current revision needs. */
function openCurrent(st: MvccState, req: RangeRequest): CurrentRead {
  const { order, target } = sortOf(req);
  const limit = limitOf(req);
  const single = req.rangeEnd === undefined || req.rangeEnd.length === 0;
  if (req.countOnly === true) {
    // Every key: the live-key count the applier keeps. Otherwise a keys-only scan.
    if (!single && isWholeKeyspace(req)) {
      const count = st.publishedLiveKeys;
      return async (header) => ({ revision: header, kvs: [], more: false, count });
    }
    const scan = openLatestScan(st, req.key, req.rangeEnd, { keys: false, values: false });
    return async (header) => ({ revision: header, kvs: [], more: false, count: await countScan(scan) });
  }
  if (!hasFilters(req) && target === SortTarget.KEY && Number.isFinite(limit)) {
    // The common paged read: the first `limit` kvs with values, and a keys-only count.
    const reverse = order === SortOrder.DESCEND;
    const kvsScan = openLatestScan(st, req.key, req.rangeEnd, { reverse, limit });
    const countOf = isWholeKeyspace(req) ? st.publishedLiveKeys : openLatestScan(st, req.key, req.rangeEnd, { keys: false, values: false });
    return async (header) => {
      const kvs: KeyValue[] = [];
      for await (const chunk of latestChunks(kvsScan, true)) for (const kv of chunk) kvs.push(owned(kv, req.keysOnly === true));
      const count = typeof countOf === 'number' ? countOf : await countScan(countOf);
      return { revision: header, kvs, more: count > kvs.length, count };
    };
  }
  const all = openLatestScan(st, req.key, req.rangeEnd);
  return async (header) => {
    const kvs: KeyValue[] = [];
    for await (const chunk of latestChunks(all, true)) for (const kv of chunk) kvs.push(owned(kv, false));
    return finish(req, kvs, header);
  };
}

/** Key "\0" to the end ("\0"): every key there is (etcd's `get "" --prefix`). */
function isWholeKeyspace(req: RangeRequest): boolean {
  const end = req.rangeEnd;
  return req.key.length === 1 && req.key[0] === 0 && end !== undefined && end.length === 1 && end[0] === 0;
}

/** A kv that no longer views into an engine chunk (so a returned kv does not pin it). */
function owned(kv: KeyValue, keysOnly: boolean): KeyValue {
  return { ...kv, key: kv.key.slice(), value: keysOnly ? EMPTY : kv.value.slice() };
}

/** Count, filters, sort and limit over every live kv in range (values present). */
function finish(req: RangeRequest, all: KeyValue[], header: number): RangeResponse {
  // etcd counts keys in range at the revision, before the revision filters and limit.
  const count = all.length;
  if (req.countOnly === true) return { revision: header, kvs: [], more: false, count };
  let kvs = hasFilters(req) ? all.filter((kv) => passesFilters(req, kv)) : all;
  const { order, target } = sortOf(req);
  const limit = limitOf(req);
  if (order !== SortOrder.NONE) {
    const sign = order === SortOrder.DESCEND ? -1 : 1;
    if (target === SortTarget.KEY) {
      if (order === SortOrder.DESCEND) kvs = kvs.slice().reverse();
    } else if (target === SortTarget.VALUE) {
      kvs = kvs.slice().sort((a, b) => sign * compareBytes(a.value, b.value));
    } else {
      const field = (kv: KeyValue): number =>
        target === SortTarget.VERSION ? kv.version : target === SortTarget.CREATE ? kv.createRevision : kv.modRevision;
      // Array.prototype.sort is stable: ties stay in key order, the same on every member.
      kvs = kvs.slice().sort((a, b) => sign * (field(a) - field(b)));
    }
  }
  const more = kvs.length > limit;
  if (Number.isFinite(limit)) kvs = kvs.slice(0, limit);
  if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { revision: header, kvs, more, count };
}

/** A read at an old revision: the history names each key's revision; values are read after. */
async function fromHistory(st: MvccState, req: RangeRequest, at: number, header: number, withOverlay: boolean): Promise<RangeResponse> {
  const all = await hitsAtRevision(st, req.key, req.rangeEnd, at, withOverlay);
  const count = all.length;
  if (req.countOnly === true) return { revision: header, kvs: [], more: false, count };
  const hits = hasFilters(req) ? all.filter((h) => passesFilters(req, { modRevision: h.main, createRevision: h.createRevision })) : all;
  const { order, target } = sortOf(req);
  const limit = limitOf(req);
  if (target === SortTarget.VALUE && order !== SortOrder.NONE) {
    // Sorting by value needs every value before the limit applies.
    const kvs = await readKvs(st, hits);
    return { ...finish({ ...req, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 }, kvs, header), count };
  }
  if (order !== SortOrder.NONE) {
    const sign = order === SortOrder.DESCEND ? -1 : 1;
    if (target === SortTarget.KEY) {
      if (order === SortOrder.DESCEND) hits.reverse();
    } else {
      const field = (h: Hit): number =>
        target === SortTarget.VERSION ? h.version : target === SortTarget.CREATE ? h.createRevision : h.main;
      hits.sort((a, b) => sign * (field(a) - field(b)));
    }
  }
  const more = hits.length > limit;
  const kvs = await readKvs(st, Number.isFinite(limit) ? hits.slice(0, limit) : hits);
  return { revision: header, kvs: req.keysOnly === true ? kvs.map((kv) => ({ ...kv, value: EMPTY })) : kvs, more, count };
}

/** The kvs of history hits, from their revision records. */
export async function readKvs(st: MvccState, hits: Hit[]): Promise<KeyValue[]> {
  const records = await Promise.all(hits.map((h) => st.readRecord(h.main, h.sub)));
  return records.map((r) => ({
    key: r.key, createRevision: r.createRevision, modRevision: r.modRevision, version: r.version, value: r.value, lease: r.lease,
  }));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
