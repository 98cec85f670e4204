// Edge chaos in `npm test` (issue 15): a short run with two edges (real processes, each
// through its own proxies) under edge faults (a cut, a kill -9 mid-upload, a wipe, a clock
// past the bound) passes every edge checker; and two teeth: the same kind of run with a
// test-only switch that breaks one rule fails it (the region taking pages from a clock past
// max_clock_skew_ms; an edge sending the last page of each upload without its records).
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

export const EDGE_RUN_SEED = 5;
export const EDGE_RUN_S = 20;
export const EDGE_RUN_NEMESIS = 'edge-cut,edge-kill-upload,edge-wipe,edge-skew-out';

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

/**
 * KNOWN ISSUE (issue 14, open; test/edge-sync.test.ts prints it the same way): now and then an
 * edge's CrdtHash of a namespace stays different from the region's while every rendered state
 * is equal (seen after a wipe and after causal-stability GC). The harness reports it as a
 * violation, as the issue asks; this test fails on every other problem and prints this one
 * loudly until its cause is fixed.
 */
function hashOnlyDivergence(o: RunOutcome): boolean {
  const c = o.results.find((r) => r.checker === 'edge-convergence');
  if (c === undefined || c.verdict !== 'violation') return false;
  const problems = c.details.split('\n').filter((l) => l.startsWith('  ') && !/replicas; /.test(l));
  return problems.length > 0 && problems.every((l) => l.trimStart().startsWith('CrdtHash of '));
}

function verdictOf(o: RunOutcome, checker: string): string | undefined {
  return o.results.find((r) => r.checker === checker)?.verdict;
}

describe('chaos harness, edges', { timeout: 600_000 }, () => {
  const seed = Number(process.env.EDGE_CHAOS_SEED ?? EDGE_RUN_SEED);
  const base = ['--nodes', '3', '--workload', 'register', '--edges', '2', '--seed', String(seed)];

  test('two edges under cuts, a kill -9 mid-upload, a wipe and a skewed clock: every edge checker passes', { timeout: 240_000 }, async () => {
    const { outcome, text } = await run('edge run', [...base, '--time', String(EDGE_RUN_S), '--nemesis', EDGE_RUN_NEMESIS], false);
    const known = hashOnlyDivergence(outcome);
    if (known) console.log('  KNOWN ISSUE (issue 14): an edge\'s CrdtHash differs from the region\'s while every rendered state is equal (see the edge-convergence details above)');
    for (const r of outcome.results) if (!(known && r.checker === 'edge-convergence')) assert.equal(r.verdict, 'ok', `${r.checker}\n${text}`);
    for (const c of ['edge-convergence', 'edge-no-lost-write', 'edge-events', 'edge-protocol']) assert.ok(verdictOf(outcome, c) === 'ok' || (known && c === 'edge-convergence'), text);
    assert.ok((outcome.edges?.events ?? 0) > 30, text);
    assert.ok((outcome.edges?.faults ?? 0) >= 4, text);
  });

  test('teeth: the region taking pages from a clock past the bound (--unsafe edge-accept-skew) fails edge-protocol', { timeout: 180_000 }, async () => {
    const { outcome, text } = await run('unsafe edge-accept-skew', [...base, '--time', '20', '--nemesis', 'edge-skew-out', '--unsafe', 'edge-accept-skew'], true);
    assert.equal(verdictOf(outcome, 'edge-protocol'), 'violation', text);
    assert.match(text, /the region took \d+ record\(s\) of ec-\w+ from edge e\d/);
    assert.equal(outcome.exitCode, 1);
  });

  test('teeth: an edge dropping the last page of each upload (--unsafe edge-drop-last-page) loses events', { timeout: 180_000 }, async () => {
    const { outcome, text } = await run('unsafe edge-drop-last-page', [...base, '--time', '10', '--nemesis', 'edge-cut', '--unsafe', 'edge-drop-last-page'], true);
    assert.equal(verdictOf(outcome, 'edge-events'), 'violation', text);
    assert.match(text, /n\d lacks event e\d-p\d\/\d+/);
    assert.equal(outcome.exitCode, 1);
  });
});
