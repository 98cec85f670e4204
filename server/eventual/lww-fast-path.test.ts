// The lww fast path (apply.ts applyLww: checks first, then changes straight into the batch,
// merges without a promise while the key's state is known) writes exactly what the general
// loop writes: the same engine bytes (states, index, superseded records, namespace record,
// mvcc rows and history), the same answers and revisions, the same CrdtHash. Randomized over
// hot keys (a key rewritten within a batch and across batches), puts and deletes, writes of
// several ops, writes refused half way (a key of a nested namespace), and another origin's
// pages stamped around the region's (winners and superseded losers both ways). Prints its seed;
// replay with RS_SEED=<seed>.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrdtRecord } from '../crdt/index.js';
import { SeededRandom } from '../util/random.js';
import { lwwFastPath } from './apply.js';
import type { EvBody, EvOp } from './entry.js';
import { EvHarness, b } from './testing.js';

const SPECS = [
  { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const },
  { name: 'hits', prefix: 'cfg/n/', level: 'eventual' as const, crdtType: 'counter' as const },
];
const KEYS = ['cfg/k0', 'cfg/k1', 'cfg/k2', 'cfg/k3'];
const EDGE = 'edge:dev:1';
const STEPS = 60;

async function dump(h: EvHarness): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of h.engine.iterate({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) {
    out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  }
  return out;
}

function lwwOps(rng: SeededRandom): EvOp[] {
  const ops: EvOp[] = [];
  for (let n = rng.int(1, 4); n > 0; n--) {
    // One write in twenty names a key of the nested counter namespace: the whole write is refused.
    const key = b(rng.chance(0.05) ? 'cfg/n/x' : rng.pick(KEYS));
    ops.push(rng.chance(0.2) ? { type: 'lwwDelete', key } : { type: 'lwwPut', key, value: b(`v${rng.int(0, 1000)}`) });
  }
  return ops;
}

test('lww fast path: the same bytes, answers and hash as the general loop (randomized)', async () => {
  const seed = Number(process.env.RS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`lww fast path: seed ${seed} (replay with RS_SEED=${seed})`);
  const rng = new SeededRandom(seed);
  const fast = await EvHarness.open(SPECS);
  const general = await EvHarness.open(SPECS);
  try {
    let edgeSeq = 0;
    for (let step = 0; step < STEPS; step++) {
      const nowMs = fast.nowMs + rng.int(0, 3);
      fast.nowMs = general.nowMs = nowMs;
      const bodies: EvBody[] = [];
      for (let n = rng.int(1, 6); n > 0; n--) {
        if (rng.chance(0.25)) {
          // Another origin's writes, stamped a little before or after the region's.
          const records: CrdtRecord[] = [];
          const from = edgeSeq + 1;
          for (let m = rng.int(1, 3); m > 0; m--) {
            const value = rng.chance(0.2) ? null : b(`e${rng.int(0, 1000)}`);
            records.push({ kind: 'lww', origin: EDGE, seq: ++edgeSeq, hlc: { wall: nowMs + rng.int(-2, 3), logical: rng.int(0, 3) }, key: b(rng.pick(KEYS)), value });
          }
          bodies.push({ kind: 'page', namespace: 'cfg', physicalMs: nowMs, ranges: [{ origin: EDGE, from, to: edgeSeq }], records });
        } else bodies.push({ kind: 'write', namespace: 'cfg', physicalMs: nowMs, ops: lwwOps(rng) });
      }
      const batch = bodies.map((body) => ({ body }));
      lwwFastPath.on = true;
      const a = await fast.applyBodies(batch);
      lwwFastPath.on = false;
      const g = await general.applyBodies(batch);
      assert.deepEqual(a, g, `step ${step}: answers and revisions (seed ${seed})`);
    }
    assert.deepEqual(await dump(fast), await dump(general), `engine bytes (seed ${seed})`);
    assert.equal(await fast.store.hash('cfg'), await general.store.hash('cfg'));
    // And after a reopen (the caches gone: states read from the engine again), once more.
    await fast.reopen();
    await general.reopen();
    const body: EvBody = { kind: 'write', namespace: 'cfg', physicalMs: fast.nowMs, ops: KEYS.map((k) => ({ type: 'lwwPut' as const, key: b(k), value: b('last') })) };
    lwwFastPath.on = true;
    const a = await fast.applyBodies([{ body }]);
    lwwFastPath.on = false;
    assert.deepEqual(a, await general.applyBodies([{ body }]));
    assert.deepEqual(await dump(fast), await dump(general), `engine bytes after a reopen (seed ${seed})`);
  } finally {
    lwwFastPath.on = true;
    await fast.close();
    await general.close();
  }
});
