// The auth model of etcd's v3 Auth API (DESIGN §10): users, roles and key-range
// permissions, the `root` user and role, and the commands that change them. Plain data:
// the store (store.ts) applies commands, permissions.ts answers permission questions.

/** etcd's authpb.Permission.Type. */
export const PermType = { Read: 0, Write: 1, ReadWrite: 2 } as const;
export type PermType = (typeof PermType)[keyof typeof PermType];

/**
 * A permission on a key range, as etcd writes it: `rangeEnd` empty is the single key
 * `key`; "\0" is every key from `key` on; otherwise [key, rangeEnd).
 */
export interface Permission {
  permType: PermType;
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

export interface User {
  name: string;
  /** The bcrypt hash (etcd's format, e.g. "$2a$10$..."); empty for a user without password. */
  password: string;
  /** Sorted, without duplicates (etcd keeps them so and binary-searches "root"). */
  roles: string[];
  /** etcd's UserAddOptions.no_password: the user can only authenticate by client certificate. */
  noPassword: boolean;
}

export interface Role {
  name: string;
  /** Sorted by key (etcd's order); one entry per (key, rangeEnd). */
  perms: Permission[];
}

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';
/**
 * A role by this name lets its users create, update and delete namespaces (regionstore's
 * Namespaces service; issue 16), as the root role does. A role name rather than a permission
 * on a reserved key: etcdctl's `role add namespace-admin` + `user grant-role` grants it, it
 * shows as what it is in `etcdctl user get`, and no key range is taken from the keyspace.
 * It grants no key permission: deleting a namespace with its keys (force) also needs write
 * permission on the namespace's prefix.
 */
export const NAMESPACE_ADMIN_ROLE = 'namespace-admin';

/** Who sent a request: the user of its token and the auth revision the check saw. */
export interface AuthInfo {
  user: string;
  revision: number;
}

/**
 * A change to the auth state, as it travels in a Raft entry. Passwords are already bcrypt
 * hashes (hashed by the member that received the request), so applying is deterministic.
 * `actor`: who asked, checked again at apply time (etcd's authApplierV3); absent when auth
 * was disabled at the proposer.
 */
export type AuthCommand = { actor?: AuthInfo } & (
  | { op: 'enable' }
  | { op: 'disable' }
  | { op: 'user-add'; name: string; hash: string; noPassword: boolean }
  | { op: 'user-delete'; name: string }
  | { op: 'user-change-password'; name: string; hash: string }
  | { op: 'user-grant-role'; user: string; role: string }
  | { op: 'user-revoke-role'; name: string; role: string }
  | { op: 'role-add'; name: string }
  | { op: 'role-delete'; role: string }
  | { op: 'role-grant-permission'; name: string; perm: Permission }
  | { op: 'role-revoke-permission'; role: string; key: Uint8Array; rangeEnd: Uint8Array }
  /** A successful password check, turned into a token at apply: `${tokenPrefix}.${index}` (etcd's simple token). */
  | { op: 'authenticate'; name: string; tokenPrefix: string; checkedRevision: number }
);
