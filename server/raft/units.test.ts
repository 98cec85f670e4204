// Unit tests of the small parts: MemoryStorage, the unstable log, quorum, inflights.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inflights } from './inflights.js';
import { Unstable } from './log-unstable.js';
import { MemoryStorage } from './memory-storage.js';
import { committedIndex, voteResult } from './quorum.js';
import { entry } from './testing/harness.js';
import { StorageError } from './types.js';

const kind = (k: string) => (e: unknown) => e instanceof StorageError && e.kind === k;

describe('MemoryStorage', () => {
  it('appends, truncates a conflicting suffix, compacts and snapshots', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2)]);
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(2)], [1, 2, 2]);
    s.append([entry(3, 2), entry(4, 2)]);
    s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array([7]));
    s.compact(3);
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(3)], [4, 4, 2]);
    assert.throws(() => s.entries(3, 5, 100), kind('compacted'));
    assert.throws(() => s.entries(4, 6, 100), kind('unavailable'));
    assert.throws(() => s.term(2), kind('compacted'));
    assert.throws(() => s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array()), kind('snapshot-out-of-date'));
    s.append([entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2), entry(5, 2)]); // compacted prefix skipped
    assert.equal(s.lastIndex(), 5);
  });

  it('entries() honours maxBytes but returns at least one entry', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, new Uint8Array(100)), entry(2, 1, new Uint8Array(100))]);
    assert.equal(s.entries(1, 3, 10).length, 1);
    assert.equal(s.entries(1, 3, 1000).length, 2);
  });

  it('applySnapshot replaces the log and the membership', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1)]);
    s.applySnapshot({ metadata: { index: 10, term: 3, confState: { voters: [1, 2], learners: [3] } }, data: new Uint8Array() });
    assert.deepEqual([s.firstIndex(), s.lastIndex(), s.term(10)], [11, 10, 3]);
    assert.deepEqual(s.initialState().confState, { voters: [1, 2], learners: [3] });
  });
});

describe('Unstable', () => {
  it('hands out entries once, and a conflicting append re-offers the replaced suffix', () => {
    const u = new Unstable(5);
    u.truncateAndAppend([entry(5, 1), entry(6, 1), entry(7, 1)]);
    assert.equal(u.nextEntries().length, 3);
    u.acceptInProgress();
    assert.equal(u.nextEntries().length, 0);
    u.truncateAndAppend([entry(6, 2)]);
    assert.deepEqual(u.nextEntries().map((e) => [e.index, e.term]), [[6, 2]]);
    u.stableTo(7, 1); // the Ready carried (7, 1), replaced meanwhile: ignored
    assert.equal(u.offset, 5);
    u.stableTo(5, 1);
    assert.equal(u.offset, 6);
  });
});

describe('quorum', () => {
  it('commits the majority-acknowledged index', () => {
    const acked: Record<number, number> = { 1: 5, 2: 3, 3: 9 };
    assert.equal(committedIndex(new Set([1, 2, 3]), (id) => acked[id]!), 5);
    assert.equal(committedIndex(new Set([1, 2]), (id) => acked[id]!), 3);
    assert.equal(committedIndex(new Set(), () => 1), 0);
  });

  it('decides votes', () => {
    const voters = new Set([1, 2, 3, 4, 5]);
    assert.equal(voteResult(voters, new Map([[1, true], [2, true]])), 'pending');
    assert.equal(voteResult(voters, new Map([[1, true], [2, true], [3, true]])), 'won');
    assert.equal(voteResult(voters, new Map([[1, false], [2, false], [3, false]])), 'lost');
  });
});

describe('Inflights', () => {
  it('is full at maxMsgs or maxBytes and frees up to an index', () => {
    const f = new Inflights(3, 100);
    f.add(1, 10);
    f.add(2, 10);
    assert.equal(f.full(), false);
    f.add(3, 10);
    assert.equal(f.full(), true);
    f.freeLE(2);
    assert.deepEqual([f.count(), f.inflightBytes(), f.full()], [1, 10, false]);
    f.add(4, 90);
    assert.equal(f.full(), true, 'bytes');
  });
});
