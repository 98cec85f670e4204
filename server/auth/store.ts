// The auth state machine, pure and deterministic: every member applies the same Auth
// commands in log order and reaches the same users, roles, enabled flag and auth
// revision, with etcd 3.5's rules (server/auth/store.go) and error codes. The revision
// starts at 1 (etcd commits it when it creates the store) and grows by one per change,
// except AuthEnable, which etcd does not count.

import { bytesEqual, compareBytes } from '../util/bytes.js';
import { AuthError } from './errors.js';
import { hasRootRole, isValidPermissionRange, mergePerms, rangePermitted, type MergedPerms } from './permissions.js';
import { ROOT_ROLE, ROOT_USER, type AuthCommand, type AuthInfo, type Permission, type Role, type User } from './types.js';

/** The state as stored and snapshotted. */
export interface AuthStateData {
  enabled: boolean;
  revision: number;
  users: User[];
  roles: Role[];
}

/** What applying a command answers its proposer. */
/** `revision`: the auth revision an Authenticate applied at (a JWT carries it). */
export type AuthApplyOutcome = { ok: true; token?: string; revision?: number } | { ok: false; code: AuthError['code'] };

/** What an applied command changed, for the member's token table. */
export interface AuthSideEffect {
  /** Forget this user's tokens (deleted, or a new password). */
  invalidateUser?: string;
  /** Forget every token (auth disabled). */
  clearTokens?: boolean;
  /** A token to remember (Authenticate). */
  assign?: { token: string; user: string };
}

export const INITIAL_AUTH_REVISION = 1;

export class AuthStore {
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  private enabledFlag = false;
  private rev = INITIAL_AUTH_REVISION;
  private readonly merged = new Map<string, MergedPerms>();

  static of(data: AuthStateData): AuthStore {
    const s = new AuthStore();
    s.enabledFlag = data.enabled;
    s.rev = data.revision;
    for (const u of data.users) s.users.set(u.name, { ...u, roles: [...u.roles].sort() });
    for (const r of data.roles) s.roles.set(r.name, { name: r.name, perms: [...r.perms].sort((a, b) => compareBytes(a.key, b.key)) });
    return s;
  }

  data(): AuthStateData {
    return { enabled: this.enabledFlag, revision: this.rev, users: this.userList(), roles: this.roleList() };
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  get revision(): number {
    return this.rev;
  }

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  role(name: string): Role | undefined {
    return this.roles.get(name);
  }

  /** Users in name order (etcd lists its bucket in key order). */
  userList(): User[] {
    return [...this.users.values()].sort((a, b) => cmpStr(a.name, b.name));
  }

  roleList(): Role[] {
    return [...this.roles.values()].sort((a, b) => cmpStr(a.name, b.name));
  }

  // ---------------------------------------------------------------- checks

  /** etcd's IsAdminPermitted. */
  checkAdmin(info: AuthInfo | undefined): void {
    if (!this.enabledFlag) return;
    if (info === undefined || info.user === '') throw new AuthError('user-empty');
    const u = this.users.get(info.user);
    if (u === undefined) throw new AuthError('user-not-found');
    if (!hasRootRole(u)) throw new AuthError('permission-denied');
  }

  isAdmin(info: AuthInfo | undefined): boolean {
    if (!this.enabledFlag) return true;
    const u = info === undefined ? undefined : this.users.get(info.user);
    return u !== undefined && hasRootRole(u);
  }

  /** etcd's isOpPermitted for a key (rangeEnd empty) or a range. */
  checkRange(info: AuthInfo | undefined, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this.enabledFlag) return;
    if (info === undefined || info.revision === 0) throw new AuthError('user-empty');
    if (info.revision < this.rev) throw new AuthError('auth-old-revision');
    const u = this.users.get(info.user);
    if (u === undefined) throw new AuthError('permission-denied');
    if (hasRootRole(u)) return;
    let perms = this.merged.get(u.name);
    if (perms === undefined) {
      perms = mergePerms(u, this.roles);
      this.merged.set(u.name, perms);
    }
    if (!rangePermitted(perms, type, key, rangeEnd)) throw new AuthError('permission-denied');
  }

  /** Whether `user` holds `role` (a non-root user may read its own roles). */
  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  // ---------------------------------------------------------------- apply

  /** Applies one command at log `index`; never throws for a refused command. */
  apply(cmd: AuthCommand, index: number): { outcome: AuthApplyOutcome; effect: AuthSideEffect } {
    try {
      if (needsAdmin(cmd)) this.checkAdmin(cmd.actor);
      const effect = this.applyChecked(cmd, index);
      this.merged.clear();
      return { outcome: effect.assign !== undefined ? { ok: true, token: effect.assign.token, revision: this.rev } : { ok: true }, effect };
    } catch (err) {
      if (err instanceof AuthError) return { outcome: { ok: false, code: err.code }, effect: {} };
      throw err;
    }
  }

