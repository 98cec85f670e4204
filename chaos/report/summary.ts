// The JSON summary of a run: counts, faults, verdicts, and latency of the operations that
// overlapped a fault against those that did not (what faults cost the clients).

import type { Verdict } from '../checker/linearizability.js';
import { OP_KINDS, type OpKind } from '../history/op.js';
import { runDurationNs, type FaultInterval, type RunRecord } from './record.js';

export interface LatencyStats {
  /** Operations with status ok counted. */
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface RunSummary {
  title: string;
  seed: number | null;
  nodes: number | null;
  replay: string | null;
  durationS: number;
  /** "violation" if any checker found one; else "unknown" if any could not decide (or none
   *  ran); else "ok". */
  verdict: Verdict;
  checkers: Array<{ checker: string; verdict: Verdict; summary: string }>;
  ops: {
    total: number;
    ok: number;
    fail: number;
    unknown: number;
    byOp: Record<OpKind, number>;
    processes: number;
  };
  faults: {
    count: number;
    byKind: Record<string, { count: number; seconds: number }>;
    /** Seconds of the run with at least one fault active. */
    seconds: number;
  };
  latency: { underFaults: LatencyStats; withoutFaults: LatencyStats };
}

/** The nearest-rank percentile of sorted values, or null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** ns as ms, to the µs. */
function nsToMs(v: number | null): number | null {
  return v === null ? null : Math.round(v / 1e3) / 1e3;
}

export function latencyStats(latenciesNs: readonly number[]): LatencyStats {
  const sorted = [...latenciesNs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: nsToMs(percentile(sorted, 50)),
    p90Ms: nsToMs(percentile(sorted, 90)),
    p99Ms: nsToMs(percentile(sorted, 99)),
    maxMs: nsToMs(sorted.length === 0 ? null : sorted[sorted.length - 1]!),
  };
}

/** Merged [start, end] intervals, sorted. */
export function mergeIntervals(faults: readonly FaultInterval[]): Array<[number, number]> {
  const sorted = faults.map((f): [number, number] => [f.start, f.end]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Whether [a, b] meets any merged interval (binary search). */
function overlaps(merged: ReadonlyArray<[number, number]>, a: number, b: number): boolean {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid]![1] < a) lo = mid + 1;
    else hi = mid;
  }
  return lo < merged.length && merged[lo]![0] <= b;
}

function overallVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('violation')) return 'violation';
  if (verdicts.length === 0) return 'unknown';
  if (verdicts.includes('unknown')) return 'unknown';
  return 'ok';
}

export function summarizeRun(record: RunRecord): RunSummary {
  const byOp = Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>;
  const status = { ok: 0, fail: 0, unknown: 0 };
  const merged = mergeIntervals(record.faults);
  const under: number[] = [];
  const without: number[] = [];
  for (const op of record.history) {
    byOp[op.op]++;
    status[op.status]++;
    if (op.status === 'ok') (overlaps(merged, op.call, op.return) ? under : without).push(op.return - op.call);
  }
  const byKind: RunSummary['faults']['byKind'] = {};
  for (const f of record.faults) {
    const k = (byKind[f.kind] ??= { count: 0, seconds: 0 });
    k.count++;
    k.seconds += (f.end - f.start) / 1e9;
  }
  return {
    title: record.title,
    seed: record.seed ?? null,
    nodes: record.nodes ?? null,
    replay: record.replay ?? null,
    durationS: runDurationNs(record) / 1e9,
    verdict: overallVerdict(record.results.map((r) => r.verdict)),
    checkers: record.results.map(({ checker, verdict, summary }) => ({ checker, verdict, summary })),
    ops: { total: record.history.length, ...status, byOp, processes: new Set(record.history.map((o) => o.process)).size },
    faults: { count: record.faults.length, byKind, seconds: merged.reduce((s, [a, b]) => s + (b - a), 0) / 1e9 },
    latency: { underFaults: latencyStats(under), withoutFaults: latencyStats(without) },
  };
}
