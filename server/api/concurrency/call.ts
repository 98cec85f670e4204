// What the Lock and Election handlers share: an AbortSignal that fires when the client
// goes away (cancel, deadline, disconnect), so a waiting Lock or Campaign stops waiting
// and withdraws its key; and etcd's way of answering these services' failures.

import type { sendUnaryData } from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import { toApiError } from '../errors.js';
import { recipeError } from './recipes.js';

/** Aborts when grpc-js reports the call cancelled (client cancel, deadline, lost connection). */
export function callSignal(call: EventEmitter & { cancelled?: boolean }): AbortSignal {
  const ac = new AbortController();
  if (call.cancelled === true) ac.abort();
  else call.once('cancelled', () => ac.abort());
  return ac.signal;
}

/** etcd answers these services' failures as UNKNOWN with the error's text (recipes.ts). */
export function asEtcdRecipeError(err: unknown): ReturnType<typeof recipeError> {
  return recipeError(toApiError(err).details);
}

/** Finishes a unary call from `run`, failures answered as etcd's Lock/Election do. */
export function answerRecipe<R>(cb: sendUnaryData<unknown>, run: () => Promise<R>, toWire: (r: R) => unknown): void {
  let pending: Promise<R>;
  try {
    pending = run();
  } catch (err) {
    cb(asEtcdRecipeError(err));
    return;
  }
  pending.then(
    (r) => {
      try {
        cb(null, toWire(r));
      } catch (err) {
        cb(asEtcdRecipeError(err));
      }
    },
    (err: unknown) => cb(asEtcdRecipeError(err)),
  );
}