  private applyChecked(cmd: AuthCommand, index: number): AuthSideEffect {
    switch (cmd.op) {
      case 'enable':
        return this.enable();
      case 'disable':
        if (!this.enabledFlag) return {};
        this.enabledFlag = false;
        this.rev++;
        return { clearTokens: true };
      case 'user-add':
        return this.userAdd(cmd.name, cmd.hash, cmd.noPassword);
      case 'user-delete':
        return this.userDelete(cmd.name);
      case 'user-change-password': {
        const u = this.mustUser(cmd.name);
        this.users.set(u.name, { ...u, password: u.noPassword ? '' : cmd.hash });
        this.rev++;
        return { invalidateUser: u.name };
      }
      case 'user-grant-role':
        return this.grantRole(cmd.user, cmd.role);
      case 'user-revoke-role':
        return this.revokeRole(cmd.name, cmd.role);
      case 'role-add':
        if (cmd.name === '') throw new AuthError('role-empty');
        if (this.roles.has(cmd.name)) throw new AuthError('role-already-exist');
        this.roles.set(cmd.name, { name: cmd.name, perms: [] });
        this.rev++;
        return {};
      case 'role-delete':
        return this.roleDelete(cmd.role);
      case 'role-grant-permission':
        return this.grantPermission(cmd.name, cmd.perm);
      case 'role-revoke-permission':
        return this.revokePermission(cmd.role, cmd.key, cmd.rangeEnd);
      case 'authenticate':
        return this.authenticate(cmd.name, cmd.tokenPrefix, cmd.checkedRevision, index);
    }
  }

  private enable(): AuthSideEffect {
    if (this.enabledFlag) return {};
    const root = this.users.get(ROOT_USER);
    if (root === undefined) throw new AuthError('root-user-not-exist');
    if (!hasRootRole(root)) throw new AuthError('root-role-not-exist');
    this.enabledFlag = true;
    return {};
  }

  private userAdd(name: string, hash: string, noPassword: boolean): AuthSideEffect {
    if (name === '') throw new AuthError('user-empty');
    if (this.users.has(name)) throw new AuthError('user-already-exist');
    this.users.set(name, { name, password: noPassword ? '' : hash, roles: [], noPassword });
    this.rev++;
    return {};
  }

  private userDelete(name: string): AuthSideEffect {
    if (this.enabledFlag && name === ROOT_USER) throw new AuthError('invalid-auth-mgmt');
    this.mustUser(name);
    this.users.delete(name);
    this.rev++;
    return { invalidateUser: name };
  }

  private grantRole(user: string, role: string): AuthSideEffect {
    const u = this.mustUser(user);
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw new AuthError('role-not-found');
    if (u.roles.includes(role)) return {}; // etcd ignores a duplicate grant
    this.users.set(u.name, { ...u, roles: [...u.roles, role].sort(cmpStr) });
    this.rev++;
    return {};
  }

  private revokeRole(name: string, role: string): AuthSideEffect {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE) throw new AuthError('invalid-auth-mgmt');
    const u = this.mustUser(name);
    if (!u.roles.includes(role)) throw new AuthError('role-not-granted');
    this.users.set(u.name, { ...u, roles: u.roles.filter((r) => r !== role) });
    this.rev++;
    return {};
  }

  private roleDelete(role: string): AuthSideEffect {
    if (this.enabledFlag && role === ROOT_ROLE) throw new AuthError('invalid-auth-mgmt');
    if (!this.roles.has(role)) throw new AuthError('role-not-found');
    this.roles.delete(role);
    for (const u of this.users.values()) {
      if (u.roles.includes(role)) this.users.set(u.name, { ...u, roles: u.roles.filter((r) => r !== role) });
    }
    this.rev++;
    return {};
  }

  private grantPermission(name: string, perm: Permission): AuthSideEffect {
    if (!isValidPermissionRange(perm.key, perm.rangeEnd)) throw new AuthError('invalid-auth-mgmt');
    const role = this.roles.get(name);
    if (role === undefined) throw new AuthError('role-not-found');
    const same = role.perms.findIndex((p) => bytesEqual(p.key, perm.key) && bytesEqual(p.rangeEnd, perm.rangeEnd));
    const perms = [...role.perms];
    if (same >= 0) perms[same] = { ...perms[same]!, permType: perm.permType };
    else perms.push({ permType: perm.permType, key: perm.key, rangeEnd: perm.rangeEnd });
    perms.sort((a, b) => compareBytes(a.key, b.key));
    this.roles.set(name, { name, perms });
    this.rev++;
    return {};
  }

  private revokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): AuthSideEffect {
    const role = this.roles.get(name);
    if (role === undefined) throw new AuthError('role-not-found');
    const perms = role.perms.filter((p) => !bytesEqual(p.key, key) || !bytesEqual(p.rangeEnd, rangeEnd));
    if (perms.length === role.perms.length) throw new AuthError('permission-not-granted');
    this.roles.set(name, { name, perms });
    this.rev++;
    return {};
  }

  private authenticate(name: string, prefix: string, checkedRevision: number, index: number): AuthSideEffect {
    if (!this.enabledFlag) throw new AuthError('auth-not-enabled');
    const u = this.users.get(name);
    if (u === undefined || u.noPassword) throw new AuthError('auth-failed');
    // The password was checked against the state at `checkedRevision`; a change since (a
    // new password, say) makes the proposer check again, as etcd's Authenticate loop does.
    if (checkedRevision !== this.rev) throw new AuthError('auth-old-revision');
    return { assign: { token: `${prefix}.${index}`, user: name } };
  }

  private mustUser(name: string): User {
    const u = this.users.get(name);
    if (u === undefined) throw new AuthError('user-not-found');
    return u;
  }
}

/** etcd's needAdminPermission: every management call but UserGet/RoleGet (self allowed) and Authenticate. */
function needsAdmin(cmd: AuthCommand): boolean {
  return cmd.op !== 'authenticate';
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
