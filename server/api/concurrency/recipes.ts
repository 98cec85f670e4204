// The building blocks etcd's Lock and Election services share, done the way etcd's
// client/v3/concurrency recipes do them (etcd serves both services by running those
// recipes against itself): session leases, the "first/last created key of a prefix"
// reads, and waiting until every key of a prefix created before ours is deleted (fair
// ordering by create revision). Everything goes through the Backend's public calls, so
// each step is a linearizable read or a replicated write like any client's.

import type { KeyValue, RangeRequest, TxnRequest, TxnResponse } from '../../mvcc/index.js';
import { CompareResult, CompareTarget, EventType, SortOrder, SortTarget } from '../../mvcc/index.js';
import type { Backend } from '../backend.js';
import { ApiError, EtcdErrors } from '../errors.js';
import type { ApiLimits } from '../limits.js';
import { validateRange, validateTxn } from '../validate.js';
import { status } from '@grpc/grpc-js';
import { prefixEnd as prefixEndOrNone } from '../../util/bytes.js';

/**
 * The TTL of the lease etcd's session grants when a request names lease 0 (etcd's
 * concurrency.defaultSessionTTL): Lock and Campaign with no lease still get a key that
 * goes away on its own, one minute after nobody renews it.
 */
export const SESSION_TTL_DEFAULT_SECONDS = 60;

/** etcd's messages for the recipes' own failures (client/v3/concurrency). */
export const RecipeErrors = {
  sessionExpired: 'mutex: session is expired',
  notLeader: 'election: not leader',
  noLeader: 'election: no leader',
  missingLeaderKey: '"leader" field must be provided',
  lostWatcher: 'lost watcher waiting for delete',
  canceled: 'context canceled',
} as const;

/**
 * etcd answers every failure of these services with gRPC code UNKNOWN and the error's
 * text, etcd's own "etcdserver: ..." texts included (its handlers return the client
 * library's error values, which carry no gRPC status). Clients match on the text.
 */
export function recipeError(details: string): ApiError {
  return new ApiError(status.UNKNOWN, details);
}

const encoder = new TextEncoder();

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** etcd's prefix range end: the prefix with its last byte below 0xff incremented; "\0" for none. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  return prefixEndOrNone(prefix) ?? FROM_KEY_RANGE_END;
}

/** etcd's range end meaning "every key from here". */
const FROM_KEY_RANGE_END = Uint8Array.of(0);

/** `name/<lease id in lowercase hex>`: the key a session holds under a lock or election prefix. */
export function sessionKey(prefix: Uint8Array, lease: number): Uint8Array {
  return concat(prefix, bytes(lease.toString(16)));
}

/** The prefix of a lock or election: its name and a slash, as etcd's recipes use. */
export function namePrefix(name: Uint8Array): Uint8Array {
  return concat(name, bytes('/'));
}

/**
 * The lease the request's keys are bound to: the caller's, or (lease 0) a new one of
 * SESSION_TTL_DEFAULT_SECONDS, which etcd's session grants and then leaves to expire.
 * An id the backend cannot hold (negative, beyond 2^53) is "lease not found".
 */
export async function sessionLease(backend: Backend, lease: number | undefined): Promise<number> {
  if (lease === undefined) throw EtcdErrors.leaseNotFound;
  if (lease !== 0) return lease;
  const granted = await backend.leaseGrant({ ttl: SESSION_TTL_DEFAULT_SECONDS, id: 0 });
  return granted.id;
}

/** The key of `prefix` created first (the lock holder, the leader) or last below `maxCreate`. */
function byCreate(prefix: Uint8Array, order: 'first' | 'last', maxCreate?: number): RangeRequest {
  return {
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    limit: 1,
    sortTarget: SortTarget.CREATE,
    sortOrder: order === 'first' ? SortOrder.ASCEND : SortOrder.DESCEND,
    ...(maxCreate !== undefined ? { maxCreateRevision: maxCreate } : {}),
  };
}

export function firstCreated(prefix: Uint8Array): RangeRequest {
  return byCreate(prefix, 'first');
}

export async function range(backend: Backend, limits: ApiLimits, req: RangeRequest): Promise<{ revision: number; kvs: KeyValue[] }> {
  validateRange(req, limits);
  return backend.range(req);
}

export async function txn(backend: Backend, limits: ApiLimits, req: TxnRequest): Promise<TxnResponse> {
  validateTxn(req, limits);
  return backend.txn(req);
}

/** The txn compare "key's create revision = rev" (0: the key does not exist). */
export function createRevisionIs(key: Uint8Array, rev: number): TxnRequest['compare'][number] {
  return { key, target: CompareTarget.CREATE, result: CompareResult.EQUAL, createRevision: rev };
}

/** Rejects with etcd's "context canceled" once `signal` aborts. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw recipeError(RecipeErrors.canceled);
}

/**
 * Waits for a DELETE of `key` at or after revision `rev` (etcd's waitDelete). A
 * compacted start answers etcd's compacted error; a closed watcher "lost watcher".
 */
async function waitDelete(backend: Backend, key: Uint8Array, rev: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  const watcher = backend.watch({ key, startRevision: rev });
  const stop = (): void => watcher.cancel();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const res = await watcher.next();
      throwIfAborted(signal);
      if (res === undefined) throw recipeError(RecipeErrors.lostWatcher);
      if (res.compactRevision !== undefined && res.compactRevision > 0) throw EtcdErrors.compacted;
      if (res.events.some((ev) => ev.type === EventType.DELETE)) return;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    watcher.cancel();
  }
}

/**
 * Waits until no key of `prefix` has a create revision at or below `maxCreate`: the
 * fair queue. Each round reads the newest such key and waits for its deletion, so a
 * waiter watches one key (its predecessor), not the whole prefix (etcd's waitDeletes).
 */
export async function waitDeletes(
  backend: Backend,
  limits: ApiLimits,
  prefix: Uint8Array,
  maxCreate: number,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    throwIfAborted(signal);
    const res = await range(backend, limits, byCreate(prefix, 'last', maxCreate));
    const last = res.kvs[0];
    if (last === undefined) return;
    await waitDelete(backend, last.key, res.revision, signal);
  }
}
