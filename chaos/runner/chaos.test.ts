// The chaos harness in `npm test`: a short run of real processes under mixed faults with
// every workload (register, bank, watch, session) must pass; and the harness has teeth: each unsafe server flag is
// caught (a stale read under a partition; a lost acknowledged write after kill -9 of the
// leader; follower reads without rs-min-revision going back in time), while the same seed
// without the flag passes (the session workload's safe run is part of the short run).
//
// The default suite runs the short run only. The teeth (each unsafe flag's run, and the run of
// its seed without the flag, which proves the seed passes on the safe build) and a run of the
// storage nemesis (issue 19: members' files damaged between restarts, one at a time) run in
// `npm run test:teeth` (RS_CHAOS_TEETH_ALL=1), which .ci/run runs after `npm test`, to keep
// the default suite inside its 10-minute budget (session 13: the teeth were 48 s of it).
//
// CHAOS_SEED=N replays the short run with another seed. Each run's files (history,
// report, node logs) are kept when it fails; the path is printed.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseRunArgs, type RunConfig } from './args.js';
import { formatOutcome } from './cli-main.js';
import { runChaos, type RunOutcome } from './run.js';
import { onlyInTeethRun } from './teeth-gate.js';

/**
 * The short run: 3 nodes, about 45 s of faults, every workload. Seed 131's schedule has
 * eight or nine faults, among them a membership change early enough that a partition, a
 * leadership transfer, an isolated and a paused leader strike while it goes on.
 */
export const SHORT_RUN_SEED = 131;
export const SHORT_RUN_S = 45;
/** Teeth runs: one targeted fault for local reads (stale reads come at once), two for ack-before-sync. */
export const LOCAL_READS_RUN_S = 8;
export const ACK_BEFORE_SYNC_RUN_S = 12;
export const LOCAL_READS_SEED = 3;
export const ACK_BEFORE_SYNC_SEED = 5;
/** Session teeth: no fault is needed, a follower learns a commit index one message after the leader acks. */
export const NO_SESSION_RUN_S = 10;
export const NO_SESSION_SEED = 7;

/**
 * The storage nemesis (issue 19): seed 4's first five damages are state-bytes, state-wal,
 * state-current, raft-bytes and raft-wal, one member at a time (a refused raft/ reseeded).
 * In `npm run test:teeth` only: each damage waits for the last one's repair.
 */
export const STORAGE_RUN_SEED = 4;
export const STORAGE_RUN_S = 60;

const VERBOSE = process.env.RS_TEST_VERBOSE !== undefined;
/** The teeth and the safe runs of their seeds: in `npm run test:teeth`, not the default suite. */
const TEETH = onlyInTeethRun('a chaos tooth');
const TEETH_CONTROLS = onlyInTeethRun('the safe run of a teeth seed');

async function run(name: string, args: string[]): Promise<{ outcome: RunOutcome; config: RunConfig; text: string }> {
  const out = mkdtempSync(join(tmpdir(), `rs-chaos-${name.replaceAll(' ', '-')}-`));
  const config = parseRunArgs([...args, '--out', out], () => 1);
  const outcome = await runChaos(config, VERBOSE ? console.log : () => {});
  const text = formatOutcome(outcome);
  const shown = outcome.results.map((r) => `    ${r.verdict.padEnd(9)} ${r.checker}: ${r.summary}`).join('\n');
  console.log(`${name}: seed ${config.seed}, ${outcome.faults.length} faults (${[...new Set(outcome.faults.map((f) => f.kind))].join(', ')}), ` +
    `verdict ${outcome.verdict}\n${shown}\n    replay: ${outcome.replay}`);
  if (outcome.exitCode === 0 || name.startsWith('unsafe')) rmSync(out, { recursive: true, force: true });
  else console.log(`    files kept in ${out}`);
  return { outcome, config, text };
}

function verdictOf(o: RunOutcome, checker: string): string | undefined {
  return o.results.find((r) => r.checker === checker)?.verdict;
}

