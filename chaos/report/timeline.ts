// The timeline of a run as inline SVG: one row per process, each operation a bar from
// call to return coloured by status, fault intervals shaded across all rows with their
// labels above, operations in a violation window drawn red and thick, with a dashed red
// line across all rows where they are. Every bar and band
// carries a <title>, which a browser shows on hover.

import type { HistoryOp } from '../history/op.js';
import { describeOp } from '../checker/render.js';
import { runDurationNs, type RunRecord } from './record.js';
import { escapeHtml } from './escape.js';

/** Horizontal scale and its bounds: long runs get a wide, scrollable picture. */
export const PX_PER_SECOND = 60;
export const TIMELINE_WIDTH_MIN_PX = 960;
export const TIMELINE_WIDTH_MAX_PX = 24_000;
/** Bars drawn at most; a longer history is cut (the summary still counts it all). */
export const OPS_DRAWN_MAX = 60_000;

const ROW_PX = 14;
const BAR_PX = 10;
const GUTTER_PX = 56;
const LABEL_ROW_PX = 14;
const AXIS_PX = 22;

const STATUS_COLOUR = { ok: '#3c9a4a', fail: '#9aa0a6', unknown: '#e8a33a' } as const;
const FAULT_COLOURS = ['#5b8def', '#c05ad6', '#e06666', '#3aa6a6', '#b8860b', '#6d6dbd'];

interface Layout {
  width: number;
  x: (ns: number) => number;
  rowOf: Map<number, number>;
  labelRows: number;
  top: number;
  height: number;
}

function layout(record: RunRecord, labelRows: number): Layout {
  const duration = Math.max(1, runDurationNs(record));
  const plot = Math.min(TIMELINE_WIDTH_MAX_PX, Math.max(TIMELINE_WIDTH_MIN_PX, (duration / 1e9) * PX_PER_SECOND));
  const processes = [...new Set(record.history.map((o) => o.process))].sort((a, b) => a - b);
  const top = labelRows * LABEL_ROW_PX + AXIS_PX;
  return {
    width: GUTTER_PX + plot + 10,
    x: (ns) => GUTTER_PX + (ns / duration) * plot,
    rowOf: new Map(processes.map((p, i) => [p, i])),
    labelRows,
    top,
    height: top + processes.length * ROW_PX + 6,
  };
}

/** Assigns each fault a label row so that labels do not overlap (greedy, by start). */
function labelRowsFor(record: RunRecord, xOf: (ns: number) => number): number[] {
  const rowEnds: number[] = [];
  return record.faults.map((f) => {
    const x = xOf(f.start);
    const textEnd = x + 7 * (f.kind.length + f.detail.length + 1);
    let row = rowEnds.findIndex((end) => end < x);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = Math.max(textEnd, xOf(f.end));
    return row;
  });
}

function axis(l: Layout, durationNs: number): string {
  const seconds = durationNs / 1e9;
  const step = [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300].find((s) => seconds / s <= 40) ?? 600;
  const parts: string[] = [];
  const y = l.labelRows * LABEL_ROW_PX;
  for (let t = 0; t <= seconds + 1e-9; t += step) {
    const x = l.x(t * 1e9).toFixed(1);
    parts.push(`<line x1="${x}" y1="${y + 14}" x2="${x}" y2="${l.height}" class="tick"/>`);
    parts.push(`<text x="${x}" y="${y + 11}" class="axis">${+t.toFixed(3)}s</text>`);
  }
  return parts.join('');
}

function faultBands(record: RunRecord, l: Layout, rows: readonly number[]): string {
  const kinds = [...new Set(record.faults.map((f) => f.kind))];
  return record.faults.map((f, i) => {
    const colour = FAULT_COLOURS[kinds.indexOf(f.kind) % FAULT_COLOURS.length]!;
    const x = l.x(f.start);
    const w = Math.max(1, l.x(f.end) - x);
    const title = escapeHtml(`${f.kind} ${f.detail}: ${(f.start / 1e9).toFixed(3)}s – ${(f.end / 1e9).toFixed(3)}s`);
    const ly = rows[i]! * LABEL_ROW_PX + 11;
    return `<g class="fault"><title>${title}</title>` +
      `<rect x="${x.toFixed(1)}" y="${l.top}" width="${w.toFixed(1)}" height="${l.height - l.top}" fill="${colour}" fill-opacity="0.13"/>` +
      `<rect x="${x.toFixed(1)}" y="${ly - 10}" width="${w.toFixed(1)}" height="3" fill="${colour}"/>` +
      `<text x="${(x + 2).toFixed(1)}" y="${ly + 2}" class="fault-label" fill="${colour}">${escapeHtml(`${f.kind} ${f.detail}`)}</text></g>`;
  }).join('');
}

