// etcd's Auth operations on a region member (server/api's AuthBackend, structurally).
// Changes go through the Raft log as Auth entries, decided at apply time by the pure store
// (server/auth) with the caller's identity, as etcd's authApplierV3 does. Passwords are
// hashed here, on the member that received the request, before proposing: the entry
// carries the bcrypt hash (etcd 3.5 does the same), so applying stays deterministic and no
// entry holds a password. Reads answer from this member's state after a ReadIndex round.

import { randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';
import {
  AuthError, type AuthCommand, type AuthInfo, type Permission,
} from '../auth/index.js';
import type { RegionNode } from './region-node.js';
import type { JwtTokens } from './jwt-tokens.js';

/** etcd's default --bcrypt-cost (bcrypt.DefaultCost). */
export const BCRYPT_COST_DEFAULT = 10;
/** bcrypt's own bounds (golang.org/x/crypto/bcrypt MinCost, MaxCost). */
export const BCRYPT_COST_MIN = 4;
export const BCRYPT_COST_MAX = 31;
/** Password checks Authenticate repeats when the auth state changed meanwhile (etcd loops without a bound). */
const AUTHENTICATE_ATTEMPTS_MAX = 5;
/** etcd's simple token prefix: 16 random letters. */
const TOKEN_PREFIX_LETTERS = 16;
/** How long a request with a token from another member waits for its entry to apply here (etcd waits too). */
const TOKEN_APPLY_WAIT_MS_MAX = 5_000;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function tokenPrefix(): string {
  let s = '';
  for (let i = 0; i < TOKEN_PREFIX_LETTERS; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

export class RegionAuth {
  private readonly cost: number;
  /** --auth-token jwt,...: signed tokens instead of etcd's simple ones. */
  private readonly jwt: JwtTokens | undefined;

  constructor(private readonly node: RegionNode, bcryptCost = BCRYPT_COST_DEFAULT, jwt?: JwtTokens) {
    this.jwt = jwt;
    // etcd falls back to the default for a cost out of bcrypt's bounds.
    this.cost = bcryptCost >= BCRYPT_COST_MIN && bcryptCost <= BCRYPT_COST_MAX ? bcryptCost : BCRYPT_COST_DEFAULT;
  }

  get enabled(): boolean {
    return this.node.auth.enabled;
  }

  authInfo(token: string | undefined, certUser?: string): AuthInfo | undefined {
    const st = this.node.auth;
    if (!st.enabled) return undefined;
    // etcd: a token wins; without one, a verified client certificate's CN is the user, at the
    // current revision (an unknown user then fails its permission check, not here).
    if (token === undefined) return certUser === undefined || certUser === '' ? undefined : { user: certUser, revision: st.revision };
    if (this.jwt !== undefined) {
      // A JWT names its own revision: one behind the store's fails the permission check
      // ("revision of auth store is old") and the client authenticates again.
      const info = this.jwt.verify(token, Date.now());
      if (info === undefined) throw new AuthError('invalid-auth-token');
      return info;
    }
    const user = this.node.tokens.user(token, performance.now());
    if (user === undefined) throw new AuthError('invalid-auth-token');
    // etcd's simple tokens carry no revision: the check runs at the current one.
    return { user, revision: st.revision };
  }

  tokenPending(token: string | undefined): Promise<void> | undefined {
    if (token === undefined || !this.node.auth.enabled || this.jwt !== undefined) return undefined;
    // etcd's simple token is "<prefix>.<index of its Authenticate entry>" (as ours).
    const index = Number(token.slice(token.lastIndexOf('.') + 1));
    if (!Number.isSafeInteger(index) || index <= this.node.appliedIndex) return undefined;
    if (this.node.tokens.user(token, performance.now()) !== undefined) return undefined;
    return this.node.waitForApplied(index, TOKEN_APPLY_WAIT_MS_MAX);
  }

  checkRange(info: AuthInfo | undefined, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): void {
    this.node.auth.checkRange(info, type, key, rangeEnd);
  }

  checkAdmin(info: AuthInfo | undefined): void {
    this.node.auth.checkAdmin(info);
  }

  isAdmin(info: AuthInfo | undefined): boolean {
    return this.node.auth.isAdmin(info);
  }

  hasRole(info: AuthInfo | undefined, role: string): boolean {
    return info !== undefined && this.node.auth.hasRole(info.user, role);
  }

  permitsUser(user: string, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean {
    const st = this.node.auth;
    if (!st.enabled) return true;
    try {
      st.checkRange({ user, revision: st.revision }, type, key, rangeEnd);
      return true;
    } catch {
      return false;
    }
  }

  async authenticate(name: string, password: string): Promise<string> {
    for (let attempt = 0; attempt < AUTHENTICATE_ATTEMPTS_MAX; attempt++) {
      await this.node.linearizableBarrier();
      const st = this.node.auth;
      if (!st.enabled) throw new AuthError('auth-not-enabled');
      const user = st.user(name);
      if (user === undefined || user.noPassword) throw new AuthError('auth-failed');
      const checked = st.revision;
      // Async bcrypt: the comparison (tens of ms at cost 10) yields to the event loop.
      if (!(await bcrypt.compare(password, user.password))) throw new AuthError('auth-failed');
      const res = await this.node.proposeAuth({ op: 'authenticate', name, tokenPrefix: tokenPrefix(), checkedRevision: checked });
      if (res.outcome.ok) {
        // With JWT the proposer signs (etcd's members each sign at apply; only the
        // proposer's answer reaches the client).
        if (this.jwt !== undefined) return this.jwt.issue(name, res.outcome.revision ?? checked, Date.now());
        return res.outcome.token ?? '';
      }
      if (res.outcome.code !== 'auth-old-revision') throw new AuthError(res.outcome.code);
    }
    throw new AuthError('auth-failed');
  }

  enable(actor: AuthInfo | undefined): Promise<void> {
    return this.change(actor, { op: 'enable' });
  }

  disable(actor: AuthInfo | undefined): Promise<void> {
    return this.change(actor, { op: 'disable' });
  }

  async status(actor: AuthInfo | undefined) {
    await this.node.linearizableBarrier();
    this.node.auth.checkAdmin(actor);
    return { enabled: this.node.auth.enabled, revision: this.node.auth.revision };
  }

  async userAdd(actor: AuthInfo | undefined, name: string, password: string, hashedPassword: string, noPassword: boolean): Promise<void> {
    if (name === '') throw new AuthError('user-empty');
    this.node.auth.checkAdmin(actor);
    const hash = noPassword ? '' : await this.hashOf(password, hashedPassword);
    await this.change(actor, { op: 'user-add', name, hash, noPassword });
  }

  async userGet(actor: AuthInfo | undefined, name: string): Promise<string[]> {
    await this.node.linearizableBarrier();
    const st = this.node.auth;
    if (!st.isAdmin(actor) && actor?.user !== name) st.checkAdmin(actor);
    const user = st.user(name);
    if (user === undefined) throw new AuthError('user-not-found');
    return [...user.roles];
  }

  async userList(actor: AuthInfo | undefined): Promise<string[]> {
    await this.node.linearizableBarrier();
    this.node.auth.checkAdmin(actor);
    return this.node.auth.userList().map((u) => u.name);
  }

  userDelete(actor: AuthInfo | undefined, name: string): Promise<void> {
    return this.change(actor, { op: 'user-delete', name });
  }

  async userChangePassword(actor: AuthInfo | undefined, name: string, password: string, hashedPassword: string): Promise<void> {
    this.node.auth.checkAdmin(actor);
    const hash = await this.hashOf(password, hashedPassword);
    await this.change(actor, { op: 'user-change-password', name, hash });
  }

  userGrantRole(actor: AuthInfo | undefined, user: string, role: string): Promise<void> {
    return this.change(actor, { op: 'user-grant-role', user, role });
  }

  userRevokeRole(actor: AuthInfo | undefined, name: string, role: string): Promise<void> {
    return this.change(actor, { op: 'user-revoke-role', name, role });
  }

  roleAdd(actor: AuthInfo | undefined, name: string): Promise<void> {
    return this.change(actor, { op: 'role-add', name });
  }

  async roleGet(actor: AuthInfo | undefined, role: string): Promise<Permission[]> {
    await this.node.linearizableBarrier();
    const st = this.node.auth;
    if (!st.isAdmin(actor) && !(actor !== undefined && st.hasRole(actor.user, role))) st.checkAdmin(actor);
    const r = st.role(role);
    if (r === undefined) throw new AuthError('role-not-found');
    return r.perms.map((p) => ({ ...p }));
  }

  async roleList(actor: AuthInfo | undefined): Promise<string[]> {
    await this.node.linearizableBarrier();
    this.node.auth.checkAdmin(actor);
    return this.node.auth.roleList().map((r) => r.name);
  }

  roleDelete(actor: AuthInfo | undefined, role: string): Promise<void> {
    return this.change(actor, { op: 'role-delete', role });
  }

  roleGrantPermission(actor: AuthInfo | undefined, name: string, perm: Permission): Promise<void> {
    return this.change(actor, { op: 'role-grant-permission', name, perm });
  }

  roleRevokePermission(actor: AuthInfo | undefined, role: string, key: Uint8Array, rangeEnd: Uint8Array): Promise<void> {
    return this.change(actor, { op: 'role-revoke-permission', role, key, rangeEnd });
  }

  async leaseKeys(leaseId: number): Promise<Uint8Array[]> {
    return this.node.readLocal((mvcc) => mvcc.leaseTimeToLive(leaseId, true)?.keys ?? []);
  }

  /** A bcrypt hash in etcd's form ("$2a$..."), or the one the client sent. */
  private async hashOf(password: string, hashedPassword: string): Promise<string> {
    // etcd 3.5 clients may send the hash (base64 of the bcrypt string) instead.
    if (password === '' && hashedPassword !== '') return Buffer.from(hashedPassword, 'base64').toString('latin1');
    // Go's bcrypt writes version 2a; bcryptjs 2b. Both hash the same (2b differs only past 255
    // bytes), and etcd verifies either; 2a keeps stored records as etcd writes them.
    const salt = (await bcrypt.genSalt(this.cost)).replace(/^\$2b\$/, '$2a$');
    return bcrypt.hash(password, salt);
  }

  private async change(actor: AuthInfo | undefined, cmd: AuthCommand): Promise<void> {
    const withActor: AuthCommand = actor === undefined ? cmd : { ...cmd, actor };
    const res = await this.node.proposeAuth(withActor);
    if (!res.outcome.ok) throw new AuthError(res.outcome.code);
  }
}
