// The persistent store merges by the same rules as the in-memory core (server/crdt/rules.ts):
// edges (in-memory CrdtReplicas) write concurrently and sync among themselves; their pages
// reach both an in-memory reference replica and the persistent store (as page entries) in
// edge order; both must render the same visible state. Seeded (printed, replay with EV_SEED).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HybridClock, canonicalJson, counterAdd, createReplica, lwwPut, mvPut, renderBytes, setAdd, setRemove, VersionVector,
  type CrdtKind, type CrdtRecord, type CrdtReplica, type MvStore,
} from '../crdt/index.js';
import { SeededRandom } from '../util/random.js';
import { readEntries, readLiveRecords } from './reads.js';
import { EvHarness, b } from './testing.js';

const NONE = new Uint8Array(0);
const KINDS: Array<Exclude<CrdtKind, 'events'>> = ['lww', 'mv', 'counter', 'set'];

function randomOp(rnd: SeededRandom, kind: CrdtKind, r: CrdtReplica, now: number): void {
  const key = b(`${kind}/k${rnd.int(0, 3)}`);
  switch (kind) {
    case 'lww': lwwPut(r, key, rnd.int(0, 5) === 0 ? null : b(`${r.replicaId}@${now}`), now); break;
    case 'mv': {
      const token = rnd.int(0, 2) === 0 ? {} : (r.store as MvStore).read(key).token;
      mvPut(r, key, b(`${r.replicaId}@${now}`), token, now);
      break;
    }
    case 'counter': counterAdd(r, key, rnd.int(0, 9) - 4, now); break;
    case 'set': {
      const elem = b(`m${rnd.int(0, 3)}`);
      if (rnd.int(0, 3) === 0) setRemove(r, key, elem, now);
      else setAdd(r, key, elem, now);
      break;
    }
  }
}

/** A record as plain data (keys and values as arrays, context entries sorted) for deepEqual. */
function norm(r: CrdtRecord): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
}

async function persistentRender(h: EvHarness, ns: string): Promise<string> {
  const def = h.registry.get(ns)!;
  const { entries } = await readEntries(h.engine, def, NONE, NONE, 10_000);
  return canonicalJson(entries.map((e) => {
    const v = e.value;
    const rendered = v.type === 'lww' ? renderBytes(v.value) : v.type === 'mv' ? v.values.map(renderBytes)
      : v.type === 'counter' ? v.value : v.members.map(renderBytes);
    return [renderBytes(e.key), rendered];
  }));
}

test('the persistent store and the in-memory core agree on every type under concurrent edges', async () => {
  const seed = Number(process.env.EV_SEED ?? Date.now() % 100_000);
  console.log(`# seed ${seed} (replay with EV_SEED=${seed})`);
  const rnd = new SeededRandom(seed);
  const h = await EvHarness.open(KINDS.map((k) => ({ name: k, prefix: `${k}/`, level: 'eventual' as const, crdtType: k })));
  try {
    for (const kind of KINDS) {
      const now = { t: h.nowMs - 1000 };
      const edges = [0, 1, 2].map((i) => createReplica(kind, `edge:${i}`, new HybridClock(`edge:${i}`)));
      const reference = createReplica(kind, 'reference', new HybridClock('reference'));
      for (let round = 0; round < 40; round++) {
        const e = edges[rnd.int(0, edges.length)]!;
        for (let n = rnd.int(1, 4); n > 0; n--) randomOp(rnd, kind, e, ++now.t);
        if (rnd.int(0, 3) === 0) {
          // Edges sync among themselves: relayed records keep their origin's dot.
          const to = edges[rnd.int(0, edges.length)]!;
          if (to !== e) for (const p of e.extract(to.vector)) to.applyPage(p, now.t);
        }
        if (rnd.int(0, 2) === 0) {
          // An upload: what the persistent store lacks, to both sides, one page per entry.
          const held = VersionVector.from(h.store.vector(kind).map((d) => [d.origin, d.seq] as const));
          for (const p of e.extract(held, 512)) {
            reference.applyPage(p, now.t);
            h.nowMs = now.t;
            const r = await h.page(kind, p.ranges.map((g) => ({ ...g })), [...p.records]);
            assert.equal(r.answer.kind, 'page', `seed ${seed}: ${JSON.stringify(r.answer)}`);
          }
        }
      }
      for (const e of edges) {
        const held = VersionVector.from(h.store.vector(kind).map((d) => [d.origin, d.seq] as const));
        for (const p of e.extract(held)) {
          reference.applyPage(p, now.t);
          h.nowMs = now.t;
          await h.page(kind, p.ranges.map((g) => ({ ...g })), [...p.records]);
        }
      }
      assert.equal(await persistentRender(h, kind), canonicalJson(reference.store.render()), `seed ${seed}: ${kind} differs`);
      // The per-origin index holds exactly the live records the core would still send.
      const live = await readLiveRecords(h.engine, h.registry.get(kind)!);
      assert.deepEqual(live.map(norm), reference.liveRecords().map(norm), `seed ${seed}: ${kind} live records differ`);
      assert.deepEqual(h.store.vector(kind).map((d) => [d.origin, d.seq]), reference.vector.entries(), `seed ${seed}: ${kind} vectors differ`);
    }
  } finally {
    await h.close();
  }
});
