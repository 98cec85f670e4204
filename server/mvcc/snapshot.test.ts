// A follower that installs a snapshot opens a store over the installed engine: it must
// hold the same state (hash, applied index, leases, at-most-once table) and go on
// applying the log exactly like the member it was copied from.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRocksEngine } from '../storage/rocksdb-engine.js';
import { installStateSnapshot, readStateSnapshot } from '../storage/state-snapshot.js';
import { encodeCommand } from './command-codec.js';
import { MvccStore } from './store.js';
import { b, withHarness } from './testing/harness.js';
import type { Command } from './types.js';

test('a store opened on an installed snapshot matches its source and applies alike', () =>
  withHarness(async (h) => {
    await h.apply({ type: 'leaseGrant', leaseGrant: { id: 5, ttl: 60 } });
    for (let i = 0; i < 50; i++) await h.put(`k${i % 7}`, `v${i}`, i % 3 === 0 ? { lease: 5 } : {});
    await h.del('k1');
    await h.apply({ type: 'compact', compact: { revision: 30 } });
    const retried: Command = { type: 'put', put: { key: b('once'), value: b('1') }, client: { clientId: 'c', seq: 9 } };
    await h.apply(retried);

    const dir = await mkdtemp(join(tmpdir(), 'mvcc-snap-'));
    try {
      const engine = await installStateSnapshot(dir, readStateSnapshot(h.engine), openRocksEngine);
      const copy = await MvccStore.open(engine);
      assert.deepEqual(await copy.hashKV(0), await h.store.hashKV(0));
      assert.equal(copy.appliedIndex, h.store.appliedIndex);
      assert.equal(copy.compactedRevision, 30);
      assert.deepEqual(copy.leaseTimeToLive(5, true), h.store.leaseTimeToLive(5, true));
      const next: Command[] = [retried, { type: 'leaseRevoke', leaseRevoke: { id: 5 } }, { type: 'put', put: { key: b('z'), value: b('z') } }];
      for (const cmd of next) {
        const index = ++h.index;
        const [x, y] = [await h.store.apply(index, encodeCommand(cmd)), await copy.apply(index, encodeCommand(cmd))];
        assert.deepEqual(y, x);
      }
      assert.deepEqual(await copy.hashKV(0), await h.store.hashKV(0));
      await copy.idle();
      await engine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }));
