// What every workload shares: its context (the history's clock, the members, a seeded
// PRNG, when to stop), the clients it talks through, and how a failed call is recorded.

import { setTimeout as sleep } from 'node:timers/promises';
import { Client, RegionstoreError } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import type { RunClock } from '../history/run-clock.js';

/** Deadline of one workload call, retries included. Bounds how long a loop outlives --time. */
export const OP_TIMEOUT_MS = 5_000;
/** Deadline of one attempt: a frozen or cut-off member costs this before the call moves on. */
export const ATTEMPT_TIMEOUT_MS = 2_000;
/** Each logical process waits a random time in this range between two operations, so the
 *  history stays checkable (and an unsafe build that answers at once cannot flood it). */
export const PACE_MS_MIN = 5;
export const PACE_MS_MAX = 40;
/** Final reads (after the heal) are retried until they succeed or this passes. */
export const FINAL_READ_TIMEOUT_MS = 60_000;
export const FINAL_READ_RETRY_MS = 250;

const NS_PER_MS = 1_000_000;

export interface WorkloadContext {
  clock: RunClock;
  /** Client URLs of every member. */
  endpoints: readonly string[];
  random: SeededRandom;
  /** Request loops start no operation after this, ms since the run started (the clock's origin). */
  stopAtMs: number;
  log: (line: string) => void;
}

export function nowMs(ctx: WorkloadContext): number {
  return ctx.clock.nowNs() / NS_PER_MS;
}

export function running(ctx: WorkloadContext): boolean {
  return nowMs(ctx) < ctx.stopAtMs;
}

export async function pace(random: SeededRandom): Promise<void> {
  await sleep(random.int(PACE_MS_MIN, PACE_MS_MAX + 1));
}

/** A client over the given members with the workload deadlines. */
export function workloadClient(endpoints: readonly string[], opts: { readFrom?: 'leader' | 'any' } = {}): Client {
  return new Client({
    endpoints: [...endpoints],
    timeoutMs: OP_TIMEOUT_MS,
    attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    readFrom: opts.readFrom ?? 'leader',
  });
}

/**
 * The clients of a workload, Jepsen style: one per member that talks to that member only
 * (a follower forwards writes; its reads are what a stale member would serve), and one
 * over every member that follows the leader. Process p uses clients[p % length].
 */
export function clientSet(endpoints: readonly string[]): Client[] {
  return [...endpoints.map((e) => workloadClient([e])), workloadClient(endpoints)];
}

/**
 * How a failed call is recorded. A read changed nothing: "fail". A write is "fail" only
 * when the client says it certainly did not take effect (maybeApplied false), else
 * "unknown". An error that is not the client's typed one is a bug of the harness or the
 * client: "unknown" for a write, to be safe.
 */
export function failureStatus(err: unknown, write: boolean): 'fail' | 'unknown' {
  if (!write) return 'fail';
  if (err instanceof RegionstoreError) return err.maybeApplied ? 'unknown' : 'fail';
  return 'unknown';
}

/** A short text of an error for logs. */
export function errorText(err: unknown): string {
  if (err instanceof RegionstoreError) return `${err.codeName}: ${err.details}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Calls `step` until it succeeds or FINAL_READ_TIMEOUT_MS passes (then throws its last
 * error). For reads, and for writes that are safe to repeat (a setup guarded by compares).
 */
export async function untilDone<T>(step: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + FINAL_READ_TIMEOUT_MS;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(FINAL_READ_RETRY_MS);
    }
  }
}

/** Rejects with "<what> took longer than <ms> ms" if `p` has not settled by then. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      p,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what} took longer than ${ms} ms`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

export function closeAll(clients: readonly Client[]): void {
  for (const c of clients) c.close();
}
