// One shape for every checker's outcome, as the runner and the report take it: a
// verdict, one line, the readable details, and the history operations to highlight.

import type { HistoryOp } from '../history/op.js';
import { renderBank, type BankRead, type BankResult } from './bank.js';
import type { LinearizabilityResult, Verdict } from './linearizability.js';
import { renderLinearizability } from './render.js';
import { renderWatch, type WatchResult } from './watch.js';

export interface CheckerSummary {
  /** e.g. "linearizability", "bank", "watch". */
  checker: string;
  verdict: Verdict;
  /** One line for a person. */
  summary: string;
  /** The checker's full text rendering (violation windows, anomalies). */
  details: string;
  /** Indexes into the register history of operations a violation involves. */
  highlight: number[];
}

export function summarizeLinearizability(history: readonly HistoryOp[], result: LinearizabilityResult): CheckerSummary {
  const bad = result.keys.filter((k) => k.verdict === 'violation').map((k) => JSON.stringify(k.key));
  const unknown = result.keys.filter((k) => k.verdict === 'unknown').map((k) => JSON.stringify(k.key));
  const summary = result.verdict === 'ok'
    ? `linearizable: ${result.ops} operations over ${result.keys.length} keys`
    : result.verdict === 'violation'
      ? `NOT linearizable on ${bad.length} of ${result.keys.length} keys (${bad.join(', ')})`
      : `unknown: the search hit a bound on ${unknown.join(', ')}`;
  return {
    checker: 'linearizability',
    verdict: result.verdict,
    summary,
    details: renderLinearizability(history, result),
    highlight: result.keys.flatMap((k) => k.window?.ops.map((w) => w.source) ?? []),
  };
}

export function summarizeBank(reads: readonly BankRead[], result: BankResult): CheckerSummary {
  return {
    checker: 'bank',
    verdict: result.verdict,
    summary: `${result.reads} reads, ${result.anomalyCount} anomalies`,
    details: renderBank(reads, result),
    highlight: [],
  };
}

export function summarizeWatch(result: WatchResult): CheckerSummary {
  return {
    checker: 'watch',
    verdict: result.verdict,
    summary: `${result.watchers} watchers, ${result.events} events, ${result.anomalyCount} anomalies`,
    details: renderWatch(result),
    highlight: [],
  };
}
