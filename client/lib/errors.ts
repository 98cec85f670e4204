// The errors the client throws: one class per gRPC status (and per etcd error that a
// caller acts on), all under RegionstoreError. Each carries the gRPC code, the server's
// message (etcd's text, which clients match on), and `maybeApplied`: whether a write
// may have taken effect although it failed. The chaos harness records a failed write
// with maybeApplied=false as "fail" and one with maybeApplied=true as "unknown".

import { status } from '@grpc/grpc-js';

export { status as GrpcCode };

/** etcd's message texts (api/v3rpc/rpctypes) that map to a dedicated class or decision. */
export const EtcdMessages = {
  compacted: 'etcdserver: mvcc: required revision has been compacted',
  futureRevision: 'etcdserver: mvcc: required revision is a future revision',
  leaseNotFound: 'etcdserver: requested lease not found',
  noLeader: 'etcdserver: no leader',
  notPrimary: 'etcdserver: not primary',
  leaderChanged: 'etcdserver: leader changed',
  timedOut: 'etcdserver: request timed out',
  tooManyRequests: 'etcdserver: too many requests',
  /** regionstore's answer to a (client id, seq) older than the last one applied. */
  staleRequest: 'regionstore: request sequence number is older than the last one applied for this client',
} as const;

export interface ErrorInit {
  code: status;
  /** The server's message, or the client's reason when the call never got an answer. */
  details: string;
  maybeApplied?: boolean;
  /** host:port of the member that answered last. */
  endpoint?: string;
  /** Attempts made, retries included. */
  attempts?: number;
}

export class RegionstoreError extends Error {
  override name = 'RegionstoreError';
  readonly code: status;
  readonly details: string;
  /** A write that failed with this error may still have taken effect (or may later). */
  readonly maybeApplied: boolean;
  readonly endpoint: string | undefined;
  readonly attempts: number;

  constructor(init: ErrorInit) {
    super(describe(init));
    this.code = init.code;
    this.details = init.details;
    this.maybeApplied = init.maybeApplied ?? false;
    this.endpoint = init.endpoint;
    this.attempts = init.attempts ?? 1;
  }

  /** The gRPC code's name, e.g. "UNAVAILABLE". */
  get codeName(): string {
    return status[this.code] ?? `CODE_${this.code}`;
  }
}

function describe(init: ErrorInit): string {
  const where = init.endpoint === undefined ? '' : ` from ${init.endpoint}`;
  const tries = init.attempts !== undefined && init.attempts > 1 ? ` after ${init.attempts} attempts` : '';
  const applied = init.maybeApplied === true ? '; the write may have been applied' : '';
  return `${init.details} (${status[init.code] ?? init.code}${where}${tries}${applied})`;
}

export class UnavailableError extends RegionstoreError {
  override name = 'UnavailableError';
}
export class DeadlineExceededError extends RegionstoreError {
  override name = 'DeadlineExceededError';
}
/** The caller's AbortSignal fired (or the client was closed) before an answer. */
export class CancelledError extends RegionstoreError {
  override name = 'CancelledError';
}
export class InvalidArgumentError extends RegionstoreError {
  override name = 'InvalidArgumentError';
}
export class FailedPreconditionError extends RegionstoreError {
  override name = 'FailedPreconditionError';
}
/** This write's seq is older than one the server already applied for its client id. */
export class StaleRequestError extends FailedPreconditionError {
  override name = 'StaleRequestError';
}
export class NotFoundError extends RegionstoreError {
  override name = 'NotFoundError';
}
export class LeaseNotFoundError extends NotFoundError {
  override name = 'LeaseNotFoundError';
}
export class OutOfRangeError extends RegionstoreError {
  override name = 'OutOfRangeError';
}
/** The revision asked for (a read, or a watch's resume point) is below the compaction. */
export class CompactedError extends OutOfRangeError {
  override name = 'CompactedError';
  /** The compaction revision when the server said it (watch answers do). */
  readonly compactRevision: number | undefined;
  constructor(init: ErrorInit & { compactRevision?: number }) {
    super(init);
    this.compactRevision = init.compactRevision;
  }
}
export class FutureRevisionError extends OutOfRangeError {
  override name = 'FutureRevisionError';
}
export class ResourceExhaustedError extends RegionstoreError {
  override name = 'ResourceExhaustedError';
}
export class PermissionDeniedError extends RegionstoreError {
  override name = 'PermissionDeniedError';
}
export class InternalError extends RegionstoreError {
  override name = 'InternalError';
}
/** The server's answer could not be understood (a bug on one side). */
export class InvalidResponseError extends RegionstoreError {
  override name = 'InvalidResponseError';
  constructor(details: string) {
    super({ code: status.INTERNAL, details: `regionstore client: invalid response: ${details}` });
  }
}
/** The server canceled a watch for a reason other than compaction (e.g. a refused range). */
export class WatchCanceledError extends RegionstoreError {
  override name = 'WatchCanceledError';
}
/** Used after close(). */
export class ClientClosedError extends CancelledError {
  override name = 'ClientClosedError';
  constructor(maybeApplied = false) {
    super({ code: status.CANCELLED, details: 'regionstore client: the client is closed', maybeApplied });
  }
}

export type LeaseLostReason =
  /** The server said the lease is gone (expired or revoked elsewhere). */
  | 'expired'
  /** No renewal got through for the lease's whole TTL; it has most likely expired. */
  | 'unreachable';

/** A kept-alive lease is gone: its keys are (or will shortly be) deleted. */
export class LeaseLostError extends RegionstoreError {
  override name = 'LeaseLostError';
  constructor(
    readonly leaseId: string,
    readonly reason: LeaseLostReason,
    details: string,
  ) {
    super({ code: reason === 'expired' ? status.NOT_FOUND : status.UNAVAILABLE, details });
  }
}

type ErrorClass = new (init: ErrorInit) => RegionstoreError;

const BY_CODE: Partial<Record<status, ErrorClass>> = {
  [status.UNAVAILABLE]: UnavailableError,
  [status.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [status.CANCELLED]: CancelledError,
  [status.INVALID_ARGUMENT]: InvalidArgumentError,
  [status.FAILED_PRECONDITION]: FailedPreconditionError,
  [status.NOT_FOUND]: NotFoundError,
  [status.OUT_OF_RANGE]: OutOfRangeError,
  [status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [status.PERMISSION_DENIED]: PermissionDeniedError,
  [status.INTERNAL]: InternalError,
};

/** The typed error for a gRPC status. */
export function errorFromStatus(init: ErrorInit): RegionstoreError {
  const d = init.details;
  if (init.code === status.OUT_OF_RANGE && d.includes(EtcdMessages.compacted)) return new CompactedError(init);
  if (init.code === status.OUT_OF_RANGE && d.includes(EtcdMessages.futureRevision)) return new FutureRevisionError(init);
  if (init.code === status.NOT_FOUND && d.includes(EtcdMessages.leaseNotFound)) return new LeaseNotFoundError(init);
  if (init.code === status.FAILED_PRECONDITION && d.includes(EtcdMessages.staleRequest)) return new StaleRequestError(init);
  const cls = BY_CODE[init.code] ?? RegionstoreError;
  return new cls(init);
}
