import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MvccError } from './errors.js';
import { b, keys, str, withHarness } from './testing/harness.js';
import { type Compare, CompareResult, CompareTarget, type RequestOp, type TxnRequest } from './types.js';
import { validateTxn } from './validate-txn.js';

const put = (k: string, v: string): RequestOp => ({ type: 'put', put: { key: b(k), value: b(v) } });
const get = (k: string, end?: string): RequestOp => ({ type: 'range', range: end === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(end) } });
const del = (k: string, end?: string): RequestOp => ({ type: 'deleteRange', deleteRange: end === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(end) } });
const txnOp = (txn: TxnRequest): RequestOp => ({ type: 'txn', txn });

test('txn: compares on every target and result', () =>
  withHarness(async (h) => {
    await h.put('k', 'm'); // rev 2, version 1
    await h.put('k', 'm'); // rev 3, version 2
    const check = async (c: Compare): Promise<boolean> => (await h.txn({ compare: [c], success: [], failure: [] })).succeeded;
    const k = b('k');
    const { EQUAL, GREATER, LESS, NOT_EQUAL } = CompareResult;
    assert.equal(await check({ key: k, result: EQUAL, target: CompareTarget.VERSION, version: 2 }), true);
    assert.equal(await check({ key: k, result: GREATER, target: CompareTarget.VERSION, version: 1 }), true);
    assert.equal(await check({ key: k, result: LESS, target: CompareTarget.VERSION, version: 2 }), false);
    assert.equal(await check({ key: k, result: EQUAL, target: CompareTarget.CREATE, createRevision: 2 }), true);
    assert.equal(await check({ key: k, result: EQUAL, target: CompareTarget.MOD, modRevision: 3 }), true);
    assert.equal(await check({ key: k, result: NOT_EQUAL, target: CompareTarget.MOD, modRevision: 3 }), false);
    assert.equal(await check({ key: k, result: EQUAL, target: CompareTarget.MOD, modRevision: 2 }), false, 'etcd numbering: the second put is revision 3');
    assert.equal(await check({ key: k, result: GREATER, target: CompareTarget.VALUE, value: b('a') }), true);
    assert.equal(await check({ key: k, result: LESS, target: CompareTarget.VALUE, value: b('a') }), false);
    assert.equal(await check({ key: k, result: EQUAL, target: CompareTarget.LEASE, lease: 0 }), true);
    // A missing key compares as zeros; its value compare is always false.
    const m = b('missing');
    assert.equal(await check({ key: m, result: EQUAL, target: CompareTarget.VERSION, version: 0 }), true);
    assert.equal(await check({ key: m, result: EQUAL, target: CompareTarget.CREATE, createRevision: 0 }), true);
    assert.equal(await check({ key: m, result: NOT_EQUAL, target: CompareTarget.VALUE, value: b('x') }), false);
    assert.equal(h.store.currentRevision, 3, 'txns without writes do not bump the revision');
  }));

const c = (v: number): Compare => ({ key: b('r/'), rangeEnd: b('r0'), result: CompareResult.EQUAL, target: CompareTarget.VERSION, version: v });

test('txn: a compare over a range needs every key to satisfy it', () =>
  withHarness(async (h) => {
    await h.put('r/a', '1');
    await h.put('r/b', '1');
    assert.equal((await h.txn({ compare: [c(1)], success: [], failure: [] })).succeeded, true);
    await h.put('r/b', '2');
    assert.equal((await h.txn({ compare: [c(1)], success: [], failure: [] })).succeeded, false);
  }));

test('txn: one revision, sub-revisions in op order, reads see earlier writes', () =>
  withHarness(async (h) => {
    await h.put('x', '0'); // 2
    const res = await h.txn({
      compare: [{ key: b('x'), result: CompareResult.EQUAL, target: CompareTarget.VALUE, value: b('0') }],
      success: [put('a', '1'), get('a'), put('b', '2'), del('x'), get('a', 'z')],
      failure: [put('never', '1')],
    });
    assert.equal(res.succeeded, true);
    assert.equal(res.revision, 3);
    assert.equal(h.store.currentRevision, 3);
    const [, r1, , d, r2] = res.responses;
    assert.ok(r1?.type === 'range' && r2?.type === 'range' && d?.type === 'deleteRange');
    assert.equal(str(r1.range.kvs[0]?.value ?? b('')), '1');
    assert.deepEqual(keys(r2.range.kvs), ['a', 'b']);
    assert.equal(d.deleteRange.deleted, 1);
    assert.equal(await h.value('never'), undefined);
    const watcher = h.store.watchHub.watch({ key: b('a'), rangeEnd: b('z'), startRevision: 3 });
    const ev = await watcher.next();
    assert.deepEqual(ev?.events.map((e) => [str(e.kv.key), e.type, e.kv.modRevision]), [['a', 0, 3], ['b', 0, 3], ['x', 1, 3]]);
    watcher.cancel();
  }));

