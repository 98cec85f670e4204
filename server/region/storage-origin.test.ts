// Which database a corruption came from (storage-origin.ts): real RocksDB errors from a
// damaged SST in a member-shaped data directory (raft/ and state.<n>/), and the marks of
// the Ready loop for errors that name no file.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RocksEngine } from '../storage/index.js';
import { chooseRocksdbBinding } from '../storage/rocksdb-binding.js';
import { fromDb, markDb, storageDbOf } from './storage-origin.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The error RocksDB gives for bad bytes in the SST of the database at `dir` (read with checksums). */
async function corruptionIn(dir: string): Promise<Error> {
  let db = await RocksEngine.open(dir, { writeBufferSize: 64 * 1024 });
  await db.write(Array.from({ length: 400 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`k${String(i).padStart(4, '0')}`), value: randomBytes(500) })));
  await db.close(); // the WAL is replayed into an SST at the next open
  db = await RocksEngine.open(dir, { create: false });
  await db.close();
  const sst = (await readdir(dir)).find((n) => n.endsWith('.sst'));
  assert.ok(sst !== undefined, `an SST in ${dir}`);
  const file = join(dir, sst);
  const h = await open(file, 'r+');
  try {
    await h.write(randomBytes(4096), 0, 4096, Math.floor((await stat(file)).size / 4));
  } finally {
    await h.close();
  }
  db = await RocksEngine.open(dir, { create: false });
  try {
    const keys = Array.from({ length: 400 }, (_, i) => Buffer.from(`k${String(i).padStart(4, '0')}`));
    await db.getMany(keys);
  } catch (err) {
    return err as Error;
  } finally {
    await db.close();
  }
  assert.fail(`no error reading ${file} after its bytes were changed`);
}

/** With the prebuilt binary some bad bytes abort the process: only the release build is read here. */
const binding = chooseRocksdbBinding();
const skip = binding.kind === 'release' ? undefined : `the rocksdb release build is not there (${binding.reason})`;
if (skip !== undefined) console.error(`\n!!! SKIPPING the real-corruption case: ${skip} !!!\n`);

describe('storage-origin', () => {
  it('a bad block names its file: raft/ or the live state.<n>/, whatever the call site marked', { skip }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rs-origin-'));
    dirs.push(dataDir);
    const raftErr = await corruptionIn(join(dataDir, 'raft'));
    const stateErr = await corruptionIn(join(dataDir, 'state.3'));
    assert.match(raftErr.message, /^Corruption:/);
    markDb(raftErr, 'state'); // a wrong mark loses to the file named
    assert.equal(storageDbOf(raftErr, dataDir, 'state'), 'raft', raftErr.message);
    assert.equal(storageDbOf(stateErr, dataDir, 'raft'), 'state', stateErr.message);
  });

  it('an error that names no file: the first mark, else the fallback', async () => {
    const err = new Error('Corruption: bad entry in block');
    assert.equal(storageDbOf(err, '/data/n1', 'state'), 'state');
    await assert.rejects(fromDb(fromDb(Promise.reject(err), 'raft'), 'state'));
    assert.equal(storageDbOf(err, '/data/n1', 'state'), 'raft', 'the mark nearest the engine wins');
    assert.equal(storageDbOf('not an error', '/data/n1', 'raft'), 'raft');
  });
});
