import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../util/random.js';
import { Backoff } from './backoff.js';

test('backoff: jittered under an exponential ceiling, capped, reset after success, replayable from the seed', () => {
  const seed = Number(process.env.SEED ?? 3);
  console.log(`# seed=${seed}`);
  const b = new Backoff(new SeededRandom(seed), { baseMs: 100, capMs: 5_000, factor: 2 });
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const ceiling = b.ceilingMs();
    assert.equal(ceiling, Math.min(5_000, 100 * 2 ** i));
    const d = b.next();
    assert.ok(d >= 0 && d < ceiling, `attempt ${i}: ${d} within [0, ${ceiling})`);
    delays.push(d);
  }
  assert.ok(new Set(delays).size > 6, 'jitter: the delays differ');
  const again = new Backoff(new SeededRandom(seed), { baseMs: 100, capMs: 5_000, factor: 2 });
  assert.deepEqual(Array.from({ length: 12 }, () => again.next()), delays, 'same seed, same delays');
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.ceilingMs(), 100);
  assert.throws(() => new Backoff(new SeededRandom(1), { baseMs: 0 }), /0 < base/);
});

test('an unreachable peer is probed at a steady short interval, and the backoff does not grow', () => {
  const b = new Backoff(new SeededRandom(3), { baseMs: 200, capMs: 30_000, probeMs: 800 });
  for (let i = 0; i < 100; i++) {
    const d = b.probe();
    assert.ok(d >= 400 && d < 800, `probe ${d} ms`);
  }
  assert.equal(b.attempts, 0, 'probes are not attempts');
  assert.equal(b.ceilingMs(), 200);
});
