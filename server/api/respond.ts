// Small helpers every handler uses: response headers, and finishing a unary call from a
// backend promise (mapping failures to etcd statuses; never throwing).

import type { sendUnaryData } from '@grpc/grpc-js';
import type { HeaderInfo } from './backend.js';
import { toApiError } from './errors.js';
import type { WireHeader } from './wire.js';

export function header(info: HeaderInfo, revision: number): WireHeader {
  return { clusterId: info.clusterId, memberId: info.memberId, revision, raftTerm: info.raftTerm };
}

/**
 * Runs `run` (which may throw synchronously or reject) and answers the call with
 * `toWire` of its result, or with the mapped error.
 */
export function answer<R>(cb: sendUnaryData<unknown>, run: () => Promise<R>, toWire: (r: R) => unknown): void {
  let pending: Promise<R>;
  try {
    pending = run();
  } catch (err) {
    cb(toApiError(err));
    return;
  }
  answerPending(cb, pending, toWire);
}

/**
 * answer() of a promise the handler already has: a hot handler (KV Put) runs its request
 * inline and passes a `toWire` made once per service, not closures per call that live as
 * long as the call (issue 20).
 */
export function answerPending<R>(cb: sendUnaryData<unknown>, pending: Promise<R>, toWire: (r: R) => unknown): void {
  pending.then(
    (r) => {
      let wire: unknown;
      try {
        wire = toWire(r);
      } catch (err) {
        cb(toApiError(err));
        return;
      }
      cb(null, wire);
    },
    (err: unknown) => cb(toApiError(err)),
  );
}
