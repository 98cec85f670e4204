// Proposals waiting for their entry to be applied. Each resolves with the state machine's
// answer when this node applies the entry it proposed, or fails at its deadline. A
// proposal that is dropped on the way (leader change, forwarding lost) is never applied
// and so times out; the client's (client id, seq) dedupe makes its retry safe.

export class ProposalTimeoutError extends Error {
  override name = 'ProposalTimeoutError';
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PendingProposals<T> {
  private nextCounter = 1;
  private readonly waiters = new Map<number, Waiter<T>>();

  get size(): number {
    return this.waiters.size;
  }

  /** Registers a waiter and returns its counter (the id carried in the entry payload). */
  register(timeoutMs: number): { counter: number; done: Promise<T> } {
    const counter = this.nextCounter++;
    const done = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(counter);
        reject(new ProposalTimeoutError(`proposal not applied within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(counter, { resolve, reject, timer });
    });
    return { counter, done };
  }

  resolve(counter: number, value: T): void {
    const w = this.waiters.get(counter);
    if (w === undefined) return; // timed out already, or proposed before a restart
    this.waiters.delete(counter);
    clearTimeout(w.timer);
    w.resolve(value);
  }

  reject(counter: number, err: Error): void {
    const w = this.waiters.get(counter);
    if (w === undefined) return;
    this.waiters.delete(counter);
    clearTimeout(w.timer);
    w.reject(err);
  }

  rejectAll(err: Error): void {
    for (const counter of Array.from(this.waiters.keys())) this.reject(counter, err);
  }
}
