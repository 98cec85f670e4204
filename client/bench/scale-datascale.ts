// `etcdctl check datascale --load=s` against one member, as an operator would run it: it
// writes 10 000 keys of 1 KiB under its own prefix, deletes them, and reports how much
// the member's resident memory grew, read from `/metrics` on the client port (HTTP/1.1).
// Its last line is "PASS: Approximate system memory used : 12.34 MB." or "FAIL: ...".

import { spawn } from 'node:child_process';

/** The check writes 10k keys of 1 KiB; minutes on a loaded 2-core machine at worst. */
export const DATASCALE_TIMEOUT_MS = 5 * 60_000;
/** Characters of etcdctl's output kept for the report. */
const OUTPUT_KEPT_CHARS = 300;

export interface DatascaleResult {
  passed: boolean;
  /** What it reported, when it passed. */
  memoryMB: number | undefined;
  /** Its PASS/FAIL lines (or why it did not run). */
  detail: string;
}

/** Parses etcdctl's output and exit code. */
export function parseDatascale(output: string, code: number | null): DatascaleResult {
  const m = /PASS: Approximate system memory used : ([\d.]+) MB/.exec(output);
  const verdict = output.split('\n').filter((l) => /^(PASS|FAIL)/.test(l)).join(' ');
  const detail = (verdict === '' ? output.trim() : verdict).slice(0, OUTPUT_KEPT_CHARS);
  return { passed: code === 0 && m !== null, memoryMB: m === null ? undefined : Number(m[1]), detail };
}

/** Runs the check on `endpoint` (host:port); undefined when etcdctl is not installed. */
export function runDatascale(endpoint: string): Promise<DatascaleResult | undefined> {
  return new Promise((resolve) => {
    const child = spawn('etcdctl', ['--endpoints', endpoint, '--command-timeout', '60s', 'check', 'datascale', '--load=s'], {
      env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), DATASCALE_TIMEOUT_MS);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(undefined); // not installed
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(parseDatascale(output, code));
    });
  });
}
