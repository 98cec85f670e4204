// The crdt workload's chaos pair (issue 13), run by `npm run test:teeth` (.ci/run runs it
// after npm test; scripts/run-tests.ts OWN_SCRIPT): a short run of real processes writing
// counters, sets and events through every member under faults converges on exactly what
// was acknowledged; and the convergence checker has teeth: the same run with the members
// started with --unsafe-crdt-apply-duplicates (a re-sent write applied again) fails.
//
// CRDT_CHAOS_SEED=N replays with another seed. A failed run's files are kept (path printed).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CRDT_CHECKER } from '../checker/crdt-render.js';
import { parseRunArgs } from './args.js';
import { formatOutcome } from './cli-main.js';
import { runChaos, type RunOutcome } from './run.js';

export const CRDT_RUN_SEED = 17;
export const CRDT_RUN_S = 15;
/** Faults a short run gets through: a killed member, a partition, a pause, a slow link. */
export const CRDT_RUN_NEMESIS = 'kill,partition,pause-leader,slow';

const VERBOSE = process.env.RS_TEST_VERBOSE !== undefined;

async function run(name: string, args: string[]): Promise<{ outcome: RunOutcome; text: string }> {
  const out = mkdtempSync(join(tmpdir(), `rs-chaos-crdt-${name.replaceAll(' ', '-')}-`));
  const config = parseRunArgs([...args, '--out', out], () => 1);
  const outcome = await runChaos(config, VERBOSE ? console.log : () => {});
  const text = formatOutcome(outcome);
  const shown = outcome.results.map((r) => `    ${r.verdict.padEnd(9)} ${r.checker}: ${r.summary}`).join('\n');
  console.log(`${name}: seed ${config.seed}, ${outcome.faults.length} faults, verdict ${outcome.verdict}\n${shown}\n    replay: ${outcome.replay}`);
  const expectedToFail = name.startsWith('unsafe');
  if ((outcome.exitCode === 0) !== expectedToFail) rmSync(out, { recursive: true, force: true });
  else console.log(`    files kept in ${out}`);
  return { outcome, text };
}

function crdtResult(o: RunOutcome): { verdict: string; summary: string } | undefined {
  return o.results.find((r) => r.checker === CRDT_CHECKER);
}

describe('chaos harness, crdt workload', { timeout: 400_000 }, () => {
  const seed = Number(process.env.CRDT_CHAOS_SEED ?? CRDT_RUN_SEED);
  const args = ['--nodes', '3', '--time', String(CRDT_RUN_S), '--nemesis', CRDT_RUN_NEMESIS, '--workload', 'crdt', '--seed', String(seed)];

  test('a short run under faults converges on what was acknowledged', { timeout: 200_000 }, async () => {
    const { outcome, text } = await run('crdt run', args);
    assert.equal(outcome.exitCode, 0, text);
    assert.equal(crdtResult(outcome)?.verdict, 'ok', text);
    assert.ok((outcome.crdt?.ok ?? 0) > 50, text);
    assert.ok((outcome.crdt?.resends ?? 0) > 5, text);
  });

  test('teeth: the same run with --unsafe crdt-duplicates (re-sent writes applied twice) fails', { timeout: 200_000 }, async () => {
    const { outcome, text } = await run('unsafe crdt-duplicates', [...args, '--unsafe', 'crdt-duplicates']);
    assert.equal(crdtResult(outcome)?.verdict, 'violation', text);
    assert.match(text, /counter-(out-of-range|unreachable): counter "chaos-crdt\/counter\/\d+"|resend-applied-again: add -?\d+ to/);
    assert.equal(outcome.exitCode, 1);
  });
});
