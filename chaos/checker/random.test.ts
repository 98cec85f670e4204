// Randomized: histories of a simulated sequential register with random overlapping
// intervals, unknown and failed operations must check "ok"; the same with an injected
// anomaly must check "violation", with a window that is evidence on its own.
// Replay a failure with CHAOS_CHECK_SEED=<seed printed>.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SeededRandom } from '../../server/util/random.js';
import { checkLinearizability } from './linearizability.js';
import { renderLinearizability } from './render.js';
import { assertWindowIsEvidence } from './testing/evidence.js';
import { ANOMALIES, linearizableHistory, withAnomaly, type GenerateOptions } from './testing/generate.js';

const ROUNDS = 100;
const seed = Number(process.env.CHAOS_CHECK_SEED ?? Math.floor(Math.random() * 2 ** 31));

function options(random: SeededRandom): GenerateOptions {
  return {
    seed: random.nextUint32(),
    processes: random.int(2, 9),
    opsPerProcess: random.int(5, 60),
    keys: random.int(1, 4),
    unknownChance: random.pick([0, 0.03, 0.08]),
    failChance: random.pick([0, 0.05]),
    gapNsMax: random.int(1, 3_000_000),
    latencyNsMax: random.int(1, 6_000_000),
  };
}

it(`random linearizable histories check ok; with an anomaly, violation (seed=${seed})`, (t) => {
  t.diagnostic(`seed=${seed} (replay with CHAOS_CHECK_SEED=${seed})`);
  const random = new SeededRandom(seed);
  for (let round = 0; round < ROUNDS; round++) {
    const o = options(random);
    const where = `seed=${seed} round=${round} ${JSON.stringify(o)}`;
    const history = linearizableHistory(o);
    const good = checkLinearizability(history, { timeLimitMs: 20_000 });
    assert.equal(good.verdict, 'ok', `${where}\n${renderLinearizability(history, good)}`);

    const anomaly = random.pick(ANOMALIES);
    const bad = withAnomaly(history, random.nextUint32(), anomaly);
    const result = checkLinearizability(bad, { timeLimitMs: 20_000 });
    assert.equal(result.verdict, 'violation', `${where} ${anomaly}\n${renderLinearizability(bad, result)}`);
    for (const key of result.keys) {
      if (key.window !== undefined) assertWindowIsEvidence(bad, key.window);
    }
  }
});
