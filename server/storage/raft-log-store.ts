// RaftLogStore: the core's synchronous `Storage` over the `raft/` database.
//
// The core reads synchronously, so the store keeps in memory everything it answers from:
// the uncompacted log (entries after the compaction point), the hard state, the latest
// snapshot's metadata and data, and the conf state. It is loaded once on open and every
// change is written through. The log is held off the JS heap, as the encoded entries in
// slabs with a typed-array index (entry-slabs.ts): an Entry object per put kept until the
// next compaction (~260 bytes of JS heap each, 10-15k of them) outlived the scavenges, was
// promoted and was work for every Mark-Compact (issue 20). The in-memory view changes when
// a method is CALLED (not when its promise resolves), so the Ready loop can go on at once;
// the promise says the change is on disk (fsynced when `sync` was asked). Writes reach the engine one at a time, in
// call order: two batches in flight together could land in either order.
//
// Hard state and snapshot handed out are the store's own objects: read-only. Entries handed
// out are decoded from the slab (their data a copy), except those read for the first time
// since their save, which are the objects saved (recent-entries.ts): read-only too.
//
// Memory stays bounded because the region node takes a snapshot every N applied entries
// and compacts behind it; `memoryBytes()` is there to watch that.
//
// Semantics follow etcd's MemoryStorage: an entry at `offset` (the compaction point) is
// known only by its index and term; firstIndex = offset + 1; entries below firstIndex are
// 'compacted', past lastIndex 'unavailable'.
//
// Invariants:
//   the log holds entries offset.index + 1 .. lastIndex(), contiguous;
//   offset.index <= snapshot.metadata.index <= lastIndex() (compaction never passes the
//   latest snapshot, or a lagging follower could be caught up by neither);
//   disk and memory hold the same records once every pending write has resolved.

import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata, Storage } from '../raft/types.js';
import { EMPTY_BYTES, StorageError, entrySize } from '../raft/types.js';
import { assert } from '../util/assert.js';
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMetadata,
} from '../../proto/raft-codec.js';
import type { BatchOp, Engine } from './engine.js';
import { EntrySlabs } from './entry-slabs.js';
import { RecentEntries } from './recent-entries.js';
import {
  RAFT_CONF_STATE_KEY,
  RAFT_HARD_STATE_KEY,
  RAFT_LOG_OFFSET_KEY,
  RAFT_SNAPSHOT_DATA_KEY,
  RAFT_SNAPSHOT_META_KEY,
  RaftKeyspace,
  keyspaceRange,
  raftEntryIndex,
  raftEntryKey,
} from './keys.js';

/** What one Ready asks to persist. */
export interface RaftSave {
  hardState?: HardState | undefined;
  entries: Entry[];
  snapshot?: Snapshot | undefined;
}

interface LogPoint {
  index: number;
  term: number;
}

/** entrySize(e) is e.data.length plus this (types.ts); the log knows data lengths without Entry objects. */
const ENTRY_OVERHEAD_BYTES = entrySize({ term: 0, index: 0, type: 0, data: EMPTY_BYTES });

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };
const EMPTY_SNAPSHOT: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: EMPTY_BYTES };

export class RaftLogStore implements Storage {
  /** Entries after `offset`, contiguous, off the JS heap. Invariant: log.firstIndex === offset.index + 1. */
  private log: EntrySlabs;
  /** Sum of entrySize over `log`. */
  private logBytes: number;
  /** The latest appended Entry objects until their first read (the apply): not decoded again. */
  private readonly recent = new RecentEntries();
  private writes: Promise<void> = Promise.resolve();
  /** Set when a write failed: memory is then ahead of disk and the store must not be used. */
  private failure: unknown = undefined;

  private constructor(
    private readonly engine: Engine,
    private offset: LogPoint,
    log: EntrySlabs,
    logBytes: number,
    private hardState: HardState,
    private snap: Snapshot,
    private confState: ConfState,
  ) {
    this.log = log;
    this.logBytes = logBytes;
    this.checkInvariants();
  }

