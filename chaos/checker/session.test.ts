// The session checker on hand-made histories: each guarantee holds or is caught.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionOp } from '../workload/session.js';
import { checkSession } from './session.js';

let t = 0;
function op(process: number, kind: 'put' | 'get', key: string, value: string | null, revision: number, modRevision: number): SessionOp {
  t += 10;
  return { process, op: kind, key, value, revision, modRevision, status: 'ok', call: t, return: t + 5 };
}

test('a clean history passes', () => {
  const r = checkSession([op(1, 'put', 'a', '1-0', 5, 5), op(1, 'get', 'a', '1-0', 6, 5), op(1, 'get', 'b', null, 7, 0), op(2, 'get', 'a', '1-0', 7, 5)]);
  assert.equal(r.ok, true);
  assert.equal(r.reads, 3);
});

test('read-your-writes: an own key older than the last own write', () => {
  const r = checkSession([op(1, 'put', 'a', '1-0', 5, 5), op(1, 'put', 'a', '1-1', 8, 8), op(1, 'get', 'a', '1-0', 9, 5)]);
  assert.equal(r.anomalies[0]?.kind, 'read-your-writes');
});

test('monotonic reads: an answer older than an earlier one', () => {
  const r = checkSession([op(1, 'get', 'b', '2-3', 12, 11), op(1, 'get', 'c', null, 10, 0)]);
  assert.equal(r.anomalies[0]?.kind, 'monotonic-reads');
  const k = checkSession([op(1, 'get', 'b', '2-3', 12, 11), op(1, 'get', 'b', '2-2', 13, 9)]);
  assert.equal(k.anomalies[0]?.kind, 'monotonic-key');
});

test('failed operations do not constrain', () => {
  const failed = { ...op(1, 'put', 'a', '1-1', 0, 0), status: 'unknown' as const };
  assert.equal(checkSession([op(1, 'put', 'a', '1-0', 5, 5), failed, op(1, 'get', 'a', '1-0', 6, 5)]).ok, true);
});
