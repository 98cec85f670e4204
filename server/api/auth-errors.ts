// etcd's gRPC statuses for the auth errors (rpctypes.ErrGRPC*): the code each one has in
// etcd 3.5; the message is server/auth's, which is etcd's text.

import { status } from '@grpc/grpc-js';
import { AUTH_ERROR_MESSAGES, type AuthErrorCode } from '../auth/index.js';

const CODES: Record<AuthErrorCode, status> = {
  'root-user-not-exist': status.FAILED_PRECONDITION,
  'root-role-not-exist': status.FAILED_PRECONDITION,
  'user-already-exist': status.FAILED_PRECONDITION,
  'user-empty': status.INVALID_ARGUMENT,
  'user-not-found': status.FAILED_PRECONDITION,
  'role-already-exist': status.FAILED_PRECONDITION,
  'role-not-found': status.FAILED_PRECONDITION,
  'role-empty': status.INVALID_ARGUMENT,
  'permission-not-given': status.INVALID_ARGUMENT,
  'auth-failed': status.INVALID_ARGUMENT,
  'permission-denied': status.PERMISSION_DENIED,
  'role-not-granted': status.FAILED_PRECONDITION,
  'permission-not-granted': status.FAILED_PRECONDITION,
  'auth-not-enabled': status.FAILED_PRECONDITION,
  'invalid-auth-token': status.UNAUTHENTICATED,
  'invalid-auth-mgmt': status.INVALID_ARGUMENT,
  'auth-old-revision': status.INVALID_ARGUMENT,
};

/** The status of an AuthError's code, or undefined for a code that is not an auth one. */
export function authStatusOf(code: string): { code: status; details: string } | undefined {
  const grpc = CODES[code as AuthErrorCode];
  return grpc === undefined ? undefined : { code: grpc, details: AUTH_ERROR_MESSAGES[code as AuthErrorCode] };
}
