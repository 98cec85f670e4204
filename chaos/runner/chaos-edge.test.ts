// Edge chaos in `npm test` (issue 15): a short run with two edges (real processes, each
// through its own proxies) under edge faults (a cut, a kill -9 mid-upload, a wipe, a clock
// past the bound) passes every edge checker; and three teeth: the same kind of run with a
// test-only switch that breaks one rule fails it (the region taking pages from a clock past
// max_clock_skew_ms; an edge sending the last page of each upload without its records; an
// edge acknowledging writes before their fsync, caught by a power cut). The default suite
// runs the edge run only; `npm run test:teeth` (RS_CHAOS_TEETH_ALL=1, run by .ci/run after
// npm test) runs the three teeth (session 13: two of them were 53 s of the default suite).
//
// EDGE_CHAOS_SEED=N replays with another seed. A run that ends otherwise than expected keeps
// its files (path printed). The long runs and the KPI run: `npm run chaos:edge`, `npm run chaos:kpi`.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseRunArgs } from './args.js';
import { formatOutcome } from './cli-main.js';
import { runChaos, type RunOutcome } from './run.js';
import { onlyInTeethRun } from './teeth-gate.js';

export const EDGE_RUN_SEED = 5;
/** Room for the four faults on a loaded machine (at 20 s a cut, a kill and a wipe took 18 s and the skew never came). */
export const EDGE_RUN_S = 28;
export const EDGE_RUN_NEMESIS = 'edge-cut,edge-kill-upload,edge-wipe,edge-skew-out';
/** The fsync tooth's run: its one power cut starts at FIRST_EDGE_FAULT_MS (2 s) and is played to its end. */
export const POWER_CUT_TOOTH_S = 5;

const VERBOSE = process.env.RS_TEST_VERBOSE !== undefined;

async function run(name: string, args: string[], expectFail: boolean): Promise<{ outcome: RunOutcome; text: string }> {
  const out = mkdtempSync(join(tmpdir(), `rs-chaos-edge-${name.replaceAll(' ', '-')}-`));
  const config = parseRunArgs([...args, '--out', out], () => 1);
  const outcome = await runChaos(config, VERBOSE ? console.log : () => {});
  const text = formatOutcome(outcome);
  const shown = outcome.results.map((r) => `    ${r.verdict.padEnd(9)} ${r.checker}: ${r.summary.slice(0, 300)}`).join('\n');
  console.log(`${name}: seed ${config.seed}, ${outcome.faults.length} faults, verdict ${outcome.verdict}\n${shown}\n    replay: ${outcome.replay}`);
  if ((outcome.exitCode === 0) !== expectFail) rmSync(out, { recursive: true, force: true });
  else console.log(`    files kept in ${out}`);
  return { outcome, text };
}

/** The teeth (issue 15): in `npm run test:teeth`, not the default suite. */
const TEETH = onlyInTeethRun('an edge chaos tooth');

function verdictOf(o: RunOutcome, checker: string): string | undefined {
  return o.results.find((r) => r.checker === checker)?.verdict;
}

describe('chaos harness, edges', { timeout: 600_000 }, () => {
  const seed = Number(process.env.EDGE_CHAOS_SEED ?? EDGE_RUN_SEED);
  const base = ['--nodes', '3', '--workload', 'register', '--edges', '2', '--seed', String(seed)];

  test('two edges under cuts, a kill -9 mid-upload, a wipe and a skewed clock: every edge checker passes', { timeout: 240_000 }, async () => {
    const { outcome, text } = await run('edge run', [...base, '--time', String(EDGE_RUN_S), '--nemesis', EDGE_RUN_NEMESIS], false);
    // A CrdtHash difference with equal rendered states (once tolerated here as a known issue)
    // fails too: main's fixes (sessions push on vector changes; dead set-cloud entries left
    // out of the hash) cured it, and no edge run since has shown it.
    for (const r of outcome.results) assert.equal(r.verdict, 'ok', `${r.checker}\n${text}`);
    assert.ok((outcome.edges?.events ?? 0) > 30, text);
    assert.ok((outcome.edges?.faults ?? 0) >= 4, text);
  });

  test('teeth: the region taking pages from a clock past the bound (--unsafe edge-accept-skew) fails edge-protocol', { timeout: 180_000, ...TEETH }, async () => {
    const { outcome, text } = await run('unsafe edge-accept-skew', [...base, '--time', '20', '--nemesis', 'edge-skew-out', '--unsafe', 'edge-accept-skew'], true);
    assert.equal(verdictOf(outcome, 'edge-protocol'), 'violation', text);
    assert.match(text, /the region took \d+ record\(s\) of ec-\w+ from edge e\d/);
    assert.equal(outcome.exitCode, 1);
  });

  test('teeth: an edge dropping the last page of each upload (--unsafe edge-drop-last-page) loses acknowledged writes', { timeout: 180_000, ...TEETH }, async () => {
    const { outcome, text } = await run('unsafe edge-drop-last-page', [...base, '--time', '10', '--nemesis', 'edge-cut', '--unsafe', 'edge-drop-last-page'], true);
    // Which namespace's last page goes missing depends on timing: events, or an mv/set/lww
    // write (then the lost-write checker and convergence say so).
    const caught = ['edge-events', 'edge-no-lost-write'].filter((c) => verdictOf(outcome, c) === 'violation');
    assert.ok(caught.length > 0, text);
    assert.equal(outcome.exitCode, 1);
  });

  test('teeth: an edge acknowledging writes before their fsync (--unsafe edge-skip-fsync) loses them to a power cut', { timeout: 180_000, ...TEETH }, async () => {
    // The cheapest run that shows it: one edge, one power cut (at 2 s, after 2-5 s offline),
    // so the writes it acknowledged offline are held by its unsynced WAL alone. A kill -9
    // alone would not lose them (the kernel has them): the cut drops what was never fsynced.
    const args = ['--nodes', '3', '--workload', 'register', '--edges', '1', '--seed', String(seed), '--time', String(POWER_CUT_TOOTH_S)];
    const { outcome, text } = await run('unsafe edge-skip-fsync', [...args, '--nemesis', 'edge-power-cut', '--unsafe', 'edge-skip-fsync'], true);
    const cut = outcome.faults.find((f) => f.kind === 'edge-power-cut');
    assert.match(cut?.detail ?? 'no power cut played', /^edge e1 \(offline \d+ ms, then power cut: [1-9]\d* unsynced WAL bytes dropped/, text);
    const caught = ['edge-events', 'edge-no-lost-write'].filter((c) => verdictOf(outcome, c) === 'violation');
    assert.ok(caught.length > 0, text);
    assert.equal(outcome.exitCode, 1);
  });
});
