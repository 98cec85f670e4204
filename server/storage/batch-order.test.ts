import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../util/random.js';
import { sortOpsByKey } from './batch-order.js';
import { compareBytes } from './keys.js';
import { MemoryEngine } from './memory-engine.js';
import type { BatchOp } from './engine.js';

async function pairsOf(e: MemoryEngine): Promise<Array<[Uint8Array, Uint8Array]>> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for await (const kv of e.iterate()) out.push(kv);
  return out;
}

test('a batch in key order writes what it wrote in its own order (ops on one key keep their order)', async () => {
  const seed = Number(process.env.SEED ?? 20);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  for (let round = 0; round < 50; round++) {
    // Few distinct keys (some prefixes of others), so one key is often put and deleted several times.
    const keys = Array.from({ length: 6 }, () => Uint8Array.from({ length: rng.int(1, 4) }, () => rng.int(0, 3)));
    const ops: BatchOp[] = Array.from({ length: rng.int(1, 40) }, (_, i) => {
      const key = rng.pick(keys);
      return rng.chance(0.3) ? { type: 'del', key } : { type: 'put', key, value: Uint8Array.of(round, i) };
    });
    const sorted = [...ops];
    sortOpsByKey(sorted);
    for (let i = 1; i < sorted.length; i++) assert.ok(compareBytes(sorted[i - 1]!.key, sorted[i]!.key) <= 0, 'in key order');
    const asGiven = new MemoryEngine();
    const inOrder = new MemoryEngine();
    await asGiven.write(ops);
    await inOrder.write(sorted);
    assert.deepEqual(await pairsOf(inOrder), await pairsOf(asGiven));
  }
});
