import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryOp } from '../history/op.js';
import { opError } from '../history/op.js';
import { checkLinearizability, type LinearizabilityResult } from './linearizability.js';
import { renderLinearizability } from './render.js';
import { cas, del, get, put, withStatus } from './testing/ops.js';

function check(history: HistoryOp[]): LinearizabilityResult {
  for (const op of history) assert.equal(opError(op), undefined, JSON.stringify(op));
  return checkLinearizability(history, { timeLimitMs: 10_000 });
}

function assertVerdict(history: HistoryOp[], verdict: 'ok' | 'violation'): LinearizabilityResult {
  const result = check(history);
  assert.equal(result.verdict, verdict, renderLinearizability(history, result));
  return result;
}

const unknown = (op: HistoryOp): HistoryOp => withStatus(op, 'unknown');
const failed = (op: HistoryOp): HistoryOp => withStatus(op, 'fail');

describe('linearizable histories', () => {
  const cases: Array<[string, HistoryOp[]]> = [
    ['an empty history', []],
    ['reads of a key never written see it absent', [get(1, null, 0, 10)]],
    ['sequential put then get', [put(1, 'a', 0, 10), get(2, 'a', 20, 30)]],
    ['a get concurrent with a put may see the old value', [put(1, 'a', 0, 10), put(1, 'b', 20, 60), get(2, 'a', 30, 40)]],
    ['a get concurrent with a put may see the new value', [put(1, 'a', 0, 10), put(1, 'b', 20, 60), get(2, 'b', 30, 40)]],
    ['concurrent puts may take effect in either order', [
      put(1, 'a', 0, 100), put(2, 'b', 0, 100), get(3, 'a', 110, 120), get(4, 'a', 130, 140),
    ]],
    ['operations touching at one instant count as concurrent', [put(1, 'a', 0, 10), get(2, null, 10, 20)]],
    ['delete makes the key absent', [put(1, 'a', 0, 10), del(1, 20, 30), get(2, null, 40, 50)]],
    ['cas with expected null succeeds only if absent', [
      cas(1, null, 'a', 'ok', 0, 10), cas(2, null, 'b', 'fail', 20, 30), get(3, 'a', 40, 50),
    ]],
    ['cas on the current value', [put(1, 'a', 0, 10), cas(1, 'a', 'b', 'ok', 20, 30), cas(2, 'a', 'c', 'fail', 40, 50), get(1, 'b', 60, 70)]],
    ['a failed operation never took effect', [failed(put(1, 'a', 0, 10)), get(2, null, 20, 30)]],
    ['an unknown put may never take effect', [unknown(put(1, 'a', 0, 10)), get(2, null, 20, 30), get(2, null, 1000, 1010)]],
    ['an unknown put may take effect long after it returned', [
      unknown(put(1, 'a', 0, 10)), get(2, null, 20, 30), get(2, 'a', 40, 50), get(3, 'a', 60, 70),
    ]],
    ['an unknown cas may apply late', [
      put(1, 'a', 0, 10), unknown(cas(2, 'a', 'b', 'ok', 20, 30)), get(1, 'a', 40, 50), get(1, 'b', 60, 70),
    ]],
    ['an unknown get says nothing', [put(1, 'a', 0, 10), unknown(get(2, null, 20, 30))]],
    ['keys are independent', [put(1, 'a', 0, 10, 'x'), get(2, null, 20, 30, 'y'), get(2, 'a', 40, 50, 'x')]],
  ];
  for (const [name, history] of cases) it(name, () => void assertVerdict(history, 'ok'));
});

describe('non-linearizable histories', () => {
  const cases: Array<[string, HistoryOp[]]> = [
    ['stale read: a get after a put returned sees the value before it', [
      put(1, 'a', 0, 10), put(1, 'b', 20, 30), get(2, 'a', 40, 50),
    ]],
    ['lost write: an acknowledged put is gone', [put(1, 'a', 0, 10), get(2, null, 20, 30)]],
    ['phantom read: a value nobody wrote', [put(1, 'a', 0, 10), get(2, 'z', 20, 30)]],
    ['non-monotonic reads: new value, then the old one again', [
      put(1, 'a', 0, 10), put(1, 'b', 20, 100), get(2, 'b', 30, 40), get(3, 'a', 50, 60),
    ]],
    ['two cas "only if absent" both succeed', [cas(1, null, 'a', 'ok', 0, 10), cas(2, null, 'b', 'ok', 20, 30)]],
    ['a cas fails although the value matched', [put(1, 'a', 0, 10), cas(2, 'a', 'b', 'fail', 20, 30)]],
    ['a cas succeeds although the value differed', [put(1, 'a', 0, 10), cas(2, 'z', 'b', 'ok', 20, 30)]],
    ['a cas succeeds but its write is lost', [put(1, 'a', 0, 10), cas(2, 'a', 'b', 'ok', 20, 30), get(1, 'a', 40, 50)]],
    ['a deleted key reappears', [put(1, 'a', 0, 10), del(1, 20, 30), get(2, 'a', 40, 50)]],
    ['an unknown put cannot take effect before its call', [get(1, 'a', 0, 10), unknown(put(2, 'a', 20, 30))]],
    ['an unknown put takes effect at most once', [
      unknown(put(1, 'a', 0, 10)), get(2, 'a', 20, 30), put(2, 'b', 40, 50), get(2, 'a', 60, 70),
    ]],
    ['a failed put certainly did not take effect', [failed(put(1, 'a', 0, 10)), get(2, 'a', 20, 30)]],
  ];
  for (const [name, history] of cases) it(name, () => void assertVerdict(history, 'violation'));

  it('one bad key makes the history a violation, and only that key', () => {
    const result = assertVerdict([put(1, 'a', 0, 10, 'x'), get(2, null, 20, 30, 'x'), put(3, 'b', 0, 10, 'y')], 'violation');
    assert.deepEqual(result.keys.map((k) => [k.key, k.verdict]), [['x', 'violation'], ['y', 'ok']]);
  });
});

describe('the time and step bounds', () => {
  // Many concurrent unknown writes, each read once, then a read no order explains: the
  // search must try every subset of the unknown writes before it can say "violation"
  // (2^22 of them; 16 writes take ~10M steps).
  const hard: HistoryOp[] = [];
  const writes = 22;
  for (let p = 0; p < writes; p++) hard.push(unknown(put(p, `v${p}`, 0, 10)));
  for (let p = 0; p < writes; p++) hard.push(get(100, `v${p}`, 20 + 20 * p, 30 + 20 * p));
  hard.push(get(100, 'v0', 10_000, 10_010));

  it('a step bound gives unknown, never ok', () => {
    const result = checkLinearizability(hard, { maxStepsPerKey: 1000 });
    assert.equal(result.verdict, 'unknown');
    assert.match(result.keys[0]?.reason ?? '', /step limit \(1000\) reached/);
  });

  it('a time bound gives unknown, never ok', () => {
    const started = performance.now();
    const result = checkLinearizability(hard, { timeLimitMs: 100, windowTimeLimitMs: 100 });
    assert.equal(result.verdict, 'unknown');
    assert.match(result.keys[0]?.reason ?? '', /time limit reached/);
    assert.ok(performance.now() - started < 5_000, 'stopped near its time limit');
  });

  it('a cache bound gives unknown, never ok', () => {
    const result = checkLinearizability(hard, { cacheBytesMax: 10_000 });
    assert.equal(result.verdict, 'unknown');
    assert.match(result.keys[0]?.reason ?? '', /memo cache limit/);
  });
});
