// RocksEngine.write builds a big batch across turns of the event loop (so Raft's timers
// keep running while a 10k-key delete is copied into the native batch), bounded both by
// bytes and by ops: a batch of many tiny ops (tombstones) is small in bytes but not in
// binding calls. Real RocksDB in a temp dir; counted by setImmediate turns, not by time.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchOp } from './engine.js';
import { ROCKSDB_WRITE_YIELD_OPS, RocksEngine } from './rocksdb-engine.js';

/** Turns of the event loop (setImmediate callbacks) that ran while `p` was pending. */
async function turnsDuring(p: Promise<void>): Promise<number> {
  let done = false;
  let turns = 0;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await p;
  } finally {
    done = true;
  }
  return turns;
}

test('a write of many tiny ops yields every ROCKSDB_WRITE_YIELD_OPS ops, and writes them all at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-write-yield-'));
  const db = await RocksEngine.open(dir);
  try {
    const n = 4 * ROCKSDB_WRITE_YIELD_OPS;
    const puts: BatchOp[] = [];
    for (let i = 0; i < n; i++) puts.push({ type: 'put', key: Buffer.from(`k${String(i).padStart(6, '0')}`), value: Buffer.from('v') });
    // Far below ROCKSDB_WRITE_YIELD_BYTES (~10 bytes per op): only the op count makes it yield.
    assert.ok((await turnsDuring(db.write(puts))) >= 4, 'the loop turned while the batch was built');
    assert.equal((await db.getMany([puts[0]!.key, puts[n - 1]!.key])).filter((v) => v !== undefined).length, 2);
    const dels: BatchOp[] = puts.map((p) => ({ type: 'del', key: p.key }));
    assert.ok((await turnsDuring(db.write(dels))) >= 4, 'deletes count as ops too');
    let left = 0;
    for await (const chunk of db.scan({})) left += chunk.length;
    assert.equal(left, 0, 'every delete was written');
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
