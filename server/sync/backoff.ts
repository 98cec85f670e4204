// Reconnect backoff: exponential with a cap and "full jitter" (AWS architecture blog,
// "Exponential Backoff And Jitter"): the delay before attempt n is uniform in
// [0, min(cap, base · factor^n)), so edges cut off together do not reconnect together.
// The randomness is an input (server/util's Random), so a test replays from its seed.

import type { Random } from '../util/random.js';
import {
  SYNC_BACKOFF_BASE_MS_DEFAULT, SYNC_BACKOFF_CAP_MS_DEFAULT, SYNC_BACKOFF_FACTOR_DEFAULT, SYNC_UNREACHABLE_PROBE_MS_DEFAULT,
} from './limits.js';

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly factor?: number;
  readonly probeMs?: number;
}

export class Backoff {
  private attempt = 0;
  readonly baseMs: number;
  readonly capMs: number;
  readonly factor: number;
  readonly probeMs: number;

  constructor(
    private readonly random: Random,
    opts: BackoffOptions = {},
  ) {
    this.baseMs = opts.baseMs ?? SYNC_BACKOFF_BASE_MS_DEFAULT;
    this.capMs = opts.capMs ?? SYNC_BACKOFF_CAP_MS_DEFAULT;
    this.factor = opts.factor ?? SYNC_BACKOFF_FACTOR_DEFAULT;
    this.probeMs = opts.probeMs ?? SYNC_UNREACHABLE_PROBE_MS_DEFAULT;
    if (!(this.baseMs > 0 && this.capMs >= this.baseMs && this.factor >= 1)) {
      throw new Error(`backoff needs 0 < base (${this.baseMs}) <= cap (${this.capMs}) and factor (${this.factor}) >= 1`);
    }
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling of the next delay: min(cap, base · factor^attempt). */
  ceilingMs(): number {
    return Math.min(this.capMs, this.baseMs * this.factor ** Math.min(this.attempt, 64));
  }

  /** The delay before the next attempt (uniform in [0, ceiling)), and counts the attempt. */
  next(): number {
    const d = Math.floor(this.random.next() * this.ceilingMs());
    this.attempt++;
    return d;
  }

  /**
   * The delay before the next attempt while the peer is unreachable (no answer at all): a
   * steady probe in [probeMs/2, probeMs), jittered so edges cut together spread out. It does
   * not count as an attempt: the exponential backoff is for refusals the peer answered.
   */
  probe(): number {
    return Math.floor(this.probeMs / 2 + this.random.next() * (this.probeMs / 2));
  }

  /** After a session that got through HELLO: start again from the base. */
  reset(): void {
    this.attempt = 0;
  }
}
