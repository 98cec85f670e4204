// The cases of etcd's storage_test.go (MemoryStorage), then durability on real RocksDB.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Entry, type Snapshot, StorageError, entrySize } from '../raft/types.js';
import type { Engine } from './engine.js';
import { MemoryEngine } from './memory-engine.js';
import { RaftLogStore } from './raft-log-store.js';
import { openRocksEngine } from './rocksdb-engine.js';
import { ENTRY_SLAB_BYTES } from './entry-slabs.js';
import { RAFT_LOG_OFFSET_KEY, RaftKeyspace, keyspaceRange, raftEntryIndex, raftEntryKey } from './keys.js';
import { encodeEntry } from '../../proto/raft-codec.js';

const ent = (index: number, term: number, data = ''): Entry => ({ index, term, type: 0, data: new TextEncoder().encode(data) });
const snap = (index: number, term: number, voters = [1, 2, 3]): Snapshot => ({
  metadata: { index, term, confState: { voters, learners: [] } },
  data: new Uint8Array(0),
});
const pairs = (es: Entry[]): Array<[number, number]> => es.map((e) => [e.index, e.term]);
const all = (s: RaftLogStore): Array<[number, number]> =>
  pairs(s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity));

function throwsKind(fn: () => unknown, kind: StorageError['kind']): void {
  assert.throws(fn, (err: unknown) => err instanceof StorageError && err.kind === kind);
}

/** etcd's fixture: a dummy entry {3,3} then {4,4}, {5,5}: here, a snapshot at 3 and two entries. */
async function fixture(extra: Entry[] = [], engine: Engine = new MemoryEngine()): Promise<RaftLogStore> {
  const s = await RaftLogStore.open(engine);
  await s.applySnapshot(snap(3, 3));
  await s.save({ entries: [ent(4, 4), ent(5, 5), ...extra] }, true);
  return s;
}

