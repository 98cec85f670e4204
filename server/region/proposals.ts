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
import { SlidingArray } from '../util/sliding-array.js';

export class ProposalTimeoutError extends Error {
  override name = 'ProposalTimeoutError';
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  deadlineMs: number;
}

/** Answered slots at the front beyond which the array is compacted (a copy; the old one dies whole). */
const COMPACT_HEAD_MIN = 1024;
/** The counter of the first proposal. */
const FIRST_COUNTER = 1;

// Waiters are kept in a SlidingArray indexed by counter, not in a Map (issue 20): counters
// are given out in order, so the counter is the index. A Map with a put load's churn of set
// and delete rebuilt its table every few hundred proposals and linked the old table to the
// new one, and once a Mark-Compact had moved a table to the old generation each scavenge
// found the next tables alive through those links, with the waiters they held and
// everything those retained (the proposal's promise, its call's state): all promoted, until
// the next Mark-Compact, which started the chain again. A compacted SlidingArray is a copy:
// the old one is not linked to it.
export class PendingProposals<T> {
  /** The slot of counter c is its waiter, a hole once answered; the first slot held is always a waiter. */
  private readonly waiters = new SlidingArray<Waiter<T>>(FIRST_COUNTER, COMPACT_HEAD_MIN);
  private count = 0;

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  get size(): number {
    return this.count;
  }

  /** Registers a waiter and returns its counter (the id carried in the entry payload). */
  register(): { counter: number; done: Promise<T> } {
    const counter = this.waiters.endIndex;
    const deadlineMs = this.clock.monotonicMs() + this.timeoutMs;
    const done = new Promise<T>((resolve, reject) => {
      this.waiters.push({ resolve, reject, deadlineMs });
    });
    this.count++;
    return { counter, done };
  }

  /** Fails every waiter whose deadline has passed (they are in deadline order, the first one first). */
  expire(): void {
    const now = this.clock.monotonicMs();
    for (;;) {
      const counter = this.waiters.firstIndex;
      const w = this.waiters.at(counter);
      if (w === undefined || w.deadlineMs > now) return;
      this.take(counter);
      w.reject(new ProposalTimeoutError(`proposal not applied within ${this.timeoutMs} ms`));
    }
  }

  resolve(counter: number, value: T): void {
    this.take(counter)?.resolve(value); // undefined: timed out already, or proposed before a restart
  }

  reject(counter: number, err: Error): void {
    this.take(counter)?.reject(err);
  }

  rejectAll(err: Error): void {
    // A counter stays the index of its slot across the compactions take() may do.
    const end = this.waiters.endIndex;
    for (let counter = this.waiters.firstIndex; counter < end; counter++) this.reject(counter, err);
  }

  /** Removes and returns the waiter of `counter`, if it is still waiting. */
  private take(counter: number): Waiter<T> | undefined {
    const w = this.waiters.take(counter);
    if (w === undefined) return undefined;
    this.count--;
    this.waiters.dropLeadingHoles();
    return w;
  }
}
