// The smallest window of a key's history that shows a violation, so that a person can
// see it in a few lines instead of thousands.
//
// 1. The end. The history as known at time T keeps the operations called by T; those
//    that had not returned by T are unobserved (may take effect, result unseen). The
//    search that found the violation also found the earliest T at which that history is
//    already a violation, and the operation returning then: the culprit, the first result
//    no order explains (see `blockedOp` in search.ts).
// 2. The start. Cut that history at its a-th operation by call time. Operations that
//    returned before that call are summarised by "any starting state"; those still in
//    flight then stay, unobserved. That is a relaxation of the real history (it admits
//    every order the real one does), so a violation in it is a violation in the real one.
//    The latest cut that is still a violation is searched from the culprit backwards,
//    galloping then bisecting, so that the searches run on small windows first.
// Every cut is checked by the search with the exact memo (the search that found the
// violation used fingerprints; see bitset.ts); one that runs out of budget is not taken,
// so the window may be larger than the smallest, never wrong.

import type { HistoryOp } from '../history/op.js';
import { observableValues, type KeyOp } from './register-model.js';
import { checkKeyOps, type StartState } from './key-check.js';
import type { SearchLimits } from './search.js';

export interface WindowOp {
  /** Index into the history the caller passed in. */
  source: number;
  /** False when the window does not count the result: unknown, or returned after the window. */
  observed: boolean;
}

export interface ViolationWindow {
  /** The operations of the window, by call time. */
  ops: WindowOp[];
  /** 'absent' when the window starts at the beginning of the key's history. */
  start: StartState;
  /** The operation whose result no order explains (its return ends the window). */
  culprit: number;
  /**
   * Window bounds, ns since run start: the call of its first operation (operations still
   * in flight from before may have been called earlier), the culprit's return.
   */
  from: number;
  to: number;
  /** False when a budget ran out, so a smaller window may exist. */
  minimal: boolean;
  /**
   * True when the window was checked a violation with the exact memo. False only when
   * that check ran out of budget: the violation rests on the fingerprinted search then,
   * wrong with a chance of about n²/2^64 for n configurations (bitset.ts).
   */
  confirmed: boolean;
}

/** The key's history as known at time t (module comment, step 1). */
export function prefixAt(keyOps: readonly KeyOp[], t: number): KeyOp[] {
  return keyOps
    .filter((k) => k.op.call <= t)
    .map((k) => ({ ...k, observed: k.observed && k.op.return <= t }));
}

/** The prefix cut at its a-th operation by call time (module comment, step 2). */
export function cutAt(byCall: readonly KeyOp[], a: number): KeyOp[] {
  const first = byCall[a]!.op.call;
  const out: KeyOp[] = [];
  byCall.forEach((k, i) => {
    if (i >= a) out.push(k);
    else if (!k.observed || k.op.status !== 'ok' || k.op.return >= first) out.push({ ...k, observed: false });
  });
  return out;
}

/**
 * The window without most unobserved writes of values no operation in it observes (a
 * delete writes "absent"): idle writes. One can only set the register to a value nothing
 * reads, which helps no operation but a cas seen to fail (it needs the register to differ
 * from its expected value); so an order needs at most one idle write per such cas, and of
 * idle writes with the same effect (kind and expected value) the earliest called serve
 * as well as any: each effect keeps as many as there are failed cas, the earliest, and
 * the rest drop. Any order of the window then has a counterpart without them, so the
 * lean window shows a violation on its own. Repeated until nothing more drops. This keeps
 * windows readable and keeps the search off the many old unknown writes still "in flight".
 */
