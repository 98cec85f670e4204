// An edge whose WAL has a bad record before intact ones (issue 19 on edges, the WAL part):
// its start-up check (startup-check.ts) finds it before the database opens, whichever
// rocksdb build runs (REGIONSTORE_ROCKSDB_BINDING=prebuilt would replay around the hole),
// moves the database aside and takes a new incarnation, so the edge downloads everything
// from the region instead of serving a local state missing a write under later ones. A
// WAL cut inside its last record (a crash mid-write) is not damage: the edge opens it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openRocksEngine } from '../storage/index.js';
import { silentLogger } from '../util/logger.js';
import { EDGE_STATE_DIR, checkEdgeDataDir } from './startup-check.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A fresh edge data dir whose database holds four write batches in its WAL (no clean stop: no seal). */
async function edgeWithWal(): Promise<{ dataDir: string; wal: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rs-edge-wal-'));
  dirs.push(dataDir);
  const first = await checkEdgeDataDir({ dataDir, deviceId: 'dev1', nowMs: 1_000, logger: silentLogger });
  assert.equal(first.fresh, true);
  const db = await openRocksEngine(join(dataDir, EDGE_STATE_DIR));
  for (let b = 0; b < 4; b++) {
    await db.write(Array.from({ length: 400 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`b${b}/${i}`), value: randomBytes(100) })), { sync: true });
  }
  await db.close();
  const sdir = join(dataDir, EDGE_STATE_DIR);
  const wals = [];
  for (const f of await readdir(sdir)) if (f.endsWith('.log') && (await stat(join(sdir, f))).size > 0) wals.push(join(sdir, f));
  assert.equal(wals.length, 1);
  return { dataDir, wal: wals[0]! };
}

describe('edge start-up: WAL damage', () => {
  test('a bad record before intact ones: not served, moved aside, a new incarnation', async () => {
    const { dataDir, wal } = await edgeWithWal();
    const h = await open(wal, 'r+');
    try {
      await h.write(randomBytes(4096), 0, 4096, Math.floor((await h.stat()).size / 8));
    } finally {
      await h.close();
    }
    const c = await checkEdgeDataDir({ dataDir, deviceId: 'dev1', nowMs: 2_000, logger: silentLogger });
    assert.equal(c.damage?.reason, 'corrupt');
    assert.match(c.damage.detail, /WAL \d+\.log has a bad record/);
    assert.equal(c.newIncarnation, true);
    assert.equal(c.createDb, true);
    assert.notEqual(c.damage.after, c.damage.before);
    assert.ok(existsSync(join(c.damage.movedTo, wal.slice(wal.lastIndexOf('/') + 1))), 'the damaged WAL is kept');
    assert.equal(existsSync(join(dataDir, EDGE_STATE_DIR)), false, 'nothing left to open in its place');
  });

  test('a WAL cut inside its last record (a crash mid-write): opened, not damage', async () => {
    const { dataDir, wal } = await edgeWithWal();
    await truncate(wal, (await stat(wal)).size - 500);
    const c = await checkEdgeDataDir({ dataDir, deviceId: 'dev1', nowMs: 2_000, logger: silentLogger });
    assert.equal(c.damage, undefined);
    assert.equal(c.createDb, false);
  });
});
