// A scenario: how hard the seed's weather is. Every knob is drawn from the seed, so one seed
// names one cluster size, one set of fault rates and one schedule. Profiles lean the draw
// towards the faults that expose one rule (the teeth tests use them).

import type { SeededRandom } from '../../server/util/random.js';
import type { NetworkFaults } from './network.js';

export const PROFILES = ['mixed', 'crashes', 'churn', 'reads', 'storage'] as const;
export type Profile = (typeof PROFILES)[number];

/**
 * isolate-leader: the leader and the rest, both ways. one-way-leader: the leader hears
 * nothing or says nothing. split: two random groups. links: random one-way cuts.
 * paused-leader: the leader is isolated and its clock stops (a process pause) until healed.
 */
export const PARTITION_KINDS = ['isolate-leader', 'one-way-leader', 'split', 'links', 'paused-leader'] as const;
export type PartitionKind = (typeof PARTITION_KINDS)[number];

/**
 * What a down member's disk does (profile storage). reseed: its raft log and state are lost
 * and the operator reseeds it. rollback: it returns an older log and hard state (a prefix of
 * the log, in the same term and vote). corrupt: an entry fails its checksum on read, so the
 * log is lost from there (the hard state survives). state-loss: its state machine alone is
 * lost (state/ rebuilt from the log or the leader's snapshot).
 */
export const STORAGE_FAULT_KINDS = ['reseed', 'rollback', 'corrupt', 'state-loss'] as const;
export type StorageFaultKind = (typeof STORAGE_FAULT_KINDS)[number];

export interface Scenario {
  profile: Profile;
  nodeCount: number;
  /** Founding voters; a 5-node cluster may keep one node out to be added later. */
  initialVoters: number[];
  electionTicks: number;
  heartbeatTicks: number;
  maxBytesPerMsg: number;
  maxInflightMsgs: number;
  network: NetworkFaults;
  /** Per node: the probability it takes a given global tick (clock skew). */
  tickProbability: number[];
  /** Weights of the scheduler's optional actions (a message or a Ready weighs 10). */
  weights: {
    tick: number;
    write: number;
    read: number;
    crash: number;
    partition: number;
    snapshot: number;
    confChange: number;
    transfer: number;
    campaign: number;
    /** A crashed node's raft storage is lost and reseeded (`regionstore member reseed`): 0 outside the storage profile. */
    storageFault: number;
  };
  /** Relative weights of the storage fault kinds (see STORAGE_FAULT_KINDS). */
  storageFaultKinds: number[];
  /** Relative weights of the partition kinds (see PARTITION_KINDS). */
  partitionKinds: number[];
  /** A partition heals after a uniform number of election timeouts in [min, max). */
  partitionElectionsMin: number;
  partitionElectionsMax: number;
  /** Probability a node that just became leader is cut off at once (its no-op stays local). */
  isolateNewLeaderProbability: number;
  /** Probability a leader is cut off right after a Ready that moved its commit index. */
  isolateLeaderOnCommitProbability: number;
  /** Probability a node crashes after sending a Ready's messages, before persisting it. */
  crashInReadyProbability: number;
  /** Entries kept behind a snapshot when compacting. */
  compactKeepEntries: number;
  /** Keys the workload writes and reads; few keys, many overwrites. */
  keyCount: number;
}

