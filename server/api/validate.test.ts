import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { RequestOp, TxnRequest } from '../mvcc/index.js';
import { ApiError } from './errors.js';
import { resolveLimits } from './limits.js';
import { validateDeleteRange, validateLeaseTtl, validatePut, validateRange, validateTxn } from './validate.js';

const limits = resolveLimits({ keyBytesMax: 16, valueBytesMax: 64, requestBytesMax: 100, txnOpsMax: 3 });
const b = (s: string): Buffer => Buffer.from(s);

function rejects(fn: () => void, code: status, details: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `not an ApiError: ${String(e)}`);
    assert.equal(e.code, code);
    if (typeof details === 'string') assert.equal(e.details, details);
    else assert.match(e.details, details);
    return true;
  });
}

const put = (key: string, value = 'v'): RequestOp => ({ type: 'put', put: { key: b(key), value: b(value) } });
const del = (key: string, rangeEnd?: string): RequestOp => ({
  type: 'deleteRange',
  deleteRange: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) },
});
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ compare: [], success, failure });

test('empty key, key over the limit; a range end before the key is an empty range, as in etcd', () => {
  rejects(() => validatePut({ key: b(''), value: b('x') }, limits), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  rejects(() => validateRange({ key: b('') }, limits), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  rejects(() => validatePut({ key: b('k'.repeat(17)), value: b('') }, limits), status.INVALID_ARGUMENT, /key is too large: 17 bytes/);
  validateRange({ key: b('b'), rangeEnd: b('a') }, limits);
  validateDeleteRange({ key: b('b'), rangeEnd: b('a') }, limits);
  validateRange({ key: b('b'), rangeEnd: Buffer.from([0]) }, limits); // "\0": from key
  validateRange({ key: b('a'), rangeEnd: b('b') }, limits);
  validateRange({ key: b('a'), rangeEnd: b('') }, limits);
  validateDeleteRange({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }, limits);
});

test('value and request limits, ignore_value / ignore_lease', () => {
  rejects(() => validatePut({ key: b('k'), value: b('v'.repeat(65)) }, limits), status.INVALID_ARGUMENT, 'etcdserver: request is too large');
  rejects(
    () => validatePut({ key: b('k'.repeat(16)), value: b('v'.repeat(64)) }, resolveLimits({ requestBytesMax: 70, valueBytesMax: 64 })),
    status.INVALID_ARGUMENT,
    'etcdserver: request is too large',
  );
  rejects(() => validatePut({ key: b('k'), value: b('v'), ignoreValue: true }, limits), status.INVALID_ARGUMENT, 'etcdserver: value is provided');
  rejects(() => validatePut({ key: b('k'), value: b(''), lease: 5, ignoreLease: true }, limits), status.INVALID_ARGUMENT, 'etcdserver: lease is provided');
  validatePut({ key: b('k'), value: b(''), ignoreValue: true, ignoreLease: true }, limits);
});

test('sort options must be known', () => {
  rejects(() => validateRange({ key: b('a'), sortOrder: 7 as never }, limits), status.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
  rejects(() => validateRange({ key: b('a'), sortTarget: 5 as never }, limits), status.INVALID_ARGUMENT, 'etcdserver: invalid sort option');
});

test('txn: too many ops, duplicate puts, put inside a deleted range, nested branches', () => {
  rejects(() => validateTxn(txn([put('a'), put('b'), put('c'), put('d')]), limits), status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request');
  const dup = 'etcdserver: duplicate key given in txn request';
  rejects(() => validateTxn(txn([put('a'), put('a')]), limits), status.INVALID_ARGUMENT, dup);
  rejects(() => validateTxn(txn([del('a', 'c'), put('b')]), limits), status.INVALID_ARGUMENT, dup);
  rejects(() => validateTxn(txn([del('a'), put('a')]), limits), status.INVALID_ARGUMENT, dup);
  rejects(() => validateTxn(txn([put('a'), { type: 'txn', txn: txn([put('a')]) }]), limits), status.INVALID_ARGUMENT, dup);
  // The same key in the two branches, and in both branches of a nested txn, is fine.
  validateTxn(txn([put('a')], [put('a')]), limits);
  validateTxn(txn([{ type: 'txn', txn: txn([put('a')], [put('a')]) }]), limits);
  validateTxn(txn([del('a', 'c'), put('c')]), limits);
  rejects(() => validateTxn(txn([put('')]), limits), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  rejects(
    () => validateTxn({ compare: [{ result: 0, target: 0, key: b(''), version: 1 }], success: [], failure: [] }, limits),
    status.INVALID_ARGUMENT,
    'etcdserver: key is not provided',
  );
  rejects(() => validateTxn(txn([put('a', 'x'.repeat(60)), put('b', 'y'.repeat(60))]), limits), status.INVALID_ARGUMENT, 'etcdserver: request is too large');
});

test('lease TTL above the maximum', () => {
  rejects(() => validateLeaseTtl(limits.leaseTtlSecondsMax + 1, limits), status.OUT_OF_RANGE, 'etcdserver: too large lease TTL');
  validateLeaseTtl(60, limits);
});

test('limits must be positive integers', () => {
  assert.throws(() => resolveLimits({ txnOpsMax: 0 }), /txnOpsMax/);
  assert.throws(() => resolveLimits({ keyBytesMax: 1.5 }), /keyBytesMax/);
});
