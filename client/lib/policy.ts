// When a failed attempt is retried, and whether a failed write may have taken effect.
//
// Calls come in three kinds:
//  - read:  changes nothing; retried on UNAVAILABLE and on an attempt's own deadline.
//  - write: carries the writer identity (rs-client-id, rs-seq) or is idempotent, so the
//           server applies it at most once however often it is sent; retried like a read
//           (this covers etcd's "request timed out", "leader changed", "no leader" and
//           "not primary", which are all UNAVAILABLE).
//  - idempotent: changes something, but doing it twice is doing it once (MoveLeader,
//           Defragment, an alarm): retried like a write, without an identity.
//  - once:  may not be repeated (e.g. MemberAdd); retried only when the request
//           certainly never left this process (no connection to send it on).
// Every other code is the answer: retrying would give the same one.

import { status } from '@grpc/grpc-js';
import { EtcdMessages } from './errors.js';

export type CallKind = 'read' | 'write' | 'idempotent' | 'once';

/** Attempts per call, the first included; the call's deadline may end it sooner. */
export const RETRY_ATTEMPTS_MAX = 10;
/** Backoff before retry n is drawn from [cap/2, cap], cap = min(MAX, BASE * 2^(n-1)). */
export const BACKOFF_BASE_MS = 50;
export const BACKOFF_MAX_MS = 1_000;
/** Whole-call deadline (all attempts and backoffs) unless the call gives its own. */
export const CALL_TIMEOUT_MS_DEFAULT = 15_000;
/**
 * One attempt's deadline: a member that stopped answering (SIGSTOP, a partition) costs
 * at most this before the call moves on. Below the server's 7 s proposal timeout, so a
 * stuck proposal is retried elsewhere rather than waited out.
 */
export const ATTEMPT_TIMEOUT_MS_DEFAULT = 5_000;

/** What one attempt ended with, as the retry decision sees it. */
export interface AttemptFailure {
  code: status;
  details: string;
  /** The request never reached a connection (the channel had none to offer). */
  notSent: boolean;
}

/**
 * grpc-js fails a call at once with this text when the channel has no connection (in
 * TRANSIENT_FAILURE after a refused or failed connect): nothing was written.
 */
const NOT_SENT_PATTERNS = [/^No connection established/, /^[a-z_]+: No connection established/];

export function wasNotSent(code: status, details: string): boolean {
  return code === status.UNAVAILABLE && NOT_SENT_PATTERNS.some((re) => re.test(details));
}

/** Codes that are the server's considered answer: the request was refused or applied as this error. */
const ANSWER_CODES: ReadonlySet<status> = new Set([
  status.INVALID_ARGUMENT,
  status.FAILED_PRECONDITION,
  status.NOT_FOUND,
  status.OUT_OF_RANGE,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.UNAUTHENTICATED,
  status.UNIMPLEMENTED,
]);

export function isRetryable(kind: CallKind, f: AttemptFailure): boolean {
  if (f.notSent) return true;
  if (kind === 'once') return false;
  return f.code === status.UNAVAILABLE || f.code === status.DEADLINE_EXCEEDED;
}

/**
 * Whether a write may have taken effect, given what earlier attempts left open and how
 * this one failed. An answer code settles it: with the identity the server applies one
 * of the attempts at most once and answers every attempt alike (errors included), and
 * a request it refuses before applying (validation) is refused alike every time. A
 * refusal for load (RESOURCE_EXHAUSTED) or a stale seq says nothing about earlier attempts.
 */
export function maybeAppliedAfter(kind: CallKind, earlier: boolean, f: AttemptFailure): boolean {
  if (kind === 'read') return false;
  if (f.notSent) return earlier;
  if (f.code === status.FAILED_PRECONDITION && f.details.includes(EtcdMessages.staleRequest)) return earlier;
  if (ANSWER_CODES.has(f.code)) return false;
  if (f.code === status.RESOURCE_EXHAUSTED) return earlier;
  return true;
}

/** Whether the member itself is unreachable or stuck (not just without a leader). */
export function isConnectionFailure(f: AttemptFailure): boolean {
  if (f.code === status.DEADLINE_EXCEEDED) return true;
  return f.code === status.UNAVAILABLE && !f.details.startsWith('etcdserver:') && !f.details.startsWith('regionstore:');
}

/** Whether the failure says something about the member or the leader (not about the request). */
export function isMemberFailure(f: AttemptFailure): boolean {
  return f.notSent || f.code === status.UNAVAILABLE || f.code === status.DEADLINE_EXCEEDED;
}

/** Jittered exponential backoff before retry `retry` (1 = the first retry). */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, retry - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
