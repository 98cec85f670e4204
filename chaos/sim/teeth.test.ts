// The simulator has teeth: with each of the core's UnsafeTestingSwitches on (one safety
// rule off), it reports a violation within the seeds it runs. Each test prints after how
// many seeds the rule was caught, by which invariant, and the replay command.
// Profiles lean the scenario towards the faults that expose the rule (scenario.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnsafeTestingSwitches } from '../../server/raft/config.js';
import { replayCommand } from './cli-format.js';
import type { Profile } from './scenario.js';
import { runSimulation } from './simulator.js';

/** Seeds tried per switch before the test gives up. */
export const TEETH_SEEDS_MAX = 150;
export const TEETH_STEPS = 1500;

interface Case {
  name: keyof UnsafeTestingSwitches;
  profile: Profile;
  /** False: only the end-to-end invariants may catch it (no send-time ack check). */
  ackChecks: boolean;
}

const CASES: Case[] = [
  { name: 'ackBeforePersist', profile: 'crashes', ackChecks: true },
  { name: 'ackBeforePersist', profile: 'crashes', ackChecks: false },
  { name: 'readIndexWithoutQuorumCheck', profile: 'reads', ackChecks: true },
  { name: 'commitEntriesOfAnyTerm', profile: 'churn', ackChecks: true },
  { name: 'campaignAndVoteWithLostEntries', profile: 'storage', ackChecks: true },
];

for (const c of CASES) {
  const how = c.ackChecks ? '' : ', end-to-end invariants only';
  test(`teeth: the simulator catches ${c.name} (profile ${c.profile}${how})`, () => {
    for (let i = 0; i < TEETH_SEEDS_MAX; i++) {
      const seed = 1 + i;
      const r = runSimulation({ seed, steps: TEETH_STEPS, unsafe: { [c.name]: true }, profile: c.profile, ackChecks: c.ackChecks });
      if (!r.ok) {
        const v = r.violation!;
        console.log(`# ${c.name}${how}: caught after ${i + 1} seed(s) — seed ${seed}, ${r.nodes} nodes, step ${v.step}: ${v.invariant}: ${v.detail}`);
        console.log(`#   replay: ${replayCommand(r, { steps: TEETH_STEPS, unsafe: c.name, profile: c.profile })}`);
        return;
      }
    }
    assert.fail(`${c.name} was not caught in ${TEETH_SEEDS_MAX} seeds of ${TEETH_STEPS} steps`);
  });
}