export function withoutIdleWrites(window: readonly KeyOp[]): KeyOp[] {
  const failedCas = window.filter((k) => k.observed && k.op.status === 'ok' && k.op.op === 'cas' && k.op.output !== 'ok').length;
  const observable = observableValues(window);
  const absentObserved = window.some(
    (k) => (k.op.op === 'cas' && k.op.expected === null) ||
      (k.op.op === 'get' && k.observed && k.op.status === 'ok' && k.op.output === null),
  );
  const idle = (k: KeyOp): boolean =>
    !(k.observed && k.op.status === 'ok') &&
    (k.op.op === 'delete' ? !absentObserved : k.op.value !== null && !observable.has(k.op.value));
  const kept = new Map<string, number>();
  const byCall = [...window].sort((x, y) => x.op.call - y.op.call || x.source - y.source);
  const drop = new Set<KeyOp>();
  for (const k of byCall) {
    if (!idle(k)) continue;
    const effect = `${k.op.op}/${k.op.expected ?? ''}`;
    const n = kept.get(effect) ?? 0;
    if (n < failedCas) kept.set(effect, n + 1);
    else drop.add(k);
  }
  const lean = window.filter((k) => !drop.has(k));
  // Dropping a cas may leave a value (or absent) that nothing observes any more.
  return lean.length === window.length ? lean : withoutIdleWrites(lean);
}

/** Whether an operation can bear on the verdict (register-model.ts drops the others). */
function matters(op: HistoryOp, observed: boolean): boolean {
  return op.status !== 'fail' && (observed || op.op !== 'get');
}

/**
 * The largest a in [0, hi] where `holds(a)`, given holds(0), searched from hi down:
 * hi, hi-1, hi-3, hi-7, ... until it holds, then bisecting the last gap. Assumes that
 * holds is mostly monotone (true up to some a); where it is not, the answer still holds.
 */
function lastTrueFromTop(hi: number, holds: (a: number) => boolean): number {
  let step = 1;
  let upper = hi + 1; // the smallest a known not to hold
  let a = hi;
  while (a > 0 && !holds(a)) {
    upper = a;
    a = Math.max(0, hi + 1 - 2 * step);
    step *= 2;
  }
  let lo = a; // holds(lo)
  while (upper - lo > 1) {
    const mid = Math.floor((lo + upper) / 2);
    if (holds(mid)) lo = mid;
    else upper = mid;
  }
  return lo;
}

/** The window without idle writes, if that is still a violation (it is, by the argument above). */
function tidy(window: KeyOp[], start: StartState, limits: SearchLimits): KeyOp[] {
  const lean = withoutIdleWrites(window);
  if (lean.length === window.length) return window;
  return checkKeyOps(lean, start, limits).outcome.verdict === 'violation' ? lean : window;
}

/**
 * The window of a key history that is a violation from `historyStart`, given the
 * operation its search was blocked at (see checkKeyOps). `keyOps` holds every operation
 * of the key (any status); `limits` bounds each search.
 */
export function smallestWindow(
  keyOps: readonly KeyOp[],
  blocked: { source: number; time: number },
  limits: SearchLimits,
  historyStart: StartState = 'absent',
): ViolationWindow {
  let minimal = true;
  const exact: SearchLimits = { ...limits, exact: true };
  const byCall = prefixAt(keyOps, blocked.time).sort((x, y) => x.op.call - y.op.call || x.source - y.source);
  const culpritAt = byCall.findIndex((k) => k.source === blocked.source);
  const cut = lastTrueFromTop(culpritAt, (a) => {
    if (a === 0) return true;
    const { outcome } = checkKeyOps(cutAt(byCall, a), 'any', exact);
    if (outcome.verdict === 'unknown') minimal = false;
    return outcome.verdict === 'violation';
  });
  const start: StartState = cut === 0 ? historyStart : 'any';
  // A cut past 0 was just checked exactly; the whole prefix still needs it.
  const confirmed = cut > 0 || checkKeyOps(byCall, start, exact).outcome.verdict === 'violation';
  const window = tidy(cut === 0 ? byCall : cutAt(byCall, cut), start, exact);
  return {
    ops: window
      .filter((k) => matters(k.op, k.observed && k.op.status === 'ok'))
      .map((k) => ({ source: k.source, observed: k.observed && k.op.status === 'ok' })),
    start,
    culprit: blocked.source,
    from: byCall[cut]!.op.call,
    to: blocked.time,
    minimal,
    confirmed,
  };
}
