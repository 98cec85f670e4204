// The simulator has teeth: with each of the core's UnsafeTestingSwitches on (one safety
// rule off), it reports a violation within the seeds it runs. Each test prints after how
// many seeds the rule was caught and by which invariant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnsafeTestingSwitches } from '../../server/raft/config.js';
import type { Profile } from './scenario.js';
import { runSimulation } from './simulator.js';

/** Seeds tried per switch before the test gives up. */
export const TEETH_SEEDS_MAX = 100;
export const TEETH_STEPS = 1500;

const CASES: Array<{ name: keyof UnsafeTestingSwitches; profile: Profile }> = [
  { name: 'ackBeforePersist', profile: 'crashes' },
  { name: 'readIndexWithoutQuorumCheck', profile: 'reads' },
  { name: 'commitEntriesOfAnyTerm', profile: 'churn' },
];

for (const c of CASES) {
  test(`teeth: the simulator catches ${c.name} (profile ${c.profile})`, () => {
    for (let i = 0; i < TEETH_SEEDS_MAX; i++) {
      const seed = 1 + i;
      const r = runSimulation({ seed, steps: TEETH_STEPS, unsafe: { [c.name]: true }, profile: c.profile });
      if (!r.ok) {
        const v = r.violation!;
        console.log(`# ${c.name}: caught after ${i + 1} seed(s) (seed ${seed}, ${r.nodes} nodes, step ${v.step}): ${v.invariant} — ${v.detail}`);
        return;
      }
    }
    assert.fail(`${c.name} was not caught in ${TEETH_SEEDS_MAX} seeds of ${TEETH_STEPS} steps`);
  });
}