export function drawScenario(rng: SeededRandom, nodeCount: number, profile: Profile): Scenario {
  const ids = Array.from({ length: nodeCount }, (_, i) => i + 1);
  const spare = nodeCount === 5 && rng.chance(0.3);
  const sc: Scenario = {
    profile,
    nodeCount,
    initialVoters: spare ? ids.slice(0, nodeCount - 1) : ids,
    electionTicks: rng.pick([4, 6, 10]),
    heartbeatTicks: 1,
    maxBytesPerMsg: rng.pick([1, 200, 1024 * 1024]),
    maxInflightMsgs: rng.pick([1, 4, 256]),
    network: {
      dropProbability: rng.pick([0, 0.01, 0.05, 0.15]),
      duplicateProbability: rng.pick([0, 0.02, 0.1]),
      delayTicksMax: rng.pick([0, 1, 3]),
      fifoProbability: rng.pick([0.2, 0.9]),
    },
    tickProbability: ids.map(() => rng.pick([1, 1, 0.8, 0.5])),
    weights: {
      tick: 1.5,
      write: rng.pick([1, 3]),
      read: rng.pick([0.5, 2]),
      crash: rng.pick([0, 0.03, 0.1]),
      partition: rng.pick([0, 0.05, 0.15]),
      snapshot: rng.pick([0.05, 0.3]),
      confChange: rng.pick([0, 0.05, 0.2]),
      transfer: rng.pick([0, 0.03, 0.1]),
      campaign: rng.pick([0, 0.02]),
      storageFault: 0,
    },
    storageFaultKinds: STORAGE_FAULT_KINDS.map(() => 1),
    partitionKinds: [1, 1, 1, 1, rng.pick([0, 0.5])],
    partitionElectionsMin: 1,
    partitionElectionsMax: 4,
    isolateNewLeaderProbability: rng.pick([0, 0, 0.05]),
    isolateLeaderOnCommitProbability: rng.pick([0, 0, 0.01]),
    crashInReadyProbability: rng.pick([0, 0.01, 0.04]),
    compactKeepEntries: rng.pick([0, 2, 20]),
    keyCount: rng.pick([1, 4]),
  };
  leanTowards(sc, rng, profile);
  return sc;
}

function leanTowards(sc: Scenario, rng: SeededRandom, profile: Profile): void {
  switch (profile) {
    case 'mixed':
      return;
    case 'crashes':
      // Acks must wait for durability: crash between a Ready's send and its persist.
      sc.crashInReadyProbability = rng.pick([0.05, 0.15]);
      sc.weights.crash = Math.max(sc.weights.crash, 0.05);
      return;
    case 'storage':
      // A member's disk lost its raft log (reseeded from the peers, as an operator does
      // when its raft/ cannot be read), rolled back, lost its tail to a bad checksum, or
      // lost its state machine: it must neither vote nor campaign until it holds what it
      // may have acknowledged, nor serve a state it does not have. Crashes give it the chance; a leader cut off just
      // after committing leaves the reseeded member's vote to decide.
      sc.weights.crash = Math.max(sc.weights.crash, rng.pick([0.05, 0.1]));
      sc.weights.storageFault = rng.pick([0.3, 1]);
      sc.isolateLeaderOnCommitProbability = rng.pick([0.05, 0.2]);
      sc.weights.partition = Math.max(sc.weights.partition, 0.05);
      // Membership stays put: a member removed while another repairs can leave fewer
      // healthy voters than a quorum, where the repairing one's vote is withheld for good.
      sc.weights.confChange = 0;
      // Slow catch-up (one entry per append, one append in flight) keeps a member that
      // knows it lost entries in that state for longer: the window its vote must not be used in.
      if (rng.chance(0.5)) {
        sc.maxBytesPerMsg = 1;
        sc.maxInflightMsgs = 1;
      }
      return;
    case 'churn':
      // Figure 8 of the Raft paper: many terms, entries of old terms on a majority.
      // A new leader is often cut off right after its election, so its no-op (and what it
      // is sent with) stays local and three leaders take turns over one index.
      sc.isolateNewLeaderProbability = rng.pick([0.3, 0.6]);
      sc.isolateLeaderOnCommitProbability = rng.pick([0.3, 0.7]);
      sc.partitionElectionsMin = 0.5;
      sc.partitionElectionsMax = 2;
      sc.weights.campaign = rng.pick([0.02, 0.1]);
      sc.weights.partition = Math.max(sc.weights.partition, 0.1);
      sc.partitionKinds = [4, 1, 1, 0, 0];
      // One entry per append: an old-term entry can reach a majority before the no-op.
      sc.maxBytesPerMsg = 1;
      sc.network.dropProbability = Math.max(sc.network.dropProbability, 0.05);
      sc.network.delayTicksMax = Math.max(sc.network.delayTicksMax, 1);
      return;
    case 'reads':
      // Reads around leader changes and partitioned leaders.
      sc.weights.read = 4;
      sc.weights.write = 3;
      sc.weights.partition = Math.max(sc.weights.partition, 0.15);
      sc.partitionKinds = [2, 0, 1, 0, 4];
      sc.weights.transfer = Math.max(sc.weights.transfer, 0.05);
      sc.weights.crash = Math.max(sc.weights.crash, 0.05);
      return;
  }
}
