// The leader's (and a candidate's) view of the membership: voters, learners, one
// Progress per member, and the votes of the current election.

import { assert } from '../util/assert.js';
import { Progress } from './progress.js';
import { committedIndex, majority, voteResult, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  /** ids() in ascending order, rebuilt when the membership changes (it is read per broadcast). */
  private sortedIds: readonly NodeId[] = [];

  constructor(readonly maxInflightMsgs: number, readonly maxInflightBytes: number) {}

  /** Makes the membership `cs`; new members start probing at `nextIndex`. */
  setConfState(cs: ConfState, nextIndex: number): void {
    const voters = new Set(cs.voters);
    const learners = new Set(cs.learners);
    for (const id of learners) assert(!voters.has(id), () => `node ${id} is both voter and learner`);
    this.voters = voters;
    this.learners = learners;
    this.sortedIds = [...voters, ...learners].sort((a, b) => a - b);
    for (const id of this.progress.keys()) {
      if (!voters.has(id) && !learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...voters, ...learners]) {
      const pr = this.progress.get(id);
      if (pr === undefined) {
        this.progress.set(id, new Progress(nextIndex, this.maxInflightMsgs, this.maxInflightBytes, learners.has(id)));
      } else {
        pr.isLearner = learners.has(id);
      }
    }
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  /** Member ids in ascending order, so iteration (and thus output) is deterministic. */
  ids(): readonly NodeId[] {
    return this.sortedIds;
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** Whether a majority of voters was heard from since the last check (CheckQuorum). */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress.get(id)?.recentActive === true) active++;
    return active >= majority(this.voters.size);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
