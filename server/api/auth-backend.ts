// What the Auth service and the permission gate need from a region node (implemented
// structurally by server/region/region-auth.ts). Failures are thrown as server/auth's
// AuthError (mapped to etcd's statuses by auth-errors.ts) or the backend's usual errors.
// `actor` is the caller as authInfo() resolved it from the `token` metadata (undefined:
// no token, or auth disabled).

import type { AuthInfo, Permission } from '../auth/index.js';

export interface AuthStatusResult {
  enabled: boolean;
  revision: number;
}

export interface AuthBackend {
  /** Whether auth is enabled on this member (cheap; read per request). */
  readonly enabled: boolean;
  /**
   * The caller of a request carrying metadata `token` (undefined without one, or while
   * auth is disabled, as etcd ignores tokens then). Throws invalid-auth-token for a token
   * this member does not know (expired, or its user deleted or given a new password).
   * `certUser`: the CN of the call's verified client certificate (--client-cert-auth); a
   * call without a token is made as that user, as etcd's AuthInfoFromTLS does.
   */
  authInfo(token: string | undefined, certUser?: string): AuthInfo | undefined;
  /**
   * A promise when `token` names an Authenticate entry this member has not applied yet
   * (the token was made on another member a moment ago): settles once it is applied or a
   * bounded wait is over. Undefined when there is nothing to wait for.
   */
  tokenPending(token: string | undefined): Promise<void> | undefined;
  /** etcd's IsRangePermitted / IsPutPermitted: rangeEnd empty is one key, "\0" from key on. */
  checkRange(info: AuthInfo | undefined, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): void;
  /** etcd's IsAdminPermitted: the root role, or auth disabled. */
  checkAdmin(info: AuthInfo | undefined): void;
  isAdmin(info: AuthInfo | undefined): boolean;
  /** Whether the caller holds `role` (false without a caller). */
  hasRole(info: AuthInfo | undefined, role: string): boolean;
  /**
   * Whether `user` may do `type` on the range with its roles as they are now: for a long
   * session (an edge's) whose token was checked at its start, so a revoked permission takes
   * effect mid-session. True while auth is disabled; false for a deleted user.
   */
  permitsUser(user: string, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean;

  authenticate(name: string, password: string): Promise<string>;
  enable(actor: AuthInfo | undefined): Promise<void>;
  disable(actor: AuthInfo | undefined): Promise<void>;
  status(actor: AuthInfo | undefined): Promise<AuthStatusResult>;

  /** `hashedPassword`: a bcrypt hash given instead of the password (etcd 3.5 clients). */
  userAdd(actor: AuthInfo | undefined, name: string, password: string, hashedPassword: string, noPassword: boolean): Promise<void>;
  /** The user's roles; the user may read itself. */
  userGet(actor: AuthInfo | undefined, name: string): Promise<string[]>;
  userList(actor: AuthInfo | undefined): Promise<string[]>;
  userDelete(actor: AuthInfo | undefined, name: string): Promise<void>;
  userChangePassword(actor: AuthInfo | undefined, name: string, password: string, hashedPassword: string): Promise<void>;
  userGrantRole(actor: AuthInfo | undefined, user: string, role: string): Promise<void>;
  userRevokeRole(actor: AuthInfo | undefined, name: string, role: string): Promise<void>;

  roleAdd(actor: AuthInfo | undefined, name: string): Promise<void>;
  /** The role's permissions; a user may read the roles it holds. */
  roleGet(actor: AuthInfo | undefined, role: string): Promise<Permission[]>;
  roleList(actor: AuthInfo | undefined): Promise<string[]>;
  roleDelete(actor: AuthInfo | undefined, role: string): Promise<void>;
  roleGrantPermission(actor: AuthInfo | undefined, name: string, perm: Permission): Promise<void>;
  roleRevokePermission(actor: AuthInfo | undefined, role: string, key: Uint8Array, rangeEnd: Uint8Array): Promise<void>;

  /** The keys attached to a lease (etcd's lease permission rules); empty for an unknown lease. */
  leaseKeys(leaseId: number): Promise<Uint8Array[]>;
}
