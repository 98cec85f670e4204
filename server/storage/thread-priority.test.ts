// RocksDB's background threads reniced behind the main thread (thread-priority.ts). Real
// RocksDB in a temp dir, real threads found in /proc/self/task; skipped off Linux.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RocksEngine } from './rocksdb-engine.js';
import { COMPACTION_THREAD_NICE, FLUSH_THREAD_NICE, backgroundNiceFor, lowerBackgroundThreadPriority } from './thread-priority.js';

test('the nice value per RocksDB thread name; other threads are left alone', () => {
  assert.equal(backgroundNiceFor('rocksdb:low0'), COMPACTION_THREAD_NICE);
  assert.equal(backgroundNiceFor('rocksdb:high0'), FLUSH_THREAD_NICE);
  assert.equal(backgroundNiceFor('rocksdb:bottom0'), COMPACTION_THREAD_NICE);
  assert.equal(backgroundNiceFor('node'), undefined);
  assert.equal(backgroundNiceFor('libuv-worker'), undefined);
  assert.ok(FLUSH_THREAD_NICE > 0 && FLUSH_THREAD_NICE <= COMPACTION_THREAD_NICE && COMPACTION_THREAD_NICE <= 19);
});

/** This process's RocksDB threads: tid, name and nice value (field 19 of /proc/.../stat). */
function rocksThreads(): Array<{ tid: number; comm: string; nice: number }> {
  const out: Array<{ tid: number; comm: string; nice: number }> = [];
  for (const name of readdirSync('/proc/self/task')) {
    try {
      const comm = readFileSync(`/proc/self/task/${name}/comm`, 'latin1').trim();
      if (!comm.startsWith('rocksdb:')) continue;
      const stat = readFileSync(`/proc/self/task/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: Number(name), comm, nice: Number(fields[16]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

test('an open database\'s flush and compaction threads are reniced, the main thread is not, and a second pass changes nothing', async (t) => {
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
    const changed = lowerBackgroundThreadPriority();
    for (const th of rocksThreads()) {
      const want = backgroundNiceFor(th.comm);
      if (want !== undefined) assert.ok(th.nice >= want, `${th.comm} (${th.tid}) at nice ${th.nice}, want ${want}`);
    }
    assert.ok(changed.every((c) => backgroundNiceFor(c.comm) === c.nice));
    assert.equal(getPriority(process.pid), mainBefore, 'the main thread keeps its priority');
    assert.deepEqual(lowerBackgroundThreadPriority(), [], 'nothing left to change');
    // Still a working database: a write goes through a (reniced) flush.
    await db.write([{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }]);
    assert.equal(Buffer.from((await db.get(Buffer.from('k')))!).toString(), 'v');
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory without tasks (not Linux) changes nothing and does not throw', () => {
  assert.deepEqual(lowerBackgroundThreadPriority('/nonexistent/task'), []);
});
