// Time as an input: code that needs the time takes a Clock, so tests and the
// simulator can drive it.

export interface Clock {
  /** Wall-clock milliseconds since the epoch (for HLCs and lease deadlines shown to users). */
  nowMs(): number;
  /** Monotonic milliseconds, for measuring intervals. */
  monotonicMs(): number;
}

export class ManualClock implements Clock {
  constructor(private wallMs = 0, private monoMs = 0) {}
  nowMs(): number {
    return this.wallMs;
  }
  monotonicMs(): number {
    return this.monoMs;
  }
  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }
}
