// Proposals waiting for their entry to be applied. Each resolves with the state machine's
// answer when this node applies the entry it proposed, or fails at its deadline. A
// proposal that is dropped on the way (leader change, forwarding lost) is never applied
// and so times out; the client's (client id, seq) dedupe makes its retry safe.
//
// Deadlines are checked by expire(), which the region node calls on every tick, instead
// of a timer per proposal: under load a timer per put showed in allocation profiles, and
// a deadline missed by one tick (tens of ms) against a timeout of seconds does not matter.
// Waiters are kept in registration order and every one gets the same timeout, so deadlines
// are in order too and expire() stops at the first one still running.

import type { Clock } from '../util/clock.js';

export class ProposalTimeoutError extends Error {
  override name = 'ProposalTimeoutError';
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  deadlineMs: number;
}

export class PendingProposals<T> {
  private nextCounter = 1;
  /** In registration order (Map keeps insertion order), hence in deadline order. */
  private readonly waiters = new Map<number, Waiter<T>>();

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  get size(): number {
    return this.waiters.size;
  }

  /** Registers a waiter and returns its counter (the id carried in the entry payload). */
  register(): { counter: number; done: Promise<T> } {
    const counter = this.nextCounter++;
    const deadlineMs = this.clock.monotonicMs() + this.timeoutMs;
    const done = new Promise<T>((resolve, reject) => {
      this.waiters.set(counter, { resolve, reject, deadlineMs });
    });
    return { counter, done };
  }

  /** Fails every waiter whose deadline has passed. */
  expire(): void {
    const now = this.clock.monotonicMs();
    for (const [counter, w] of this.waiters) {
      if (w.deadlineMs > now) return;
      this.waiters.delete(counter);
      w.reject(new ProposalTimeoutError(`proposal not applied within ${this.timeoutMs} ms`));
    }
  }

  resolve(counter: number, value: T): void {
    const w = this.waiters.get(counter);
    if (w === undefined) return; // timed out already, or proposed before a restart
    this.waiters.delete(counter);
    w.resolve(value);
  }

  reject(counter: number, err: Error): void {
    const w = this.waiters.get(counter);
    if (w === undefined) return;
    this.waiters.delete(counter);
    w.reject(err);
  }

  rejectAll(err: Error): void {
    for (const counter of Array.from(this.waiters.keys())) this.reject(counter, err);
  }
}
