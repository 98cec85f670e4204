// FreshIndex against a plain map of the same entries, through random puts, deletes, moves
// into a later index and flushes: the one-entry fields before its maps must hold, find, drop
// and flush exactly what the maps alone would (a hot key's batch goes through them for every
// write; a batch of many keys moves out of them at its second entry), and a key entry given
// as its record flushes as encodeKeyIndex of its key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../util/random.js';
import { encodeKeyIndex } from './codec.js';
import { FreshIndex, type FreshValue } from './fresh-index.js';
import { indexKey } from './layout.js';

const NAMESPACES = ['cfg', 'cf'];
const ORIGINS = ['region:t', 'edge:d:1'];
const SEQS = 6;
const STEPS = 4000;

const id = (ns: string, origin: string, seq: number): string => `${ns}|${origin}|${seq}`;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const keyOf = (step: number): Uint8Array => Uint8Array.from(`k${step}`, (ch) => ch.charCodeAt(0));

function flushed(f: FreshIndex): string[] {
  const out: string[] = [];
  f.flush((op) => out.push(`${op.type} ${hex(op.key)} ${op.type === 'put' ? hex(op.value) : ''}`));
  return out.sort();
}

test('fresh index: the one-entry fields and the maps hold what a plain map holds (randomized)', () => {
  const seed = Number(process.env.EV_SEED ?? Date.now() % 100_000);
  console.log(`# seed ${seed} (replay with EV_SEED=${seed})`);
  const rnd = new SeededRandom(seed);
  let f = new FreshIndex();
  let ref = new Map<string, { ns: string; origin: string; seq: number; value: Uint8Array }>();
  for (let step = 0; step < STEPS; step++) {
    const ns = NAMESPACES[rnd.int(0, NAMESPACES.length)]!;
    const origin = ORIGINS[rnd.int(0, ORIGINS.length)]!;
    const seq = rnd.int(0, SEQS);
    const k = id(ns, origin, seq);
    const roll = rnd.int(0, 100);
    if (roll < 45) {
      // Half the entries as bytes, half as a record holding its key (a key entry, encoded at flush).
      const key = keyOf(step);
      const given: FreshValue = rnd.int(0, 2) === 0 ? Uint8Array.of(step & 0xff, step >> 8) : { key };
      f.set(ns, origin, seq, given);
      ref.set(k, { ns, origin, seq, value: given instanceof Uint8Array ? given : encodeKeyIndex(key) });
    } else if (roll < 90) {
      assert.equal(f.delete(ns, origin, seq), ref.delete(k), `seed ${seed} step ${step}: delete ${k}`);
    } else if (roll < 95) {
      // A command's own index moved into its batch's (Work.commit).
      const into = new FreshIndex();
      f.moveInto(into);
      f = into;
    } else {
      // The batch is flushed; the next starts empty.
      const want = [...ref.values()].map((e) => `put ${hex(indexKey(e.ns, e.origin, e.seq))} ${hex(e.value)}`).sort();
      assert.deepEqual(flushed(f), want, `seed ${seed} step ${step}: flush`);
      f = new FreshIndex();
      ref = new Map();
    }
    assert.equal(f.size, ref.size, `seed ${seed} step ${step}: size`);
    for (const n of NAMESPACES) for (const o of ORIGINS) for (let s = 0; s < SEQS; s++) {
      assert.equal(f.has(n, o, s), ref.has(id(n, o, s)), `seed ${seed} step ${step}: has ${id(n, o, s)}`);
    }
  }
});
