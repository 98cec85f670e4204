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
