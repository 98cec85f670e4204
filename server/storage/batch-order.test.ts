import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../util/random.js';
import { SORT_RUN_OPS, sortOpsByKey, sortOpsByKeyInRuns } from './batch-order.js';
import { compareBytes } from './keys.js';
import { MemoryEngine } from './memory-engine.js';
import type { BatchOp } from './engine.js';

async function pairsOf(e: MemoryEngine): Promise<Array<[Uint8Array, Uint8Array]>> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for await (const kv of e.iterate()) out.push(kv);
  return out;
}

/** Writing `reordered` leaves the same pairs as writing `ops` in their own order. */
async function assertSameWrites(ops: BatchOp[], reordered: BatchOp[]): Promise<void> {
  const asGiven = new MemoryEngine();
  const other = new MemoryEngine();
  await asGiven.write(ops);
  await other.write(reordered);
  assert.deepEqual(await pairsOf(other), await pairsOf(asGiven));
}

/** Up to 40 ops over few distinct keys (some prefixes of others), so one key is often put and deleted several times. */
function randomOps(rng: SeededRandom, round: number): BatchOp[] {
  const keys = Array.from({ length: 6 }, () => Uint8Array.from({ length: rng.int(1, 4) }, () => rng.int(0, 3)));
  return Array.from({ length: rng.int(1, 40) }, (_, i) => {
    const key = rng.pick(keys);
    return rng.chance(0.3) ? { type: 'del', key } : { type: 'put', key, value: Uint8Array.of(round, i) };
  });
}

test('a batch in key order writes what it wrote in its own order (ops on one key keep their order)', async () => {
  const seed = Number(process.env.SEED ?? 20);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  for (let round = 0; round < 50; round++) {
    const ops = randomOps(rng, round);
    const sorted = [...ops];
    sortOpsByKey(sorted);
    for (let i = 1; i < sorted.length; i++) assert.ok(compareBytes(sorted[i - 1]!.key, sorted[i]!.key) <= 0, 'in key order');
    await assertSameWrites(ops, sorted);
  }
});

test('a batch sorted in runs writes what it wrote in its own order, each run in key order', async () => {
  const seed = Number(process.env.SEED ?? 21);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  for (let round = 0; round < 50; round++) {
    const ops = randomOps(rng, round);
    const runOps = rng.int(1, 8);
    const sorted = [...ops];
    await sortOpsByKeyInRuns(sorted, runOps);
    assert.equal(sorted.length, ops.length);
    for (let i = 1; i < sorted.length; i++) {
      if (i % runOps !== 0) assert.ok(compareBytes(sorted[i - 1]!.key, sorted[i]!.key) <= 0, `run ${Math.floor(i / runOps)} in key order`);
    }
    await assertSameWrites(ops, sorted);
  }
});

test('a batch of more than SORT_RUN_OPS ops is sorted across turns of the event loop', async () => {
  const ops: BatchOp[] = Array.from({ length: 3 * SORT_RUN_OPS + 1 }, (_, i) => ({ type: 'del', key: Uint8Array.of(i % 251, i % 7) }));
  let done = false;
  const sorting = sortOpsByKeyInRuns(ops).then(() => (done = true));
  // A callback queued after the sort began (as a Raft tick would be) runs before it ends.
  const ranBefore = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!done)));
  await sorting;
  assert.ok(ranBefore, 'the event loop turned while the batch was being sorted');
  for (let i = 1; i < SORT_RUN_OPS; i++) assert.ok(compareBytes(ops[i - 1]!.key, ops[i]!.key) <= 0, 'the first run in key order');
});
