// Checks a request must pass before it reaches the backend, as etcd's v3rpc does
// (checkRangeRequest, checkPutRequest, checkTxnRequest, checkIntervals) plus the size
// limits of limits.ts. Pure functions: each returns nothing or throws an ApiError.

import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../mvcc/index.js';
import { EtcdErrors, invalidArgument } from './errors.js';
import type { ApiLimits } from './limits.js';

const SORT_ORDER_MAX = 2;
const SORT_TARGET_MAX = 4;
const COMPARE_RESULT_MAX = 3;

/** True for the one-byte "\0" range end: every key >= key. */
export function isFromKey(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

export function checkKey(key: Uint8Array, limits: ApiLimits): void {
  if (key.length === 0) throw EtcdErrors.emptyKey;
  if (key.length > limits.keyBytesMax) {
    // With the default (no key limit but the request's, as etcd) etcd's own answer applies.
    if (limits.keyBytesMax >= limits.requestBytesMax) throw EtcdErrors.requestTooLarge;
    throw invalidArgument(
      `regionstore: key is too large: ${key.length} bytes, the limit is ${limits.keyBytesMax}`,
    );
  }
}

/**
 * A range end is empty (one key), "\0" (from key) or a key. One that sorts at or before
 * the key is an empty range, not an error: etcd answers it with no keys (`etcdctl get zz
 * aa`), deletes nothing and compares as a missing key. Only Watch refuses it (watch.ts).
 */
export function checkRangeEnd(rangeEnd: Uint8Array | undefined, limits: ApiLimits): void {
  if (rangeEnd === undefined || rangeEnd.length === 0 || isFromKey(rangeEnd)) return;
  if (rangeEnd.length > limits.keyBytesMax) {
    throw invalidArgument(
      `regionstore: range end is too large: ${rangeEnd.length} bytes, the limit is ${limits.keyBytesMax}`,
    );
  }
}

export function validateRange(req: RangeRequest, limits: ApiLimits): void {
  checkKey(req.key, limits);
  checkRangeEnd(req.rangeEnd, limits);
  const order = req.sortOrder ?? 0;
  const target = req.sortTarget ?? 0;
  if (!(order >= 0 && order <= SORT_ORDER_MAX && target >= 0 && target <= SORT_TARGET_MAX)) {
    throw EtcdErrors.invalidSortOption;
  }
}

export function validatePut(req: PutRequest, limits: ApiLimits): void {
  checkKey(req.key, limits);
  // etcd has one limit for both (--max-request-bytes) and one answer, which clients map
  // to ErrRequestTooLarge by its text.
  if (req.value.length > limits.valueBytesMax || req.key.length + req.value.length > limits.requestBytesMax) {
    throw EtcdErrors.requestTooLarge;
  }
  if (req.ignoreValue === true && req.value.length !== 0) throw EtcdErrors.valueProvided;
  if (req.ignoreLease === true && req.lease !== undefined && req.lease !== 0) {
    throw EtcdErrors.leaseProvided;
  }
}

export function validateDeleteRange(req: DeleteRangeRequest, limits: ApiLimits): void {
  checkKey(req.key, limits);
  checkRangeEnd(req.rangeEnd, limits);
}

export function validateCompare(c: Compare, limits: ApiLimits): void {
  checkKey(c.key, limits);
  checkRangeEnd(c.rangeEnd, limits);
  if (!(c.result >= 0 && c.result <= COMPARE_RESULT_MAX)) {
    throw invalidArgument(`etcdserver: invalid compare result ${String(c.result)}`);
  }
}

function validateOp(op: RequestOp, limits: ApiLimits): void {
  switch (op.type) {
    case 'range':
      return validateRange(op.range, limits);
    case 'put':
      return validatePut(op.put, limits);
    case 'deleteRange':
      return validateDeleteRange(op.deleteRange, limits);
    case 'txn':
      return validateTxnShape(op.txn, limits);
  }
}

function validateTxnShape(req: TxnRequest, limits: ApiLimits): void {
  const max = limits.txnOpsMax;
  if (req.compare.length > max || req.success.length > max || req.failure.length > max) {
    throw EtcdErrors.tooManyOps;
  }
  for (const c of req.compare) validateCompare(c, limits);
  for (const op of req.success) validateOp(op, limits);
  for (const op of req.failure) validateOp(op, limits);
}

/** Bytes of keys, values and range ends a txn carries: what its Raft entry will hold. */
export function txnPayloadBytes(req: TxnRequest): number {
  let n = 0;
  for (const c of req.compare) {
    n += c.key.length + (c.rangeEnd?.length ?? 0) + (c.target === 3 ? c.value.length : 0);
  }
  n += opsPayloadBytes(req.success) + opsPayloadBytes(req.failure);
  return n;
}

function opsPayloadBytes(ops: RequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    if (op.type === 'range') n += op.range.key.length + (op.range.rangeEnd?.length ?? 0);
    else if (op.type === 'put') n += op.put.key.length + op.put.value.length;
    else if (op.type === 'deleteRange') n += op.deleteRange.key.length + (op.deleteRange.rangeEnd?.length ?? 0);
    else n += txnPayloadBytes(op.txn);
  }
  return n;
}

/** Writes of one branch: the keys it puts and the ranges it deletes. */
interface BranchWrites {
  puts: Set<string>;
  dels: Array<{ key: Uint8Array; rangeEnd: Uint8Array | undefined }>;
}

function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

function inRange(key: Uint8Array, del: { key: Uint8Array; rangeEnd: Uint8Array | undefined }): boolean {
  const end = del.rangeEnd;
  if (end === undefined || end.length === 0) return Buffer.compare(key, del.key) === 0;
  if (Buffer.compare(key, del.key) < 0) return false;
  return isFromKey(end) || Buffer.compare(key, end) < 0;
}

/**
 * etcd's checkIntervals: within one branch a key may be put once and not both put and
 * deleted; a nested txn's two branches may each put the same key (only one runs).
 */
function branchWrites(ops: RequestOp[]): BranchWrites {
  const w: BranchWrites = { puts: new Set(), dels: [] };
  for (const op of ops) {
    if (op.type === 'put') {
      const id = keyId(op.put.key);
      if (w.puts.has(id)) throw EtcdErrors.duplicateKey;
      w.puts.add(id);
    } else if (op.type === 'deleteRange') {
      w.dels.push({ key: op.deleteRange.key, rangeEnd: op.deleteRange.rangeEnd });
    } else if (op.type === 'txn') {
      const s = branchWrites(op.txn.success);
      const f = branchWrites(op.txn.failure);
      for (const id of new Set([...s.puts, ...f.puts])) {
        if (w.puts.has(id)) throw EtcdErrors.duplicateKey;
        w.puts.add(id);
      }
      w.dels.push(...s.dels, ...f.dels);
    }
  }
  if (w.dels.length > 0) {
    for (const id of w.puts) {
      const key = Buffer.from(id, 'latin1');
      for (const del of w.dels) if (inRange(key, del)) throw EtcdErrors.duplicateKey;
    }
  }
  return w;
}

export function validateTxn(req: TxnRequest, limits: ApiLimits): void {
  validateTxnShape(req, limits);
  if (txnPayloadBytes(req) > limits.requestBytesMax) throw EtcdErrors.requestTooLarge;
  branchWrites(req.success);
  branchWrites(req.failure);
}

/** etcd's LeaseGrant checks; `ttl` in seconds. */
export function validateLeaseTtl(ttl: number, limits: ApiLimits): void {
  if (ttl > limits.leaseTtlSecondsMax) throw EtcdErrors.leaseTtlTooLarge;
}
