import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SeededRandom } from '../../util/random.js';
import { BboltReader, BboltWriter, MemoryPageSink, bufferSource, compareBytes, type Entry } from './index.js';
import { decodeMetaPage, readPageHeader } from './layout.js';

const ETCDCTL = '/usr/bin/etcdctl';

function randomBuckets(rng: SeededRandom): Map<string, Entry[]> {
  const buckets = new Map<string, Entry[]>();
  const sizes = [0, 1, 5, 40, 3000];
  for (let b = 0; b < sizes.length; b++) {
    const seen = new Map<string, Entry>();
    while (seen.size < sizes[b]!) {
      const key = Buffer.alloc(rng.int(1, 40));
      for (let i = 0; i < key.length; i++) key[i] = rng.int(0, 256);
      // Mostly small values, a few bigger than a page (overflow pages).
      const value = Buffer.alloc(rng.chance(0.01) ? rng.int(4096, 20000) : rng.int(0, 200), rng.int(0, 256));
      seen.set(key.toString('hex'), [key, value]);
    }
    buckets.set(`bucket${b}`, [...seen.values()].sort((x, y) => compareBytes(x[0], y[0])));
  }
  return buckets;
}

async function writeFileOf(buckets: Map<string, Entry[]>): Promise<Buffer> {
  const sink = new MemoryPageSink();
  const w = new BboltWriter(sink);
  // Buckets in reverse name order: the writer sorts the root bucket itself.
  for (const [name, entries] of [...buckets].reverse()) await w.bucket(Buffer.from(name), entries);
  const info = await w.finish();
  return sink.bytes(info.pages);
}

describe('bbolt writer and reader', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bbolt-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what it wrote: every bucket, key and value, in order', async () => {
    const seed = Number(process.env.BBOLT_SEED ?? Date.now() % 1_000_000);
    console.log(`bbolt round trip seed=${seed} (replay with BBOLT_SEED=${seed})`);
    const buckets = randomBuckets(new SeededRandom(seed));
    const file = await writeFileOf(buckets);
    const db = BboltReader.open(bufferSource(file));
    assert.deepEqual(db.bucketNames().map((n) => Buffer.from(n).toString()), [...buckets.keys()].sort());
    for (const [name, entries] of buckets) {
      const got = [...db.entries(name)].map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]);
      const want = entries.map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]);
      assert.deepEqual(got, want, `bucket ${name} (seed=${seed})`);
    }
  });

  it('lays out metas bbolt accepts: magic, version 2, page size, checksum, higher txid on page 1', async () => {
    const file = await writeFileOf(new Map([['key', [[Buffer.from('a'), Buffer.from('1')]]]]));
    const m0 = decodeMetaPage(file.subarray(0, 4096));
    const m1 = decodeMetaPage(file.subarray(4096, 8192));
    assert.ok(typeof m0 !== 'string' && typeof m1 !== 'string', `${String(m0)} ${String(m1)}`);
    assert.equal(m0.pageSize, 4096);
    assert.equal(m1.txid, m0.txid + 1);
    assert.equal(m0.pgid * 4096, file.length);
    assert.equal(readPageHeader(file, 2 * 4096).flags, 0x10, 'page 2 is the freelist');
    file.writeUInt8(file.readUInt8(36) ^ 1, 36);
    assert.match(String(decodeMetaPage(file.subarray(0, 4096))), /checksum/);
  });

  it('refuses keys out of order and a bucket written twice', async () => {
    const w = new BboltWriter(new MemoryPageSink());
    await assert.rejects(w.bucket(Buffer.from('b'), [[Buffer.from('b'), Buffer.alloc(0)], [Buffer.from('a'), Buffer.alloc(0)]]), /out of order/);
    const w2 = new BboltWriter(new MemoryPageSink());
    await w2.bucket(Buffer.from('b'), []);
    await assert.rejects(w2.bucket(Buffer.from('b'), []), /twice/);
  });

  it('etcdctl snapshot status reads it (bbolt\'s own consistency check included)', async (t) => {
    if (!existsSync(ETCDCTL)) {
      t.skip('etcdctl not installed: apt-get install etcd-client');
      return;
    }
    const seed = 4242;
    const buckets = randomBuckets(new SeededRandom(seed));
    const file = await writeFileOf(buckets);
    const path = join(dir, 'random.db');
    await writeFile(path, file);
    const out = execFileSync(ETCDCTL, ['snapshot', 'status', path, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' } });
    const status = JSON.parse(out.toString()) as { totalKey: number; totalSize: number };
    const total = [...buckets.values()].reduce((n, e) => n + e.length, 0);
    assert.equal(status.totalKey, total);
    assert.equal(status.totalSize, file.length);
    // A corrupted page fails bbolt's check rather than passing silently.
    const bad = Buffer.from(file);
    bad.writeBigUInt64LE(12345n, 3 * 4096);
    const badPath = join(dir, 'bad.db');
    await writeFile(badPath, bad);
    const r = spawnSync(ETCDCTL, ['snapshot', 'status', badPath], { env: { ...process.env, ETCDCTL_API: '3' } });
    assert.notEqual(r.status, 0);
  });
});
