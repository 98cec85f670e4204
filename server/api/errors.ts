// The errors of the client API: etcd's gRPC codes and message texts (etcd's
// api/v3rpc/rpctypes), because clients act on the exact strings (etcdctl and the etcd3
// npm client map them back to typed errors), and the mapping from the backend's typed
// errors to those statuses. Anything unexpected becomes INTERNAL with its message.
//
// Backend errors are matched structurally, so server/region and server/mvcc need not
// import this module: an Error whose `code` is one of BackendErrorCode (MvccError is
// one), or one named ProposalTimeoutError.

import { status } from '@grpc/grpc-js';
import type { MvccErrorCode } from '../mvcc/index.js';
import { authStatusOf } from './auth-errors.js';

/** What a handler answers on failure: a gRPC status code and etcd's message text. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

function e(code: status, details: string): ApiError {
  return new ApiError(code, details);
}

export function invalidArgument(details: string): ApiError {
  return new ApiError(status.INVALID_ARGUMENT, details);
}

/** etcd's errors, by the name etcd gives them (rpctypes.ErrGRPC*). */
export const EtcdErrors = {
  emptyKey: e(status.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: e(status.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: e(status.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: e(status.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: e(status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: e(status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  invalidSortOption: e(status.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  compacted: e(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: e(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: e(status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  leaseNotFound: e(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExist: e(status.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: e(status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  memberExist: e(status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  peerUrlExist: e(status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  memberNotEnoughStarted: e(
    status.FAILED_PRECONDITION,
    'etcdserver: re-configuration failed due to not enough started members',
  ),
  memberBadUrls: e(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  memberNotFound: e(status.NOT_FOUND, 'etcdserver: member not found'),
  memberNotLearner: e(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  learnerNotReady: e(
    status.FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member which is in sync with leader',
  ),
  tooManyLearners: e(status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  requestTooLarge: e(status.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  tooManyRequests: e(status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),
  noLeader: e(status.UNAVAILABLE, 'etcdserver: no leader'),
  notLeader: e(status.FAILED_PRECONDITION, 'etcdserver: not leader'),
  leaderChanged: e(status.UNAVAILABLE, 'etcdserver: leader changed'),
  notPrimary: e(status.UNAVAILABLE, 'etcdserver: not primary'),
  notCapable: e(status.UNAVAILABLE, 'etcdserver: not capable'),
  stopped: e(status.UNAVAILABLE, 'etcdserver: server stopped'),
  timeout: e(status.UNAVAILABLE, 'etcdserver: request timed out'),
  timeoutDueToLeaderFail: e(
    status.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to previous leader failure',
  ),
  timeoutDueToConnectionLost: e(
    status.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to connection lost',
  ),
  unhealthy: e(status.UNAVAILABLE, 'etcdserver: unhealthy cluster'),
  corrupt: e(status.DATA_LOSS, 'etcdserver: corrupt cluster'),
  notSupportedForLearner: e(status.UNAVAILABLE, 'etcdserver: rpc not supported for learner'),
  badLeaderTransferee: e(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  watchCanceled: e(status.CANCELLED, 'etcdserver: watch canceled'),
} as const;

/** Codes a backend error may carry (`err.code`), beyond the store's own MvccErrorCode. */
export type BackendErrorCode =
  | MvccErrorCode
  | 'no-leader'
  | 'leader-changed'
  | 'timeout'
  | 'timeout-leader-fail'
  | 'timeout-connection-lost'
  | 'stopped'
  | 'too-many-requests'
  | 'no-space'
  | 'unhealthy'
  | 'corrupt'
  | 'learner-unsupported'
  | 'member-exists'
  | 'peer-url-exists'
  | 'member-not-found'
  | 'member-bad-urls'
  | 'member-not-learner'
  | 'learner-not-ready'
  | 'too-many-learners'
  | 'not-enough-started-members'
  | 'bad-leader-transferee'
  /** A call only the leader answers (MoveLeader), made on a follower. */
  | 'not-leader'
  /** Asked for something the namespace's consistency level does not offer (DESIGN §2). */
  | 'failed-precondition'
  /** This member cannot serve it now, another may (e.g. it is installing a snapshot). */
  | 'unavailable'
  /** A named thing (a namespace) does not exist. */
  | 'not-found'
  /** A name or prefix is taken (namespaces). */
  | 'already-exists'
  /** A wait for something (a session read's revision) ran past its deadline. */
  | 'deadline-exceeded'
  /** A request field only the state can judge is wrong (a CRDT context token; crdt-backend.ts). */
  | 'invalid-argument'
  /** A limit of the state (the siblings cap of an mv key; crdt-backend.ts). */
  | 'resource-exhausted';

/** Codes whose message is etcd's fixed text; the others keep the backend's message. */
const FIXED: Partial<Record<BackendErrorCode, ApiError>> = {
  compacted: EtcdErrors.compacted,
  'future-revision': EtcdErrors.futureRev,
  'lease-not-found': EtcdErrors.leaseNotFound,
  'lease-exists': EtcdErrors.leaseExist,
  'lease-ttl-too-large': EtcdErrors.leaseTtlTooLarge,
  'key-not-found': EtcdErrors.keyNotFound,
  'duplicate-key': EtcdErrors.duplicateKey,
  'too-many-ops': EtcdErrors.tooManyOps,
  'not-primary': EtcdErrors.notPrimary,
  'not-leader': EtcdErrors.notLeader,
  'no-leader': EtcdErrors.noLeader,
  'leader-changed': EtcdErrors.leaderChanged,
  timeout: EtcdErrors.timeout,
  'timeout-leader-fail': EtcdErrors.timeoutDueToLeaderFail,
  'timeout-connection-lost': EtcdErrors.timeoutDueToConnectionLost,
  stopped: EtcdErrors.stopped,
  'too-many-requests': EtcdErrors.tooManyRequests,
  'no-space': EtcdErrors.noSpace,
  unhealthy: EtcdErrors.unhealthy,
  corrupt: EtcdErrors.corrupt,
  'learner-unsupported': EtcdErrors.notSupportedForLearner,
  'member-exists': EtcdErrors.memberExist,
  'peer-url-exists': EtcdErrors.peerUrlExist,
  'member-not-found': EtcdErrors.memberNotFound,
  'member-bad-urls': EtcdErrors.memberBadUrls,
  'member-not-learner': EtcdErrors.memberNotLearner,
  'learner-not-ready': EtcdErrors.learnerNotReady,
  'too-many-learners': EtcdErrors.tooManyLearners,
  'not-enough-started-members': EtcdErrors.memberNotEnoughStarted,
  'bad-leader-transferee': EtcdErrors.badLeaderTransferee,
};

/** Codes answered with the backend's own message under a fixed gRPC code. */
const WITH_MESSAGE: Partial<Record<BackendErrorCode, status>> = {
  invalid: status.INVALID_ARGUMENT,
  'stale-request': status.FAILED_PRECONDITION,
  'failed-precondition': status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  'invalid-argument': status.INVALID_ARGUMENT,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
};

/** The gRPC status for anything a handler or backend threw. Never throws. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err !== null && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    const message = (err as { message?: unknown }).message;
    const text = typeof message === 'string' ? message : 'unknown error';
    // server/auth's AuthError: etcd's auth statuses (auth-errors.ts).
    if ((err as { name?: unknown }).name === 'AuthError' && typeof code === 'string') {
      const auth = authStatusOf(code);
      if (auth !== undefined) return new ApiError(auth.code, auth.details);
    }
    if (typeof code === 'string') {
      const fixed = FIXED[code as BackendErrorCode];
      if (fixed !== undefined) return fixed;
      const grpcCode = WITH_MESSAGE[code as BackendErrorCode];
      if (grpcCode !== undefined) return new ApiError(grpcCode, text);
    }
    if ((err as { name?: unknown }).name === 'ProposalTimeoutError') return EtcdErrors.timeout;
    return new ApiError(status.INTERNAL, `regionstore: internal error: ${text}`);
  }
  return new ApiError(status.INTERNAL, `regionstore: internal error: ${String(err)}`);
}

/** The object grpc-js takes as a call's failure. */
export interface GrpcStatus {
  code: status;
  details: string;
}

export function toGrpcStatus(err: unknown): GrpcStatus {
  const api = toApiError(err);
  return { code: api.code, details: api.details };
}