describe('RaftLogStore (etcd MemoryStorage cases)', () => {
  it('starts empty', async () => {
    const s = await RaftLogStore.open(new MemoryEngine());
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.deepEqual(s.initialState(), { hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: [], learners: [] } });
    assert.deepEqual(s.entries(1, 1, 100), []);
    throwsKind(() => s.entries(1, 2, 100), 'unavailable');
  });

  it('term: compacted below the offset, known at it, unavailable past the end', async () => {
    const s = await fixture();
    throwsKind(() => s.term(2), 'compacted');
    assert.equal(s.term(3), 3);
    assert.equal(s.term(4), 4);
    assert.equal(s.term(5), 5);
    throwsKind(() => s.term(6), 'unavailable');
  });

  it('entries: bounds and maxBytes (always at least one)', async () => {
    const s = await fixture([ent(6, 6)]);
    const [e4, e5, e6] = [ent(4, 4), ent(5, 5), ent(6, 6)].map(entrySize) as [number, number, number];
    throwsKind(() => s.entries(2, 6, Infinity), 'compacted');
    throwsKind(() => s.entries(3, 4, Infinity), 'compacted');
    throwsKind(() => s.entries(4, 8, Infinity), 'unavailable');
    assert.deepEqual(pairs(s.entries(4, 5, Infinity)), [[4, 4]]);
    assert.deepEqual(pairs(s.entries(4, 6, Infinity)), [[4, 4], [5, 5]]);
    assert.deepEqual(pairs(s.entries(4, 7, Infinity)), [[4, 4], [5, 5], [6, 6]]);
    assert.deepEqual(pairs(s.entries(4, 7, 0)), [[4, 4]]);
    assert.deepEqual(pairs(s.entries(4, 7, e4 + e5)), [[4, 4], [5, 5]]);
    assert.deepEqual(pairs(s.entries(4, 7, e4 + e5 + e6 / 2)), [[4, 4], [5, 5]]);
    assert.deepEqual(pairs(s.entries(4, 7, e4 + e5 + e6 - 1)), [[4, 4], [5, 5]]);
    assert.deepEqual(pairs(s.entries(4, 7, e4 + e5 + e6)), [[4, 4], [5, 5], [6, 6]]);
  });

  it('first and last index', async () => {
    const s = await fixture();
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.lastIndex(), 5);
    await s.save({ entries: [ent(6, 5)] }, true);
    assert.equal(s.lastIndex(), 6);
  });

  it('compact: refuses what is compacted, keeps the term of the compaction point', async () => {
    const s = await fixture();
    await s.createSnapshot(5, { voters: [1], learners: [] }, new Uint8Array(0));
    throwsKind(() => s.compact(2), 'compacted');
    throwsKind(() => s.compact(3), 'compacted');
    await s.compact(4);
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.term(4), 4);
    assert.deepEqual(all(s), [[5, 5]]);
    await s.compact(5);
    assert.equal(s.firstIndex(), 6);
    assert.equal(s.lastIndex(), 5);
    assert.equal(s.term(5), 5);
    assert.equal(s.snapshot().metadata.index, 5);
  });

  it('compact never passes the latest snapshot', async () => {
    const s = await fixture();
    assert.throws(() => s.compact(4), /passes the latest snapshot/);
  });

  it('createSnapshot records index, term and conf state; refuses an older one', async () => {
    const s = await fixture();
    const cs = { voters: [1, 2, 3], learners: [4] };
    const data = Uint8Array.of(1, 2, 3);
    const got = await s.createSnapshot(4, cs, data);
    assert.deepEqual(got, { metadata: { index: 4, term: 4, confState: cs }, data });
    assert.deepEqual(s.snapshot(), got);
    assert.deepEqual(s.initialState().confState, cs);
    assert.equal(s.firstIndex(), 4, 'a snapshot alone does not compact');
    await s.createSnapshot(5, cs, data);
    assert.equal(s.snapshot().metadata.term, 5);
    throwsKind(() => s.createSnapshot(5, cs, data), 'snapshot-out-of-date');
    throwsKind(() => s.createSnapshot(3, cs, data), 'snapshot-out-of-date');
  });

  const appendCases: Array<[string, Entry[], Array<[number, number]>]> = [
    ['the same entries', [ent(3, 3), ent(4, 4), ent(5, 5)], [[4, 4], [5, 5]]],
    ['conflicting terms', [ent(3, 3), ent(4, 6), ent(5, 6)], [[4, 6], [5, 6]]],
    ['one more', [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)], [[4, 4], [5, 5], [6, 5]]],
    ['starting below the compaction point', [ent(2, 3), ent(3, 3), ent(4, 5)], [[4, 5]]],
    ['a truncation', [ent(4, 5)], [[4, 5]]],
    ['a direct append', [ent(6, 5)], [[4, 4], [5, 5], [6, 5]]],
    ['only compacted entries', [ent(2, 2), ent(3, 3)], [[4, 4], [5, 5]]],
  ];
  for (const [name, entries, want] of appendCases) {
    it(`append: ${name}`, async () => {
      const s = await fixture();
      await s.save({ entries }, true);
      assert.deepEqual(all(s), want);
      assert.equal(s.term(3), 3);
    });
  }

  it('append with a gap fails loudly', async () => {
    const s = await fixture();
    assert.throws(() => s.save({ entries: [ent(7, 5)] }, true), /missing log entries/);
  });

  it('applySnapshot drops the log; an older snapshot is out of date', async () => {
    const s = await fixture();
    await s.applySnapshot(snap(4, 4));
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.lastIndex(), 4);
    assert.equal(s.term(4), 4);
    throwsKind(() => s.applySnapshot(snap(3, 3)), 'snapshot-out-of-date');
    await s.applySnapshot(snap(10, 7, [1]));
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.term(10), 7);
    assert.deepEqual(s.initialState().confState.voters, [1]);
  });

  it('reflects a save at once, before the write resolves', async () => {
    const s = await fixture();
    const pending = s.save({ entries: [ent(6, 6)], hardState: { term: 6, vote: 2, commit: 5 } }, true);
    assert.equal(s.lastIndex(), 6);
    assert.equal(s.initialState().hardState.vote, 2);
    await pending;
  });
});

