// An edge's live push from memory (replica.ts livePage), in process on real RocksDB: for lww,
// counter and events namespaces, random local writes (some group-committed together), foreign
// pages now and then (some dominating local writes), and at random points the page a peer a
// few writes (or many) behind gets: from memory it must be exactly what the engine extraction gives.
// Randomized: prints its seed; replay with LIVE_PUSH_SEED=<seed>.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { VersionVector, type CrdtKind, type CrdtRecord, type DeltaPage } from '../crdt/index.js';
import { completeDefinition } from '../namespace/index.js';
import { encodeBody, type EvOp } from '../eventual/entry.js';
import { openExtraction } from '../eventual/extract.js';
import { SeededRandom } from '../util/random.js';
import { EdgeReplica } from './replica.js';
import { EdgeStore, encodeRegistry, eventualCommand } from './store.js';

const E = 'edge:dev1:1';
const R = 'region:t';
const KEYS = 4;
/** Enough writes to pass EDGE_LIVE_RECORDS_MAX (512), so the oldest are dropped from memory. */
const STEPS = 300;
const BUDGET = 64 * 1024;
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Records as plain data (byte fields as hex), whatever object or buffer type holds them. */
function plain(p: DeltaPage): unknown {
  return {
    ranges: p.ranges.map((g) => ({ ...g })),
    records: p.records.map((r) => Object.fromEntries(Object.entries(r)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]))),
  };
}

async function collect<T>(it: AsyncIterable<T>, page: (x: T) => DeltaPage): Promise<DeltaPage[]> {
  const out: DeltaPage[] = [];
  for await (const x of it) out.push(page(x));
  return out;
}

function localOp(rnd: SeededRandom, kind: CrdtKind, prefix: string, n: number): EvOp {
  const key = b(`${prefix}k${rnd.int(0, KEYS)}`);
  if (kind === 'lww') return rnd.chance(0.2) ? { type: 'lwwDelete', key } : { type: 'lwwPut', key, value: b(`v${n}`) };
  if (kind === 'counter') return { type: 'counterAdd', key, delta: rnd.int(-3, 4) || 1 };
  return { type: 'eventAppend', device: 'local-dev', seq: 0, eventType: 't', schemaVersion: 0, payload: b(`e${n}`), tsMs: 0 };
}

function foreignRecord(kind: CrdtKind, prefix: string, seq: number, wall: number, rnd: SeededRandom): CrdtRecord {
  const key = b(`${prefix}k${rnd.int(0, KEYS)}`);
  const hlc = { wall, logical: 0 };
  if (kind === 'lww') return { kind: 'lww', key, value: b(`r${seq}`), origin: R, seq, hlc };
  if (kind === 'counter') return { kind: 'counter', key, p: seq, n: 0, origin: R, seq, hlc };
  return { kind: 'events', deviceId: 'region-dev', deviceSeq: seq, ts: wall, type: 't', schemaVersion: 1, payload: b(`r${seq}`), origin: R, seq, hlc };
}

