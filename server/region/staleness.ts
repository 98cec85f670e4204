// What lets a follower prove how stale its state is (DESIGN.md §2, bounded reads): the
// times it received append messages from the current leader and the commit index each
// carried. At time t the leader's commit was c; once this member has applied c, its state
// is at least as new as the leader's at t (less the one-way network delay, which a
// loopback or LAN message makes negligible against a bound in milliseconds).
//
// Only MsgApp counts: a heartbeat carries min(match, commit), so a lagging follower would
// take it for a proof of freshness it does not have. An idle leader sends no appends, so
// an idle follower's proof ages and its bounded reads go to the leader's ReadIndex (fresh
// anyway) until the next write.

/** Proofs kept: enough to cover the entries in flight between receipt and apply. */
export const STALENESS_PROOFS_MAX = 64;

interface Proof {
  atMs: number;
  commit: number;
}

export class StalenessTracker {
  private proofs: Proof[] = [];

  /** An append from the current leader, received at `atMs`, carrying its commit index. */
  onLeaderAppend(atMs: number, commit: number): void {
    const last = this.proofs[this.proofs.length - 1];
    if (last !== undefined && last.commit === commit) {
      last.atMs = atMs; // a newer time for the same commit proves more
      return;
    }
    this.proofs.push({ atMs, commit });
    if (this.proofs.length > STALENESS_PROOFS_MAX) this.proofs.shift();
  }

  /** A new leader (or none): proofs from the old one say nothing about the new one's commit. */
  reset(): void {
    this.proofs = [];
  }

  /** How stale this member's state provably is at `nowMs`, given its applied index; undefined: no proof. */
  stalenessMs(nowMs: number, applied: number): number | undefined {
    for (let i = this.proofs.length - 1; i >= 0; i--) {
      const p = this.proofs[i]!;
      if (p.commit <= applied) return Math.max(0, nowMs - p.atMs);
    }
    return undefined;
  }
}