describe('RaftLogStore on RocksDB', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'regionstore-raftlog-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps log, hard state, snapshot and compaction across close and reopen', async () => {
    const dir = join(root, 'a');
    let engine = await openRocksEngine(dir);
    let s = await RaftLogStore.open(engine);
    const entries = Array.from({ length: 20 }, (_, i) => ent(i + 1, 1 + Math.floor(i / 5), `data-${i + 1}`));
    // Several saves in flight at once, as the Ready loop issues them.
    const writes = [
      s.save({ entries: entries.slice(0, 10), hardState: { term: 2, vote: 1, commit: 3 } }, true),
      s.save({ entries: entries.slice(10) }, false),
      s.save({ entries: [ent(15, 9, 'new-15')], hardState: { term: 9, vote: 3, commit: 12 } }, true), // truncates 16..20
    ];
    await Promise.all(writes);
    await s.createSnapshot(10, { voters: [1, 2, 3], learners: [4] }, Uint8Array.of(7));
    await s.compact(8);
    await engine.close();

    engine = await openRocksEngine(dir);
    s = await RaftLogStore.open(engine);
    assert.equal(s.firstIndex(), 9);
    assert.equal(s.lastIndex(), 15);
    assert.equal(s.term(8), 2);
    throwsKind(() => s.term(7), 'compacted');
    assert.deepEqual(s.initialState(), {
      hardState: { term: 9, vote: 3, commit: 12 },
      confState: { voters: [1, 2, 3], learners: [4] },
    });
    assert.deepEqual(s.snapshot(), { metadata: { index: 10, term: 2, confState: { voters: [1, 2, 3], learners: [4] } }, data: Uint8Array.of(7) });
    const got = s.entries(9, 16, Infinity);
    assert.deepEqual(got.map((e) => new TextDecoder().decode(e.data)), [
      'data-9', 'data-10', 'data-11', 'data-12', 'data-13', 'data-14', 'new-15',
    ]);
    await engine.close();
  });

  it('keeps an installed snapshot and the entries after it', async () => {
    const dir = join(root, 'b');
    let engine = await openRocksEngine(dir);
    let s = await fixture([ent(6, 5)], engine);
    await s.save({ snapshot: snap(50, 8, [2, 3]), entries: [ent(51, 8), ent(52, 8)], hardState: { term: 8, vote: 0, commit: 50 } }, true);
    await engine.close();
    engine = await openRocksEngine(dir);
    s = await RaftLogStore.open(engine);
    assert.equal(s.firstIndex(), 51);
    assert.equal(s.term(50), 8);
    assert.deepEqual(all(s), [[51, 8], [52, 8]]);
    assert.deepEqual(s.initialState().confState.voters, [2, 3]);
    // No stale entry of the old log is left on disk.
    let count = 0;
    for await (const _ of engine.iterate({ gte: Uint8Array.of(0x01), lt: Uint8Array.of(0x02) })) count++;
    assert.equal(count, 2);
    await engine.close();
  });

  it('compaction leaves no entry at or below the offset on disk, also after a crash between its two writes', async () => {
    const dir = join(root, 'c');
    let engine = await openRocksEngine(dir);
    let s = await RaftLogStore.open(engine);
    await s.save({ entries: Array.from({ length: 30 }, (_, i) => ent(i + 1, 1, `d${i + 1}`)) }, true);
    await s.createSnapshot(20, { voters: [1], learners: [] }, new Uint8Array(0));
    await s.compact(10);
    await s.compact(15);
    assert.deepEqual(await entryKeysOnDisk(engine), range(16, 30));
    // The crash: the offset (written first) landed, the range delete after it did not.
    await engine.write([{ type: 'put', key: raftEntryKey(5), value: encodeEntry(ent(5, 1, 'stale')) }]);
    await engine.write([{ type: 'put', key: RAFT_LOG_OFFSET_KEY, value: encodeEntry({ ...ent(18, 1), data: new Uint8Array(0) }) }]);
    await engine.close();
    engine = await openRocksEngine(dir);
    s = await RaftLogStore.open(engine);
    assert.equal(s.firstIndex(), 19);
    assert.deepEqual(await entryKeysOnDisk(engine), range(19, 30));
    assert.deepEqual(all(s), range(19, 30).map((i) => [i, 1]));
    await engine.close();
  });
});

