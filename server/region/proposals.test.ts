import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../util/clock.js';
import { PendingProposals, ProposalTimeoutError } from './proposals.js';

test('a proposal resolves with its answer, or fails once its deadline passed at an expire()', async () => {
  const clock = new ManualClock();
  const pending = new PendingProposals<string>(clock, 1000);
  const a = pending.register();
  clock.advance(400);
  const b = pending.register();
  pending.resolve(a.counter, 'answer');
  assert.equal(await a.done, 'answer');

  clock.advance(999); // b's deadline is 400 + 1000: not yet
  pending.expire();
  assert.equal(pending.size, 1);
  clock.advance(1);
  pending.expire();
  await assert.rejects(b.done, (err: unknown) => err instanceof ProposalTimeoutError && /within 1000 ms/.test(err.message));
  assert.equal(pending.size, 0);
  pending.resolve(b.counter, 'late'); // an answer after the deadline is dropped
});

test('expire stops at the first running deadline; reject and rejectAll answer at once', async () => {
  const clock = new ManualClock();
  const pending = new PendingProposals<string>(clock, 100);
  const early = [pending.register(), pending.register()];
  clock.advance(50);
  const late = pending.register();
  clock.advance(50);
  pending.expire();
  for (const p of early) await assert.rejects(p.done, ProposalTimeoutError);
  assert.equal(pending.size, 1);
  pending.reject(late.counter, new Error('leader changed'));
  await assert.rejects(late.done, /leader changed/);
  const rest = [pending.register(), pending.register()];
  pending.rejectAll(new Error('stopped'));
  for (const p of rest) await assert.rejects(p.done, /stopped/);
  assert.equal(pending.size, 0);
});

test('seeded: answers in any order, expiries and rejectAll agree with a plain model, past compactions', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000) || 1;
  console.log(`proposals model test seed=${seed} (replay: SEED=${seed})`);
  let x = seed;
  const rand = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
  const clock = new ManualClock();
  const pending = new PendingProposals<number>(clock, 50);
  const waiting = new Map<number, number>(); // counter -> deadline
  const expected = new Map<number, string>();
  const got = new Map<number, string>();
  for (let step = 0; step < 20_000; step++) {
    const r = rand(100);
    if (r < 45) {
      const { counter, done } = pending.register();
      waiting.set(counter, clock.monotonicMs() + 50);
      done.then((v) => got.set(counter, `resolved ${v}`), (e: Error) => got.set(counter, e instanceof ProposalTimeoutError ? 'timeout' : e.message));
    } else if (r < 85) {
      // Answers come in any order, some for counters never registered or answered already.
      const open = [...waiting.keys()];
      const counter = open.length === 0 || rand(4) === 0 ? rand(20_000) - 100 : open[rand(open.length)]!;
      const rejecting = rand(5) === 0;
      if (rejecting) pending.reject(counter, new Error('rejected'));
      else pending.resolve(counter, counter);
      if (waiting.delete(counter)) expected.set(counter, rejecting ? 'rejected' : `resolved ${counter}`);
    } else if (r < 98) {
      clock.advance(rand(10));
      pending.expire();
      for (const [c, deadline] of waiting) {
        if (deadline > clock.monotonicMs()) continue;
        waiting.delete(c);
        expected.set(c, 'timeout');
      }
    } else if (r < 99) {
      pending.rejectAll(new Error('leader changed'));
      for (const c of waiting.keys()) expected.set(c, 'leader changed');
      waiting.clear();
    }
    assert.equal(pending.size, waiting.size, `step ${step} (seed ${seed})`);
  }
  await new Promise((r) => setImmediate(r));
  assert.ok(expected.size > 5_000);
  for (const [counter, want] of expected) assert.equal(got.get(counter), want, `counter ${counter} (seed ${seed})`);
});
