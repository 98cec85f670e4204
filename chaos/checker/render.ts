// Text renderings of the linearizability verdict: a line per key and, for a violation,
// its window as a small table with a timeline, e.g.
//
//   key "x": NOT LINEARIZABLE: 3 operations from 1.200000 s to 1.204000 s show it,
//   starting from the empty register.
//     proc  operation            status   call … return (µs from 1.200000 s)    timeline
//     p1    put "1"              ok         +0.000 …  +1100.000                 |██████          |
//     p2    get → "2"            ok      +2000.000 …  +4000.000                 |         ███████| ← no order explains this result

import type { HistoryOp } from '../history/op.js';
import type { KeyResult, LinearizabilityResult } from './linearizability.js';
import type { ViolationWindow } from './window.js';

/** Columns of a window's timeline. */
export const TIMELINE_COLUMNS = 40;
/** Values longer than this are cut in renderings. */
const VALUE_CHARS_MAX = 24;
/** Window rows shown at most (a window that did not shrink can be long). */
export const WINDOW_ROWS_MAX = 60;

function value(v: string | null): string {
  if (v === null) return 'absent';
  const s = JSON.stringify(v);
  return s.length <= VALUE_CHARS_MAX ? s : `${s.slice(0, VALUE_CHARS_MAX - 2)}…"`;
}

/** One operation, e.g. `cas "a" → "b": ok`, `get → absent`, `get` (result unobserved). */
export function describeOp(op: HistoryOp, observed = op.status === 'ok'): string {
  switch (op.op) {
    case 'put':
      return `put ${value(op.value)}`;
    case 'delete':
      return 'delete';
    case 'get':
      return observed ? `get → ${value(op.output)}` : 'get';
    case 'cas':
      return `cas ${value(op.expected)} → ${value(op.value)}${observed ? `: ${op.output ?? ''}` : ''}`;
  }
}

export function seconds(ns: number): string {
  return `${(ns / 1e9).toFixed(6)} s`;
}

/** A unit for relative times that keeps a window's numbers short. */
function unitFor(spanNs: number): { name: string; ns: number } {
  if (spanNs < 10_000) return { name: 'ns', ns: 1 };
  if (spanNs < 10_000_000) return { name: 'µs', ns: 1_000 };
  return { name: 'ms', ns: 1_000_000 };
}

function relative(ns: number, unit: { ns: number }): string {
  const s = (ns / unit.ns).toFixed(unit.ns === 1 ? 0 : 3);
  return ns >= 0 ? `+${s}` : s;
}

function statusText(op: HistoryOp, observed: boolean, window: ViolationWindow): string {
  if (op.status !== 'ok' || observed) return op.status;
  return op.return > window.to ? 'ok later' : 'ok before';
}

/** A bar over [from, to] of the window's span; unobserved ends run off the right edge. */
function bar(call: number, ret: number, span: [number, number], observed: boolean): string {
  const [lo, hi] = span;
  const scale = (t: number): number =>
    Math.min(TIMELINE_COLUMNS - 1, Math.max(0, Math.floor(((t - lo) / Math.max(1, hi - lo)) * TIMELINE_COLUMNS)));
  const a = scale(call);
  const b = observed ? scale(ret) : TIMELINE_COLUMNS - 1;
  let s = '';
  for (let c = 0; c < TIMELINE_COLUMNS; c++) s += c < a || c > b ? ' ' : observed ? '█' : '░';
  return `|${s}|`;
}

/** A violation's window as a table with a timeline. */
export function renderWindow(history: readonly HistoryOp[], key: string, window: ViolationWindow): string {
  const start = window.start === 'absent'
    ? 'starting from the empty register'
    : 'starting from any value (what the earlier operations left)';
  const span: [number, number] = [
    Math.min(window.from, ...window.ops.map((w) => history[w.source]!.call)),
    window.to,
  ];
  const unit = unitFor(span[1] - span[0]);
  const lines = [
    `key ${JSON.stringify(key)}: NOT LINEARIZABLE: ${window.ops.length} operations from ${seconds(window.from)} ` +
      `to ${seconds(window.to)} show it, ${start}.` +
      (window.minimal ? '' : ' (A search budget ran out while shrinking: a smaller window may exist.)') +
      (window.confirmed ? '' : ' (Not re-checked with the exact memo within the budget; found with 64-bit fingerprints.)'),
    `  ${'proc'.padEnd(6)}${'operation'.padEnd(34)}${'status'.padEnd(10)}` +
      `${`call … return (${unit.name} from ${seconds(window.from)})`.padEnd(40)}timeline`,
  ];
  const rows = window.ops.slice(0, WINDOW_ROWS_MAX);
  for (const w of rows) {
    const op = history[w.source]!;
    const ret = w.observed ? relative(op.return - window.from, unit).padStart(11) : '?'.padStart(11);
    const times = `${relative(op.call - window.from, unit).padStart(11)} … ${ret}`;
    const note = w.source === window.culprit ? ' ← no order explains this result' : '';
    lines.push(
      `  ${`p${op.process}`.padEnd(6)}${describeOp(op, w.observed).padEnd(34)}` +
        `${statusText(op, w.observed, window).padEnd(10)}${times.padEnd(40)}${bar(op.call, op.return, span, w.observed)}${note}`,
    );
  }
  if (window.ops.length > rows.length) lines.push(`  … and ${window.ops.length - rows.length} more operations`);
  lines.push(
    `  (█ result observed; ░ result not counted: unknown, or returned after the window, so it may take effect ` +
      `at any time after its call, or never)`,
  );
  return lines.join('\n');
}

function keyLine(r: KeyResult): string {
  const what = r.verdict === 'ok' ? 'linearizable' : r.verdict === 'violation' ? 'NOT LINEARIZABLE' : `unknown (${r.reason ?? ''})`;
  return `  ${JSON.stringify(r.key)}: ${what}; ${r.ops} operations, ${r.steps} search steps`;
}

/** The whole verdict: a line per key, then every violation's window. */
export function renderLinearizability(history: readonly HistoryOp[], result: LinearizabilityResult): string {
  const keys = result.keys.map(keyLine);
  const windows = result.keys.flatMap((r) => (r.window === undefined ? [] : [renderWindow(history, r.key, r.window)]));
  const verdict = result.verdict === 'ok' ? 'linearizable' : result.verdict === 'violation' ? 'NOT LINEARIZABLE' : 'unknown';
  return [
    `linearizability: ${verdict} (${result.ops} operations, ${result.keys.length} keys, ${Math.round(result.elapsedMs)} ms)`,
    ...keys,
    ...windows.map((w) => '\n' + w),
  ].join('\n');
}
