// Alarms in the replicated state: etcd's answers to GET / ACTIVATE / DEACTIVATE, what a
// NOSPACE or CORRUPT alarm refuses (etcd's capped and corrupt appliers), and that the
// set survives a restart and a snapshot install.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRocksEngine } from '../storage/rocksdb-engine.js';
import { installStateSnapshot, readStateSnapshot } from '../storage/state-snapshot.js';
import { MvccStore } from './store.js';
import { b, type Harness, withHarness } from './testing/harness.js';
import { AlarmAction, AlarmType, type Command, type CommandResponse, type RequestOp } from './types.js';

const { GET, ACTIVATE, DEACTIVATE } = AlarmAction;
const { NONE, NOSPACE, CORRUPT } = AlarmType;

async function alarm(h: Harness, action: AlarmAction, memberId: number, type: AlarmType): Promise<Array<[number, number]>> {
  const res = await h.apply({ type: 'alarm', alarm: { action, memberId, alarm: type } });
  assert.equal(res.type, 'alarm');
  return res.type === 'alarm' ? res.alarm.alarms.map((a) => [a.memberId, a.alarm]) : [];
}

const put = (k: string): RequestOp => ({ type: 'put', put: { key: b(k), value: b('v') } });
const NO_SPACE = { type: 'error', code: 'no-space', message: 'etcdserver: mvcc: database space exceeded' };
const CORRUPTED = { type: 'error', code: 'corrupt', message: 'etcdserver: corrupt cluster' };

function outcome(res: CommandResponse): unknown {
  return res.type === 'error' ? res : 'ok';
}

test('alarm: activate, list, deactivate as etcd answers them', () =>
  withHarness(async (h) => {
    assert.deepEqual(await alarm(h, GET, 0, NONE), []);
    assert.deepEqual(await alarm(h, ACTIVATE, 9, NONE), [], 'activating NONE does nothing (etcd 3.5)');
    assert.deepEqual(await alarm(h, ACTIVATE, 9, NOSPACE), [[9, NOSPACE]]);
    assert.deepEqual(await alarm(h, ACTIVATE, 9, NOSPACE), [[9, NOSPACE]], 'again: the same alarm, once');
    assert.deepEqual(await alarm(h, ACTIVATE, 3, NOSPACE), [[3, NOSPACE]]);
    assert.deepEqual(await alarm(h, GET, 0, NONE), [[3, NOSPACE], [9, NOSPACE]]);
    assert.deepEqual(await alarm(h, GET, 0, CORRUPT), []);
    assert.deepEqual(await alarm(h, DEACTIVATE, 9, CORRUPT), [], 'not active: nothing removed');
    assert.deepEqual(await alarm(h, DEACTIVATE, 9, NOSPACE), [[9, NOSPACE]]);
    assert.deepEqual(h.store.alarms(), [{ memberId: 3, alarm: NOSPACE }]);
    assert.equal(h.store.currentRevision, 1, 'alarms are not key-value writes');
  }));

test('alarm: NOSPACE refuses puts, txns with a put anywhere and lease grants; deletes, reads, revokes and compaction go on', () =>
  withHarness(async (h) => {
    await h.put('k', '1');
    await h.apply({ type: 'leaseGrant', leaseGrant: { id: 5, ttl: 60 } });
    await alarm(h, ACTIVATE, 1, NOSPACE);
    const cases: Array<[string, Command, unknown]> = [
      ['put', { type: 'put', put: { key: b('k2'), value: b('v') } }, NO_SPACE],
      ['txn put in failure', { type: 'txn', txn: { compare: [], success: [], failure: [put('x')] } }, NO_SPACE],
      ['txn nested put', { type: 'txn', txn: { compare: [], success: [{ type: 'txn', txn: { compare: [], success: [put('x')], failure: [] } }], failure: [] } }, NO_SPACE],
      ['lease grant', { type: 'leaseGrant', leaseGrant: { id: 6, ttl: 60 } }, NO_SPACE],
      ['txn delete', { type: 'txn', txn: { compare: [], success: [{ type: 'deleteRange', deleteRange: { key: b('nothing') } }], failure: [] } }, 'ok'],
      ['delete', { type: 'deleteRange', deleteRange: { key: b('k') } }, 'ok'],
      ['lease revoke', { type: 'leaseRevoke', leaseRevoke: { id: 5 } }, 'ok'],
      ['compact', { type: 'compact', compact: { revision: 2 } }, 'ok'],
    ];
    for (const [name, cmd, want] of cases) assert.deepEqual(outcome(await h.apply(cmd)), want, name);
    assert.deepEqual((await h.get('k')).kvs, [], 'reads work');
    await alarm(h, DEACTIVATE, 1, NOSPACE);
    assert.equal((await h.put('k2', 'v')).revision, h.store.currentRevision, 'writes again once disarmed');
  }));

test('alarm: CORRUPT refuses every write, compaction and lease change; reads work', () =>
  withHarness(async (h) => {
    await h.put('k', '1');
    await h.apply({ type: 'leaseGrant', leaseGrant: { id: 5, ttl: 60 } });
    await alarm(h, ACTIVATE, 1, CORRUPT);
    const cmds: Command[] = [
      { type: 'put', put: { key: b('k'), value: b('v') } },
      { type: 'deleteRange', deleteRange: { key: b('k') } },
      { type: 'txn', txn: { compare: [], success: [{ type: 'deleteRange', deleteRange: { key: b('k') } }], failure: [] } },
      { type: 'compact', compact: { revision: 2 } },
      { type: 'leaseGrant', leaseGrant: { id: 6, ttl: 60 } },
      { type: 'leaseRevoke', leaseRevoke: { id: 5 } },
    ];
    for (const cmd of cmds) assert.deepEqual(outcome(await h.apply(cmd)), CORRUPTED, cmd.type);
    assert.equal(await h.value('k'), '1');
  }));

test('alarm: the set survives a restart and a snapshot install', () =>
  withHarness(async (h) => {
    await alarm(h, ACTIVATE, 7, NOSPACE);
    await alarm(h, ACTIVATE, 8, CORRUPT);
    await h.reopen();
    assert.deepEqual(await alarm(h, GET, 0, NONE), [[7, NOSPACE], [8, CORRUPT]]);
    assert.deepEqual(outcome(await h.apply({ type: 'put', put: { key: b('k'), value: b('v') } })), CORRUPTED);
    const dir = await mkdtemp(join(tmpdir(), 'mvcc-alarm-'));
    try {
      const engine = await installStateSnapshot(dir, readStateSnapshot(h.engine), openRocksEngine);
      const copy = await MvccStore.open(engine);
      assert.deepEqual(copy.alarms(), h.store.alarms());
      await copy.idle();
      await engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }));
