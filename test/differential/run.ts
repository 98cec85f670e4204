// Starts a fresh etcd and a fresh regionstore cluster, runs the script against both at
// once, normalizes and compares. Used by `npm run diff:etcd` and the test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, type Comparison, type StepLines } from './diff.js';
import { runSteps } from './execute.js';
import { normalizeRun } from './normalize.js';
import { loadSteps, type Step } from './steps.js';
import { startEtcd, startRegionstore, type Target } from './targets.js';

/** Slowest steps of each run named in the log. */
const SLOWEST_SHOWN = 3;

export interface DifferentialResult {
  comparison: Comparison;
  etcd: StepLines[];
  regionstore: StepLines[];
  steps: Step[];
  ms: number;
}

export interface DifferentialOptions {
  /** Where each server's output line goes (default: dropped). */
  onServerLine?: (system: string, name: string, line: string) => void;
  /** Keep the temp dir (data dirs, snapshots) and say where it is. */
  keep?: boolean;
  log?: (line: string) => void;
}

export async function runDifferential(opts: DifferentialOptions = {}): Promise<DifferentialResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const steps = loadSteps();
  const dir = mkdtempSync(join(tmpdir(), 'rs-differential-'));
  const line = (system: string) => (name: string, l: string): void => opts.onServerLine?.(system, name, l);
  const targets: Target[] = [];
  try {
    log(`starting a 3-member etcd and a 3-member regionstore in ${dir}`);
    const [etcd, rs] = await Promise.allSettled([startEtcd(dir, line('etcd')), startRegionstore(dir, line('regionstore'))]);
    for (const t of [etcd, rs]) if (t.status === 'fulfilled') targets.push(t.value);
    if (etcd.status === 'rejected') throw new Error(`etcd did not start: ${String(etcd.reason)}`);
    if (rs.status === 'rejected') throw new Error(`regionstore did not start: ${String(rs.reason)}`);
    log(`both up after ${Date.now() - started} ms; running ${steps.length} steps against each`);
    const [etcdRun, rsRun] = await Promise.all([runSteps(etcd.value, steps), runSteps(rs.value, steps)]);
    const slow = (run: typeof etcdRun): string =>
      [...run.outputs].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_SHOWN).map((o) => `${o.step} ${o.ms} ms`).join(', ');
    log(`slowest steps: etcd ${slow(etcdRun)}; regionstore ${slow(rsRun)}`);
    const etcdLines = normalizeRun(etcdRun);
    const rsLines = normalizeRun(rsRun);
    return { comparison: compare(etcdLines, rsLines), etcd: etcdLines, regionstore: rsLines, steps, ms: Date.now() - started };
  } finally {
    await Promise.allSettled(targets.map((t) => t.stop()));
    if (opts.keep === true) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
