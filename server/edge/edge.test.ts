// The edge's local pieces in-process, on real RocksDB in a temp dir: the data dir marker
// (a new dir is a new incarnation, another device's dir and a foreign dir are refused, a bump
// survives a reopen), and the store's group commit (concurrent writes share synced batches,
// and everything acknowledged is there after a reopen, and after a power cut that drops
// every WAL byte not fsynced: server/util/power-cut.ts), and a stop after a failed local
// write leaves no seal (it is not a clean stop).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { completeDefinition } from '../namespace/index.js';
import { StateKeyspace } from '../storage/index.js';
import { dropUnsyncedWal } from '../util/power-cut.js';
import { decodeAnswer, encodeBody } from '../eventual/entry.js';
import { bumpIncarnation, loadOrCreateMarker, MarkerError } from './marker.js';
import { EdgeStore, encodeRegistry, eventualCommand } from './store.js';
import { EdgeNode } from './edge-node.js';
import { EDGE_STATE_DIR } from './startup-check.js';
import { SEAL_FILE } from '../storage/db-seal.js';
import { systemClock } from '../util/system-clock.js';
import { silentLogger } from '../util/logger.js';
import { SeededRandom } from '../util/random.js';
import { SYNC_UNREACHABLE_PROBE_MS_DEFAULT } from '../sync/index.js';
import { StrongFeed } from './strong-feed.js';
import { Upstream } from './upstream.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-unit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('edge data dir marker', () => {
  test('a new dir gets a new incarnation; a reopen keeps it; a bump moves past it durably', () => withDir(async (dir) => {
    const d = join(dir, 'e');
    const first = await loadOrCreateMarker(d, 'dev1', 1_000);
    assert.equal(first.fresh, true);
    assert.equal(first.marker.incarnation, 1_000);
    const again = await loadOrCreateMarker(d, 'dev1', 5_000);
    assert.equal(again.fresh, false);
    assert.equal(again.marker.incarnation, 1_000);
    const bumped = await bumpIncarnation(d, again.marker, 900); // a clock that went back still moves forward
    assert.equal(bumped.incarnation, 1_001);
    assert.deepEqual((await loadOrCreateMarker(d, 'dev1', 0)).marker.previous, [1_000]);
  }));

  test('another device\'s dir and a dir this process did not create are refused', () => withDir(async (dir) => {
    await loadOrCreateMarker(join(dir, 'e'), 'dev1', 1);
    await assert.rejects(loadOrCreateMarker(join(dir, 'e'), 'dev2', 1), (e: unknown) => e instanceof MarkerError && /belongs to edge "dev1"/.test(e.message));
    await writeFile(join(dir, 'junk'), 'x');
    await assert.rejects(loadOrCreateMarker(dir, 'dev1', 1), (e: unknown) => e instanceof MarkerError && /holds e, junk but no edge.json/.test(e.message));
  }));
});

