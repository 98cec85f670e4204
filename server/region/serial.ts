// Runs async sections one at a time, in call order. The region node uses one for the
// state database: applying entries and swapping in a received snapshot must never overlap.

export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** A one-shot wake-up for a loop that sleeps until there is work. */
export class WakeSignal {
  private waiter: (() => void) | undefined;
  private pending = false;

  notify(): void {
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w();
    } else {
      this.pending = true;
    }
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }
}
