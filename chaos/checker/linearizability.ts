// Linearizability of a register history, key by key. Linearizability is compositional
// (Herlihy & Wing's locality; Horn & Kroening's P-compositionality): a history is
// linearizable iff each key's sub-history is, so each key is searched alone, which keeps
// the search small. A violation comes with the smallest window that shows it (window.ts).
//
// When a key's search hits a bound, short stretches of its history are searched for a
// violation (window-scan.ts); finding one is as good as finding it in the whole.
//
// Verdicts: "violation" if any key has one; else "unknown" if a bound stopped any key's
// search; else "ok". Keys are searched cheapest first, so a budget spent on one hard key
// leaves the others checked.

import type { HistoryOp } from '../history/op.js';
import { checkKeyOps } from './key-check.js';
import type { KeyOp } from './register-model.js';
import type { SearchLimits } from './search.js';
import { smallestWindow, type ViolationWindow } from './window.js';
import { scanStretches, STRETCH_OPS } from './window-scan.js';

export type Verdict = 'ok' | 'violation' | 'unknown';

export interface LinearizabilityOptions {
  /** Wall-clock budget of the whole check, ms. */
  timeLimitMs?: number;
  /** Search steps per key (deterministic, unlike the time limit). */
  maxStepsPerKey?: number;
  /** Bytes of memo cache one search may hold. */
  cacheBytesMax?: number;
  /** Further wall-clock budget per key to shrink a violation's window, or to look for one
   *  in stretches of a history whose search hit a bound, ms. */
  windowTimeLimitMs?: number;
}

export const DEFAULT_TIME_LIMIT_MS = 120_000;
export const DEFAULT_MAX_STEPS_PER_KEY = 1_000_000_000;
export const DEFAULT_CACHE_BYTES_MAX = 512 * 1024 * 1024;
export const DEFAULT_WINDOW_TIME_LIMIT_MS = 30_000;

export interface KeyResult {
  key: string;
  verdict: Verdict;
  /** Operations of the key in the history (any status). */
  ops: number;
  /** Search steps spent on the verdict. */
  steps: number;
  /** Why the verdict is unknown. */
  reason?: string;
  /** For a violation: the smallest window found that shows it. */
  window?: ViolationWindow;
}

export interface LinearizabilityResult {
  verdict: Verdict;
  /** One per key, by key. */
  keys: KeyResult[];
  ops: number;
  elapsedMs: number;
}

function groupByKey(history: readonly HistoryOp[]): Map<string, KeyOp[]> {
  const byKey = new Map<string, KeyOp[]>();
  history.forEach((op, source) => {
    const keyOp = { source, op, observed: op.status === 'ok' };
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [keyOp]);
    else list.push(keyOp);
  });
  return byKey;
}

/** Checks `history` (as read from a history file) for linearizability. */
export function checkLinearizability(
  history: readonly HistoryOp[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const started = performance.now();
  const limits: SearchLimits = {
    maxSteps: options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY,
    deadline: started + (options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS),
    cacheBytesMax: options.cacheBytesMax ?? DEFAULT_CACHE_BYTES_MAX,
  };
  const byKey = groupByKey(history);
  const order = [...byKey.keys()].sort((a, b) => byKey.get(a)!.length - byKey.get(b)!.length || cmp(a, b));
  const results: KeyResult[] = [];
  for (const key of order) {
    const keyOps = byKey.get(key)!;
    const { outcome, blocked } = checkKeyOps(keyOps, 'absent', limits);
    const result: KeyResult = { key, verdict: outcome.verdict, ops: keyOps.length, steps: outcome.steps };
    const windowLimits = { ...limits, deadline: performance.now() + (options.windowTimeLimitMs ?? DEFAULT_WINDOW_TIME_LIMIT_MS) };
    if (blocked !== undefined) result.window = smallestWindow(keyOps, blocked, windowLimits);
    if (outcome.verdict === 'unknown') {
      result.reason = outcome.reason;
      const found = scanStretches(keyOps, windowLimits);
      if (found !== undefined) {
        result.verdict = 'violation';
        result.window = found;
        delete result.reason;
      } else {
        result.reason += `; no stretch of ${STRETCH_OPS} operations shows a violation`;
      }
    }
    results.push(result);
  }
  results.sort((a, b) => cmp(a.key, b.key));
  return { verdict: overall(results), keys: results, ops: history.length, elapsedMs: performance.now() - started };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function overall(results: readonly KeyResult[]): Verdict {
  if (results.some((r) => r.verdict === 'violation')) return 'violation';
  if (results.some((r) => r.verdict === 'unknown')) return 'unknown';
  return 'ok';
}
