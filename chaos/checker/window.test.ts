import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryOp } from '../history/op.js';
import { checkLinearizability } from './linearizability.js';
import { renderLinearizability } from './render.js';
import { assertWindowIsEvidence } from './testing/evidence.js';
import { linearizableHistory } from './testing/generate.js';
import { get, put, withStatus } from './testing/ops.js';
import type { ViolationWindow } from './window.js';

function windowOf(history: HistoryOp[], key = 'x'): ViolationWindow {
  const result = checkLinearizability(history);
  assert.equal(result.verdict, 'violation');
  const window = result.keys.find((k) => k.key === key)?.window;
  assert.ok(window !== undefined, renderLinearizability(history, result));
  return window;
}

/** A long linearizable history of key x, all before `end` ns, with no unknown operations. */
function busyPrefix(seed: number): HistoryOp[] {
  return linearizableHistory({ seed, processes: 4, opsPerProcess: 100, keys: 1, unknownChance: 0, failChance: 0 })
    .map((op) => ({ ...op, key: 'x', process: op.process + 10 }));
}

describe('violation windows', () => {
  it('a lost write at the start: the put and the get, from the empty register', () => {
    const history = [put(1, 'a', 0, 10), get(2, 'a', 20, 30), get(2, null, 40, 50)];
    const window = windowOf(history);
    assert.equal(window.culprit, 2);
    assert.deepEqual(window.ops.map((w) => w.source), [0, 1, 2].filter((i) => window.ops.some((w) => w.source === i)));
    assert.ok(window.ops.length <= 3);
    assertWindowIsEvidence(history, window);
  });

  it('a stale read after hundreds of operations: a few operations, from any value', () => {
    const prefix = busyPrefix(7);
    const end = Math.max(...prefix.map((op) => op.return));
    const history = [...prefix, put(1, 'new', end + 100, end + 200), get(2, prefix.find((op) => op.op === 'put')!.value, end + 300, end + 400)];
    const window = windowOf(history);
    assert.equal(window.culprit, history.length - 1);
    assert.equal(window.start, 'any');
    assert.equal(window.ops.length, 2, renderLinearizability(history, checkLinearizability(history)));
    assert.equal(window.from, end + 100);
    assert.equal(window.to, end + 400);
    assert.ok(window.minimal);
    assertWindowIsEvidence(history, window);
  });

  it('the culprit is the first result no order explains, not a later one', () => {
    const history = [
      put(1, 'a', 0, 10), put(1, 'b', 20, 30), get(2, 'a', 40, 50), // first stale read
      put(1, 'c', 60, 70), get(2, 'a', 80, 90), // a second one
    ];
    const window = windowOf(history);
    assert.equal(window.culprit, 2);
    assert.equal(window.to, 50);
    assertWindowIsEvidence(history, window);
  });

  it('keeps an unknown write that could explain a result, and counts it unobserved', () => {
    // The unknown put of "b" may take effect at any time: the window must keep it, or the
    // get of "b" would look like a phantom read.
    const history = [
      withStatus(put(1, 'b', 0, 10), 'unknown'), put(2, 'a', 20, 30), get(3, 'b', 40, 50),
      put(2, 'c', 60, 70), get(3, 'b', 80, 90),
    ];
    const window = windowOf(history);
    assert.equal(window.culprit, 4);
    assertWindowIsEvidence(history, window);
  });

  it('an operation returning after the culprit is shown unobserved', () => {
    const history = [put(1, 'a', 0, 10), put(2, 'b', 20, 30), get(3, 'a', 40, 50), put(4, 'z', 45, 500)];
    const window = windowOf(history);
    assert.equal(window.culprit, 2);
    assert.ok(!window.ops.some((w) => w.source === 3 && w.observed));
    assertWindowIsEvidence(history, window);
  });

  it('finds a violation in a stretch when the whole search hits its bound', () => {
    // 22 concurrent unknown writes, each read once: searching the whole history costs ~2^22
    // configurations. Long after, a plain lost write, which a stretch shows at once (the
    // old unknown writes are still "in flight" there but nobody reads their values).
    const history: HistoryOp[] = [];
    for (let p = 0; p < 22; p++) history.push(withStatus(put(p, `v${p}`, 0, 10), 'unknown'));
    for (let p = 0; p < 22; p++) history.push(get(100, `v${p}`, 20 + 20 * p, 30 + 20 * p));
    for (let i = 0; i < 150; i++) history.push(put(101, `f${i}`, 1_000 + 40 * i, 1_010 + 40 * i), get(102, `f${i}`, 1_020 + 40 * i, 1_030 + 40 * i));
    const end = 1_000 + 40 * 150;
    history.push(put(103, 'a', end, end + 10), get(104, null, end + 20, end + 30));
    const result = checkLinearizability(history, { timeLimitMs: 300 });
    assert.equal(result.verdict, 'violation', renderLinearizability(history, result));
    const window = result.keys[0]!.window!;
    assert.equal(window.culprit, history.length - 1);
    assert.ok(window.ops.length <= 3, renderLinearizability(history, result));
    assertWindowIsEvidence(history, window);
  });

  it('renders a readable table that marks the culprit', () => {
    const history = [put(1, 'a', 0, 10_000_000), put(1, 'b', 20_000_000, 30_000_000), get(2, 'a', 40_000_000, 50_000_000)];
    const text = renderLinearizability(history, checkLinearizability(history));
    assert.match(text, /^linearizability: NOT LINEARIZABLE \(3 operations, 1 keys/);
    assert.match(text, /key "x": NOT LINEARIZABLE: 2 operations from 0\.020000 s to 0\.050000 s show it/);
    assert.match(text, /p1 {4}put "b" +ok +\+0\.000 … +\+10\.000 +\|█+ +\|/);
    assert.match(text, /p2 {4}get → "a" .*← no order explains this result/);
  });
});