describe('edge store', () => {
  test('concurrent writes are group-committed; everything acknowledged survives a reopen', () => withDir(async (dir) => {
    const origin = 'edge:dev1:1';
    let store = await EdgeStore.open(dir, origin);
    await store.external(encodeRegistry([completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' })]));
    assert.equal(store.registry.get('cfg')?.crdtType, 'lww');
    const N = 200;
    const answers = await Promise.all(Array.from({ length: N }, (_x, i) =>
      store.external(eventualCommand(encodeBody({ kind: 'write', namespace: 'cfg', physicalMs: 1_000 + i, ops: [{ type: 'lwwPut', key: b(`cfg/k${i}`), value: b(`v${i}`) }] })))));
    for (const a of answers) assert.equal(decodeAnswer(a.body).kind, 'write');
    const { batches, writes } = store.commits;
    console.log(`  ${writes} writes in ${batches} synced batches`);
    assert.ok(batches < writes / 2, `group commit: ${writes} writes took ${batches} batches`);
    assert.deepEqual(store.eventual.vector('cfg'), [{ origin, seq: N }]);
    const revision = store.mvcc.currentRevision;
    await store.close();
    store = await EdgeStore.open(dir, origin);
    try {
      assert.equal(store.registry.get('cfg')?.crdtType, 'lww', 'the registry survives a restart');
      assert.deepEqual(store.eventual.vector('cfg'), [{ origin, seq: N }]);
      assert.equal(store.mvcc.currentRevision, revision);
      const r = await store.mvcc.range({ key: b('cfg/'), rangeEnd: b('cfg0') });
      assert.equal(r.kvs.length, N);
      // The local log index goes on from where it was (no index is applied twice).
      await store.external(eventualCommand(encodeBody({ kind: 'write', namespace: 'cfg', physicalMs: 9_999, ops: [{ type: 'lwwDelete', key: b('cfg/k0') }] })));
      assert.equal((await store.mvcc.range({ key: b('cfg/k0') })).kvs.length, 0);
    } finally {
      await store.close();
    }
  }));

  test('everything acknowledged survives a power cut (the WAL cut back to the last fsync)', () => withDir(async (dir) => {
    const origin = 'edge:dev1:1';
    let store = await EdgeStore.open(dir, origin, undefined, true, { recordDurablePoints: true });
    await store.external(encodeRegistry([completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' })]));
    const N = 100;
    await Promise.all(Array.from({ length: N }, (_x, i) =>
      store.external(eventualCommand(encodeBody({ kind: 'write', namespace: 'cfg', physicalMs: 1_000 + i, ops: [{ type: 'lwwPut', key: b(`cfg/k${i}`), value: b(`v${i}`) }] })))));
    // A write nobody acknowledged, never fsynced: the cut must drop it (it proves the cut bites).
    const unsynced = Uint8Array.of(StateKeyspace.Edge, 0xee);
    await store.engine.write([{ type: 'put', key: unsynced, value: b('x') }]);
    await store.close();
    const cut = await dropUnsyncedWal(join(dir, 'state'));
    assert.ok(cut.droppedBytes > 0, 'the unsynced write was in the WAL');
    store = await EdgeStore.open(dir, origin);
    try {
      assert.equal(await store.engine.get(unsynced), undefined);
      assert.deepEqual(store.eventual.vector('cfg'), [{ origin, seq: N }], 'every acknowledged write is there');
      assert.equal((await store.mvcc.range({ key: b('cfg/'), rangeEnd: b('cfg0') })).kvs.length, N);
    } finally {
      await store.close();
    }
  }));
});

/** An edge that never reaches a region (nothing answers on port 9; it is not started anyway). */
const openEdge = (d: string): Promise<EdgeNode> => EdgeNode.open({
  name: 'dev1', dataDir: d, region: ['127.0.0.1:9'], namespaces: undefined, clockOffsetMs: 0, clock: systemClock, logger: silentLogger, verify: false,
});

const lwwWrite = (node: EdgeNode, i: number) =>
  node.crdt.write({ namespace: 'cfg', ops: [{ type: 'lwwPut', key: b(`cfg/k${i}`), value: b(`v${i}`) }] }, undefined);

describe('edge stop after a failed local write', () => {
  // The early upload (replica.ts) may have sent a write whose local write then failed: the stop
  // that follows must not count as clean (no seal), so the next start takes a new incarnation.
  test('a clean stop seals the database; a stop after a failed local write does not', () => withDir(async (dir) => {
    for (const fail of [false, true]) {
      const d = join(dir, String(fail));
      const node = await openEdge(d);
      await node.store.external(encodeRegistry([completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' })]));
      await lwwWrite(node, 1);
      if (fail) {
        node.store.engine.write = () => Promise.reject(new Error('injected: the disk is gone'));
        await assert.rejects(lwwWrite(node, 2), /injected/);
      }
      await node.close();
      assert.equal(existsSync(join(d, EDGE_STATE_DIR, SEAL_FILE)), !fail, fail ? 'no seal after a failed write' : 'a clean stop seals');
    }
  }));
});

describe('edge upstream', () => {
  // A returning edge opens its session beside the first registry pull (upstream.ts). With the
  // region unreachable the session's stream may fail before the pull does: the connection must
  // still end as unreachable (a steady probe within SYNC_UNREACHABLE_PROBE_MS_DEFAULT), not as an
  // answered end (the exponential backoff, here made huge so it cannot pass for a probe).
  test('an unreachable region is probed steadily even when the session fails before the registry pull', () => withDir(async (dir) => {
    const store = await EdgeStore.open(dir, 'edge:dev1:1');
    await store.external(encodeRegistry([completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' })]));
    const delays: number[] = [];
    let sessions = 0;
    let loggedOnce: (() => void) | undefined;
    const first = new Promise<void>((resolve) => (loggedOnce = resolve));
    const logger = {
      ...silentLogger,
      info(msg: string, f?: Record<string, unknown>) {
        if (msg === 'region link down; reconnecting') {
          delays.push(f?.['retryInMs'] as number);
          loggedOnce?.();
        }
      },
    };
    const up = new Upstream({
      endpoints: ['127.0.0.1:9'], store, feed: new StrongFeed(store, undefined, silentLogger, () => performance.now()), clock: systemClock,
      random: new SeededRandom(3), logger, backoff: { baseMs: 100_000, capMs: 100_000 }, syncedNamespaces: () => 'cfg',
      session: async () => {
        sessions++;
        return { message: 'the stream failed', retry: true };
      },
    });
    try {
      up.start();
      await first;
    } finally {
      await up.stop();
      await store.close();
    }
    assert.equal(sessions, 1, 'the session opened beside the pull');
    const d = delays[0]!;
    assert.ok(d >= SYNC_UNREACHABLE_PROBE_MS_DEFAULT / 2 && d < SYNC_UNREACHABLE_PROBE_MS_DEFAULT, `a probe, not the backoff: ${d} ms`);
  }));
});
