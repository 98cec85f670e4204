// Test assertion: a violation window is evidence on its own.
import assert from 'node:assert/strict';
import type { HistoryOp } from '../../history/op.js';
import { checkKeyOps } from '../key-check.js';
import type { ViolationWindow } from '../window.js';

const LIMITS = { maxSteps: 10_000_000, deadline: Number.POSITIVE_INFINITY, cacheBytesMax: 1 << 30 };

/** Checked alone from its start state, the window is a violation, and holds its culprit. */
export function assertWindowIsEvidence(history: readonly HistoryOp[], window: ViolationWindow): void {
  const keyOps = window.ops.map((w) => ({ source: w.source, op: history[w.source]!, observed: w.observed }));
  assert.equal(checkKeyOps(keyOps, window.start, LIMITS).outcome.verdict, 'violation');
  assert.ok(window.ops.some((w) => w.source === window.culprit && w.observed), 'the culprit is in the window');
}
