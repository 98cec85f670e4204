// Lets reads wait until the state machine has applied up to an index (ReadIndex: a read is
// served once applied >= its read index). Waiters are kept sorted by index so notify() is
// cheap when nothing is due.

interface Waiter {
  index: number;
  resolve(): void;
}

export class AppliedWaiter {
  private waiters: Waiter[] = [];

  constructor(private applied: number) {}

  get appliedIndex(): number {
    return this.applied;
  }

  waitFor(index: number): Promise<void> {
    if (index <= this.applied) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { index, resolve };
      // Insert in order; reads arrive with non-decreasing indexes, so this is usually a push.
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.index > index) i--;
      this.waiters.splice(i, 0, w);
    });
  }

  notify(applied: number): void {
    this.applied = applied;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.index <= applied) n++;
    if (n === 0) return;
    const due = this.waiters.splice(0, n);
    for (const w of due) w.resolve();
  }
}
