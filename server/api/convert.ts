// Wire requests (64-bit integers as decimal strings) to the store's request types
// (numbers). Revisions and limits are clamped into the safe-integer range, which keeps
// their meaning (a revision past 2^53 is a future revision, a max filter past it keeps
// everything); ids outside it cannot name anything the backend issued, so the caller
// answers "not found" for them (see `idFromWire`).

import type {
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  WatchFilter,
  WatchRequest,
} from '../mvcc/index.js';
import { EtcdErrors, invalidArgument } from './errors.js';
import type {
  Int64,
  WireCompactionRequest,
  WireCompare,
  WireDeleteRangeRequest,
  WirePutRequest,
  WireRangeRequest,
  WireRequestOp,
  WireTxnRequest,
  WireWatchCreateRequest,
} from './wire.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** A signed 64-bit decimal as a number clamped to ±(2^53 - 1). */
export function int64(s: Int64 | number | undefined): number {
  if (s === undefined) return 0;
  const n = typeof s === 'number' ? s : Number(s);
  if (n > MAX) return MAX;
  if (n < -MAX) return -MAX;
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

/** A non-negative revision/limit; etcd reads a negative one as 0 (current / none). */
function nonNegative(s: Int64): number {
  const n = int64(s);
  return n < 0 ? 0 : n;
}

/** An id the backend may know: a positive safe integer; otherwise undefined. 0 → 0. */
export function idFromWire(s: Int64 | number): number | undefined {
  const n = typeof s === 'number' ? s : Number(s);
  if (n === 0) return 0;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** A lease id referenced by a write: an id the backend cannot hold is "not found". */
function leaseRef(s: Int64): number {
  const id = idFromWire(s);
  if (id === undefined) throw EtcdErrors.leaseNotFound;
  return id;
}

export function rangeFromWire(w: WireRangeRequest): RangeRequest {
  return {
    key: w.key,
    rangeEnd: w.rangeEnd,
    limit: nonNegative(w.limit),
    revision: nonNegative(w.revision),
    sortOrder: w.sortOrder as SortOrder,
    sortTarget: w.sortTarget as SortTarget,
    serializable: w.serializable,
    keysOnly: w.keysOnly,
    countOnly: w.countOnly,
    minModRevision: int64(w.minModRevision),
    maxModRevision: int64(w.maxModRevision),
    minCreateRevision: int64(w.minCreateRevision),
    maxCreateRevision: int64(w.maxCreateRevision),
  };
}

export function putFromWire(w: WirePutRequest): PutRequest {
  return {
    key: w.key,
    value: w.value,
    lease: leaseRef(w.lease),
    prevKv: w.prevKv,
    ignoreValue: w.ignoreValue,
    ignoreLease: w.ignoreLease,
  };
}

export function deleteRangeFromWire(w: WireDeleteRangeRequest): DeleteRangeRequest {
  return { key: w.key, rangeEnd: w.rangeEnd, prevKv: w.prevKv };
}

const EMPTY = Buffer.alloc(0);

export function compareFromWire(w: WireCompare): Compare {
  const base = { result: w.result as Compare['result'], key: w.key, rangeEnd: w.rangeEnd };
  switch (w.target) {
    case 0:
      return { ...base, target: 0, version: int64(w.version) };
    case 1:
      return { ...base, target: 1, createRevision: int64(w.createRevision) };
    case 2:
      return { ...base, target: 2, modRevision: int64(w.modRevision) };
    case 3:
      return { ...base, target: 3, value: w.value ?? EMPTY };
    case 4: {
      // Compares on a lease id no lease can have: 2^53 compares like it (never equal).
      const id = idFromWire(w.lease ?? '0');
      return { ...base, target: 4, lease: id ?? MAX };
    }
    default:
      throw invalidArgument(`etcdserver: invalid compare target ${w.target}`);
  }
}

function opFromWire(w: WireRequestOp): RequestOp {
  if (w.requestRange !== undefined && w.requestRange !== null) {
    return { type: 'range', range: rangeFromWire(w.requestRange) };
  }
  if (w.requestPut !== undefined && w.requestPut !== null) {
    return { type: 'put', put: putFromWire(w.requestPut) };
  }
  if (w.requestDeleteRange !== undefined && w.requestDeleteRange !== null) {
    return { type: 'deleteRange', deleteRange: deleteRangeFromWire(w.requestDeleteRange) };
  }
  if (w.requestTxn !== undefined && w.requestTxn !== null) {
    return { type: 'txn', txn: txnFromWire(w.requestTxn) };
  }
  throw invalidArgument('etcdserver: txn request op has no request set');
}

export function txnFromWire(w: WireTxnRequest): TxnRequest {
  return {
    compare: w.compare.map(compareFromWire),
    success: w.success.map(opFromWire),
    failure: w.failure.map(opFromWire),
  };
}

export function compactionFromWire(w: WireCompactionRequest): CompactionRequest {
  return { revision: nonNegative(w.revision), physical: w.physical };
}

const FILTER_MAX = 1;

/** etcd's FilterType numbers are the hub's WatchFilter numbers; unknown ones are dropped. */
export function watchCreateFromWire(w: WireWatchCreateRequest): WatchRequest {
  const filters: WatchFilter[] = [];
  for (const f of w.filters) if (f >= 0 && f <= FILTER_MAX) filters.push(f as WatchFilter);
  return {
    key: w.key,
    rangeEnd: w.rangeEnd,
    startRevision: nonNegative(w.startRevision),
    progressNotify: w.progressNotify,
    prevKv: w.prevKv,
    filters,
  };
}
