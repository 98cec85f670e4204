// The raft log as the core sees it: Storage (durable) followed by the unstable tail.
// Tracks three positions: committed (known committed), applying (handed out to the
// driver in a Ready) and applied (the driver called advance for it).
// Invariant: applied <= applying <= committed <= lastIndex().

import { assert } from '../util/assert.js';
import type { Logger } from '../util/logger.js';
import { Unstable } from './log-unstable.js';
import { StorageError, type Entry, type Snapshot, type Storage } from './types.js';
import { limitSize } from './util.js';

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applying: number;
  applied: number;

  constructor(readonly storage: Storage, private readonly logger: Logger) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the snapshot is committed and applied.
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index whose entry is persisted and belongs to this log (unstable entries replace a stale stable suffix). */
  durableLastIndex(): number {
    return this.unstable.offset - 1;
  }

  /** Term of entry i, or undefined when i is compacted or beyond the log. */
  maybeTerm(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof StorageError) return undefined;
      throw e;
    }
  }

  /** Term of entry i, or 0 when it is unknown. */
  termOrZero(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  lastTerm(): number {
    const t = this.maybeTerm(this.lastIndex());
    assert(t !== undefined, () => `term of the last index ${this.lastIndex()} unknown`);
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    return this.maybeTerm(i) === t;
  }

  /** Raft §5.4.1: the candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends the leader's entries after (index, logTerm) if they match; returns the index
   * of the last new entry, or undefined when the log does not contain (index, logTerm).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      // Invariant: a committed entry is never overwritten (Log Matching + Leader Completeness).
      assert(conflict > this.committed,
        () => `entry ${conflict} conflicts with the committed prefix (commit ${this.committed})`);
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** The index of the first entry that is new or conflicts with ours, 0 if none. */
  private findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term; the fast
   * back-off of log matching (one round trip per term instead of per entry).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.maybeTerm(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, () => `append after ${after} is below commit ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    // Invariant: commit never passes the last index; a leader saying so means our log was lost.
    assert(toCommit <= this.lastIndex(),
      () => `commit ${toCommit} is past the last index ${this.lastIndex()}: was the log lost or truncated?`);
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(i <= this.committed && i >= this.applied,
      () => `appliedTo(${i}) outside [applied ${this.applied}, committed ${this.committed}]`);
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  /** Entries in [lo, lastIndex], at most maxBytes (but at least one). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi); throws StorageError('compacted') when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi && hi <= this.lastIndex() + 1, () => `slice(${lo}, ${hi}) past last ${this.lastIndex()}`);
    if (lo < this.firstIndex()) throw new StorageError('compacted', `slice(${lo}): first index ${this.firstIndex()}`);
    if (lo === hi) return [];
    const split = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < split) {
      out = this.storage.entries(lo, Math.min(hi, split), maxBytes);
      // Storage stopped early (byte cap): do not glue unstable entries after a gap.
      if (out.length < Math.min(hi, split) - lo) return out;
    }
    if (hi > split) out = out.concat(this.unstable.slice(Math.max(lo, split), hi));
    return limitSize(out, maxBytes);
  }

  hasNextUnstableEntries(): boolean {
    return this.unstable.nextEntries().length > 0;
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== undefined;
  }

  /** Bounds of the committed entries the driver may apply next: only durable ones. */
  private nextCommittedRange(): { lo: number; hi: number } | undefined {
    if (this.unstable.snapshot !== undefined) return undefined; // apply the snapshot first
    const lo = this.applying + 1;
    const hi = Math.min(this.committed, this.durableLastIndex()) + 1;
    return lo < hi ? { lo, hi } : undefined;
  }

  hasNextCommittedEntries(): boolean {
    return this.nextCommittedRange() !== undefined;
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    const range = this.nextCommittedRange();
    if (range === undefined) return [];
    return this.slice(range.lo, range.hi, maxBytes);
  }

  acceptApplying(i: number): void {
    assert(i <= this.committed, () => `applying ${i} past commit ${this.committed}`);
    this.applying = Math.max(this.applying, i);
  }

  restore(s: Snapshot): void {
    this.logger.info('raft log restores a snapshot', { index: s.metadata.index, term: s.metadata.term });
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Committed entries not yet applied, for scanning (e.g. for pending conf changes). */
  unappliedCommitted(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }
}
