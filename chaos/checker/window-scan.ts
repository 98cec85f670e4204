// When the search of a whole key history runs out of budget, look for a violation in
// short stretches of it. Each stretch is checked as a relaxation of the whole history (the
// history known at the stretch's end, cut at its start: window.ts), so a violation in a
// stretch is a violation of the history; finding none proves nothing, and the verdict
// stays "unknown". Most real anomalies (a stale read, a lost write) show within a few
// hundred operations of their cause, where the search is cheap.

import { checkKeyOps } from './key-check.js';
import type { KeyOp } from './register-model.js';
import type { SearchLimits } from './search.js';
import { cutAt, prefixAt, smallestWindow, withoutIdleWrites, type ViolationWindow } from './window.js';

/** Operations (by call time) in one stretch; stretches overlap by half. */
export const STRETCH_OPS = 100;
/** Search steps one stretch may take. */
export const STRETCH_STEPS_MAX = 5_000_000;

/** The first stretch that shows a violation, shrunk to its smallest window; or undefined. */
export function scanStretches(keyOps: readonly KeyOp[], limits: SearchLimits): ViolationWindow | undefined {
  const byCall = [...keyOps].sort((x, y) => x.op.call - y.op.call || x.source - y.source);
  const stretchLimits: SearchLimits = { ...limits, exact: true, maxSteps: Math.min(limits.maxSteps, STRETCH_STEPS_MAX) };
  const stride = STRETCH_OPS / 2;
  for (let a = 0; a < byCall.length; a += stride) {
    if (performance.now() > limits.deadline) return undefined;
    const last = Math.min(byCall.length, a + STRETCH_OPS) - 1;
    // Known just before the next stretch's first call: results after that are not counted.
    const known = last + 1 < byCall.length ? prefixAt(byCall, byCall[last + 1]!.op.call - 1) : [...byCall];
    if (a >= known.length) continue;
    const stretch = withoutIdleWrites(a === 0 ? known : cutAt(known, a));
    const start = a === 0 ? 'absent' : 'any';
    const { outcome, blocked } = checkKeyOps(stretch, start, stretchLimits);
    if (blocked !== undefined) return smallestWindow(stretch, blocked, stretchLimits, start);
    if (outcome.verdict === 'unknown' && performance.now() > limits.deadline) return undefined;
    if (last === byCall.length - 1) break;
  }
  return undefined;
}
