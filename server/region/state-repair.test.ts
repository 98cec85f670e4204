// The books of a state rebuild (state-repair.ts): what is applied while waiting for the
// leader's snapshot, what is handed out again after it, and when the member serves again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryType, type Entry } from '../raft/index.js';
import { StateRepair } from './state-repair.js';

const normal = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(1) });
const conf = (index: number): Entry => ({ index, term: 1, type: EntryType.ConfChange, data: new Uint8Array(1) });

describe('StateRepair', () => {
  it('waiting for the snapshot applies only conf changes, and skips them when handed out again', () => {
    const r = new StateRepair();
    r.start('corrupt', 'x', 'snapshot', 10, 0);
    assert.match(r.problem() ?? '', /waiting for a snapshot from the leader/);
    assert.deepEqual(r.filterCommitted([normal(11), conf(12), normal(13)]).map((e) => e.index), [12]);
    assert.equal(r.maybeDone(100), undefined, 'never done while waiting for the snapshot');
    assert.equal(r.onSnapshotInstalled(9, 20, 13), false, 'a snapshot older than the log is not enough');
    assert.equal(r.onSnapshotInstalled(10, 5, 13), true);
    assert.deepEqual(r.filterCommitted([normal(11), conf(12), normal(13)]).map((e) => e.index), [11, 13]);
    assert.equal(r.maybeDone(12), undefined);
    assert.match(r.problem() ?? '', /catching up to 13/);
    assert.equal(r.maybeDone(13)?.reason, 'corrupt');
    assert.equal(r.problem(), undefined);
    assert.deepEqual(r.filterCommitted([conf(14)]).map((e) => e.index), [14]);
  });

  it('a replay serves again once it reached the commit index it knew', () => {
    const r = new StateRepair();
    r.start('missing', 'gone', 'replay', 7, 0);
    assert.deepEqual(r.filterCommitted([conf(1), normal(2)]).map((e) => e.index), [1, 2]);
    assert.equal(r.maybeDone(6), undefined);
    assert.equal(r.maybeDone(7)?.reason, 'missing');
  });
});
