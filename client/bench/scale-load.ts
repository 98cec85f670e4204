// The request loops of `bench:scale`: load keys in stages (16-byte keys, 256-byte values,
// CONNECTIONS sessions, IN_FLIGHT puts at once to the leader) and time every tenth of a
// stage, then read random loaded keys. Each call goes through RawGrpcPool, never retried:
// a failure is counted and named, and the caller reports it.

import { performance } from 'node:perf_hooks';
import { SeededRandom } from '../../server/util/random.js';
import { RawGrpcPool } from './raw-grpc.js';
import { PUT_PATH, RANGE_PATH, putFrame, rangeCount, rangeFrame } from './scale-frames.js';

/** HTTP/2 sessions to the target, and requests in flight over them (as issue 20 measured). */
export const CONNECTIONS = 4;
export const IN_FLIGHT = 256;
/** Every key is KEY_PREFIX and KEY_DIGITS decimal digits: 16 bytes. */
export const KEY_PREFIX = 'scale/';
const KEY_DIGITS = 10;
export const KEY_BYTES = KEY_PREFIX.length + KEY_DIGITS;
/** Keys are a permutation of the 32-bit numbers, so at most this many. */
export const KEYS_MAX = 2 ** 32;
export const VALUE_BYTES = 256;
/** Deadline of one put or get: far above any healthy answer, so only a stall fails. */
export const CALL_TIMEOUT_MS = 60_000;
/** A stage is timed in this many equal parts; the rate of the last one is reported. */
export const STAGE_PARTS = 10;
/** Golden-ratio multiplier: odd, so i -> i * M mod 2^32 is a bijection (unique keys, scattered order). */
const SCATTER = 0x9e3779b1;

/** The i-th key: unique for i < KEYS_MAX, written in an order that is not the keys' sorted order. */
export function scaleKey(i: number): Buffer {
  const n = Math.imul(i, SCATTER) >>> 0;
  return Buffer.from(KEY_PREFIX + String(n).padStart(KEY_DIGITS, '0'));
}

/** Values: one constant buffer, or (randomValues) fresh pseudo-random bytes per put from `seed`. */
export function valueSource(randomValues: boolean, seed: number): () => Buffer {
  const constant = Buffer.alloc(VALUE_BYTES, 'v');
  if (!randomValues) return () => constant;
  const rng = new SeededRandom(seed);
  return () => {
    const b = Buffer.allocUnsafe(VALUE_BYTES);
    for (let i = 0; i < VALUE_BYTES; i += 4) b.writeUInt32LE(rng.nextUint32(), i);
    return b;
  };
}

export interface LoopOutcome {
  ok: number;
  failed: number;
  /** Indices of the failed calls (of the first FAILED_KEPT_MAX): a failed put's key is missing. */
  failedIndices: number[];
  /** Failures by message (the first ERROR_KINDS_MAX kinds). */
  errors: Record<string, number>;
  seconds: number;
}

export interface StageOutcome extends LoopOutcome {
  from: number;
  to: number;
  /** Seconds from the stage's start at which each tenth of its calls had completed (STAGE_PARTS entries). */
  partEndS: number[];
}

/** Failed call indices remembered (beyond this the gets may hit keys that were never written). */
export const FAILED_KEPT_MAX = 100_000;
/** Distinct failure messages kept; further kinds are counted together. */
export const ERROR_KINDS_MAX = 10;

function countError(errors: Record<string, number>, err: unknown): void {
  // Addresses and example keys vary per call; the kind of failure does not.
  let text = (err instanceof Error ? err.message : String(err)).replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'HOST').replace(/ \(e\.g\. [^)]*\)/, '');
  if (errors[text] === undefined && Object.keys(errors).length >= ERROR_KINDS_MAX) text = '(other failures)';
  errors[text] = (errors[text] ?? 0) + 1;
}

/** Runs `inFlight` loops over calls 0..total-1; `onDone` after each completion (ok or not). */
async function loops(
  total: number, inFlight: number, call: (i: number) => Promise<unknown>, onDone: (completed: number) => void,
): Promise<LoopOutcome> {
  const errors: Record<string, number> = {};
  const failedIndices: number[] = [];
  let nextIndex = 0;
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const loop = async (): Promise<void> => {
    while (nextIndex < total) {
      const i = nextIndex++;
      try {
        await call(i);
        ok++;
      } catch (err) {
        failed++;
        if (failedIndices.length < FAILED_KEPT_MAX) failedIndices.push(i);
        countError(errors, err);
      }
      onDone(ok + failed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, Math.max(1, total)) }, loop));
  return { ok, failed, failedIndices, errors, seconds: (performance.now() - start) / 1000 };
}

/** Puts keys [from, to) to `endpoint` and times each tenth of them. */
export async function loadStage(endpoint: string, from: number, to: number, value: () => Buffer): Promise<StageOutcome> {
  if (to > KEYS_MAX) throw new RangeError(`at most ${KEYS_MAX} keys, asked for ${to}`);
  const pool = new RawGrpcPool(endpoint, CONNECTIONS);
  const total = to - from;
  const partEndS: number[] = [];
  const start = performance.now();
  try {
    const r = await loops(total, IN_FLIGHT, (i) => pool.call(PUT_PATH, putFrame(scaleKey(from + i), value()), CALL_TIMEOUT_MS), (done) => {
      // Completion `done` ends part p when it reaches p tenths of the stage (rounded up).
      while (partEndS.length < STAGE_PARTS && done >= Math.ceil((total * (partEndS.length + 1)) / STAGE_PARTS)) {
        partEndS.push((performance.now() - start) / 1000);
      }
    });
    return { ...r, failedIndices: r.failedIndices.map((i) => from + i), from, to, partEndS };
  } finally {
    pool.close();
  }
}

/** Puts per second of each part of a stage (STAGE_PARTS figures). */
export function partRates(s: Pick<StageOutcome, 'from' | 'to' | 'partEndS'>): number[] {
  const total = s.to - s.from;
  return s.partEndS.map((end, p) => {
    const calls = Math.ceil((total * (p + 1)) / STAGE_PARTS) - Math.ceil((total * p) / STAGE_PARTS);
    const seconds = end - (p === 0 ? 0 : (s.partEndS[p - 1] as number));
    return seconds > 0 ? calls / seconds : 0;
  });
}

/**
 * `total` linearizable gets of random loaded keys (from `seed`), skipping the keys whose put
 * failed (`missing`): a key that is not found is then a lost write, and counts as failed.
 */
export async function getRandomKeys(endpoint: string, keys: number, missing: ReadonlySet<number>, total: number, seed: number): Promise<LoopOutcome> {
  if (missing.size >= keys) throw new RangeError(`no key to read: all ${keys} puts failed`);
  const pool = new RawGrpcPool(endpoint, CONNECTIONS);
  const rng = new SeededRandom(seed);
  const pick = (): number => {
    for (;;) {
      const i = rng.int(0, keys);
      if (!missing.has(i)) return i;
    }
  };
  try {
    return await loops(total, IN_FLIGHT, async () => {
      const key = scaleKey(pick());
      const answer = await pool.call(RANGE_PATH, rangeFrame({ key }), CALL_TIMEOUT_MS);
      if (rangeCount(answer) === 0) throw new Error(`an acknowledged key was not found (e.g. ${key.toString()})`);
    }, () => undefined);
  } finally {
    pool.close();
  }
}
