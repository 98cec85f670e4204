// etcd's Election service semantics (v3election, which runs client/v3/concurrency's
// Election): a candidate's lease owns the key `name/<lease hex>` holding its value; the
// leader is the candidate whose key has the lowest create revision. Campaign waits for
// every earlier candidate's key to go; a leader is identified by (key, create revision),
// so Proclaim and Resign act only while that exact key generation exists.

import { EventType, type KeyValue } from '../../mvcc/index.js';
import type { Backend } from '../backend.js';
import { EtcdErrors } from '../errors.js';
import type { ApiLimits } from '../limits.js';
import {
  RecipeErrors,
  createRevisionIs,
  firstCreated,
  namePrefix,
  prefixEnd,
  range,
  recipeError,
  sessionKey,
  sessionLease,
  txn,
  waitDeletes,
} from './recipes.js';

/** etcd's LeaderKey: what a leader presents to Proclaim and Resign. */
export interface LeaderKey {
  name: Uint8Array;
  key: Uint8Array;
  /** The create revision of the leader's key. */
  rev: number;
  lease: number;
}

/** A LeaderKey as a request carries it: a lease id the backend cannot hold is undefined. */
export type LeaderRef = Omit<LeaderKey, 'lease'> & { lease: number | undefined };

export interface CampaignResult {
  /** The header revision: of the campaign's first txn, as etcd answers it. */
  revision: number;
  leader: LeaderKey;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The txn that puts `value` on the leader's key if it still is that generation. */
async function proclaimTxn(backend: Backend, limits: ApiLimits, leader: LeaderKey, value: Uint8Array) {
  return txn(backend, limits, {
    compare: [createRevisionIs(leader.key, leader.rev)],
    success: [{ type: 'put', put: { key: leader.key, value, lease: leader.lease } }],
    failure: [],
  });
}

/** The txn that deletes the leader's key if it still is that generation. */
async function resignTxn(backend: Backend, limits: ApiLimits, leader: LeaderKey) {
  return txn(backend, limits, {
    compare: [createRevisionIs(leader.key, leader.rev)],
    success: [{ type: 'deleteRange', deleteRange: { key: leader.key } }],
    failure: [],
  });
}

/** Enters the election `name` with `value` and resolves once the caller leads. */
export async function campaign(
  backend: Backend,
  limits: ApiLimits,
  name: Uint8Array,
  leaseRef: number | undefined,
  value: Uint8Array,
  signal: AbortSignal,
): Promise<CampaignResult> {
  const lease = await sessionLease(backend, leaseRef);
  const prefix = namePrefix(name);
  const key = sessionKey(prefix, lease);
  const res = await txn(backend, limits, {
    compare: [createRevisionIs(key, 0)],
    success: [{ type: 'put', put: { key, value, lease } }],
    failure: [{ type: 'range', range: { key } }],
  });
  const leader: LeaderKey = { name, key, rev: res.revision, lease };
  if (!res.succeeded) {
    // This lease already campaigns here: keep its place, update its value.
    const mine = res.responses[0];
    const kv = mine?.type === 'range' ? mine.range.kvs[0] : undefined;
    if (kv !== undefined) {
      leader.rev = kv.createRevision;
      if (!sameBytes(kv.value, value)) {
        const p = await proclaimTxn(backend, limits, leader, value).catch(async (err: unknown) => {
          await resignTxn(backend, limits, leader).catch(() => undefined);
          throw err;
        });
        if (!p.succeeded) throw recipeError(RecipeErrors.notLeader);
      }
    }
  }
  try {
    await waitDeletes(backend, limits, prefix, leader.rev - 1, signal);
  } catch (err) {
    // A cancelled candidate withdraws (etcd resigns on a cancelled context).
    if (signal.aborted) await resignTxn(backend, limits, leader).catch(() => undefined);
    throw err;
  }
  return { revision: res.revision, leader };
}

/** Replaces the leader's value; "election: not leader" when its key is gone or newer. */
export async function proclaim(backend: Backend, limits: ApiLimits, leader: LeaderRef, value: Uint8Array): Promise<{ revision: number }> {
  if (leader.lease === undefined) {
    // A lease id no backend can hold: etcd's txn compares first ("not leader" when the
    // key generation differs) and only then fails the put on the lease.
    const check = await txn(backend, limits, { compare: [createRevisionIs(leader.key, leader.rev)], success: [], failure: [] });
    throw check.succeeded ? EtcdErrors.leaseNotFound : recipeError(RecipeErrors.notLeader);
  }
  const lease = await sessionLease(backend, leader.lease);
  const res = await proclaimTxn(backend, limits, { ...leader, lease }, value);
  if (!res.succeeded) throw recipeError(RecipeErrors.notLeader);
  return { revision: res.revision };
}

/** Deletes the leader's key if it still is that generation; no error otherwise (as etcd). */
export async function resign(backend: Backend, limits: ApiLimits, leader: LeaderKey): Promise<{ revision: number }> {
  const res = await resignTxn(backend, limits, leader);
  return { revision: res.revision };
}

export interface LeaderResult {
  revision: number;
  kv: KeyValue;
}

/** The current leader's key-value; "election: no leader" when nobody campaigns. */
export async function currentLeader(backend: Backend, limits: ApiLimits, name: Uint8Array): Promise<LeaderResult> {
  const res = await range(backend, limits, firstCreated(namePrefix(name)));
  const kv = res.kvs[0];
  if (kv === undefined) throw recipeError(RecipeErrors.noLeader);
  return { revision: res.revision, kv };
}

/**
 * Yields the leader's key-value on every change (etcd's Election.Observe): the current
 * leader (or, with none, the first candidate to appear), then each new value of its key
 * until the key is deleted, then the next leader, until `signal` aborts. A failed read or
 * watch ends the sequence quietly, as etcd's observer closes its channel.
 */
export async function* observe(
  backend: Backend,
  limits: ApiLimits,
  name: Uint8Array,
  signal: AbortSignal,
): AsyncGenerator<LeaderResult> {
  const prefix = namePrefix(name);
  while (!signal.aborted) {
    let current: LeaderResult | undefined;
    try {
      const res = await range(backend, limits, firstCreated(prefix));
      const kv = res.kvs[0];
      current = kv !== undefined ? { revision: res.revision, kv } : undefined;
      if (current === undefined) {
        // Nobody campaigns: the first put under the prefix is the leader.
        for await (const r of watchUntil(backend, { key: prefix, rangeEnd: prefixEnd(prefix), startRevision: res.revision }, signal)) {
          const put = r.events.find((ev) => ev.type === EventType.PUT);
          if (put !== undefined) {
            current = { revision: put.kv.modRevision, kv: put.kv };
            break;
          }
        }
      }
    } catch {
      return;
    }
    if (current === undefined) return;
    yield current;
    let deleted = false;
    for await (const r of watchUntil(backend, { key: current.kv.key, startRevision: current.revision + 1 }, signal)) {
      for (const ev of r.events) {
        if (ev.type === EventType.DELETE) {
          deleted = true;
          break;
        }
        yield { revision: r.revision, kv: ev.kv };
      }
      if (deleted) break;
    }
    if (!deleted) return;
  }
}

interface WatchedResponse {
  revision: number;
  events: Array<{ type: number; kv: KeyValue }>;
}

/**
 * A watcher's responses with events until it closes, its history is compacted, or
 * `signal` aborts; the watcher is cancelled when the caller stops early.
 */
async function* watchUntil(
  backend: Backend,
  req: { key: Uint8Array; rangeEnd?: Uint8Array; startRevision: number },
  signal: AbortSignal,
): AsyncGenerator<WatchedResponse> {
  if (signal.aborted) return;
  const watcher = backend.watch(req);
  const stop = (): void => watcher.cancel();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const res = await watcher.next();
      if (res === undefined || signal.aborted) return;
      if (res.compactRevision !== undefined && res.compactRevision > 0) return;
      if (res.events.length > 0) yield res;
    }
  } finally {
    signal.removeEventListener('abort', stop);
    watcher.cancel();
  }
}
