// The pure auth model against etcd 3.5's rules: root rules, the revision, permission
// checks by key, range and prefix, and simple tokens.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthStore, PermType, SimpleTokens, decodeAuthCommand, decodeAuthState, encodeAuthCommand, encodeAuthState, type AuthCommand } from './index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const ROOT = { user: 'root', revision: 1e9 };

function run(s: AuthStore, cmds: AuthCommand[]): Array<string> {
  return cmds.map((c, i) => {
    const { outcome } = s.apply(decodeAuthCommand(encodeAuthCommand(c)), i + 1);
    return outcome.ok ? 'ok' : outcome.code;
  });
}

test('enable needs a root user with the root role; the revision counts changes but not enable', () => {
  const s = new AuthStore();
  assert.equal(s.revision, 1);
  assert.deepEqual(run(s, [
    { op: 'enable' },
    { op: 'user-add', name: 'root', hash: 'h', noPassword: false },
    { op: 'enable' },
    { op: 'user-grant-role', user: 'root', role: 'root' },
    { op: 'user-grant-role', user: 'root', role: 'root' },
    { op: 'enable' },
  ]), ['root-user-not-exist', 'ok', 'root-role-not-exist', 'ok', 'ok', 'ok']);
  assert.equal(s.enabled, true);
  assert.equal(s.revision, 3);
  // Now only root may manage, and root cannot lose its role or be deleted.
  assert.deepEqual(run(s, [
    { op: 'role-add', name: 'r' },
    { actor: { user: 'root', revision: 3 }, op: 'user-revoke-role', name: 'root', role: 'root' },
    { actor: { user: 'root', revision: 3 }, op: 'user-delete', name: 'root' },
    { actor: { user: 'nobody', revision: 3 }, op: 'role-add', name: 'r' },
    { actor: { user: 'root', revision: 3 }, op: 'disable' },
  ]), ['user-empty', 'invalid-auth-mgmt', 'invalid-auth-mgmt', 'user-not-found', 'ok']);
  assert.equal(s.enabled, false);
  assert.equal(s.revision, 4);
});

test('permissions: key, range, prefix and open end, merged over roles; root may do anything', () => {
  const s = new AuthStore();
  const perm = (t: PermType, k: string, e: string) => ({ permType: t, key: enc(k), rangeEnd: e === '\0' ? Uint8Array.of(0) : enc(e) });
  assert.deepEqual(run(s, [
    { op: 'user-add', name: 'root', hash: 'h', noPassword: false },
    { op: 'user-grant-role', user: 'root', role: 'root' },
    { op: 'user-add', name: 'u', hash: 'h', noPassword: false },
    { op: 'role-add', name: 'a' },
    { op: 'role-add', name: 'b' },
    { op: 'role-grant-permission', name: 'a', perm: perm(PermType.Read, 'k1', '') },
    { op: 'role-grant-permission', name: 'a', perm: perm(PermType.ReadWrite, 'p/', 'p0') },
    { op: 'role-grant-permission', name: 'b', perm: perm(PermType.Read, 'p0', 'q') },
    { op: 'role-grant-permission', name: 'b', perm: perm(PermType.Write, 'z', '\0') },
    { op: 'role-grant-permission', name: 'b', perm: perm(PermType.Write, 'b', 'a') },
    { op: 'role-revoke-permission', role: 'b', key: enc('nope'), rangeEnd: new Uint8Array(0) },
    { op: 'user-grant-role', user: 'u', role: 'a' },
    { op: 'user-grant-role', user: 'u', role: 'b' },
    { op: 'user-grant-role', user: 'u', role: 'missing' },
    { op: 'enable' },
  ]), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'invalid-auth-mgmt', 'permission-not-granted', 'ok', 'ok', 'role-not-found', 'ok']);
  const u = { user: 'u', revision: s.revision };
  const allowed = (type: 'read' | 'write', k: string, e = '') => {
    try {
      s.checkRange(u, type, enc(k), e === '\0' ? Uint8Array.of(0) : enc(e));
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(allowed('read', 'k1'), true);
  assert.equal(allowed('write', 'k1'), false);
  assert.equal(allowed('read', 'k1', 'k2'), false);
  assert.equal(allowed('read', 'p/x'), true);
  assert.equal(allowed('read', 'p/', 'q'), true); // covered by two roles together
  assert.equal(allowed('read', 'p/', 'q0'), false);
  assert.equal(allowed('write', 'p/', 'q'), false);
  assert.equal(allowed('write', 'zz', '\0'), true);
  assert.equal(allowed('write', 'y', '\0'), false);
  assert.throws(() => s.checkRange({ user: 'u', revision: s.revision - 1 }, 'read', enc('k1'), new Uint8Array(0)), /revision of auth store is old/);
  assert.throws(() => s.checkRange(undefined, 'read', enc('k1'), new Uint8Array(0)), /user name is empty/);
  s.checkRange({ user: 'root', revision: s.revision }, 'write', enc('a'), Uint8Array.of(0));
  s.checkAdmin(ROOT);
  assert.throws(() => s.checkAdmin(u), /permission denied/);
  // The state survives its encoding.
  assert.deepEqual(AuthStore.of(decodeAuthState(encodeAuthState(s.data()))).data(), s.data());
});

test('authenticate makes a token per index; a change since the password check refuses it', () => {
  const s = new AuthStore();
  run(s, [
    { op: 'user-add', name: 'root', hash: 'h', noPassword: false },
    { op: 'user-grant-role', user: 'root', role: 'root' },
  ]);
  assert.equal(s.apply({ op: 'authenticate', name: 'root', tokenPrefix: 'abc', checkedRevision: s.revision }, 7).outcome.ok, false);
  run(s, [{ op: 'enable' }]);
  assert.deepEqual(s.apply({ op: 'authenticate', name: 'root', tokenPrefix: 'abc', checkedRevision: s.revision }, 9).outcome, { ok: true, token: 'abc.9', revision: s.revision });
  assert.deepEqual(s.apply({ op: 'authenticate', name: 'root', tokenPrefix: 'abc', checkedRevision: 1 }, 10).outcome, { ok: false, code: 'auth-old-revision' });
  assert.deepEqual(s.apply({ op: 'authenticate', name: 'x', tokenPrefix: 'abc', checkedRevision: s.revision }, 11).outcome, { ok: false, code: 'auth-failed' });
});

test('simple tokens expire after the TTL without use, and every use restarts it', () => {
  const t = new SimpleTokens(1000);
  t.assign('a.1', 'u', 0);
  assert.equal(t.user('a.1', 900), 'u');
  assert.equal(t.user('a.1', 1800), 'u');
  assert.equal(t.user('a.1', 2801), undefined);
  t.assign('b.2', 'u', 0);
  t.assign('c.3', 'v', 0);
  t.invalidateUser('u');
  assert.equal(t.user('b.2', 1), undefined);
  assert.equal(t.user('c.3', 1), 'v');
});
