// MemoryStorage: the reference Storage. Everything the core reads lives in memory; the
// driver writes into it while handling a Ready (append, setHardState, applySnapshot).
// The simulator uses one per node as that node's durable state.

import { assert } from '../util/assert.js';
import {
  StorageError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage,
  EMPTY_BYTES,
} from './types.js';
import { limitSize } from './util.js';

export class MemoryStorage implements Storage {
  private hardState: HardState;
  private confState: ConfState;
  private snap: Snapshot;
  /**
   * ents[0] is a dummy entry carrying the index and term of the last compacted entry
   * (the snapshot's); the real log starts at ents[1].
   * Invariant: ents[i].index === ents[0].index + i.
   */
  private ents: Entry[];

  constructor(initial?: { hardState?: HardState; confState?: ConfState }) {
    this.hardState = { ...(initial?.hardState ?? { term: 0, vote: 0, commit: 0 }) };
    this.confState = copyConfState(initial?.confState ?? { voters: [], learners: [] });
    this.snap = {
      metadata: { index: 0, term: 0, confState: copyConfState(this.confState) },
      data: EMPTY_BYTES,
    };
    this.ents = [{ term: 0, index: 0, type: 0, data: EMPTY_BYTES }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: copyConfState(this.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  /** For drivers that persist the membership as they apply conf changes. */
  setConfState(cs: ConfState): void {
    this.confState = copyConfState(cs);
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new StorageError('compacted', `term(${i}): compacted up to ${offset}`);
    if (i > this.lastIndex()) throw new StorageError('unavailable', `term(${i}): last index ${this.lastIndex()}`);
    return this.ents[i - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new StorageError('compacted', `entries(${lo}): compacted up to ${offset}`);
    if (hi > this.lastIndex() + 1) {
      throw new StorageError('unavailable', `entries(${lo}, ${hi}): last index ${this.lastIndex()}`);
    }
    assert(lo <= hi, () => `entries: lo ${lo} > hi ${hi}`);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (index <= this.snap.metadata.index) {
      throw new StorageError('snapshot-out-of-date', `snapshot ${index} <= ${this.snap.metadata.index}`);
    }
    this.snap = snap;
    this.ents = [{ term, index, type: 0, data: EMPTY_BYTES }];
    this.confState = copyConfState(snap.metadata.confState);
  }

  /** Records a snapshot of the application at `index` (which must be applied, so present). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new StorageError('snapshot-out-of-date', `snapshot ${index} <= ${this.snap.metadata.index}`);
    }
    assert(index <= this.lastIndex(), () => `createSnapshot(${index}) past last index ${this.lastIndex()}`);
    const term = this.ents[index - this.offset()]!.term;
    this.snap = { metadata: { index, term, confState: copyConfState(confState) }, data };
    this.confState = copyConfState(confState);
    return this.snap;
  }

  /** Discards entries up to and including `index` (it becomes the dummy entry). */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) throw new StorageError('compacted', `compact(${index}): compacted up to ${offset}`);
    assert(index <= this.lastIndex(), () => `compact(${index}) past last index ${this.lastIndex()}`);
    const dummy = this.ents[index - offset]!;
    this.ents = [{ term: dummy.term, index: dummy.index, type: 0, data: EMPTY_BYTES }, ...this.ents.slice(index - offset + 1)];
  }

  /** Appends entries, replacing any conflicting suffix; entries already compacted are skipped. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    const skip = Math.max(0, first - entries[0]!.index);
    const fresh = entries.slice(skip);
    const at = fresh[0]!.index - this.offset();
    assert(at <= this.ents.length, () => `append: gap, last index ${this.lastIndex()}, appending at ${fresh[0]!.index}`);
    this.ents = this.ents.slice(0, at).concat(fresh);
  }
}

export function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
