// What a chaos run leaves behind, as the report takes it: the register history, the
// faults the nemesis injected and when, and every checker's verdict.

import type { CheckerSummary } from '../checker/summary.js';
import type { HistoryOp } from '../history/op.js';

export interface FaultInterval {
  /** ns since run start (the history's clock). */
  start: number;
  end: number;
  /** e.g. "partition", "kill", "pause", "slow". */
  kind: string;
  /** e.g. "[1] | [2 3]", "node 2 (leader)". */
  detail: string;
}

export interface RunRecord {
  title: string;
  seed?: number;
  nodes?: number;
  /** The command line that replays the run. */
  replay?: string;
  /** Wall-clock time the run started, ISO 8601, for display only. */
  startedAt?: string;
  /** Length of the run, ns; the latest time in the record when absent. */
  durationNs?: number;
  history: HistoryOp[];
  faults: FaultInterval[];
  results: CheckerSummary[];
  /** Extra sections after the summary (e.g. the edge run's KPI table), as HTML the caller escaped. */
  sections?: Array<{ title: string; html: string }>;
}

/** The run's length: as given, or the latest time anything in it happened. */
export function runDurationNs(record: RunRecord): number {
  if (record.durationNs !== undefined) return record.durationNs;
  let end = 0;
  for (const op of record.history) end = Math.max(end, op.return);
  for (const f of record.faults) end = Math.max(end, f.end);
  return end;
}
