// The power-cut emulation (server/util/power-cut.ts) on real RocksDB in a temp dir: synced
// writes survive the cut, unsynced ones after the last synced write do not (a copy of the
// same files opened without the cut still holds them: the cut, not the close, dropped them);
// a torn WAL tail is read as the end of the log; a WAL started after the last durable point
// is emptied (or removed: RocksDB opens either way); and across memtable switches and flushes (a small write buffer) what survives
// is a prefix of the writes that holds every synced one.
//
// POWER_CUT_SEED=N replays the randomized case with another seed.

import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DURABLE_POINTS_FILE, describePowerCut, dropUnsyncedWal, readDurablePoints, recordDurablePoint } from '../util/power-cut.js';
import { SeededRandom } from '../util/random.js';
import { recordingDurablePoints } from './durable-points.js';
import type { Engine } from './engine.js';
import { RocksEngine } from './rocksdb-engine.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-power-cut-'));
  dirs.push(dir);
  return dir;
}

const key = (i: number): Buffer => Buffer.from(`k${String(i).padStart(6, '0')}`);

async function put(db: Engine, i: number, sync: boolean, valueBytes = 100): Promise<void> {
  await db.write([{ type: 'put', key: key(i), value: Buffer.alloc(valueBytes, i % 251) }], { sync });
}

/** Which of keys 0..n-1 a plain open of `dir` holds. */
async function present(dir: string, n: number): Promise<boolean[]> {
  const db = await RocksEngine.open(dir, { create: false });
  try {
    const values = await db.getMany(Array.from({ length: n }, (_, i) => key(i)));
    return values.map((v) => v !== undefined);
  } finally {
    await db.close();
  }
}

async function walNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^\d+\.log$/.test(n)).sort();
}