  /**
   * Loads the store from `engine` (the `raft/` database); an empty database is a new node.
   * `options.slabBytes` is for tests (entry-slabs.ts ENTRY_SLAB_BYTES otherwise).
   */
  static async open(engine: Engine, options: { slabBytes?: number } = {}): Promise<RaftLogStore> {
    const [hs, meta, data, cs, off] = await Promise.all([
      engine.get(RAFT_HARD_STATE_KEY),
      engine.get(RAFT_SNAPSHOT_META_KEY),
      engine.get(RAFT_SNAPSHOT_DATA_KEY),
      engine.get(RAFT_CONF_STATE_KEY),
      engine.get(RAFT_LOG_OFFSET_KEY),
    ]);
    const offsetEntry = off === undefined ? undefined : decodeEntry(off);
    const offset: LogPoint = offsetEntry === undefined ? { index: 0, term: 0 } : offsetEntry;
    const log = new EntrySlabs(offset.index + 1, options.slabBytes);
    let logBytes = 0;
    const range = keyspaceRange(RaftKeyspace.Entry);
    for await (const [key, value] of engine.iterate({ gt: raftEntryKey(offset.index), lt: range.lt })) {
      const e = decodeEntry(value);
      const expected = log.endIndex;
      assert(raftEntryIndex(key) === e.index && e.index === expected, () =>
        `raft log on disk is not contiguous: key ${raftEntryIndex(key)} holds entry ${e.index}, expected ${expected}`);
      log.appendEncoded(e, value);
      logBytes += e.data.length + ENTRY_OVERHEAD_BYTES;
    }
    // Entries a compaction cut short by a crash left below the offset (see compact()).
    if (offset.index > 0) await engine.clear({ gte: range.gte, lt: raftEntryKey(offset.index + 1) });
    const snapshot: Snapshot = meta === undefined
      ? EMPTY_SNAPSHOT
      : { metadata: decodeSnapshotMetadata(meta), data: data ?? EMPTY_BYTES };
    return new RaftLogStore(
      engine,
      offset,
      log,
      logBytes,
      hs === undefined ? EMPTY_HARD_STATE : decodeHardState(hs),
      snapshot,
      cs === undefined ? EMPTY_CONF_STATE : decodeConfState(cs),
    );
  }

