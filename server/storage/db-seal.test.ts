// The seal a clean stop puts on a closed database (db-seal.ts), on real RocksDB in a temp
// dir: unchanged files keep it, one changed byte or a new file breaks it, and any check
// removes it so a later unclean stop can never reuse it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SEAL_FILE, checkAndBreakSeal, sealRocksDir } from './db-seal.js';
import { RocksEngine } from './rocksdb-engine.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function closedDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-seal-'));
  dirs.push(dir);
  const db = await RocksEngine.open(dir, { writeBufferSize: 256 * 1024 });
  for (let b = 0; b < 8; b++) {
    const ops = [];
    for (let i = 0; i < 100; i++) ops.push({ type: 'put' as const, key: Buffer.from(`k${b}-${i}`), value: randomBytes(1000) });
    await db.write(ops);
  }
  await db.close();
  return dir;
}

async function flipOneByte(file: string): Promise<void> {
  const at = Math.floor((await stat(file)).size / 2);
  const h = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0xff;
    await h.write(b, 0, 1, at);
  } finally {
    await h.close();
  }
}

describe('db-seal', () => {
  it('an unchanged sealed database passes once; the check removes the seal', async () => {
    const dir = await closedDb();
    assert.equal((await checkAndBreakSeal(dir)).sealed, false, 'never sealed');
    await sealRocksDir(dir);
    const first = await checkAndBreakSeal(dir);
    assert.equal(first.sealed, true);
    assert.ok(first.sealed && first.files > 0 && first.bytes > 0);
    assert.equal((await readdir(dir)).includes(SEAL_FILE), false);
    const second = await checkAndBreakSeal(dir);
    assert.equal(second.sealed, false);
    assert.match(second.sealed ? '' : second.reason, /no seal/);
  });

  it('one changed byte, a removed file or a new file breaks it, naming the file', async () => {
    const dir = await closedDb();
    const sst = (await readdir(dir)).find((n) => n.endsWith('.sst'));
    assert.ok(sst !== undefined, 'the writes flushed an SST');
    await sealRocksDir(dir);
    await flipOneByte(join(dir, sst));
    const changed = await checkAndBreakSeal(dir);
    assert.match(changed.sealed ? '' : changed.reason, new RegExp(`${sst} has other bytes`));

    await sealRocksDir(dir);
    await writeFile(join(dir, '999999.sst'), 'not ours');
    const added = await checkAndBreakSeal(dir);
    assert.match(added.sealed ? '' : added.reason, /999999\.sst appeared/);

    await sealRocksDir(dir);
    await writeFile(join(dir, SEAL_FILE), '{not json');
    const garbled = await checkAndBreakSeal(dir);
    assert.match(garbled.sealed ? '' : garbled.reason, /unreadable seal/);
  });
});
