import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MvccStore } from '../mvcc/store.js';
import { BboltWriter, MemoryPageSink, type Entry } from '../storage/bbolt/index.js';
import {
  EtcdBucket, encodeEtcdKeyValue, encodeEtcdLease, etcdRevisionKey, u64be,
} from '../storage/bbolt/etcd-schema.js';
import { openStateEngine } from '../storage/data-dir.js';
import { openRocksEngine } from '../storage/rocksdb-engine.js';
import { RestoreError, restoreEtcdSnapshot } from './etcd-restore.js';
import { parseRestoreFlags } from './restore-command.js';

const b = (s: string): Buffer => Buffer.from(s);
const BIG_LEASE = 0x2040a24cf0859809n;

/** A small etcd-layout file: a put, an overwrite, a delete, a leased key, a compaction. */
async function etcdFile(withHash: boolean): Promise<Buffer> {
  const sink = new MemoryPageSink();
  const w = new BboltWriter(sink);
  const kv = (key: string, value: string, create: number, mod: number, version: number, lease: bigint = 0n): Buffer =>
    encodeEtcdKeyValue({ key: b(key), createRevision: create, modRevision: mod, version, value: b(value), lease });
  const keys: Entry[] = [
    [etcdRevisionKey(3, 0, false), kv('b', '2', 3, 3, 1)],
    [etcdRevisionKey(4, 0, false), kv('a', '3', 2, 4, 2)],
    [etcdRevisionKey(5, 0, true), encodeEtcdKeyValue({ key: b('b'), createRevision: 0, modRevision: 0, version: 0, value: b(''), lease: 0 })],
    [etcdRevisionKey(6, 0, false), kv('c', '4', 6, 6, 1, BIG_LEASE)],
  ];
  await w.bucket(b(EtcdBucket.key), keys);
  const lease = encodeEtcdLease({ id: BIG_LEASE, ttl: 600, remainingTtl: 0 });
  await w.bucket(b(EtcdBucket.lease), [[u64be(BIG_LEASE), lease]]);
  const rev3 = etcdRevisionKey(3, 0, false);
  await w.bucket(b(EtcdBucket.meta), [
    [b('consistent_index'), u64be(42)], [b('finishedCompactRev'), rev3], [b('scheduledCompactRev'), rev3],
  ]);
  const info = await w.finish();
  const bytes = sink.bytes(info.pages);
  return withHash ? Buffer.concat([bytes, createHash('sha256').update(bytes).digest()]) : bytes;
}

describe('regionstore snapshot restore', () => {
  let dir = '';
  let n = 0;
  const fresh = (): string => join(dir, `d${n++}`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-restore-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restores revisions, the compaction point and leases (63-bit ids cut to 53 bits)', async () => {
    const file = join(dir, 'ok.db');
    await writeFile(file, await etcdFile(true));
    const dataDir = fresh();
    const s = await restoreEtcdSnapshot({ file, dataDir, skipHashCheck: false });
    const restoredLease = Number(BIG_LEASE & ((1n << 53n) - 1n));
    assert.deepEqual(s, {
      revision: 6, compactedRevision: 3, records: 4, leases: 1, renumberedLeases: [{ from: BIG_LEASE, to: restoredLease }],
      users: 0, roles: 0, authEnabled: false,
    });
    const engine = await openStateEngine(dataDir, openRocksEngine);
    try {
      const store = await MvccStore.open(engine);
      assert.equal(store.currentRevision, 6);
      assert.equal(store.compactedRevision, 3);
      const { kvs } = await store.range({ key: b('a'), rangeEnd: b('z') });
      assert.deepEqual(kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), kv.modRevision, kv.version, kv.lease]),
        [['a', '3', 4, 2, 0], ['c', '4', 6, 1, restoredLease]]);
      assert.deepEqual(store.leases(), [{ id: restoredLease, ttl: 600 }]);
      assert.deepEqual(store.leaseTimeToLive(restoredLease, true)?.keys.map((k) => Buffer.from(k).toString()), ['c']);
    } finally {
      await engine.close();
    }
  });

  it('refuses a bad hash, a missing hash (unless skipped), a non-bbolt file and a used data dir', async () => {
    const good = await etcdFile(true);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    const badFile = join(dir, 'bad.db');
    await writeFile(badFile, bad);
    await assert.rejects(restoreEtcdSnapshot({ file: badFile, dataDir: fresh(), skipHashCheck: false }), /SHA-256 at its end does not match/);

    const noHash = join(dir, 'nohash.db');
    await writeFile(noHash, await etcdFile(false));
    await assert.rejects(restoreEtcdSnapshot({ file: noHash, dataDir: fresh(), skipHashCheck: false }), /--skip-hash-check/);
    assert.equal((await restoreEtcdSnapshot({ file: noHash, dataDir: fresh(), skipHashCheck: true })).records, 4);

    const junk = join(dir, 'junk.db');
    await writeFile(junk, Buffer.alloc(8192, 7));
    await assert.rejects(restoreEtcdSnapshot({ file: junk, dataDir: fresh(), skipHashCheck: true }), /not a bbolt file/);

    // A page that is not what its parent says: refused, and the half-made data dir removed.
    const torn = await etcdFile(false);
    torn.writeBigUInt64LE(99n, 3 * 4096);
    const tornFile = join(dir, 'torn.db');
    await writeFile(tornFile, torn);
    const tornDir = fresh();
    await assert.rejects(restoreEtcdSnapshot({ file: tornFile, dataDir: tornDir, skipHashCheck: true }), /page 3 says it is page 99/);
    assert.equal(existsSync(tornDir), false);

    const used = fresh();
    const ok = join(dir, 'ok2.db');
    await writeFile(ok, good);
    await restoreEtcdSnapshot({ file: ok, dataDir: used, skipHashCheck: false });
    await assert.rejects(restoreEtcdSnapshot({ file: ok, dataDir: used, skipHashCheck: false }), (e: unknown) => e instanceof RestoreError && /not empty/.test(e.message));
  });

  it('takes etcd\'s restore flags and says what is wrong with them', () => {
    const ok = parseRestoreFlags(['s.db', '--name', 'm1', '--initial-cluster', 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:2381',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster-token', 't', '--data-dir', '/tmp/x']);
    assert.deepEqual(ok, {
      file: 's.db', dataDir: '/tmp/x', name: 'm1', initialCluster: 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:2381',
      initialClusterToken: 't', initialAdvertisePeerUrls: 'http://127.0.0.1:2380', skipHashCheck: false,
    });
    assert.equal((parseRestoreFlags(['s.db']) as { dataDir: string }).dataDir, 'default.regionstore');
    assert.match((parseRestoreFlags([]) as { error: string }).error, /one snapshot file/);
    assert.match((parseRestoreFlags(['s.db', '--bogus', 'x']) as { error: string }).error, /unknown flag --bogus/);
    assert.match((parseRestoreFlags(['s.db', '--name', 'm3', '--initial-cluster', 'm1=http://h:1']) as { error: string }).error, /no member named "m3"/);
    assert.match((parseRestoreFlags(['s.db', '--name', 'm1', '--initial-cluster', 'm1=http://h:1', '--initial-advertise-peer-urls', 'http://h:2']) as { error: string }).error, /is not m1's URL/);
    assert.match((parseRestoreFlags(['s.db', '--initial-cluster', 'nonsense']) as { error: string }).error, /NAME=URL/);
    assert.equal((parseRestoreFlags(['s.db', '--skip-hash-check']) as { skipHashCheck: boolean }).skipHashCheck, true);
  });
});