describe('power-cut emulation on RocksDB (drop unsynced WAL bytes)', () => {
  it('keeps the synced writes and drops the unsynced ones after them', async () => {
    const dir = await tempDir();
    const db = recordingDurablePoints(await RocksEngine.open(dir), dir);
    for (let i = 0; i < 5; i++) await put(db, i, true);
    for (let i = 5; i < 10; i++) await put(db, i, false);
    await db.close();
    const uncut = `${dir}-uncut`;
    dirs.push(uncut);
    await cp(dir, uncut, { recursive: true });

    const r = await dropUnsyncedWal(dir);
    assert.equal(r.points, 6, 'one at open and one per synced write');
    assert.ok(r.droppedBytes > 0, describePowerCut(r));
    assert.deepEqual(await present(dir, 10), [true, true, true, true, true, false, false, false, false, false]);
    // The same files without the cut: a kill -9 or a close loses nothing the kernel has.
    assert.deepEqual(await present(uncut, 10), Array(10).fill(true));
  });

  it('reads a torn tail (the cut inside the first unsynced record) as the end of the log', async () => {
    const dir = await tempDir();
    const db = recordingDurablePoints(await RocksEngine.open(dir), dir);
    for (let i = 0; i < 3; i++) await put(db, i, true);
    await put(db, 3, false, 4000);
    await db.close();
    const { durable } = await readDurablePoints(dir);
    const [wal] = await walNames(dir);
    const kept = durable.get(wal!)!;
    assert.ok((await stat(join(dir, wal!))).size > kept + 100);
    // Half of the unsynced record's header and payload reached the disk.
    await truncate(join(dir, wal!), kept + 50);
    assert.deepEqual(await present(dir, 4), [true, true, true, false]);
  });

  it('empties a WAL started after the last durable point; the side file travels with the directory', async () => {
    const dir = await tempDir();
    let db = recordingDurablePoints(await RocksEngine.open(dir), dir);
    await put(db, 0, true);
    await db.close();
    // Reopened by a process that does not record: RocksDB flushed what it replayed and
    // started a new WAL, which holds an unsynced write and no durable point names.
    db = await RocksEngine.open(dir);
    await put(db, 1, false);
    await db.close();
    const r = await dropUnsyncedWal(dir);
    const fresh = r.wals.filter((w) => !w.recorded && w.size > 0);
    assert.equal(fresh.length, 1, describePowerCut(r));
    assert.equal(fresh[0]!.kept, 0);
    // A new file whose directory entry never reached the disk: RocksDB opens without it too.
    const removed = `${dir}-removed`;
    dirs.push(removed);
    await cp(dir, removed, { recursive: true });
    await unlink(join(removed, fresh[0]!.name));
    assert.deepEqual(await present(dir, 2), [true, false]);
    assert.deepEqual(await present(removed, 2), [true, false]);
    assert.ok((await readdir(dir)).includes(DURABLE_POINTS_FILE));
  });

  it('an open leaves nothing unsynced below its point: RocksDB flushes what it replayed and starts an empty WAL', async () => {
    const dir = await tempDir();
    let db = recordingDurablePoints(await RocksEngine.open(dir), dir);
    for (let i = 0; i < 5; i++) await put(db, i, false);
    await db.close(); // as a kill -9: the unsynced writes are in the WAL (the kernel has them)
    db = recordingDurablePoints(await RocksEngine.open(dir), dir);
    await db.close();
    const lines = (await readFile(join(dir, DURABLE_POINTS_FILE), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { why: string; wals: Record<string, number> });
    const reopen = lines.at(-1)!;
    assert.equal(reopen.why, 'open');
    assert.deepEqual(Object.values(reopen.wals), [0], JSON.stringify(lines));
    assert.deepEqual(await present(dir, 5), Array(5).fill(true));
  });

  it('the side file starts again from its newest point past its size bound, and the cut is the same', async () => {
    const dir = await tempDir();
    const db = await RocksEngine.open(dir);
    const boundBytes = 300;
    for (let i = 0; i < 20; i++) {
      await put(db, i, true);
      recordDurablePoint(dir, 'sync', boundBytes);
    }
    await put(db, 20, false);
    await db.close();
    assert.ok((await stat(join(dir, DURABLE_POINTS_FILE))).size <= boundBytes);
    const r = await dropUnsyncedWal(dir);
    assert.ok(r.droppedBytes > 0, describePowerCut(r));
    assert.deepEqual(await present(dir, 21), [...Array(20).fill(true), false]);
  });

  it('refuses to cut a directory where no durable point was recorded', async () => {
    const dir = await tempDir();
    const db = await RocksEngine.open(dir);
    await put(db, 0, true);
    await db.close();
    await assert.rejects(dropUnsyncedWal(dir), /did not record durable points.*--unsafe-record-durable-points/);
  });

  it('across memtable switches and flushes: a prefix of the writes survives, every synced one in it (randomized)', async () => {
    const seed = Number(process.env['POWER_CUT_SEED'] ?? Date.now() % 1_000_000);
    console.log(`power-cut randomized case: seed ${seed} (POWER_CUT_SEED=${seed} replays it)`);
    const random = new SeededRandom(seed);
    const dir = await tempDir();
    // 64 KiB memtables: a few hundred 1 KiB writes switch WALs and flush several times.
    const db = recordingDurablePoints(await RocksEngine.open(dir, { writeBufferSize: 64 * 1024 }), dir);
    const n = 600;
    let lastSynced = -1;
    for (let i = 0; i < n; i++) {
      const sync = random.next() < 0.1;
      await put(db, i, sync, 1024);
      if (sync) lastSynced = i;
    }
    await db.close();
    const r = await dropUnsyncedWal(dir);
    const held = await present(dir, n);
    const firstMissing = held.indexOf(false);
    const survived = firstMissing < 0 ? n : firstMissing;
    const detail = `seed ${seed}: last synced write ${lastSynced}, ${survived} survived; ${describePowerCut(r)}`;
    assert.ok(survived > lastSynced, `a synced write was lost: ${detail}`);
    assert.ok(held.slice(survived).every((h) => !h), `not a prefix: ${detail}`);
  });
});
