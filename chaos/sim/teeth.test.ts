// The simulator has teeth: with each of the core's UnsafeTestingSwitches on (one safety
// rule off), it reports a violation within the seeds it runs. Each test prints after how
// many seeds the rule was caught, by which invariant, and the replay command.
// Profiles lean the scenario towards the faults that expose the rule (scenario.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnsafeTestingSwitches } from '../../server/raft/config.js';
import { replayCommand } from './cli-format.js';
import type { Profile, StorageFaultKind } from './scenario.js';
import { runSimulation } from './simulator.js';

/** Seeds tried per switch before the test gives up. */
export const TEETH_SEEDS_MAX = 150;
export const TEETH_STEPS = 1500;

interface Case {
  /** A core switch, or the simulator's own serveLostState (a member serves a lost state). */
  name: keyof UnsafeTestingSwitches | 'serveLostState';
  profile: Profile;
  /** False: only the end-to-end invariants may catch it (no send-time ack check). */
  ackChecks: boolean;
  /** Only these storage faults (profile storage). */
  storageFaults?: StorageFaultKind[];
  /** Steps per seed when not TEETH_STEPS. */
  steps?: number;
}

const CASES: Case[] = [
  { name: 'ackBeforePersist', profile: 'crashes', ackChecks: true },
  { name: 'ackBeforePersist', profile: 'crashes', ackChecks: false },
  { name: 'readIndexWithoutQuorumCheck', profile: 'reads', ackChecks: true },
  { name: 'commitEntriesOfAnyTerm', profile: 'churn', ackChecks: true },
  // One case per storage fault kind that loses log entries (all kinds at once take longer).
  { name: 'campaignAndVoteWithLostEntries', profile: 'storage', ackChecks: true, storageFaults: ['reseed'] },
  // A rolled-back member learns of its loss only from the leader and catches up soon
  // after: a longer run gives an election the chance to fall in that window.
  { name: 'campaignAndVoteWithLostEntries', profile: 'storage', ackChecks: true, storageFaults: ['rollback'], steps: 3000 },
  { name: 'campaignAndVoteWithLostEntries', profile: 'storage', ackChecks: true, storageFaults: ['corrupt'] },
  { name: 'serveLostState', profile: 'storage', ackChecks: true, storageFaults: ['state-loss'] },
];

for (const c of CASES) {
  const how = `${c.ackChecks ? '' : ', end-to-end invariants only'}${c.storageFaults ? `, storage faults ${c.storageFaults.join(',')}` : ''}`;
  const steps = c.steps ?? TEETH_STEPS;
  const sim = c.name === 'serveLostState';
  test(`teeth: the simulator catches ${c.name} (profile ${c.profile}${how})`, () => {
    for (let i = 0; i < TEETH_SEEDS_MAX; i++) {
      const seed = 1 + i;
      const r = runSimulation({
        seed, steps, profile: c.profile, ackChecks: c.ackChecks,
        unsafe: sim ? {} : { [c.name]: true },
        ...(sim ? { serveLostState: true } : {}),
        ...(c.storageFaults ? { storageFaultKinds: c.storageFaults } : {}),
      });
      if (!r.ok) {
        const v = r.violation!;
        console.log(`# ${c.name}${how}: caught after ${i + 1} seed(s) — seed ${seed}, ${r.nodes} nodes, step ${v.step}: ${v.invariant}: ${v.detail}`);
        console.log(`#   replay: ${replayCommand(r, { steps, profile: c.profile, storageFaults: c.storageFaults, serveLostState: sim, ...(sim ? {} : { unsafe: c.name }) })}`);
        return;
      }
    }
    assert.fail(`${c.name}${how} was not caught in ${TEETH_SEEDS_MAX} seeds of ${steps} steps`);
  });
}
