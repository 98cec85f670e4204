// The sync simulator over the real CRDT core: SYNC_TEST_SEEDS seeds, each a safety phase of
// SYNC_TEST_STEPS steps with faults and a liveness phase. A failure prints the seed, the
// replay command and the last events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSyncFailure } from './format.js';
import { SYNC_TEST_SEEDS, SYNC_TEST_START, SYNC_TEST_STEPS } from './params.js';
import { runSyncSimulation } from './simulator.js';


test(`sync simulator: seeds ${SYNC_TEST_START}..${SYNC_TEST_START + SYNC_TEST_SEEDS - 1}, ${SYNC_TEST_STEPS} steps each, hold every invariant and converge`, () => {
  console.log(`# sync simulator seeds ${SYNC_TEST_START}..${SYNC_TEST_START + SYNC_TEST_SEEDS - 1} (replay one: npm run sim:sync -- --seeds 1 --start <seed> --steps ${SYNC_TEST_STEPS})`);
  const failures: string[] = [];
  let steps = 0;
  const started = performance.now();
  for (let seed = SYNC_TEST_START; seed < SYNC_TEST_START + SYNC_TEST_SEEDS; seed++) {
    const r = runSyncSimulation({ seed, steps: SYNC_TEST_STEPS });
    steps += r.steps;
    if (!r.ok) failures.push(formatSyncFailure(r, { steps: SYNC_TEST_STEPS }));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`# ${SYNC_TEST_SEEDS - failures.length} passed, ${failures.length} failed; ${steps} steps, ${Math.round(steps / seconds)} steps/s`);
  assert.equal(failures.length, 0, failures.slice(0, 3).join('\n\n'));
});

test('sync simulator: one seed replays to the same run', () => {
  const a = runSyncSimulation({ seed: 7, steps: 400 });
  const b = runSyncSimulation({ seed: 7, steps: 400 });
  assert.deepEqual(a.events, b.events);
  assert.deepEqual(a.stats, b.stats);
  assert.ok(a.stats.writes! > 50 && a.stats.pages! > 10, `the run does work: ${JSON.stringify(a.stats)}`);
});
