// The Markdown table of bench:edge: one row per figure, regionstore and PouchDB side by
// side, the issue's goal beside each and whether regionstore meets it.
import type { LiveResult, SizeResult, SystemRun } from './run.js';

/** Issue 14's goals. */
export const GOAL_BULK_BYTES_PER_EVENT = 60;
export const GOAL_RESUME_BYTES_PER_EVENT = 80;
export const GOAL_LIVE_P50_MS = 5;
export const GOAL_LIVE_P95_MS = 20;

type Better = 'lower' | 'higher';

interface Row {
  what: string;
  values: Array<number | undefined>;
  /** An absolute bound on regionstore's figure, if the issue gives one. */
  bound?: number;
  better: Better;
  digits: number;
}

const perEvent = (t: { up: number; down: number; events: number }): number => (t.up + t.down) / t.events;
const count = (n: number): string => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** The `nth` result of `size` in a run (a size given twice is measured twice: run.ts). */
function nthOf(r: SystemRun, size: number, nth: number): SizeResult | undefined {
  return r.sizes.filter((x) => x.size === size)[nth];
}

function sizeRows(size: number, nth: number, of: (s: SizeResult) => number, what: string, better: Better, digits: number, runs: SystemRun[], bound?: number): Row {
  return {
    what, better, digits, ...(bound === undefined ? {} : { bound }),
    values: runs.map((r) => {
      const s = nthOf(r, size, nth);
      return s === undefined ? undefined : of(s);
    }),
  };
}

export function tableRows(runs: SystemRun[]): Row[] {
  // Each size, and a size given again (its second pair meets servers that ran the first:
  // warm code, not a fresh process) as rows of its own, labelled so.
  const order: Array<{ size: number; nth: number }> = [];
  for (const r of runs) {
    r.sizes.forEach((s, i) => {
      const nth = r.sizes.slice(0, i).filter((x) => x.size === s.size).length;
      if (!order.some((o) => o.size === s.size && o.nth === nth)) order.push({ size: s.size, nth });
    });
  }
  order.sort((a, b) => a.size - b.size || a.nth - b.nth);
  const rows: Row[] = [];
  for (const { size, nth } of order) {
    const k = nth === 0 ? count(size) : `${count(size)} again (run ${nth + 1} on the same servers)`;
    rows.push(
      sizeRows(size, nth, (s) => s.bulk.seconds, `${k} offline → connect: seconds to convergence`, 'lower', 2, runs),
      sizeRows(size, nth, (s) => s.bulk.events / s.bulk.seconds, `${k}: events/s`, 'higher', 0, runs),
      sizeRows(size, nth, (s) => perEvent(s.bulk), `${k}: bytes on the wire per event (up + down)`, 'lower', 1, runs, GOAL_BULK_BYTES_PER_EVENT),
      sizeRows(size, nth, (s) => perEvent(s.resume), `${count(1000)} more after ${k}: resume bytes per event`, 'lower', 1, runs, GOAL_RESUME_BYTES_PER_EVENT),
      sizeRows(size, nth, (s) => s.resume.seconds, `${count(1000)} more after ${k}: seconds to convergence`, 'lower', 2, runs),
    );
  }
  const live = (of: (l: LiveResult) => number, what: string, bound?: number): Row => ({
    what, better: 'lower', digits: 2, ...(bound === undefined ? {} : { bound }), values: runs.map((r) => (r.live === undefined ? undefined : of(r.live))),
  });
  if (runs.some((r) => r.live !== undefined)) {
    const n = runs.find((r) => r.live !== undefined)?.live?.writes ?? 0;
    rows.push(
      live((l) => l.p50Ms, `live write on the edge → seen in the region, p50 ms (${n} writes)`, GOAL_LIVE_P50_MS),
      live((l) => l.p95Ms, 'live p95 ms', GOAL_LIVE_P95_MS),
      live((l) => l.p99Ms, 'live p99 ms'),
    );
  }
  return rows;
}

function fmt(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function goalText(row: Row, hasRival: boolean): string {
  const parts: string[] = [];
  if (row.bound !== undefined) parts.push(`${row.better === 'lower' ? '≤' : '≥'} ${row.bound}`);
  if (hasRival) parts.push(row.better === 'lower' ? 'below PouchDB' : 'above PouchDB');
  return parts.join(', ');
}

function met(row: Row, rsIndex: number, rivalIndex: number): string {
  const v = row.values[rsIndex];
  if (v === undefined) return '—';
  const within = (a: number, b: number): boolean => (row.better === 'lower' ? a <= b : a >= b);
  const ok: boolean[] = [];
  if (row.bound !== undefined) ok.push(within(v, row.bound));
  const rival = rivalIndex < 0 ? undefined : row.values[rivalIndex];
  if (rival !== undefined) ok.push(within(v, rival) && v !== rival);
  return ok.length === 0 ? '—' : ok.every(Boolean) ? 'yes' : 'NO';
}

export function renderTable(runs: SystemRun[]): string {
  const names = runs.map((r) => (r.system === 'pouchdb' ? 'PouchDB' : 'regionstore'));
  const rs = runs.findIndex((r) => r.system === 'regionstore');
  const rival = runs.findIndex((r) => r.system === 'pouchdb');
  const header = ['', ...names, 'goal (regionstore)', ...(rs < 0 ? [] : ['met'])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of tableRows(runs)) {
    const cells = [row.what, ...row.values.map((v) => fmt(v, row.digits)), goalText(row, rival >= 0 && rs >= 0), ...(rs < 0 ? [] : [met(row, rs, rival)])];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = runs.filter((r) => r.error !== undefined).map((r) => `\n${r.system} stopped early: ${r.error}`);
  const waits = runs.flatMap((r) => r.sizes.flatMap((s) => [s.bulk, s.resume].filter((t) => t.waitSeconds > 0.05)
    .map((t) => `${r.system}: ${t.events} events waited ${t.waitSeconds.toFixed(2)} s for the reconnect backoff (not counted above)`)));
  return `${lines.join('\n')}\n${notes.join('')}${waits.length === 0 ? '' : `\n${waits.join('\n')}\n`}`;
}
