// The start-up checks of a RocksDB directory on real RocksDB in a temp dir: what the file
// names say, and the whole-database read in a child process (bad bytes never abort us).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspectRocksDir, verifyRocksDir } from './db-check.js';
import { RocksEngine } from './rocksdb-engine.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A database with SST files: small memtables, so ~2 MB of writes flush several. */
async function dbWithSsts(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-dbcheck-'));
  dirs.push(dir);
  const db = await RocksEngine.open(dir, { writeBufferSize: 256 * 1024 });
  for (let b = 0; b < 20; b++) {
    const ops = [];
    for (let i = 0; i < 100; i++) {
      // Half random (does not compress: stored raw), half repetitive (snappy blocks).
      const value = i % 2 === 0 ? randomBytes(1000) : Buffer.alloc(1000, i);
      ops.push({ type: 'put' as const, key: Buffer.from(`k${String(b * 100 + i).padStart(6, '0')}`), value });
    }
    await db.write(ops);
  }
  await db.close();
  return dir;
}

async function ssts(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.sst')).map((n) => join(dir, n));
}

/** Overwrites `len` bytes in the middle of `file` with random ones. */
async function scribble(file: string, len: number): Promise<void> {
  const size = (await stat(file)).size;
  const h = await open(file, 'r+');
  try {
    await h.write(randomBytes(Math.min(len, size)), 0, Math.min(len, size), Math.max(0, Math.floor(size / 2) - len / 2));
  } finally {
    await h.close();
  }
}

describe('db-check', () => {
  it('tells a new directory from a database and from the remains of one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'rs-dbcheck-'));
    dirs.push(empty);
    assert.deepEqual(await inspectRocksDir(join(empty, 'nothing')), { kind: 'absent' });
    assert.deepEqual(await inspectRocksDir(empty), { kind: 'absent' });
    const dir = await dbWithSsts();
    assert.deepEqual(await inspectRocksDir(dir), { kind: 'present' });
    const verified = await verifyRocksDir(dir);
    assert.equal(verified.ok, true);
    assert.equal(verified.ok === true ? verified.keys : -1, 2000);
    const manifest = (await readdir(dir)).find((n) => n.startsWith('MANIFEST-'))!;
    await unlink(join(dir, manifest));
    const noManifest = await inspectRocksDir(dir);
    assert.equal(noManifest.kind, 'damaged');
    await unlink(join(dir, 'CURRENT'));
    const noCurrent = await inspectRocksDir(dir);
    assert.equal(noCurrent.kind, 'damaged');
    assert.match(noCurrent.kind === 'damaged' ? noCurrent.reason : '', /CURRENT is missing/);
    // Opening it as existing-only fails and leaves every file in place.
    const before = (await readdir(dir)).filter((n) => n.endsWith('.sst')).sort();
    await assert.rejects(RocksEngine.open(dir, { create: false }));
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.sst')).sort(), before);
  });

  it('finds random bytes in an SST without dying of them', async () => {
    const dir = await dbWithSsts();
    const files = await ssts(dir);
    assert.ok(files.length > 0, 'the writes flushed SST files');
    for (const f of files) await scribble(f, 4096);
    const verified = await verifyRocksDir(dir);
    assert.equal(verified.ok, false, JSON.stringify(verified));
    console.log(`# damaged SSTs: ${JSON.stringify(verified)}`);
  });
});
