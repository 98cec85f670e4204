// The run report: one self-contained HTML file (inline CSS and SVG; no script, font,
// image or stylesheet fetched from anywhere), readable offline and attachable to a bug.
// Top to bottom: the verdict, the summary (ops, faults, verdict per checker, latency with
// and without faults), the timeline, then each checker's details.

import type { Verdict } from '../checker/linearizability.js';
import { escapeHtml } from './escape.js';
import type { RunRecord } from './record.js';
import { summarizeRun, type LatencyStats, type RunSummary } from './summary.js';
import { OPS_DRAWN_MAX, renderTimeline, STATUS_COLOUR } from './timeline.js';

const VERDICT_TEXT: Record<Verdict, string> = { ok: 'PASS', violation: 'VIOLATION', unknown: 'UNKNOWN' };

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.meta{color:#555;margin-bottom:12px} code,pre{font:12px/1.4 ui-monospace,monospace}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600;margin-left:8px}
.verdict.ok{background:#2e7d32}.verdict.violation{background:#c62828}.verdict.unknown{background:#ef8f00}
table{border-collapse:collapse;margin:4px 0 12px} th,td{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f5f5f5;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:28px}
.scroll{overflow-x:auto;border:1px solid #ddd;padding:4px 0;background:#fcfcfc}
.legend span{display:inline-block;margin-right:16px}
.swatch{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:10px;overflow-x:auto}
`;

function verdictBadge(v: Verdict): string {
  return `<span class="verdict ${v}">${VERDICT_TEXT[v]}</span>`;
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: readonly number[] = []): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`);
  return `<table><tr>${th}</tr>${tr.join('')}</table>`;
}

function ms(v: number | null): string {
  return v === null ? '–' : v.toFixed(3);
}

function latencyRow(label: string, s: LatencyStats): string[] {
  return [label, String(s.count), ms(s.p50Ms), ms(s.p90Ms), ms(s.p99Ms), ms(s.maxMs)];
}

function summarySection(s: RunSummary): string {
  const ops = table(['operations', 'count'], [
    ['total', String(s.ops.total)], ['ok', String(s.ops.ok)], ['fail', String(s.ops.fail)], ['unknown', String(s.ops.unknown)],
    ...Object.entries(s.ops.byOp).map(([k, n]) => [escapeHtml(k), String(n)]),
    ['processes', String(s.ops.processes)],
  ], [1]);
  const faults = table(['fault', 'count', 'seconds'], [
    ...Object.entries(s.faults.byKind).map(([k, v]) => [escapeHtml(k), String(v.count), v.seconds.toFixed(1)]),
    ['<b>any fault active</b>', String(s.faults.count), s.faults.seconds.toFixed(1)],
  ], [1, 2]);
  const checkers = table(['checker', 'verdict', 'summary'],
    s.checkers.map((c) => [escapeHtml(c.checker), verdictBadge(c.verdict), escapeHtml(c.summary)]));
  const latency = table(['latency of ok ops (ms)', 'count', 'p50', 'p90', 'p99', 'max'], [
    latencyRow('overlapping a fault', s.latency.underFaults),
    latencyRow('no fault', s.latency.withoutFaults),
  ], [1, 2, 3, 4, 5]);
  return `<h2>Summary</h2><div class="grid"><div>${checkers}${latency}</div><div>${ops}</div><div>${faults}</div></div>`;
}

function legendItem(colour: string, text: string): string {
  return `<span><i class="swatch" style="background:${colour}"></i>${text}</span>`;
}

function legend(): string {
  const item = legendItem;
  return `<p class="legend">${item(STATUS_COLOUR.ok, 'ok')}${item(STATUS_COLOUR.fail, 'fail (did not take effect)')}` +
    `${item(STATUS_COLOUR.unknown, 'unknown (may have taken effect)')}${item('#d62728', 'in a violation window (dashed red line)')}` +
    `<span>shaded bands: faults (hover for details)</span></p>`;
}

/** The report as one HTML document. */
export function renderReportHtml(record: RunRecord, summary: RunSummary = summarizeRun(record)): string {
  const meta = [
    summary.seed === null ? '' : `seed ${summary.seed}`,
    summary.nodes === null ? '' : `${summary.nodes} nodes`,
    `${summary.durationS.toFixed(1)} s`,
    record.startedAt === undefined ? '' : `started ${escapeHtml(record.startedAt)}`,
  ].filter((s) => s !== '').join(' · ');
  const replay = summary.replay === null ? '' : `<p>Replay: <code>${escapeHtml(summary.replay)}</code></p>`;
  const cut = record.history.length > OPS_DRAWN_MAX
    ? `<p>The timeline shows the first ${OPS_DRAWN_MAX} of ${record.history.length} operations.</p>` : '';
  const details = record.results.map((r) =>
    `<h3>${escapeHtml(r.checker)} ${verdictBadge(r.verdict)}</h3><pre>${escapeHtml(r.details)}</pre>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(record.title)} — ${VERDICT_TEXT[summary.verdict]}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(record.title)} ${verdictBadge(summary.verdict)}</h1>
<div class="meta">${meta}</div>${replay}
${summarySection(summary)}
${(record.sections ?? []).map((x) => `<h2>${escapeHtml(x.title)}</h2>${x.html}`).join('\n')}
<h2>Timeline</h2>${legend()}${cut}<div class="scroll">${renderTimeline(record)}</div>
<h2>Checker details</h2>${details || '<p>No checker ran.</p>'}
</body></html>
`;
}
