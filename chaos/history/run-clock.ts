// The clock of a history's `call` and `return`: integer nanoseconds since the start of the
// run, from the monotonic clock (wall time can jump; a history must not).

export class RunClock {
  private readonly origin: bigint;

  /** `now` is injectable for tests; it returns monotonic nanoseconds. */
  constructor(private readonly now: () => bigint = process.hrtime.bigint) {
    this.origin = this.now();
  }

  /** Nanoseconds since this clock was made. Safe as a number for ~104 days of run. */
  nowNs(): number {
    return Number(this.now() - this.origin);
  }
}
