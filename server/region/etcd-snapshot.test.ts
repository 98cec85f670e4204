import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withHarness } from '../mvcc/testing/harness.js';
import { decodeEtcdKeyValue, decodeEtcdLease, parseEtcdRevisionKey } from '../storage/bbolt/etcd-schema.js';
import { BboltReader, bufferSource } from '../storage/bbolt/index.js';
import { etcdSnapshotStream, writeEtcdSnapshotFile } from './etcd-snapshot.js';
import { Members } from './members.js';

const s = (u: Uint8Array): string => Buffer.from(u).toString();

describe('etcd-format snapshot file', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etcd-snapshot-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the history since the compaction, tombstones, leases and etcd\'s meta keys', () =>
    withHarness(async (h) => {
      await h.apply({ type: 'leaseGrant', leaseGrant: { ttl: 600, id: 7 } });
      await h.put('a', '1'); // 2
      await h.put('b', '1'); // 3
      await h.put('a', '2'); // 4
      await h.del('b'); // 5
      await h.put('c', '1', { lease: 7 }); // 6
      await h.apply({ type: 'compact', compact: { revision: 4 } });
      // A member added and removed: etcd lists the id in members_removed for good.
      const members = await Members.load(h.engine);
      await h.engine.write([members.upsert({ id: 0x2e1259d415f2a0, name: 'gone' })]);
      await h.engine.write(members.remove(0x2e1259d415f2a0));
      const file = join(dir, 'one.db');
      await writeEtcdSnapshotFile(h.store, h.engine, file, { term: 3, voters: [1, 2], learners: [], alarms: [{ memberId: 1, alarm: 1 }] });
      const db = BboltReader.open(bufferSource(readFileSync(file)));
      assert.deepEqual(db.bucketNames().map(s),
        ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta']);
      const history = [...db.entries('key')].map(([k, v]) => {
        const r = parseEtcdRevisionKey(k);
        const kv = decodeEtcdKeyValue(v);
        return `${r.main}${r.tombstone ? 't' : ''} ${s(kv.key)}=${s(kv.value)} c${kv.createRevision} v${kv.version} l${kv.lease}`;
      });
      // Compacted at 4 (its deletions finished first): a@2 is gone, a@4 and b@3 are the
      // newest at or below 4, b's tombstone is after it.
      assert.deepEqual(history, ['3 b=1 c3 v1 l0', '4 a=2 c2 v2 l0', '5t b= c0 v0 l0', '6 c=1 c6 v1 l7']);
      assert.deepEqual([...db.entries('lease')].map(([, v]) => decodeEtcdLease(v)).map((l) => [l.id, l.ttl]), [[7, 600]]);
      const meta = Object.fromEntries([...db.entries('meta')].map(([k, v]) => [s(k), Buffer.from(v).toString('hex')]));
      assert.deepEqual(Object.keys(meta), ['confState', 'consistent_index', 'finishedCompactRev', 'scheduledCompactRev', 'term']);
      assert.equal(meta.finishedCompactRev, '00000000000000045f0000000000000000');
      assert.equal(meta.term, '0000000000000003');
      assert.equal([...db.entries('alarm')].length, 1);
      assert.deepEqual([...db.entries('members')], []);
      assert.deepEqual([...db.entries('members_removed')].map(([k, v]) => [s(k), s(v)]), [['2e1259d415f2a0', 'removed']]);
    }));

  it('streams the file once and removes its scratch dir, and those of dead processes', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const orphan = join(tmpdir(), `regionstore-etcd-snapshot-${dead}-abc`);
    mkdirSync(orphan, { recursive: true });
    let path = '';
    const snap = await etcdSnapshotStream(async (p) => {
      path = p;
      await import('node:fs/promises').then((fs) => fs.writeFile(p, Buffer.alloc(3 << 20, 1)));
      return 3 << 20;
    });
    assert.equal(existsSync(orphan), false, 'a dead process\'s scratch dir is removed');
    assert.equal(snap.sizeBytes, 3 << 20);
    let total = 0;
    for await (const c of snap.chunks) total += c.length;
    assert.equal(total, 3 << 20);
    assert.equal(existsSync(path), false);
  });
});