  // ---- Storage (synchronous, from memory) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo <= hi, () => `entries: lo ${lo} > hi ${hi}`);
    if (lo <= this.offset.index) throw new StorageError('compacted', `entries from ${lo}: compacted up to ${this.offset.index}`);
    if (hi > this.lastIndex() + 1) {
      throw new StorageError('unavailable', `entries up to ${hi - 1}: last index is ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      // entrySize from the index: an entry past the byte cap is not decoded.
      bytes += this.log.dataLength(i) + ENTRY_OVERHEAD_BYTES;
      // Always at least one entry, so a single large entry still makes progress.
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(this.recent.get(i) ?? this.log.entry(i));
    }
    this.recent.dropBelow(lo + out.length);
    return out;
  }

  term(i: number): number {
    if (i < this.offset.index) throw new StorageError('compacted', `term of ${i}: compacted up to ${this.offset.index}`);
    if (i === this.offset.index) return this.offset.term;
    if (i > this.lastIndex()) throw new StorageError('unavailable', `term of ${i}: last index is ${this.lastIndex()}`);
    return this.log.term(i);
  }

  firstIndex(): number {
    return this.offset.index + 1;
  }

  lastIndex(): number {
    return this.log.endIndex - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- Writes (memory now, disk when the promise resolves) ----

  /**
   * Persists one Ready: snapshot (a follower installing one), then entries (a conflicting
   * suffix is truncated), then hard state, as ONE engine batch, fsynced when `sync`.
   */
  save(rd: RaftSave, sync: boolean): Promise<void> {
    this.checkUsable();
    const ops: BatchOp[] = [];
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot, ops);
    if (rd.entries.length > 0) this.append(rd.entries, ops);
    if (rd.hardState !== undefined) {
      this.hardState = { ...rd.hardState };
      ops.push({ type: 'put', key: RAFT_HARD_STATE_KEY, value: encodeHardState(this.hardState) });
    }
    this.checkInvariants();
    return this.write(ops, sync);
  }

  /**
   * Records a snapshot of the applied state at `index` (which must be in the log). Does not
   * compact. Throws StorageError('snapshot-out-of-date') if not newer than the latest.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    this.checkUsable();
    if (index <= this.snap.metadata.index) {
      throw new StorageError('snapshot-out-of-date', `snapshot at ${index}: already have one at ${this.snap.metadata.index}`);
    }
    assert(index <= this.lastIndex(), () => `snapshot at ${index} is past the last index ${this.lastIndex()}`);
    const metadata: SnapshotMetadata = { index, term: this.term(index), confState: copyConfState(confState) };
    const ops: BatchOp[] = [];
    this.setSnapshot({ metadata, data }, ops);
    this.checkInvariants();
    const snap = this.snap;
    return this.write(ops, true).then(() => snap);
  }

  /**
   * Drops entries <= index from memory and disk; term(index) stays known. Index must not
   * pass the latest snapshot. Throws StorageError('compacted') if already compacted.
   */
  compact(index: number): Promise<void> {
    this.checkUsable();
    if (index <= this.offset.index) throw new StorageError('compacted', `compact to ${index}: already at ${this.offset.index}`);
    assert(index <= this.snap.metadata.index, () =>
      `compact to ${index} passes the latest snapshot at ${this.snap.metadata.index}`);
    const ops: BatchOp[] = [];
    // The entries go in one range delete after the new offset, run by RocksDB off the main
    // thread: a delete op and key per entry (10k at the default cadence, built across turns
    // of the loop) lived long enough to be promoted, about 150 bytes of old space per put.
    // Crash-safe: the WAL replays a prefix, so the deletes are never without the offset;
    // entries left below it are ignored and cleared at the next open.
    const dropped = { gte: raftEntryKey(this.offset.index + 1), lt: raftEntryKey(index + 1) };
    const point = { index, term: this.term(index) };
    this.logBytes -= this.log.dropBefore(index + 1) + (index - this.offset.index) * ENTRY_OVERHEAD_BYTES;
    this.recent.dropBelow(index + 1);
    this.setOffset(point, ops);
    this.checkInvariants();
    // Not synced: losing a compaction in a crash only leaves more log than needed.
    return this.write(ops, false, dropped);
  }

  /** A follower installs a snapshot from the leader: the whole log is dropped. */
  applySnapshot(snap: Snapshot, sync = true): Promise<void> {
    return this.save({ snapshot: snap, entries: [] }, sync);
  }

  /** Resolves when every write issued so far is on disk (or rejects with the first failure). */
  flush(): Promise<void> {
    return this.writes.then(() => this.checkUsable());
  }

  /** Bytes of entries held in memory (entrySize), for metrics and compaction decisions. */
  memoryBytes(): number {
    return this.logBytes;
  }

  /** Off-heap bytes the log's slabs hold (encoded entries and the unused end of the last slab). */
  slabBytes(): number {
    return this.log.slabBytes();
  }

  // ---- internals ----

  private append(entries: Entry[], ops: BatchOp[]): void {
    for (let i = 1; i < entries.length; i++) {
      assert((entries[i] as Entry).index === (entries[i - 1] as Entry).index + 1, () =>
        `appended entries are not contiguous at ${(entries[i - 1] as Entry).index}`);
    }
    const first = entries[0] as Entry;
    const incomingLast = first.index + entries.length - 1;
    // Entries at or below the compaction point are already committed and compacted: skip.
    if (incomingLast <= this.offset.index) return;
    const fresh = first.index <= this.offset.index ? entries.slice(this.offset.index + 1 - first.index) : entries;
    const start = (fresh[0] as Entry).index;
    const oldLast = this.lastIndex();
    assert(start <= oldLast + 1, () => `missing log entries: appending at ${start} after last index ${oldLast}`);
    // Truncate the conflicting suffix [start, oldLast], then append.
    this.logBytes -= this.log.truncateFrom(start) + (oldLast + 1 - start) * ENTRY_OVERHEAD_BYTES;
    for (const e of fresh) {
      // The slab's bytes are the batch's value: encoded once, and no copy per entry on the heap.
      const value = this.log.append(e);
      this.logBytes += e.data.length + ENTRY_OVERHEAD_BYTES;
      ops.push({ type: 'put', key: raftEntryKey(e.index), value });
    }
    this.recent.add(fresh);
    // Overwritten indexes were put above; only those past the new last index are deleted.
    for (let i = this.lastIndex() + 1; i <= oldLast; i++) ops.push({ type: 'del', key: raftEntryKey(i) });
  }

  private installSnapshot(snap: Snapshot, ops: BatchOp[]): void {
    const { index, term } = snap.metadata;
    if (index <= this.snap.metadata.index) {
      throw new StorageError('snapshot-out-of-date', `install snapshot at ${index}: have one at ${this.snap.metadata.index}`);
    }
    for (let i = this.offset.index + 1; i <= this.lastIndex(); i++) ops.push({ type: 'del', key: raftEntryKey(i) });
    this.log.reset(index + 1);
    this.recent.clear();
    this.logBytes = 0;
    this.setOffset({ index, term }, ops);
    this.setSnapshot(snap, ops);
  }

  private setSnapshot(snap: Snapshot, ops: BatchOp[]): void {
    const metadata = { ...snap.metadata, confState: copyConfState(snap.metadata.confState) };
    this.snap = { metadata, data: snap.data };
    this.confState = metadata.confState;
    ops.push({ type: 'put', key: RAFT_SNAPSHOT_META_KEY, value: encodeSnapshotMetadata(metadata) });
    ops.push({ type: 'put', key: RAFT_SNAPSHOT_DATA_KEY, value: snap.data });
    ops.push({ type: 'put', key: RAFT_CONF_STATE_KEY, value: encodeConfState(metadata.confState) });
  }

  private setOffset(point: LogPoint, ops: BatchOp[]): void {
    this.offset = point;
    ops.push({ type: 'put', key: RAFT_LOG_OFFSET_KEY, value: encodeEntry({ ...point, type: 0, data: EMPTY_BYTES }) });
  }

  /**
   * Queues the batch (then the range delete `clear`, if any) behind every earlier write, so
   * they reach the engine in call order.
   */
  private write(ops: BatchOp[], sync: boolean, clear?: { gte: Uint8Array; lt: Uint8Array }): Promise<void> {
    const done = this.writes.then(async () => {
      this.checkUsable();
      if (ops.length === 0 && !sync && clear === undefined) return;
      try {
        await this.engine.write(ops, { sync });
        if (clear !== undefined) await this.engine.clear(clear);
      } catch (err) {
        this.failure ??= err;
        throw err;
      }
    });
    // The chain itself never rejects; each caller sees its own write's outcome.
    this.writes = done.catch(() => undefined);
    return done;
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new Error(`raft log store is unusable after a failed write: ${String(this.failure)}`, { cause: this.failure });
    }
  }

  private checkInvariants(): void {
    assert(this.log.firstIndex === this.offset.index + 1, () =>
      `log starts at ${this.log.firstIndex}, offset is ${this.offset.index}`);
    assert(this.offset.index <= this.snap.metadata.index && this.snap.metadata.index <= this.lastIndex(), () =>
      `offset ${this.offset.index} <= snapshot ${this.snap.metadata.index} <= last ${this.lastIndex()} does not hold`);
  }
}

function copyConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}
