// A follower that installs a snapshot opens a store over the installed engine: it must
// hold the same state (hash, applied index, leases, at-most-once table) and go on
// applying the log exactly like the member it was copied from.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openRocksEngine } from '../storage/rocksdb-engine.js';
import type { Engine } from '../storage/engine.js';
import { StateKeyspace } from '../storage/keys.js';
import { StateSnapshotError, installStateSnapshot, readStateSnapshot } from '../storage/state-snapshot.js';
import { SeededRandom } from '../util/random.js';
import { encodeCommand } from './command-codec.js';
import { MVCC_SNAPSHOT_DERIVATION } from './snapshot-derivation.js';
import { MvccStore } from './store.js';
import { b, withHarness, type Harness } from './testing/harness.js';
import type { Command } from './types.js';

async function dump(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of engine.iterate()) out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  return out;
}

async function streamBytes(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of chunks) n += c.length;
  return n;
}

/** Puts (some over a lease, some twice in a txn's revision), deletes of keys and ranges,
 *  lease revokes and compactions, over keys that share prefixes and hold 0x00 bytes. */
async function randomHistory(h: Harness, rnd: SeededRandom, steps: number): Promise<void> {
  const keys = ['a', 'a\0', 'a\0b', 'ab', 'b', 'c', 'c\0\0', 'd'];
  const key = (): string => keys[rnd.int(0, keys.length)] as string;
  let lease = 0;
  for (let step = 0; step < steps; step++) {
    const r = rnd.next();
    if (r < 0.05 || lease === 0) {
      lease = 100 + step;
      await h.apply({ type: 'leaseGrant', leaseGrant: { id: lease, ttl: 60 } });
    } else if (r < 0.5) {
      await h.put(key(), `v${step}`.repeat(rnd.int(1, 40)), rnd.chance(0.3) ? { lease } : {});
    } else if (r < 0.65) {
      const a = key();
      let c = key();
      while (c === a) c = key();
      await h.txn({ compare: [], success: [
        { type: 'put', put: { key: b(a), value: b(`t${step}`) } },
        { type: 'put', put: { key: b(c), value: b(`u${step}`), lease: rnd.chance(0.5) ? lease : 0 } },
      ], failure: [] });
    } else if (r < 0.75) await h.del(key());
    else if (r < 0.8) await h.del(key(), key() + 'z');
    else if (r < 0.85) {
      await h.apply({ type: 'leaseRevoke', leaseRevoke: { id: lease } });
      lease = 0;
    } else if (r < 0.9) {
      const rev = h.store.currentRevision;
      const from = Math.max(h.store.compactedRevision + 1, rev - 20);
      if (from <= rev) await h.apply({ type: 'compact', compact: { revision: rnd.int(from, rev + 1) } });
    } else await h.put(key(), `w${step}`);
  }
}

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

/** Bytes per install batch in the test of many batches: a few records each. */
const TINY_INSTALL_BATCH_BYTES = 200;

test('a snapshot that leaves out the key index installs the same engine, pair for pair', (t) =>
  withHarness(async (h) => {
    const seed = Number(process.env.MVCC_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed=${seed} (MVCC_SEED=${seed} replays it)`);
    await randomHistory(h, new SeededRandom(seed), 400);
    await h.store.idle();
    const source = await dump(h.engine);
    const index = source.filter((p) => p.startsWith(StateKeyspace.MvccLatest.toString(16)) || p.startsWith(StateKeyspace.MvccKeyHistory.toString(16)));
    assert.ok(index.length > 0, 'the history left latest rows and history entries to derive');
    const dir = await mkdtemp(join(tmpdir(), 'mvcc-snap-'));
    try {
      const derived = await streamBytes(readStateSnapshot(h.engine, MVCC_SNAPSHOT_DERIVATION));
      const raw = await streamBytes(readStateSnapshot(h.engine));
      assert.ok(derived < raw, `the derived stream (${derived} bytes) is smaller than the whole one (${raw})`);
      const engine = await installStateSnapshot(dir, readStateSnapshot(h.engine, MVCC_SNAPSHOT_DERIVATION), openRocksEngine,
        { derivation: MVCC_SNAPSHOT_DERIVATION });
      assert.deepEqual(await dump(engine), source, `seed ${seed}: the installed engine differs from its source`);
      const copy = await MvccStore.open(engine);
      assert.deepEqual(await copy.hashKV(0), await h.store.hashKV(0));
      await copy.idle();
      await engine.close();
      // Tiny batches: a key's revisions (whose latest-row ops overwrite each other) fall in
      // different batches, written in order.
      const small = await installStateSnapshot(join(dir, 'small'), readStateSnapshot(h.engine, MVCC_SNAPSHOT_DERIVATION), openRocksEngine,
        { derivation: MVCC_SNAPSHOT_DERIVATION, batchBytes: TINY_INSTALL_BATCH_BYTES });
      assert.deepEqual(await dump(small), source, `seed ${seed}: installed in tiny batches, the engine differs from its source`);
      await small.close();
      // A whole (format 1) stream, from a leader of the version before, installs alike.
      const fromOld = await installStateSnapshot(join(dir, 'old'), readStateSnapshot(h.engine), openRocksEngine,
        { derivation: MVCC_SNAPSHOT_DERIVATION });
      assert.deepEqual(await dump(fromOld), source);
      await fromOld.close();
      // A receiver that does not rebuild the index refuses the stream rather than miss it.
      await assert.rejects(installStateSnapshot(join(dir, 'none'), readStateSnapshot(h.engine, MVCC_SNAPSHOT_DERIVATION), openRocksEngine),
        (err: unknown) => err instanceof StateSnapshotError && /derivation 1.*rebuilds none.*upgrade/.test(err.message));
      await assert.rejects(installStateSnapshot(join(dir, 'other'), readStateSnapshot(h.engine, MVCC_SNAPSHOT_DERIVATION), openRocksEngine,
        { derivation: { ...MVCC_SNAPSHOT_DERIVATION, id: 2 } }),
        (err: unknown) => err instanceof StateSnapshotError && /derivation 1.*knows derivation 2/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }));
