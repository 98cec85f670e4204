// Timestamps of named points on a live write's way through several processes (issue 14's
// live row: edge write → seen in the region; scripts/trace-edge-live.ts --points reads them).
// Off unless RS_TRACE_POINTS names a directory: then each process appends `ms name key` lines
// to `<dir>/<label>.tsv` (label: its --name and pid). Times are performance.timeOrigin +
// performance.now(): wall-clock based, sub-millisecond, comparable between processes on one
// machine. Lines are kept in memory and written every TRACE_FLUSH_MS and at exit (not per
// point: a write to a file on the measured path would be part of what it measures).
// When off, a point costs one branch on a constant.

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const TRACE_POINTS_ENV = 'RS_TRACE_POINTS';
/** How often buffered points are written out while tracing. */
export const TRACE_FLUSH_MS = 500;

const dir = process.env[TRACE_POINTS_ENV];
/** Whether this process records trace points (RS_TRACE_POINTS is set). */
export const tracing = dir !== undefined && dir !== '';

let lines: string[] = [];
let file = '';

function label(): string {
  const i = process.argv.indexOf('--name');
  const name = i >= 0 ? process.argv[i + 1] ?? '' : '';
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'process'}-${process.pid}`;
}

function flush(): void {
  if (lines.length === 0) return;
  const out = lines.join('\n') + '\n';
  lines = [];
  try {
    appendFileSync(file, out);
  } catch {
    // tracing is a measurement aid: a full disk must not stop the process
  }
}

if (tracing) {
  mkdirSync(dir!, { recursive: true });
  file = join(dir!, `${label()}.tsv`);
  setInterval(flush, TRACE_FLUSH_MS).unref();
  process.on('exit', flush);
}

/** The trace clock (ms): comparable between processes on one machine. */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Records point `name` of `key` (a seq, a Raft index) now, or at `atMs` (traceNow()). */
export function tracePoint(name: string, key: string | number, atMs?: number): void {
  if (!tracing) return;
  lines.push(`${(atMs ?? traceNow()).toFixed(3)}\t${name}\t${key}`);
}
