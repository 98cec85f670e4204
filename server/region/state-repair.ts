// A member rebuilding a damaged or lost state/ (DESIGN.md §5, storage faults), and one
// whose raft log lost acknowledged entries: what it is doing, what it serves (nothing),
// and when it is done. The region node asks; this module only keeps the books.
//
// The state is rebuilt one of two ways:
//  - replay: the raft log still holds every entry from the first (nothing compacted past
//    the state's applied index): raft hands the committed entries out again from there;
//  - snapshot: the log was compacted past it: raft asks the leader for a snapshot
//    (RawNode.requestStateSnapshot); committed entries are not applied meanwhile (there is
//    no state to apply them to) except conf changes, which raft needs; once the snapshot
//    is installed, raft hands out the entries after it again (RawNode.stateRestored) and
//    conf changes already applied are skipped.
// Either way it then catches up to the commit index it knew, and only then serves.

import { EntryType, type Entry } from '../raft/index.js';
import type { StateDamage } from './startup-check.js';

export type StateRepairMode = 'replay' | 'snapshot' | 'catch-up';

export interface StateRepairStatus {
  reason: StateDamage;
  detail: string;
  mode: StateRepairMode;
  /** Serve again once the state has applied this index. */
  target: number;
  startedAtMs: number;
}

export class StateRepair {
  private current: StateRepairStatus | undefined;
  /** The highest conf change applied to raft while waiting for the snapshot. */
  private confAppliedThrough = 0;

  get status(): Readonly<StateRepairStatus> | undefined {
    return this.current;
  }

  get awaitingSnapshot(): boolean {
    return this.current?.mode === 'snapshot';
  }

  start(reason: StateDamage, detail: string, mode: 'replay' | 'snapshot', target: number, nowMs: number): void {
    this.current = { reason, detail, mode, target, startedAtMs: nowMs };
  }

  /**
   * The committed entries to apply. Waiting for the snapshot: only conf changes (raft's
   * configuration must follow the log; the rest has no state to go to). After it, conf
   * changes raft has already applied are left out when handed out again.
   */
  filterCommitted(entries: Entry[]): Entry[] {
    if (this.awaitingSnapshot) {
      const conf = entries.filter((e) => e.type === EntryType.ConfChange);
      const last = conf[conf.length - 1];
      if (last !== undefined) this.confAppliedThrough = Math.max(this.confAppliedThrough, last.index);
      return conf;
    }
    if (this.confAppliedThrough === 0) return entries;
    const first = entries[0];
    if (first === undefined || first.index > this.confAppliedThrough) {
      if (first !== undefined) this.confAppliedThrough = 0;
      return entries;
    }
    return entries.filter((e) => e.type !== EntryType.ConfChange || e.index > this.confAppliedThrough);
  }

  /**
   * A snapshot from the leader was installed with the state at `stateApplied`. Returns
   * whether raft may hand out the entries after it (the log still holds them); if not,
   * the member keeps asking for a snapshot.
   */
  onSnapshotInstalled(stateApplied: number, logFirstIndex: number, commit: number): boolean {
    if (this.current?.mode !== 'snapshot') return false;
    if (stateApplied < logFirstIndex - 1) return false;
    this.current.mode = 'catch-up';
    this.current.target = Math.max(commit, stateApplied);
    return true;
  }

  /** Returns the finished repair once the state has applied its target. */
  maybeDone(stateApplied: number): StateRepairStatus | undefined {
    const c = this.current;
    if (c === undefined || c.mode === 'snapshot' || stateApplied < c.target) return undefined;
    this.current = undefined;
    return c;
  }

  /** Why this member serves nothing now, for a person (UNAVAILABLE, /health, Status.errors). */
  problem(): string | undefined {
    const c = this.current;
    if (c === undefined) return undefined;
    const how = c.mode === 'snapshot'
      ? 'waiting for a snapshot from the leader'
      : c.mode === 'replay' ? `replaying the raft log up to ${c.target}` : `catching up to ${c.target} after the leader's snapshot`;
    return `storage repair: the state database was ${c.reason === 'behind-log' ? 'behind the compacted raft log' : c.reason} (${c.detail}); ${how}; this member serves nothing until then`;
  }
}
