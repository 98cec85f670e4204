// The WAL check (wal-check.ts) on WAL files written by real RocksDB in a temp dir, damaged
// the ways a disk and a crash damage them, and on hand-made records for the rarer shapes.
// The damaged databases are then opened whole by db-check's reader: with the package's
// prebuilt binary (paranoid checks off: REGIONSTORE_ROCKSDB_BINDING=prebuilt) the damage
// would open as a hole, so verifyRocksDir must refuse it before any reader opens it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32c, maskCrc32c, unmaskCrc32c } from './crc32c.js';
import { verifyRocksDir } from './db-check.js';
import { RocksEngine } from './rocksdb-engine.js';
import { WAL_BLOCK_BYTES, WalScan, checkWalFiles, describeWalDamage } from './wal-check.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const BATCHES = 4;
const KEYS_PER_BATCH = 500;
/** ~60 KiB per batch: each is a logical record in fragments over two or three blocks. */
const VALUE_BYTES = 100;

/** A database whose WAL holds BATCHES write batches (a clean close does not flush them). */
async function dbWithWal(): Promise<{ dir: string; wal: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-walcheck-'));
  dirs.push(dir);
  const db = await RocksEngine.open(dir);
  for (let b = 0; b < BATCHES; b++) {
    await db.write(Array.from({ length: KEYS_PER_BATCH }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`b${b}/${String(i).padStart(4, '0')}`), value: randomBytes(VALUE_BYTES) })));
  }
  await db.close();
  const logs = (await readdir(dir)).filter((n) => n.endsWith('.log'));
  assert.equal(logs.length, 1, `one WAL: ${logs.join(' ')}`);
  return { dir, wal: join(dir, logs[0]!) };
}

async function overwrite(file: string, at: number, bytes: Uint8Array): Promise<void> {
  const h = await open(file, 'r+');
  try {
    await h.write(bytes, 0, bytes.length, at);
  } finally {
    await h.close();
  }
}

/** Keys present per batch, read by this process's build of rocksdb. */
async function keysPerBatch(dir: string): Promise<number[]> {
  const db = await RocksEngine.open(dir, { create: false });
  try {
    const counts = Array.from({ length: BATCHES }, () => 0);
    for await (const [k] of db.iterate()) counts[Number(Buffer.from(k).toString().slice(1).split('/')[0])]!++;
    return counts;
  } finally {
    await db.close();
  }
}

describe('crc32c', () => {
  it('matches the published CRC-32C check values, and RocksDB mask round-trips', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    const bytes = randomBytes(1000);
    assert.equal(crc32c(bytes, 3, 997), crc32c(bytes.subarray(3, 997)), 'a range is the same as the sub-array');
    for (const c of [0, 1, 0xffffffff, crc32c(bytes)]) assert.equal(unmaskCrc32c(maskCrc32c(c)), c);
  });
});

describe('WAL check on RocksDB WAL files', () => {
  it('an intact WAL: every batch read, nothing cut short', async () => {
    const { dir } = await dbWithWal();
    const c = await checkWalFiles(dir);
    assert.equal(c.files, 1);
    assert.equal(c.records, BATCHES);
    assert.equal(c.damage, undefined);
    assert.equal(c.tornTail, undefined);
    const v = await verifyRocksDir(dir);
    assert.equal(v.ok, true, JSON.stringify(v));
  });

  it('bad bytes in the first batch, later batches intact: damage, named, and the reader never opens it', async () => {
    const { dir, wal } = await dbWithWal();
    const size = (await stat(wal)).size;
    await overwrite(wal, Math.floor(size / 8), randomBytes(4096));
    const c = await checkWalFiles(dir);
    assert.ok(c.damage !== undefined, JSON.stringify(c));
    assert.ok(c.damage.offset < size / 4 && c.damage.intactAfter.offset > c.damage.offset, JSON.stringify(c.damage));
    assert.match(describeWalDamage(c.damage), /^WAL \d+\.log has a bad record at byte \d+ \(.+\) before an intact one/);
    const v = await verifyRocksDir(dir);
    assert.equal(v.ok, false);
    assert.match(v.ok === false ? v.reason : '', /WAL \d+\.log has a bad record/);
    // What opening it anyway gives: the release build (paranoid checks) stops at the damage
    // (a prefix); the prebuilt binary drops the batch and keeps the later ones (a hole).
    const counts = await keysPerBatch(dir);
    const hole = counts.findIndex((n, i) => n < KEYS_PER_BATCH && counts.slice(i + 1).some((m) => m > 0));
    console.log(`# keys per batch when opened anyway (${process.env['REGIONSTORE_ROCKSDB_BINDING'] ?? 'auto'} binding): [${counts.join(', ')}]${hole >= 0 ? ' (a hole)' : ''}`);
  });

  it('a WAL cut inside its last record (a crash mid-write): a torn tail, not damage', async () => {
    const { dir, wal } = await dbWithWal();
    const size = (await stat(wal)).size;
    await truncate(wal, size - 1000);
    const c = await checkWalFiles(dir);
    assert.equal(c.damage, undefined, JSON.stringify(c));
    assert.ok(c.tornTail !== undefined);
    assert.equal(c.records, BATCHES - 1);
    assert.equal((await verifyRocksDir(dir)).ok, true);
  });

  it('bad bytes in the last write only, or zeros after it: a torn tail, not damage', async () => {
    const { dir, wal } = await dbWithWal();
    const size = (await stat(wal)).size;
    await overwrite(wal, size - 3000, randomBytes(2000));
    const c = await checkWalFiles(dir);
    assert.equal(c.damage, undefined, JSON.stringify(c));
    assert.ok(c.tornTail !== undefined);
    const zeros = await dbWithWal();
    await appendFile(zeros.wal, new Uint8Array(3 * WAL_BLOCK_BYTES + 123));
    const z = await checkWalFiles(zeros.dir);
    assert.equal(z.damage, undefined, JSON.stringify(z));
    assert.equal(z.records, BATCHES);
  });

  it('a torn WAL followed by a later WAL with intact records: damage (the later one would replay over a hole)', async () => {
    const { dir, wal } = await dbWithWal();
    const size = (await stat(wal)).size;
    const later = wal.replace(/(\d+)\.log$/, (_, n: string) => `${String(Number(n) + 1).padStart(n.length, '0')}.log`);
    await copyFile(wal, later);
    await truncate(wal, size - 1000);
    const c = await checkWalFiles(dir);
    assert.ok(c.damage !== undefined, JSON.stringify(c));
    assert.equal(c.damage.intactAfter.file, later.slice(dir.length + 1));
  });
});