describe('RaftLogStore off-heap log (slabs)', () => {
  it('holds entries across many slabs, larger than a slab too, and frees slabs behind compaction', async () => {
    const s = await RaftLogStore.open(new MemoryEngine());
    for (let i = 1; i <= 200; i += 10) await s.save({ entries: Array.from({ length: 10 }, (_, k) => big(i + k)) }, false);
    const held = s.slabBytes();
    assert.ok(held >= 200 * 40_000, `slabs hold ${held} bytes`);
    for (const e of s.entries(1, 201, Infinity)) assert.deepEqual(e, big(e.index));
    await s.createSnapshot(190, { voters: [1], learners: [] }, new Uint8Array(0));
    await s.compact(190);
    assert.ok(s.slabBytes() < held / 4, `after compaction slabs hold ${s.slabBytes()} of ${held} bytes`);
    assert.deepEqual(s.entries(191, 201, Infinity).map((e) => e.data[0]), range(191, 200).map((i) => i % 251));
    assert.equal(s.memoryBytes(), range(191, 200).reduce((n, i) => n + entrySize(big(i)), 0));
  });

  it('a held log costs the JS heap a few bytes per entry, not an object graph (issue 20)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s = await RaftLogStore.open(new DiscardingEngine());
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 1; i <= HELD_ENTRIES; i += 64) {
      await s.save({ entries: Array.from({ length: 64 }, (_, k) => ent(i + k, 1, 'x'.repeat(300))) }, false);
    }
    await s.flush();
    gc();
    const perEntry = (process.memoryUsage().heapUsed - heapBefore) / HELD_ENTRIES;
    // Entry objects held were ~260 bytes each (measured before the slabs).
    assert.ok(perEntry < HELD_HEAP_BYTES_PER_ENTRY_MAX, `${perEntry.toFixed(0)} bytes of JS heap per held entry`);
    assert.equal(s.lastIndex(), HELD_ENTRIES - 1 + 64 - ((HELD_ENTRIES - 1) % 64));
  });

  it('a truncated suffix is replaced by the new entries (the old bytes stay unreachable)', async () => {
    const s = await fixture([ent(6, 5, 'old-6'), ent(7, 5, 'old-7')]);
    await s.save({ entries: [ent(6, 6, 'new-6')] }, false);
    assert.deepEqual(s.entries(4, 7, Infinity).map((e) => [e.index, e.term, new TextDecoder().decode(e.data)]), [[4, 4, ''], [5, 5, ''], [6, 6, 'new-6']]);
    throwsKind(() => s.term(7), 'unavailable');
    assert.equal(s.memoryBytes(), [ent(4, 4), ent(5, 5), ent(6, 6, 'new-6')].reduce((n, e) => n + entrySize(e), 0));
  });
});

/** The most a member holds with the default cadence (a snapshot every 10k entries, 5k kept). */
const HELD_ENTRIES = 15_000;
/** JS heap per held entry, beyond which the log is back in the heap as objects. */
const HELD_HEAP_BYTES_PER_ENTRY_MAX = 100;

/** Entry i: 40 KB, or (every 7th) more than a slab. */
function big(i: number): Entry {
  return { index: i, term: 1, type: 0, data: new Uint8Array(i % 7 === 0 ? ENTRY_SLAB_BYTES + 5 : 40_000).fill(i % 251) };
}

/** Writes are dropped: the heap measured is the store's, not a MemoryEngine's copies. */
class DiscardingEngine extends MemoryEngine {
  override async write(): Promise<void> {}
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

async function entryKeysOnDisk(engine: Engine): Promise<number[]> {
  const out: number[] = [];
  for await (const [key] of engine.iterate(keyspaceRange(RaftKeyspace.Entry))) out.push(raftEntryIndex(key));
  return out;
}
