// Every checker over what the workloads recorded, as CheckerSummary for the report.

import { checkBank } from '../checker/bank.js';
import { checkCrdt } from '../checker/crdt.js';
import { summarizeCrdt, CRDT_CHECKER } from '../checker/crdt-render.js';
import { checkLinearizability, type Verdict } from '../checker/linearizability.js';
import { summarizeBank, summarizeLinearizability, summarizeWatch, type CheckerSummary } from '../checker/summary.js';
import { checkWatch } from '../checker/watch.js';
import type { HistoryOp } from '../history/op.js';
import type { BankWorkload } from '../workload/bank.js';
import type { CrdtWorkload } from '../workload/crdt.js';
import { checkDurability, summarizeDurability } from '../workload/durability.js';
import type { WatchWorkload } from '../workload/watch.js';
import type { NodeErrorLine } from './cluster.js';

/** Wall-clock budget of the linearizability search; past it the verdict is "unknown". */
export const LINEARIZABILITY_TIME_LIMIT_MS = 120_000;

export function checkRegister(history: readonly HistoryOp[]): CheckerSummary {
  return summarizeLinearizability(history, checkLinearizability(history, { timeLimitMs: LINEARIZABILITY_TIME_LIMIT_MS }));
}

export function checkBankReads(bank: BankWorkload): CheckerSummary {
  return summarizeBank(bank.reads, checkBank(bank.reads, bank.options));
}

/** The watch order, and the writers' acknowledged writes, against the store's history. */
export function checkWatchWorkload(
  watch: Pick<WatchWorkload, 'writes' | 'truth' | 'truthUpTo' | 'finalRevision' | 'problems' | 'logs'>,
): CheckerSummary[] {
  const durability = summarizeDurability(checkDurability(watch.writes, watch.truth, watch.truthUpTo));
  if (watch.truthUpTo < watch.finalRevision) {
    // Without the whole history every later event would look like a phantom.
    const why = `the store's history was read back only up to revision ${watch.truthUpTo} of ${watch.finalRevision}`;
    return [notRun('watch', `${why}; ${watch.problems.join('; ')}`), durability];
  }
  const order = summarizeWatch(checkWatch(watch.truth, watch.logs));
  if (watch.problems.length > 0) {
    order.details += `\n${watch.problems.map((p) => `  ${p}`).join('\n')}`;
    if (order.verdict === 'ok') order.verdict = 'unknown';
  }
  return [order, durability];
}

/** The convergence checker over the crdt workload's history and final reads. */
export function checkCrdtWorkload(crdt: Pick<CrdtWorkload, 'ops' | 'finals'>, finalReadsFailed: string | undefined): CheckerSummary {
  if (crdt.finals === undefined) return notRun(CRDT_CHECKER, `the final reads failed: ${finalReadsFailed ?? 'not made'}`);
  const s = summarizeCrdt(checkCrdt(crdt.ops, crdt.finals.members));
  if (!crdt.finals.quiesced) s.details += '\n  (the members did not agree within the quiet phase before they were read)';
  return s;
}

/** Whether the cluster came back once every fault was healed. */
export function recoverySummary(error: string | undefined, seconds: number): CheckerSummary {
  const verdict: Verdict = error === undefined ? 'ok' : 'violation';
  const summary = error === undefined
    ? `every fault healed; healthy and taking writes ${seconds.toFixed(1)} s after the heal began`
    : `did not recover after every fault was healed: ${error}`;
  return { checker: 'recovery', verdict, summary, details: `recovery: ${summary}`, highlight: [] };
}

/** How much of one log line a summary repeats (stack traces make them long). */
export const NODE_ERROR_LINE_CHARS = 400;

/** Members must not log errors: under faults they retry and report, only a bug makes them log one (or stop). */
export function nodeErrorsSummary(lines: readonly NodeErrorLine[]): CheckerSummary {
  if (lines.length === 0) {
    return { checker: 'node-errors', verdict: 'ok', summary: 'no member logged an error', details: 'node-errors: none', highlight: [] };
  }
  const nodes = [...new Set(lines.map((l) => l.node))].sort();
  const summary = `${lines.length} error line(s) from ${nodes.join(', ')}; first: ${lines[0]!.node}: ${lines[0]!.line.slice(0, NODE_ERROR_LINE_CHARS)}`;
  const details = ['node-errors:', ...lines.map((l) => `  ${l.node}: ${l.line.slice(0, NODE_ERROR_LINE_CHARS)}`)].join('\n');
  return { checker: 'node-errors', verdict: 'violation', summary, details, highlight: [] };
}

/** A checker that could not run (its workload failed): "unknown", with why. */
export function notRun(checker: string, why: string): CheckerSummary {
  return { checker, verdict: 'unknown', summary: `not checked: ${why}`, details: `${checker}: not checked: ${why}`, highlight: [] };
}

export function overallVerdict(results: readonly CheckerSummary[]): Verdict {
  if (results.some((r) => r.verdict === 'violation')) return 'violation';
  if (results.length === 0 || results.some((r) => r.verdict === 'unknown')) return 'unknown';
  return 'ok';
}
