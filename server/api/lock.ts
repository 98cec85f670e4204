// The Lock service (etcd's v3lockpb.Lock) on the client port: thin handlers over
// concurrency/mutex.ts, which holds the semantics.

import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Backend } from './backend.js';
import { callSignal, answerRecipe } from './concurrency/call.js';
import { acquireLock, releaseLock } from './concurrency/mutex.js';
import { idFromWire } from './convert.js';
import type { ApiLimits } from './limits.js';
import { header } from './respond.js';
import type { Int64 } from './wire.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

export function lockService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  const Lock: Unary<{ name: Buffer; lease: Int64 }> = (call, cb) =>
    answerRecipe(
      cb,
      () => acquireLock(backend, limits, call.request.name, idFromWire(call.request.lease), callSignal(call)),
      (r) => ({ header: header(backend.headerInfo(), r.revision), key: r.key }),
    );

  const Unlock: Unary<{ key: Buffer }> = (call, cb) =>
    answerRecipe(
      cb,
      () => releaseLock(backend, limits, call.request.key),
      (r) => ({ header: header(backend.headerInfo(), r.revision) }),
    );

  return { Lock, Unlock };
}
