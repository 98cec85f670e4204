import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestOp } from '../mvcc/index.js';
import { BackendQuota, QUOTA_KV_OVERHEAD_BYTES, QUOTA_SIZE_REFRESH_MS, putCost, txnCost } from './quota.js';

const b = (s: string): Uint8Array => Buffer.from(s);
const put = (k: string, v: string): RequestOp => ({ type: 'put', put: { key: b(k), value: b(v) } });

test("costs are etcd's: puts with overhead, a txn's larger branch with nested txns, nothing for reads and deletes", () => {
  assert.equal(putCost(b('ab'), b('xyz')), QUOTA_KV_OVERHEAD_BYTES + 5);
  const nested: RequestOp = { type: 'txn', txn: { compare: [], success: [put('n', '1')], failure: [put('m', '12')] } };
  assert.equal(txnCost({ compare: [], success: [put('a', '1'), nested], failure: [put('f', '123456')] }),
    putCost(b('a'), b('1')) + putCost(b('m'), b('12')));
  assert.equal(txnCost({ compare: [], success: [{ type: 'deleteRange', deleteRange: { key: b('a') } }, { type: 'range', range: { key: b('a') } }], failure: [] }), 0);
});

test('the quota refuses what would pass it, measures lazily and at most every refresh interval', async () => {
  let size = 1_000;
  let measured = 0;
  let now = 0;
  const q = new BackendQuota(2_000, async () => {
    measured++;
    return size;
  }, () => now);
  assert.equal(await q.available(0), true);
  assert.equal(measured, 0, 'a request costing nothing needs no measurement');
  assert.equal(await q.available(999), true);
  assert.equal(await q.available(1_000), false, 'size + cost must stay below the quota, as etcd checks');
  size = 1_900;
  assert.equal(await q.available(50), true, 'the last reading is used within the refresh interval');
  assert.equal(measured, 1);
  now += QUOTA_SIZE_REFRESH_MS;
  await q.available(50); // starts a background re-measure
  await new Promise((r) => setImmediate(r));
  assert.equal(await q.available(200), false);
  assert.equal(measured, 2);
  const off = new BackendQuota(-1, async () => Number.MAX_SAFE_INTEGER);
  assert.equal(await off.available(1e9), true, 'a negative quota is no quota');
});