function opBar(op: HistoryOp, index: number, l: Layout, highlighted: boolean): string {
  const row = l.rowOf.get(op.process)!;
  const x = l.x(op.call);
  const w = Math.max(1.5, l.x(op.return) - x);
  const y = l.top + row * ROW_PX + (ROW_PX - BAR_PX) / 2;
  const title = escapeHtml(
    `#${index} p${op.process} ${op.key}: ${describeOp(op)} — ${op.status}, ` +
      `${(op.call / 1e9).toFixed(6)}s … ${(op.return / 1e9).toFixed(6)}s (${((op.return - op.call) / 1e6).toFixed(3)} ms)`,
  );
  const cls = highlighted ? 'op violation' : `op ${op.status}`;
  return `<rect class="${cls}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${BAR_PX}"><title>${title}</title></rect>`;
}

/** A red line across every row where a violation's operations are, so a window of a few
 *  microseconds can still be found in a minute-long run. */
function violationMarkers(record: RunRecord, l: Layout, highlighted: ReadonlySet<number>): string {
  const xs = new Set<number>();
  for (const i of highlighted) {
    const op = record.history[i];
    if (op !== undefined) xs.add(Math.round(l.x(op.call)));
  }
  const y = l.labelRows * LABEL_ROW_PX + 14;
  return [...xs].map((x) =>
    `<line class="violation-marker" x1="${x}" y1="${y}" x2="${x}" y2="${l.height}"><title>violation window</title></line>`).join('');
}

/** The whole timeline as an <svg> element. */
export function renderTimeline(record: RunRecord): string {
  const probe = layout(record, 1);
  const rows = labelRowsFor(record, probe.x);
  const l = layout(record, Math.max(1, ...rows.map((r) => r + 1)));
  const highlighted = new Set(record.results.flatMap((r) => r.highlight));
  const labels = [...l.rowOf].map(([p, row]) =>
    `<text x="${GUTTER_PX - 6}" y="${l.top + row * ROW_PX + 11}" class="proc">p${p}</text>`).join('');
  const ops = record.history.slice(0, OPS_DRAWN_MAX);
  // Highlighted bars last, so that they are drawn on top.
  const bars = ops.map((op, i) => (highlighted.has(i) ? '' : opBar(op, i, l, false))).join('') +
    [...highlighted].filter((i) => i < ops.length).map((i) => opBar(ops[i]!, i, l, true)).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${l.width.toFixed(0)}" height="${l.height}" ` +
    `viewBox="0 0 ${l.width.toFixed(0)} ${l.height}" role="img" aria-label="timeline of operations per process">` +
    `<style>${SVG_STYLE}</style>${axis(l, runDurationNs(record))}${faultBands(record, l, rows)}` +
    `${violationMarkers(record, l, highlighted)}${labels}${bars}</svg>`;
}

const SVG_STYLE = [
  `.op.ok{fill:${STATUS_COLOUR.ok}}`,
  `.op.fail{fill:${STATUS_COLOUR.fail}}`,
  `.op.unknown{fill:${STATUS_COLOUR.unknown}}`,
  '.op.violation{fill:#d62728;stroke:#7a0000;stroke-width:2}',
  '.tick{stroke:#e3e3e3;stroke-width:1}',
  '.violation-marker{stroke:#d62728;stroke-width:1.5;stroke-dasharray:3 2;opacity:0.8}',
  '.axis{font:10px sans-serif;fill:#666;text-anchor:middle}',
  '.proc{font:10px monospace;fill:#333;text-anchor:end}',
  '.fault-label{font:10px sans-serif}',
].join('');

export { STATUS_COLOUR };