test('txn: failure branch and nested txns', () =>
  withHarness(async (h) => {
    await h.put('flag', 'off');
    const res = await h.txn({
      compare: [{ key: b('flag'), result: CompareResult.EQUAL, target: CompareTarget.VALUE, value: b('on') }],
      success: [put('s', '1')],
      failure: [
        put('f', '1'),
        txnOp({
          compare: [{ key: b('flag'), result: CompareResult.EQUAL, target: CompareTarget.VERSION, version: 1 }],
          success: [put('inner', 'yes'), get('f')],
          failure: [put('inner', 'no')],
        }),
      ],
    });
    assert.equal(res.succeeded, false);
    const nested = res.responses[1];
    assert.ok(nested?.type === 'txn');
    assert.equal(nested.txn.succeeded, true);
    const inner = nested.txn.responses[1];
    assert.ok(inner?.type === 'range');
    assert.equal(inner.range.kvs.length, 1, 'a nested read sees the outer write');
    assert.deepEqual([await h.value('s'), await h.value('f'), await h.value('inner')], [undefined, '1', 'yes']);
    assert.equal(h.store.currentRevision, 3);
  }));

const dup = (t: TxnRequest) => assert.throws(() => validateTxn(t), (e: unknown) => e instanceof MvccError && e.code === 'duplicate-key' && e.message === 'etcdserver: duplicate key given in txn request');
const ok = (t: TxnRequest) => assert.doesNotThrow(() => validateTxn(t));

test('txn: duplicate keys are rejected (validateTxn and on apply)', async () => {
  dup({ compare: [], success: [put('a', '1'), put('a', '2')], failure: [] });
  dup({ compare: [], success: [del('a', 'c'), put('b', '1')], failure: [] });
  dup({ compare: [], success: [put('b', '1'), txnOp({ compare: [], success: [put('b', '2')], failure: [] })], failure: [] });
  dup({ compare: [], success: [del('b'), txnOp({ compare: [], success: [], failure: [put('b', '2')] })], failure: [] });
  ok({ compare: [], success: [put('a', '1')], failure: [put('a', '2')] });
  ok({ compare: [], success: [txnOp({ compare: [], success: [put('a', '1')], failure: [put('a', '2')] })], failure: [] });
  ok({ compare: [], success: [del('a', 'c'), del('b')], failure: [] });
  ok({ compare: [], success: [get('a'), put('a', '1')], failure: [] });
  await withHarness(async (h) => {
    await assert.rejects(h.txn({ compare: [], success: [put('a', '1'), put('a', '2')], failure: [] }), (e: unknown) => e instanceof MvccError && e.code === 'duplicate-key');
    assert.equal(h.store.currentRevision, 1);
  });
});

test('txn: a failing check leaves no partial write', () =>
  withHarness(async (h) => {
    await assert.rejects(h.txn({ compare: [], success: [put('a', '1'), { type: 'put', put: { key: b('b'), value: b('x'), lease: 7 } }], failure: [] }), (e: unknown) => e instanceof MvccError && e.code === 'lease-not-found');
    await assert.rejects(h.txn({ compare: [], success: [put('a', '1'), { type: 'range', range: { key: b('a'), revision: 99 } }], failure: [] }), (e: unknown) => e instanceof MvccError && e.code === 'future-revision');
    assert.equal(h.store.currentRevision, 1);
    assert.equal(await h.value('a'), undefined);
  }));

test('readTxn: read-only txns evaluate locally, writes refused', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    const r = await h.store.readTxn({ compare: [{ key: b('a'), result: CompareResult.EQUAL, target: CompareTarget.VALUE, value: b('1') }], success: [get('a')], failure: [] });
    assert.equal(r.succeeded, true);
    assert.equal(r.revision, 2);
    await assert.rejects(h.store.readTxn({ compare: [], success: [put('a', '2')], failure: [] }), (e: unknown) => e instanceof MvccError && e.code === 'invalid');
  }));