/** Hand-made physical records in RocksDB's format (the shapes RocksDB itself rarely writes). */
function record(type: number, payload: Uint8Array, logNumber?: number): Uint8Array {
  const header = logNumber === undefined ? 7 : 11;
  const out = new Uint8Array(header + payload.length);
  out[4] = payload.length & 0xff;
  out[5] = payload.length >> 8;
  out[6] = type;
  if (logNumber !== undefined) new DataView(out.buffer).setUint32(7, logNumber, true);
  out.set(payload, header);
  new DataView(out.buffer).setUint32(0, maskCrc32c(crc32c(out, 6)), true);
  return out;
}

function scanOf(blocks: Uint8Array[], logNumber = 7): WalScan {
  const scan = new WalScan();
  scan.startFile('000007.log', logNumber);
  blocks.forEach((b, i) => scan.block(b, i * WAL_BLOCK_BYTES, i === blocks.length - 1));
  scan.endFile();
  return scan;
}

function block(...records: Uint8Array[]): Uint8Array {
  const b = new Uint8Array(WAL_BLOCK_BYTES);
  let at = 0;
  for (const r of records) {
    b.set(r, at);
    at += r.length;
  }
  return b;
}

/** A payload of `n` bytes. */
const p = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);

describe('WAL scan on hand-made records', () => {
  it('fragments across blocks, recyclable headers of this file, and a record of its earlier use ends it', () => {
    // A first fragment takes the rest of its block, as RocksDB's writer does.
    const s = scanOf([block(record(1, p(10)), record(2, p(WAL_BLOCK_BYTES - 17 - 7))), block(record(3, p(50)), record(4, p(5)), record(5, p(9), 7), record(5, p(9), 3), record(1, p(3)))]);
    assert.equal(s.records, 3);
    assert.deepEqual(s.result(), {});
  });

  it('a fragment without its start, then a whole record: damage', () => {
    const s = scanOf([block(record(1, p(10)), record(4, p(10)), record(1, p(10)))]);
    assert.equal(s.records, 1);
    assert.match(s.result().damage?.reason ?? '', /without the start/);
  });

  it('an unknown type or a length past its block, then a whole record further in the block: damage', () => {
    const unknown = scanOf([block(record(1, p(10)), record(9, p(10)), record(1, p(10)))]);
    assert.match(unknown.damage?.reason ?? '', /unknown record type 9/);
    const long = record(1, p(10));
    long[5] = 0xff; // length 65290: past the block, and its checksum no longer holds either
    const s = scanOf([block(long, record(1, p(10))), block(record(1, p(10)))]);
    assert.ok(s.damage !== undefined);
    assert.equal(s.damage.intactAfter.offset, long.length, 'found by resynchronising inside the block');
  });

  it('the last write torn across blocks (its first fragment bad, the rest intact): a torn tail', () => {
    const first = record(2, p(WAL_BLOCK_BYTES - 17 - 7));
    first[20] = 0x62; // was 0x61: the checksum no longer holds
    const s = scanOf([block(record(1, p(10)), first), block(record(3, p(30000))), record(4, p(100))]);
    assert.equal(s.damage, undefined);
    assert.ok(s.result().tornTail !== undefined);
  });
});
