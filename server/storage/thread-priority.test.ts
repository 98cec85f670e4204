// RocksDB's background threads reniced behind the main thread (thread-priority.ts). Real
// RocksDB in a temp dir, real threads found in /proc/self/task; skipped off Linux.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RocksEngine } from './rocksdb-engine.js';
import { nodeThreads } from '../util/node-threads.js';
import {
  COMPACTION_THREAD_NICE, FLUSH_THREAD_NICE, NODE_NICE_VAR, ROCKSDB_NICE_VAR, V8_WORKER_NICE,
  backgroundNiceFor, lowerBackgroundThreadPriority, reniceGroupsFromEnv, threadNiceFor,
} from './thread-priority.js';

test('the nice value per RocksDB thread name; other threads are left alone', () => {
  assert.equal(backgroundNiceFor('rocksdb:low0'), COMPACTION_THREAD_NICE);
  assert.equal(backgroundNiceFor('rocksdb:high0'), FLUSH_THREAD_NICE);
  assert.equal(backgroundNiceFor('rocksdb:bottom0'), COMPACTION_THREAD_NICE);
  assert.equal(backgroundNiceFor('node'), undefined);
  assert.equal(backgroundNiceFor('libuv-worker'), undefined);
  assert.ok(FLUSH_THREAD_NICE > 0 && FLUSH_THREAD_NICE <= COMPACTION_THREAD_NICE && COMPACTION_THREAD_NICE <= 19);
});

test('the nice value per thread class: V8 workers when Node\'s group is on, RocksDB\'s threads when theirs is; never the main thread or libuv\'s pool', () => {
  const both = { rocksdb: true, node: true };
  assert.equal(threadNiceFor({ cls: 'v8-worker', comm: 'node' }, both), V8_WORKER_NICE);
  assert.equal(threadNiceFor({ cls: 'rocksdb:low0', comm: 'rocksdb:low0' }, both), COMPACTION_THREAD_NICE);
  for (const cls of ['main', 'libuv-pool', 'platform-delayed', 'inspector-signal', 'node-other']) assert.equal(threadNiceFor({ cls, comm: 'node' }, both), undefined, cls);
  assert.equal(threadNiceFor({ cls: 'v8-worker', comm: 'node' }, { rocksdb: true, node: false }), undefined);
  assert.equal(threadNiceFor({ cls: 'rocksdb:high0', comm: 'rocksdb:high0' }, { rocksdb: false, node: true }), undefined);
  // The main thread joins a parallel scavenge's helpers: they are lowered less than compaction.
  assert.ok(V8_WORKER_NICE > 0 && V8_WORKER_NICE < COMPACTION_THREAD_NICE);
  assert.deepEqual(reniceGroupsFromEnv({}), both);
  assert.deepEqual(reniceGroupsFromEnv({ [ROCKSDB_NICE_VAR]: 'off' }), { rocksdb: false, node: true });
  assert.deepEqual(reniceGroupsFromEnv({ [NODE_NICE_VAR]: 'off' }), { rocksdb: true, node: false });
});

/** This process's threads with their class and nice value (field 19 of /proc/.../stat). */
function threadsWithNice(): Array<{ tid: number; comm: string; cls: string; nice: number }> {
  const out: Array<{ tid: number; comm: string; cls: string; nice: number }> = [];
  for (const th of nodeThreads()) {
    try {
      const stat = readFileSync(`/proc/self/task/${th.tid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ ...th, nice: Number(fields[16]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
const rocksThreads = (): ReturnType<typeof threadsWithNice> => threadsWithNice().filter((th) => th.comm.startsWith('rocksdb:'));

test('an open database\'s flush and compaction threads and V8\'s workers are reniced, the main thread and libuv\'s pool are not, and a second pass changes nothing', async (t) => {
  if (!existsSync('/proc/self/task')) {
    t.skip('not Linux: no /proc/self/task, nothing to renice');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'rs-thread-priority-'));
  const db = await RocksEngine.open(dir);
  try {
    const mainBefore = getPriority(process.pid);
    const before = rocksThreads();
    assert.ok(before.some((th) => th.comm.startsWith('rocksdb:low')), `a compaction thread runs: ${JSON.stringify(before)}`);
    assert.ok(before.some((th) => th.comm.startsWith('rocksdb:high')), `a flush thread runs: ${JSON.stringify(before)}`);
    const groups = { rocksdb: true, node: true };
    const changed = lowerBackgroundThreadPriority(groups);
    const after = threadsWithNice();
    for (const th of after) {
      const want = threadNiceFor(th, groups);
      if (want !== undefined) assert.ok(th.nice >= want, `${th.cls} (${th.tid}) at nice ${th.nice}, want ${want}`);
    }
    assert.ok(after.some((th) => th.cls === 'v8-worker' && th.nice >= V8_WORKER_NICE), JSON.stringify(after));
    assert.ok(after.filter((th) => th.cls === 'libuv-pool').every((th) => th.nice === getPriority(process.pid)), JSON.stringify(after));
    assert.ok(changed.every((c) => (c.comm === 'v8-worker' && c.nice === V8_WORKER_NICE) || backgroundNiceFor(c.comm) === c.nice));
    assert.equal(getPriority(process.pid), mainBefore, 'the main thread keeps its priority');
    assert.deepEqual(lowerBackgroundThreadPriority(groups), [], 'nothing left to change');
    // Still a working database: a write goes through a (reniced) flush.
    await db.write([{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }]);
    assert.equal(Buffer.from((await db.get(Buffer.from('k')))!).toString(), 'v');
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a /proc without tasks (not Linux) changes nothing and does not throw', () => {
  assert.deepEqual(lowerBackgroundThreadPriority({ rocksdb: true, node: true }, '/nonexistent'), []);
});