for (const kind of ['lww', 'counter', 'events'] as const) {
  test(`edge live push from memory equals the engine's page (${kind})`, async () => {
    const seed = Number(process.env.LIVE_PUSH_SEED ?? Date.now() % 1_000_000);
    console.log(`# seed ${seed} (replay with LIVE_PUSH_SEED=${seed})`);
    const rnd = new SeededRandom(seed);
    const dir = await mkdtemp(join(tmpdir(), 'edge-live-push-'));
    const store = await EdgeStore.open(dir, E);
    const ns = kind;
    const prefix = `${kind}/`;
    try {
      await store.external(encodeRegistry([completeDefinition({ name: ns, prefix, level: 'eventual', crdtType: kind })]));
      const replica = new EdgeReplica(store, 'dev1', 1, undefined);
      let now = 1_000_000;
      let regionSeq = 0;
      let n = 0;
      for (let step = 0; step < STEPS; step++) {
        now += 10;
        if (rnd.chance(0.1)) {
          // A foreign page; its stamp is sometimes ahead of the local writes (it dominates them).
          regionSeq++;
          const rec = foreignRecord(kind, prefix, regionSeq, now + rnd.int(-20, 20), rnd);
          const r = await replica.applyPage(ns, { ranges: [{ origin: R, from: regionSeq, to: regionSeq }], records: [rec] }, now);
          assert.equal(r.status, 'applied');
        } else {
          // One to three writes submitted together (one group commit), of one or two ops each.
          const writes = Array.from({ length: rnd.int(1, 4) }, () => Array.from({ length: rnd.int(1, 3) }, () => localOp(rnd, kind, prefix, n++)));
          await Promise.all(writes.map((ops) => store.external(eventualCommand(encodeBody({ kind: 'write', namespace: ns, physicalMs: now, ops })))));
        }
        if (!rnd.chance(0.5)) continue;
        const vector = new Map(store.eventual.vector(ns).map((e) => [e.origin, e.seq] as const));
        const own = vector.get(E) ?? 0;
        const peer = new VersionVector();
        // Mostly a few writes behind; sometimes further than memory holds (the engine answers).
        peer.advance(E, rnd.chance(0.1) ? rnd.int(0, own + 1) : Math.max(0, own - rnd.int(0, 8)));
        peer.advance(R, rnd.chance(0.8) ? regionSeq : Math.max(0, regionSeq - 1));
        // An edge uploads only its own origins (replica.ts extract): the engine's page as it would.
        const ownVector = new Map([...vector].filter(([origin]) => origin === E));
        const engine = await collect(openExtraction(store.engine, ns, ownVector, new Map(peer.entries()), BUDGET).pages(), (p) => p);
        const got = await collect(replica.extract(ns, peer, BUDGET), (x) => x.page);
        assert.deepEqual(got.map(plain), engine.map(plain), `step ${step}, peer ${JSON.stringify([...peer.entries()])} (seed ${seed})`);
      }
      assert.ok(replica.pushes.fromMemory > 0, `some pushes came from memory: ${JSON.stringify(replica.pushes)}`);
      console.log(`# ${kind}: ${JSON.stringify(replica.pushes)}`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

// The early upload (replica.ts): a local write's records are offered to sessions while its
// engine write (with its fsync) is in flight — before the write is published or answered —
// and the page then is the one the engine gives once the write is durable.
test('edge live push starts before the local write is durable, with the page the engine gives after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-live-push-early-'));
  const store = await EdgeStore.open(dir, E);
  try {
    await store.external(encodeRegistry([completeDefinition({ name: 'events', prefix: 'events/', level: 'eventual', crdtType: 'events' })]));
    const replica = new EdgeReplica(store, 'dev1', 1, undefined);
    for (let i = 0; i < 5; i++) {
      const peer = new VersionVector();
      peer.advance(E, store.eventual.vector('events').find((e) => e.origin === E)?.seq ?? 0);
      let answered = false;
      const early: Array<{ page: DeltaPage; published: number; answered: boolean }> = [];
      const seen = new Promise<void>((resolve) => {
        const off = replica.onChange(() => {
          off();
          void (async () => {
            const pages = await collect(replica.extract('events', peer, BUDGET), (x) => x.page);
            early.push(...pages.map((page) => ({ page, published: store.eventual.vector('events').find((e) => e.origin === E)?.seq ?? 0, answered })));
            resolve();
          })();
        });
      });
      const write = store.external(eventualCommand(encodeBody({
        kind: 'write', namespace: 'events', physicalMs: 1_000_000 + i, ops: [localOp(new SeededRandom(i), 'events', 'events/', i), localOp(new SeededRandom(i + 9), 'events', 'events/', i + 9)],
      }))).then(() => (answered = true));
      await seen;
      await write;
      assert.equal(early.length, 1, 'one page offered while the write was in flight');
      const e = early[0]!;
      assert.equal(e.answered, false, 'offered before the write was answered (durable)');
      assert.equal(e.published, peer.get(E), 'offered before the write was published');
      assert.deepEqual(e.page.ranges, [{ origin: E, from: peer.get(E) + 1, to: peer.get(E) + 2 }]);
      const vector = new Map(store.eventual.vector('events').filter((x) => x.origin === E).map((x) => [x.origin, x.seq] as const));
      const engine = await collect(openExtraction(store.engine, 'events', vector, new Map(peer.entries()), BUDGET).pages(), (p) => p);
      assert.deepEqual(plain(e.page), engine.map(plain)[0]);
      // The HELLO vector counted the records being written; now it is the published one.
      assert.equal((await replica.vectors(['events'])).get('events')!.get(E), peer.get(E) + 2);
    }
    assert.ok(replica.pushes.fromMemory >= 5, JSON.stringify(replica.pushes));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
