// One attempt of a unary call on one connection, as a promise: the building block the
// retrying caller and the leader probe share. Failures come back as AttemptFailure-like
// objects (gRPC code + details), never thrown raw from grpc-js.

import { Metadata, type Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { wasNotSent, type AttemptFailure } from './policy.js';
import type { Method } from './proto.js';

export class AttemptError extends Error implements AttemptFailure {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly notSent: boolean,
  ) {
    super(details);
  }
}

export function attemptErrorOf(err: unknown): AttemptError {
  if (err instanceof AttemptError) return err;
  const e = err as Partial<ServiceError> | null;
  const code = typeof e?.code === 'number' ? e.code : status.UNKNOWN;
  const details = typeof e?.details === 'string' && e.details !== '' ? e.details : String(e?.message ?? err);
  return new AttemptError(code, details, wasNotSent(code, details));
}

export interface AttemptOptions {
  /** Absolute deadline (ms since the epoch). */
  deadlineMs: number;
  metadata?: Metadata | undefined;
  /** Cancels the attempt (it then fails with CANCELLED). */
  signal?: AbortSignal;
  /** Called with the answer's trailing metadata (before the promise settles). */
  onTrailers?: ((md: Metadata) => void) | undefined;
}

export function unaryAttempt<Res>(conn: GrpcClient, method: Method, req: unknown, opts: AttemptOptions): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = conn.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      req,
      opts.metadata ?? new Metadata(),
      { deadline: opts.deadlineMs },
      (err, res) => {
        signal?.removeEventListener('abort', cancel);
        if (err !== null) reject(attemptErrorOf(err));
        else resolve(res as Res);
      },
    );
    // grpc-js calls the callback, then emits 'status' synchronously: the trailers are in
    // before any code awaiting this promise runs.
    if (opts.onTrailers !== undefined) call.on('status', (st: { metadata: Metadata }) => opts.onTrailers!(st.metadata));
    const signal = opts.signal;
    const cancel = (): void => call.cancel();
    if (signal?.aborted === true) call.cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
