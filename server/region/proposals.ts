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

/** Answered slots at the front beyond which the array is compacted (a copy; the old one dies whole). */
const COMPACT_HEAD_MIN = 1024;

// Waiters are kept in an array indexed by counter, not in a Map (issue 20). Counters are
// given out in order, so slot `counter - base` is enough; a Map with a put load's churn of
// set and delete rebuilt its table every few hundred proposals and linked the old table to
// the new one, and once a Mark-Compact had moved a table to the old generation each
// scavenge found the next tables alive through those links, with the waiters they held
// and everything those retained (the proposal's promise, its call's state): all promoted,
// until the next Mark-Compact, which started the chain again. A compacted array is a
// copy: the old one is not linked to it.
export class PendingProposals<T> {
  private nextCounter = 1;
  /** slots[k] is the waiter of counter base + k (undefined once answered); base + slots.length === nextCounter. */
  private slots: Array<Waiter<T> | undefined> = [];
  private base = 1;
  /** Slots below head are all answered. */
  private head = 0;
  private count = 0;

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  get size(): number {
    return this.count;
  }

  /** Registers a waiter and returns its counter (the id carried in the entry payload). */
  register(): { counter: number; done: Promise<T> } {
    const counter = this.nextCounter++;
    const deadlineMs = this.clock.monotonicMs() + this.timeoutMs;
    const done = new Promise<T>((resolve, reject) => {
      this.slots.push({ resolve, reject, deadlineMs });
    });
    this.count++;
    return { counter, done };
  }

  /** Fails every waiter whose deadline has passed (they are in deadline order). */
  expire(): void {
    const now = this.clock.monotonicMs();
    while (this.head < this.slots.length) {
      const w = this.slots[this.head];
      if (w !== undefined && w.deadlineMs > now) return;
      const counter = this.base + this.head;
      if (w !== undefined) this.take(counter)?.reject(new ProposalTimeoutError(`proposal not applied within ${this.timeoutMs} ms`));
      else this.head++;
    }
    this.compact();
  }

  resolve(counter: number, value: T): void {
    this.take(counter)?.resolve(value); // undefined: timed out already, or proposed before a restart
  }

  reject(counter: number, err: Error): void {
    this.take(counter)?.reject(err);
  }

  rejectAll(err: Error): void {
    // Counters first: each take() may compact the slots under the loop.
    const waiting: number[] = [];
    for (let k = this.head; k < this.slots.length; k++) if (this.slots[k] !== undefined) waiting.push(this.base + k);
    for (const counter of waiting) this.reject(counter, err);
  }

  /** Removes and returns the waiter of `counter`, if it is still waiting. */
  private take(counter: number): Waiter<T> | undefined {
    const k = counter - this.base;
    if (!Number.isInteger(k) || k < this.head || k >= this.slots.length) return undefined;
    const w = this.slots[k];
    if (w === undefined) return undefined;
    this.slots[k] = undefined;
    this.count--;
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.head++;
    this.compact();
    return w;
  }

  private compact(): void {
    if (this.head === this.slots.length) {
      this.base += this.head;
      this.slots = [];
      this.head = 0;
    } else if (this.head >= COMPACT_HEAD_MIN && this.head * 2 >= this.slots.length) {
      this.base += this.head;
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
