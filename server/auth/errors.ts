// The auth errors, one code per etcd rpctypes error; server/api maps each code to etcd's
// gRPC status and exact message (clients match on the text).

export type AuthErrorCode =
  | 'root-user-not-exist'
  | 'root-role-not-exist'
  | 'user-already-exist'
  | 'user-empty'
  | 'user-not-found'
  | 'role-already-exist'
  | 'role-not-found'
  | 'role-empty'
  | 'permission-not-given'
  | 'auth-failed'
  | 'permission-denied'
  | 'role-not-granted'
  | 'permission-not-granted'
  | 'auth-not-enabled'
  | 'invalid-auth-token'
  | 'invalid-auth-mgmt'
  | 'auth-old-revision';

/** etcd's message for each code (rpctypes.ErrGRPC*). */
export const AUTH_ERROR_MESSAGES: Record<AuthErrorCode, string> = {
  'root-user-not-exist': 'etcdserver: root user does not exist',
  'root-role-not-exist': 'etcdserver: root user does not have root role',
  'user-already-exist': 'etcdserver: user name already exists',
  'user-empty': 'etcdserver: user name is empty',
  'user-not-found': 'etcdserver: user name not found',
  'role-already-exist': 'etcdserver: role name already exists',
  'role-not-found': 'etcdserver: role name not found',
  'role-empty': 'etcdserver: role name is empty',
  'permission-not-given': 'etcdserver: permission not given',
  'auth-failed': 'etcdserver: authentication failed, invalid user ID or password',
  'permission-denied': 'etcdserver: permission denied',
  'role-not-granted': 'etcdserver: role is not granted to the user',
  'permission-not-granted': 'etcdserver: permission is not granted to the role',
  'auth-not-enabled': 'etcdserver: authentication is not enabled',
  'invalid-auth-token': 'etcdserver: invalid auth token',
  'invalid-auth-mgmt': 'etcdserver: invalid auth management',
  'auth-old-revision': 'etcdserver: revision of auth store is old',
};

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(readonly code: AuthErrorCode) {
    super(AUTH_ERROR_MESSAGES[code]);
  }
}
