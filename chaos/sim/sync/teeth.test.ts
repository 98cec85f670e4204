// The sync simulator has teeth: with each UnsafeCrdtSwitches flag on (one rule of the CRDT
// core broken), it reports a violation within the seeds `npm test` runs. Each test prints
// after how many seeds the break was caught, by which invariant, and the replay command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UNSAFE_CRDT_SWITCHES } from '../../../server/crdt/index.js';
import { syncReplayCommand } from './format.js';
import { SYNC_TEST_SEEDS, SYNC_TEST_STEPS } from './params.js';
import { runSyncSimulation } from './simulator.js';

for (const name of UNSAFE_CRDT_SWITCHES) {
  test(`sync teeth: the simulator catches ${name}`, () => {
    for (let i = 0; i < SYNC_TEST_SEEDS; i++) {
      const seed = 1 + i;
      const r = runSyncSimulation({ seed, steps: SYNC_TEST_STEPS, unsafe: { [name]: true } });
      if (!r.ok) {
        const v = r.violation!;
        console.log(`# ${name}: caught after ${i + 1} seed(s) — seed ${seed}, ${v.phase} phase step ${v.step}: ${v.invariant}: ${v.detail.split('\n')[0]}`);
        console.log(`#   replay: ${syncReplayCommand(r, { steps: SYNC_TEST_STEPS, unsafe: name })}`);
        return;
      }
    }
    assert.fail(`${name} was not caught in ${SYNC_TEST_SEEDS} seeds of ${SYNC_TEST_STEPS} steps`);
  });
}
