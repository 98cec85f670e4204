// etcd's Lock service semantics (v3lock, which runs client/v3/concurrency's Mutex): the
// caller's lease owns the key `name/<lease hex>`; the lock belongs to the key of the
// prefix with the lowest create revision, so waiters are served in the order they
// arrived. A waiter whose call is cancelled deletes its key (etcd's Mutex.Lock unlocks on
// a failed wait), so an abandoned waiter never becomes the holder.

import type { Backend } from '../backend.js';
import type { ApiLimits } from '../limits.js';
import { validateDeleteRange } from '../validate.js';
import {
  RecipeErrors,
  createRevisionIs,
  firstCreated,
  namePrefix,
  range,
  recipeError,
  sessionKey,
  sessionLease,
  txn,
  waitDeletes,
} from './recipes.js';

export interface LockResult {
  /** The revision the response header shows: of the acquiring txn, or of the final check after a wait. */
  revision: number;
  key: Uint8Array;
}

/** Acquires the lock `name` for `lease` (0: a new session lease); resolves once held. */
export async function acquireLock(
  backend: Backend,
  limits: ApiLimits,
  name: Uint8Array,
  leaseRef: number | undefined,
  signal: AbortSignal,
): Promise<LockResult> {
  const lease = await sessionLease(backend, leaseRef);
  const prefix = namePrefix(name);
  const key = sessionKey(prefix, lease);
  const owner = firstCreated(prefix);
  // One round trip when uncontended: create our key if absent (or find it: the same
  // lease locking again resumes its place) and read the current holder.
  const res = await txn(backend, limits, {
    compare: [createRevisionIs(key, 0)],
    success: [
      { type: 'put', put: { key, value: new Uint8Array(0), lease } },
      { type: 'range', range: owner },
    ],
    failure: [
      { type: 'range', range: { key } },
      { type: 'range', range: owner },
    ],
  });
  let myRev = res.revision;
  if (!res.succeeded) {
    const mine = res.responses[0];
    myRev = mine?.type === 'range' ? (mine.range.kvs[0]?.createRevision ?? myRev) : myRev;
  }
  const holder = res.responses[1];
  const first = holder?.type === 'range' ? holder.range.kvs[0] : undefined;
  if (first === undefined || first.createRevision === myRev) return { revision: res.revision, key };

  try {
    await waitDeletes(backend, limits, prefix, myRev - 1, signal);
    // Our key may have gone with its lease while we waited.
    const check = await range(backend, limits, { key });
    if (check.kvs.length === 0) throw recipeError(RecipeErrors.sessionExpired);
    return { revision: check.revision, key };
  } catch (err) {
    if (!(err instanceof Error && err.message === RecipeErrors.sessionExpired)) {
      // Leave no waiter behind: a key nobody waits on would take the lock and hold it
      // until its lease expires.
      await backend.deleteRange({ key }).catch(() => undefined);
    }
    throw err;
  }
}

/** Deletes the lock's key (etcd's Unlock: a plain delete; a missing key is no error). */
export async function releaseLock(backend: Backend, limits: ApiLimits, key: Uint8Array): Promise<{ revision: number }> {
  const req = { key };
  validateDeleteRange(req, limits);
  return backend.deleteRange(req);
}