describe('chaos harness', { timeout: 600_000 }, () => {
  test('a short run under mixed faults passes (3 nodes, every workload)', { timeout: 300_000 }, async () => {
    const seed = Number(process.env.CHAOS_SEED ?? SHORT_RUN_SEED);
    const { outcome, text } = await run('short run', [
      '--nodes', '3', '--time', String(SHORT_RUN_S), '--nemesis', 'all', '--workload', 'register,bank,watch,session', '--seed', String(seed),
    ]);
    assert.equal(outcome.exitCode, 0, text);
    assert.ok(outcome.faults.length >= 5, `only ${outcome.faults.length} faults were injected\n${text}`);
    assert.ok((outcome.register?.ok ?? 0) > 100, text);
    assert.ok((outcome.bank?.reads ?? 0) > 10, text);
    assert.ok((outcome.watch?.events ?? 0) > 100, text);
    assert.equal(verdictOf(outcome, 'session'), 'ok', text);
  });

  test('the storage nemesis: members repaired or reseeded, the checkers pass', { ...onlyInTeethRun('the storage nemesis run'), timeout: 300_000 }, async () => {
    const { outcome, text } = await run('storage run', [
      '--nodes', '3', '--time', String(STORAGE_RUN_S), '--nemesis', 'storage', '--workload', 'register', '--seed', String(STORAGE_RUN_SEED),
    ]);
    assert.equal(outcome.exitCode, 0, text);
    assert.ok(outcome.faults.length >= 3, `only ${outcome.faults.length} damages\n${text}`);
    assert.ok((outcome.register?.ok ?? 0) > 100, text);
  });

  const localReads = ['--nodes', '3', '--time', String(LOCAL_READS_RUN_S), '--nemesis', 'isolate-leader', '--workload', 'register', '--seed', String(LOCAL_READS_SEED)];
  test('teeth: --unsafe local-reads gives a stale read under a partition', { timeout: 180_000, ...TEETH }, async () => {
    const { outcome, text } = await run('unsafe local-reads', [...localReads, '--unsafe', 'local-reads']);
    assert.equal(verdictOf(outcome, 'linearizability'), 'violation', text);
    assert.match(text, /no order explains this result/);
    assert.equal(outcome.exitCode, 1);
  });
  test('teeth: the local-reads seed without the flag passes', { timeout: 180_000, ...TEETH_CONTROLS }, async () => {
    const { outcome, text } = await run('safe local-reads seed', localReads);
    assert.equal(outcome.exitCode, 0, text);
  });

  const ackBeforeSync = ['--nodes', '3', '--time', String(ACK_BEFORE_SYNC_RUN_S), '--nemesis', 'crash-cut-off-leader', '--workload', 'register,watch', '--seed', String(ACK_BEFORE_SYNC_SEED)];
  test('teeth: --unsafe ack-before-sync loses acknowledged writes after kill -9 of the leader', { timeout: 180_000, ...TEETH }, async () => {
    const { outcome, text } = await run('unsafe ack-before-sync', [...ackBeforeSync, '--unsafe', 'ack-before-sync']);
    assert.equal(verdictOf(outcome, 'acknowledged-writes'), 'violation', text);
    // Lost, or (when the new leader's log reused the lost indexes) found at another revision
    // than the one acknowledged: either is an acknowledged write the store did not keep.
    assert.match(text, /(lost: put "watch\/\d+"="w\d+-\d+" was acknowledged at revision \d+ but is not in the store's history|wrong-revision: put "watch\/\d+"="w\d+-\d+" was acknowledged at revision \d+ but applied at \d+)/);
    assert.equal(outcome.exitCode, 1);
  });
  test('teeth: the ack-before-sync seed without the flag passes', { timeout: 180_000, ...TEETH_CONTROLS }, async () => {
    const { outcome, text } = await run('safe ack-before-sync seed', ackBeforeSync);
    assert.equal(outcome.exitCode, 0, text);
  });
  const noSession = ['--nodes', '3', '--time', String(NO_SESSION_RUN_S), '--nemesis', 'slow', '--workload', 'session', '--seed', String(NO_SESSION_SEED)];
  test('teeth: --unsafe no-session (follower reads without rs-min-revision) reads older than own writes or earlier reads', { timeout: 180_000, ...TEETH }, async () => {
    // Slow peer links make followers lag; with no fault at all they sometimes keep up on a
    // quiet machine and the tooth would bite only by luck.
    const { outcome, text } = await run('unsafe no-session', [...noSession, '--unsafe', 'no-session']);
    assert.equal(verdictOf(outcome, 'session'), 'violation', text);
    assert.match(text, /(read-your-writes|monotonic-reads|monotonic-key), process \d+: get sess\/\d+/);
    assert.equal(outcome.exitCode, 1);
  });
  test('teeth: the no-session seed without the flag passes', { timeout: 180_000, ...TEETH_CONTROLS }, async () => {
    const { outcome, text } = await run('safe no-session seed', noSession);
    assert.equal(verdictOf(outcome, 'session'), 'ok', text);
    assert.equal(outcome.exitCode, 0, text);
  });
});
